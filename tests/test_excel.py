"""Workbooks and CSV files for inspectors: no formula reaches Excel, writes are atomic."""

from __future__ import annotations

import csv
import datetime as dt

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from riskmap import excel
from riskmap.errors import InputError

HOSTILE = ['=HYPERLINK("http://x")', "+1+1", "-2", "@SUM(A1)", "\t=1", "\r=1", " =1"]
HOSTILE_HEADER = "=Adres"


def _frame() -> pd.DataFrame:
    n = len(HOSTILE) + 1
    return pd.DataFrame({
        HOSTILE_HEADER: [*HOSTILE, "Stationsweg 1"],
        "Score": [0.5, -2.0, np.nan, 1.25, 3.0, 4.0, 5.0, 6.0],
        "Aantal": list(range(-3, n - 3)),
        "Datum": pd.to_datetime(["2024-03-01"] * (n - 1) + [None]),
        "Kaart": [f"GM{i:04d}" for i in range(n)],
    })


def _links(frame: pd.DataFrame) -> pd.Series:
    return pd.Series([f"../{v}/kaart.html#17/52.3/5.4" for v in frame["Kaart"]],
                     index=frame.index)


@pytest.mark.parametrize(("value", "expected"), [
    *[(v, "'" + v) for v in HOSTILE],
    ("\0x", "'\0x"), ("\n=1", "'\n=1"), ("\uff1d1+1", "'\uff1d1+1"), ("  @x", "'  @x"),
    ("Stationsweg 1", "Stationsweg 1"), ("a=b", "a=b"), ("'=1", "'=1"), ("", ""), ("   ", "   "),
    (-2, -2), (1.5, 1.5), (True, True), (None, None), (dt.date(2024, 3, 1), dt.date(2024, 3, 1)),
])
def test_safe_text(value, expected):
    assert excel.safe_text(value) == expected


@pytest.fixture
def workbook(tmp_path):
    frame = _frame()
    other = pd.DataFrame({"Naam": ["=1", "#N/A"], "Waar": [True, False]})
    path = excel.write_xlsx(
        tmp_path / "uit" / "inspectie.xlsx",
        {"Inspectie": frame, "Een/veel te lange naam voor een Excel-werkblad": other},
        provenance={"Bron": "=cmd|' /C calc'!A0", "riskmap": "0.1.0"},
        hyperlinks={"Inspectie": {"Kaart": _links(frame)}},
    )
    return path, frame


def test_xlsx_has_no_formula_and_escapes_values_and_headers(workbook):
    path, frame = workbook
    wb = load_workbook(path)
    assert wb.sheetnames == ["Inspectie", "Een_veel te lange naam voor een", "Herkomst"]
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
    ws = wb["Inspectie"]
    assert ws["A1"].value == "'" + HOSTILE_HEADER and ws["A1"].data_type == "s"
    # XML parsers turn a bare CR into LF (openpyxl does not write it as _x000D_)
    assert [ws.cell(row=i, column=1).value for i in range(2, 10)] == [
        "'" + v.replace("\r", "\n") for v in HOSTILE] + ["Stationsweg 1"]
    assert {ws.cell(row=i, column=1).data_type for i in range(2, 10)} == {"s"}
    assert wb.worksheets[1]["A3"].value == "#N/A" and wb.worksheets[1]["A3"].data_type == "s"


def test_xlsx_keeps_numbers_dates_and_missing_values(workbook):
    path, _ = workbook
    ws = load_workbook(path)["Inspectie"]
    assert ws["B2"].value == 0.5 and ws["B2"].data_type == "n"
    assert ws["B3"].value == -2 and ws["B3"].data_type == "n"
    assert ws["B4"].value is None                        # NaN: empty cell
    assert ws["C2"].value == -3 and ws["C2"].data_type == "n"
    assert ws["D2"].value == dt.datetime(2024, 3, 1) and ws["D2"].is_date
    assert ws["D2"].number_format == "yyyy-mm-dd"        # a date column, not date-times
    assert ws["D9"].value is None                        # NaT
    other = load_workbook(path).worksheets[1]
    assert other["B2"].value is True and other["B2"].data_type == "b"


def test_xlsx_layout_header_freeze_filter(workbook):
    path, frame = workbook
    wb = load_workbook(path)
    ws = wb["Inspectie"]
    assert all(cell.font.b for cell in ws[1])
    assert not ws["A2"].font.b
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == f"A1:E{len(frame) + 1}" == "A1:E9"
    assert wb.worksheets[1].auto_filter.ref == "A1:B3"
    assert ws.column_dimensions["A"].width >= len(HOSTILE[0])


def test_xlsx_hyperlinks(workbook):
    path, frame = workbook
    ws = load_workbook(path)["Inspectie"]
    for i, code in enumerate(frame["Kaart"], start=2):
        cell = ws.cell(row=i, column=5)
        assert cell.value == code
        assert cell.hyperlink.target == f"../{code}/kaart.html#17/52.3/5.4"
    assert all(ws.cell(row=i, column=1).hyperlink is None for i in range(1, 10))


def test_xlsx_provenance_sheet(workbook):
    path, _ = workbook
    ws = load_workbook(path)["Herkomst"]
    rows = [tuple(c.value for c in row) for row in ws.iter_rows()]
    assert rows == [("Kenmerk", "Waarde"), ("Bron", "'=cmd|' /C calc'!A0"),
                    ("riskmap", "0.1.0")]
    assert ws["A1"].font.b and ws.freeze_panes == "A2"


def test_xlsx_links_follow_the_index(tmp_path):
    frame = pd.DataFrame({"Kaart": ["a", "b", "c"]}, index=[10, 20, 30])
    links = pd.Series(["b.html"], index=[20])
    path = excel.write_xlsx(tmp_path / "l.xlsx", {"L": frame}, hyperlinks={"L": {"Kaart": links}})
    ws = load_workbook(path)["L"]
    assert [c.hyperlink.target if c.hyperlink else None for c in ws["A"][1:]] == [
        None, "b.html", None]
    with pytest.raises(InputError, match="share the frame's index"):
        excel.write_xlsx(tmp_path / "l.xlsx", {"L": frame},
                         hyperlinks={"L": {"Kaart": pd.Series(["x"], index=[99])}})


@pytest.mark.parametrize("link", [
    "javascript:alert(1)", "JavaScript:alert(1)", " javascript:alert(1)", "java\tscript:x",
    "data:text/html,<script>", "http://x.nl/kaart.html", "https://x.nl", "//x.nl/a",
    "file:///etc/passwd", "/etc/passwd", "\\\\server\\share\\a.html", "C:\\kaart.html", "",
])
def test_xlsx_refuses_links_that_are_not_relative(tmp_path, link):
    frame = pd.DataFrame({"Kaart": ["GM0050"]})
    target = tmp_path / "x.xlsx"
    with pytest.raises(ValueError, match="Only relative links"):
        excel.write_xlsx(target, {"S": frame}, hyperlinks={"S": {"Kaart": pd.Series([link])}})
    assert list(tmp_path.iterdir()) == []


def test_xlsx_refuses_links_for_unknown_sheet_or_column(tmp_path):
    frame = pd.DataFrame({"Kaart": ["GM0050"]})
    with pytest.raises(InputError, match="sheets are"):
        excel.write_xlsx(tmp_path / "x.xlsx", {"S": frame},
                         hyperlinks={"T": {"Kaart": pd.Series(["a.html"])}})
    with pytest.raises(InputError, match="its columns are"):
        excel.write_xlsx(tmp_path / "x.xlsx", {"S": frame},
                         hyperlinks={"S": {"Link": pd.Series(["a.html"])}})


def test_sheet_names_are_made_valid_and_unique(tmp_path):
    frame = pd.DataFrame({"a": [1]})
    names = {"x" * 40: frame, "x" * 41: frame, "Herkomst": frame, "'a[b]'": frame}
    path = excel.write_xlsx(tmp_path / "n.xlsx", names, provenance={"k": "v"})
    assert load_workbook(path).sheetnames == [
        "x" * 31, "x" * 27 + " (2)", "Herkomst (2)", "a_b_", "Herkomst"]


def test_xlsx_failure_leaves_no_file(tmp_path):
    target = tmp_path / "inspectie.xlsx"
    bad = pd.DataFrame({"Naam": ["a", "b"], "Ding": [1, object()]})
    with pytest.raises(InputError, match=r"sheet 'T', column 'Ding', row 3"):
        excel.write_xlsx(target, {"S": _frame(), "T": bad})
    assert list(tmp_path.iterdir()) == []


def test_xlsx_failure_keeps_the_previous_file(tmp_path):
    target = excel.write_xlsx(tmp_path / "inspectie.xlsx", {"S": _frame()})
    before = target.read_bytes()
    with pytest.raises(InputError, match="control characters"):
        excel.write_xlsx(target, {"S": pd.DataFrame({"a": ["ok", "bad\x0bchar"]})})
    assert target.read_bytes() == before
    assert list(tmp_path.iterdir()) == [target]


def test_xlsx_refuses_timezones_with_the_fix(tmp_path):
    frame = pd.DataFrame({"t": pd.to_datetime(["2024-03-01 12:00"]).tz_localize("UTC")})
    with pytest.raises(InputError, match="tz_convert"):
        excel.write_xlsx(tmp_path / "t.xlsx", {"S": frame})
    assert list(tmp_path.iterdir()) == []


def test_csv_neutralises_and_uses_dutch_excel_dialect(tmp_path):
    frame = _frame()
    path = excel.write_csv(tmp_path / "uit" / "inspectie.csv", frame)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert raw.split(b"\r\n")[0] == "\ufeff'=Adres;Score;Aantal;Datum;Kaart".encode()
    with open(path, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f, delimiter=";"))
    assert rows[0] == ["'=Adres", "Score", "Aantal", "Datum", "Kaart"]
    assert [r[0] for r in rows[1:]] == ["'" + v for v in HOSTILE] + ["Stationsweg 1"]
    assert rows[1][1:] == ["0,5", "-3", "2024-03-01", "GM0000"]   # numbers are not prefixed
    assert rows[2][1] == "-2,0" and rows[3][1] == ""               # NaN: empty field
    assert rows[-1][3] == ""                                      # NaT
    back = pd.read_csv(path, sep=";", decimal=",", encoding="utf-8-sig")
    pd.testing.assert_series_equal(back["Score"], frame["Score"])


def test_csv_english_dialect_and_argument_check(tmp_path):
    path = excel.write_csv(tmp_path / "e.csv", pd.DataFrame({"x": [1.5], "y": ["@a"]}),
                           sep=",", decimal=".")
    assert path.read_bytes() == "\ufeffx,y\r\n1.5,'@a\r\n".encode()
    with pytest.raises(InputError, match="both ','"):
        excel.write_csv(tmp_path / "f.csv", pd.DataFrame({"x": [1]}), sep=",", decimal=",")


def test_csv_failure_leaves_no_file(tmp_path):
    bad = pd.DataFrame({"Naam": ["a", "b"], "Ding": ["x", {"a": 1}]})
    with pytest.raises(InputError, match="column 'Ding', line 3"):
        excel.write_csv(tmp_path / "x.csv", bad)
    assert list(tmp_path.iterdir()) == []


def test_xlsx_failure_during_save_leaves_no_file(tmp_path, monkeypatch):
    from openpyxl import Workbook

    def broken_save(self, filename):
        with open(filename, "wb") as f:
            f.write(b"PK half a workbook")
        raise OSError("disk full")

    monkeypatch.setattr(Workbook, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        excel.write_xlsx(tmp_path / "inspectie.xlsx", {"S": _frame()})
    assert list(tmp_path.iterdir()) == []
