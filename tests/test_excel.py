"""Workbooks and CSV files for inspectors: no formula reaches Excel, writes are atomic."""

from __future__ import annotations

import csv
import datetime as dt
import gc
import io
import re
import tempfile
import zipfile
from unittest import mock

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

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
    assert _typed_cells(path) == []
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


@pytest.mark.parametrize("code", ["#N/A", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!",
                                  "#NULL!"])
def test_xlsx_stores_error_codes_as_text(tmp_path, code):
    # openpyxl types these texts as error values (data_type "e") unless told otherwise
    frame = pd.DataFrame({
        code: [code, "x"], "str": pd.Series([code, None], dtype="str"),
        "gemengd": pd.Series([code, 1], dtype=object), "kaart": [code, ""]})
    links = {"S": {"kaart": pd.Series(["a.html", "#b"])}}
    path = excel.write_xlsx(tmp_path / "e.xlsx", {"S": frame}, provenance={code: code},
                            hyperlinks=links)
    assert _typed_cells(path) == []
    wb = load_workbook(path)
    ws = wb["S"]
    assert [(c.value, c.data_type) for c in ws[1]] == [
        (code, "s"), ("str", "s"), ("gemengd", "s"), ("kaart", "s")]
    assert [(c.value, c.data_type) for c in ws[2]] == [(code, "s")] * 4
    assert ws["D2"].hyperlink.target == "a.html"
    assert (ws["D3"].value, ws["D3"].data_type, ws["D3"].hyperlink.target) == ("#b", "s", "#b")
    assert [(c.value, c.data_type) for c in wb["Herkomst"][2]] == [(code, "s")] * 2


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
    # openpyxl streams each write-only worksheet to a temporary file of its own
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    out = tmp_path / "out"

    def broken_save(self, filename):  # half a workbook written, then the disk is full
        with open(filename, "wb") as f:
            f.write(b"PK half a workbook")
        raise OSError("disk full")

    monkeypatch.setattr(Workbook, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        excel.write_xlsx(out / "inspectie.xlsx", {"S": _frame(), "T": _frame()},
                         provenance={"k": "v"})
    gc.collect()  # the worksheets' streams are closed: nothing left to finish on collection
    assert list(out.iterdir()) == []
    assert list(scratch.iterdir()) == []


# ----------------------------------------------------------------------------- references
# write_xlsx and write_csv convert whole columns; write_xlsx feeds the rows to openpyxl in
# write-only mode. The references below write cell by cell, as they did before: openpyxl in
# normal mode, and the csv module fed one converted value at a time.


def _cell_rows(frame: pd.DataFrame) -> list[tuple]:
    """The frame's rows cell by cell; a datetime column whose times are all midnight: dates."""
    columns = []
    for _, series in frame.items():
        if pd.api.types.is_datetime64_dtype(series.dtype):
            valid = series.dropna()
            if len(valid) and (valid == valid.dt.normalize()).all():
                columns.append([None if pd.isna(v) else v.date() for v in series])
                continue
        columns.append(series.tolist())
    return list(zip(*columns, strict=True)) if columns else [() for _ in range(len(frame))]


def _reference_width(values: list) -> float:
    longest = max((len(str(v)) for v in values if v is not None), default=0)
    return float(min(max(longest + 2, 8), 60))


def _reference_xlsx(path, sheets, *, provenance=None, hyperlinks=None):
    """The workbook written with openpyxl (normal mode) cell by cell.

    Two differences from the old writer, on purpose: a linked date keeps its date format
    (the old one replaced the whole cell style with "Hyperlink", date format included), and
    a linked empty text shows the link's target as a missing value does (the old one left
    it empty; openpyxl's reader fills such a cell with the bare target, "=x.html" a formula).
    """
    hyperlinks = hyperlinks or {}
    wb = Workbook()
    wb.remove(wb.active)
    bold = Font(bold=True)
    taken = {excel.PROVENANCE_SHEET.casefold()} if provenance else set()
    for name, frame in sheets.items():
        ws = wb.create_sheet(excel._sheet_title(name, taken))
        columns = list(frame.columns)
        links = {columns.index(c): list(t.reindex(frame.index))
                 for c, t in hyperlinks.get(name, {}).items()}
        widths = []
        for j, col in enumerate(columns, start=1):
            cell = ws.cell(row=1, column=j, value=excel.safe_text(str(col)))
            cell.data_type = "s"
            cell.font = bold
            widths.append([cell.value])
        for i, row in enumerate(_cell_rows(frame), start=2):
            for j, raw in enumerate(row):
                value = excel._cell_value(raw, where="test")
                cell = ws.cell(row=i, column=j + 1, value=value)
                if isinstance(value, str):
                    cell.data_type = "s"
                widths[j].append(value)
                target = links[j][i - 2] if j in links else None
                if not excel._is_missing(target):
                    number_format = cell.number_format
                    cell.hyperlink = target
                    cell.style = "Hyperlink"
                    cell.number_format = number_format
                    if value is None or value == "":
                        cell.value = excel.safe_text(target)
                        cell.data_type = "s"
        if columns:
            ws.freeze_panes = "A2"
            ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{len(frame) + 1}"
        for j, values in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(j)].width = _reference_width(values)
    if provenance:
        ws = wb.create_sheet(excel.PROVENANCE_SHEET)
        ws.append(["Kenmerk", "Waarde"])
        for cell in ws[1]:
            cell.font = bold
        for i, (key, value) in enumerate(provenance.items(), start=2):
            for j, item in enumerate((str(key), value), start=1):
                cell = ws.cell(row=i, column=j, value=excel._cell_value(item, where="test"))
                if isinstance(cell.value, str):
                    cell.data_type = "s"
        ws.freeze_panes = "A2"
        ws.column_dimensions["A"].width = _reference_width([c.value for c in ws["A"]])
        ws.column_dimensions["B"].width = _reference_width([c.value for c in ws["B"]])
    wb.save(path)


def _reference_csv_text(value: object, *, decimal: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        text = repr(value)
        return text.replace(".", decimal) if decimal != "." else text
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="seconds" if not value.microsecond
                               else "microseconds")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _reference_csv(frame: pd.DataFrame, *, sep: str, decimal: str) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=sep, quotechar='"', doublequote=True,
                        quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow([excel.safe_text(str(c)) for c in frame.columns])
    for row in _cell_rows(frame):
        writer.writerow([_reference_csv_text(excel._cell_value(v, where="test"), decimal=decimal)
                         for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


# ----------------------------------------------------------------------------- random frames

_XML_ILLEGAL = "".join(map(chr, [*range(9), 11, 12, *range(14, 32)])) + "\ufffe\uffff"
_SPECIAL = [*HOSTILE, "#N/A", "#DIV/0!", "=1", "\uff1d1", "\uff0b1", "  @x", "", "   ", " x ",
            "a&b<c>\"'", "\n=x", "'=1", "-2", "0402010000318488", "ünïcødé", "\U0001f4a5",
            "Stationsweg 1", "_x000D_", "]]>"]


def _texts(*, xml: bool):
    chars = st.characters(exclude_categories=("Cs",),
                          exclude_characters=_XML_ILLEGAL if xml else "")
    return st.one_of(st.sampled_from(_SPECIAL), st.text(chars, max_size=12))


_DATES = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2200, 12, 31))
_DATETIMES = st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2200, 1, 1))
# beyond ±1e308 openpyxl's 16 digits round up to infinity, which pandas.read_excel cannot read
_FLOATS = st.one_of(st.floats(-1e308, 1e308), st.sampled_from([np.nan, np.inf, -np.inf]))
_INTS = st.integers(-(2**63), 2**63 - 1)  # beyond 2**53 openpyxl's "%.16g" rounds them


@st.composite
def _columns(draw, n: int, *, xml: bool):
    texts = _texts(xml=xml)
    missing = st.sampled_from([None, np.nan])
    kind = draw(st.sampled_from(["object", "str", "int", "float", "bool", "dates",
                                 "datetimes", "mixed", "Int64", "category", "timedelta"]))
    rows = lambda values: st.lists(values, min_size=n, max_size=n)  # noqa: E731
    if kind == "object":
        return pd.Series(draw(rows(st.one_of(texts, missing))), dtype=object)
    if kind == "str":
        return pd.Series(draw(rows(st.one_of(texts, st.none()))), dtype="str")
    if kind == "int":
        return pd.Series(draw(rows(_INTS)), dtype="int64")
    if kind == "float":
        return pd.Series(draw(rows(_FLOATS)), dtype="float64")
    if kind == "bool":
        return pd.Series(draw(rows(st.booleans())), dtype=bool)
    if kind == "dates":
        values = draw(rows(st.one_of(_DATES, st.none())))
        return pd.Series([None if v is None else dt.datetime.combine(v, dt.time())
                          for v in values], dtype="datetime64[us]")
    if kind == "datetimes":
        unit = draw(st.sampled_from(["us", "ns"]))
        return pd.Series(draw(rows(st.one_of(_DATETIMES, st.none()))),
                         dtype=f"datetime64[{unit}]")
    if kind == "Int64":
        return pd.Series(draw(rows(st.one_of(_INTS, st.none()))), dtype="Int64")
    if kind == "category":
        return pd.Series(draw(rows(st.one_of(texts, st.none()))), dtype="category")
    if kind == "timedelta":
        values = draw(rows(st.one_of(st.timedeltas(dt.timedelta(0), dt.timedelta(days=999)),
                                     st.none())))
        return pd.Series(values, dtype="timedelta64[us]")
    values = st.one_of(texts, missing, _INTS, _FLOATS, st.booleans(), _DATES, _DATETIMES,
                       st.times(), st.timedeltas(dt.timedelta(0), dt.timedelta(days=999)))
    return pd.Series(draw(rows(values)), dtype=object)


@st.composite
def _frames(draw, *, xml: bool = True, max_rows: int = 6):
    n = draw(st.integers(0, max_rows))
    m = draw(st.integers(0, 5))
    names = draw(st.lists(st.one_of(_texts(xml=xml), st.integers(-5, 5)), min_size=m,
                          max_size=m))
    frame = pd.concat([draw(_columns(n, xml=xml)) for _ in range(m)], axis=1) if m else \
        pd.DataFrame(index=range(n))
    frame.columns = names
    if n and draw(st.booleans()):  # the index is the join key of the links, not the order
        frame.index = draw(st.permutations(range(10, 10 + n)))
    return frame


_LINK_TARGETS = st.one_of(st.none(), st.sampled_from([
    "kaart.html", "../GM0050/kaart.html#17/52.3/5.4", "a b.html", "x&y<z>.html", "=x.html",
    "'q.html", "ü.html"]))


@st.composite
def _workbooks(draw):
    sheets, links = {}, {}
    for k in range(draw(st.integers(0, 2))):
        name = draw(st.one_of(_texts(xml=True), st.just("Herkomst"))) + str(k)
        frame = draw(_frames())
        sheets[name] = frame
        if len(frame.columns) and draw(st.booleans()):
            col = frame.columns[draw(st.integers(0, len(frame.columns) - 1))]
            targets = draw(st.lists(_LINK_TARGETS, min_size=len(frame), max_size=len(frame)))
            links[name] = {col: pd.Series(targets, index=frame.index, dtype=object)}
    provenance = draw(st.dictionaries(_texts(xml=True), st.one_of(
        _texts(xml=True), _INTS, _FLOATS), max_size=3))
    if not sheets and not provenance:
        provenance = {"riskmap": "0.1.0"}
    return sheets, provenance, links


def _loaded(path, sheets, provenance) -> list[dict]:
    """Every cell of every sheet as openpyxl reads it, with the sheets' layout."""
    shapes = [(len(f) + 1, len(f.columns)) for f in sheets.values()]
    if provenance:
        shapes.append((len(provenance) + 1, 2))
    wb = load_workbook(path)
    assert len(wb.worksheets) == len(shapes)
    out = []
    for ws, (rows, cols) in zip(wb.worksheets, shapes, strict=True):
        cells = {}
        for row in ws.iter_rows(min_row=1, max_row=rows, max_col=cols):
            for c in row:
                cells[c.coordinate] = {
                    "value": c.value, "type": c.data_type, "format": c.number_format,
                    "bold": bool(c.font.b), "style": c.style,
                    "link": c.hyperlink.target if c.hyperlink else None}
        out.append({"title": ws.title, "cells": cells, "freeze": ws.freeze_panes,
                    "filter": ws.auto_filter.ref,
                    "widths": {k: d.width for k, d in ws.column_dimensions.items()
                               if d.customWidth}})
    return out


def _same(new: object, ref: object) -> bool:
    """Equal, and of the same type (``1 == 1.0 == True`` is not enough)."""
    return type(new) is type(ref) and new == ref


def _as_openpyxl_stores(value: int | float) -> int | float:
    """A number as openpyxl writes it ("%.16g") and reads it back (a float if the text has
    a point or an exponent); the largest floats become infinity."""
    text = f"{value:.16g}"
    return float(text) if any(c in text for c in ".eE") else int(text)


def _typed_cells(path) -> list[str]:
    """Every cell of every worksheet part stored as a formula, an error value or a formula's
    cached text: ``<f>`` elements and ``t="e"``/``t="str"`` cells."""
    with zipfile.ZipFile(path) as z:
        return [f"{name}: {hit}" for name in z.namelist() if name.startswith("xl/worksheets/s")
                for hit in re.findall(r'<f[ >/]|<c [^>]*t="(?:e|str)"', z.read(name).decode())]


# ----------------------------------------------------------------------------- properties


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(book=_workbooks(), block=st.sampled_from([1, 2, 5000]))
def test_xlsx_reads_back_as_openpyxl_cell_by_cell(tmp_path_factory, book, block):
    sheets, provenance, links = book
    folder = tmp_path_factory.mktemp("book")
    new, ref = folder / "new.xlsx", folder / "ref.xlsx"
    with mock.patch.object(excel, "_BLOCK", block):  # rows converted a few at a time too
        excel.write_xlsx(new, sheets, provenance=provenance, hyperlinks=links)
    _reference_xlsx(ref, sheets, provenance=provenance, hyperlinks=links)

    assert _typed_cells(new) == []
    got, want = _loaded(new, sheets, provenance), _loaded(ref, sheets, provenance)
    for g, w in zip(got, want, strict=True):
        assert {k: v for k, v in g.items() if k != "cells"} == \
            {k: v for k, v in w.items() if k != "cells"}
        assert g["cells"].keys() == w["cells"].keys()
        for ref_cell, (a, b) in ((k, (g["cells"][k], w["cells"][k])) for k in g["cells"]):
            assert a["type"] not in ("f", "e"), (g["title"], ref_cell, a)
            assert _same(a["value"], b["value"]), (g["title"], ref_cell, a, b)
            assert {k: v for k, v in a.items() if k != "value"} == \
                {k: v for k, v in b.items() if k != "value"}, (g["title"], ref_cell, a, b)

    # every number a number, as openpyxl stores it (16 significant digits)
    for (name, frame), sheet in zip(sheets.items(), got, strict=False):
        for i, row in enumerate(_cell_rows(frame), start=2):
            for j, raw in enumerate(row, start=1):
                value = excel._cell_value(raw, where="test")
                if isinstance(value, int | float) and not isinstance(value, bool):
                    cell = sheet["cells"][f"{get_column_letter(j)}{i}"]
                    assert _same(cell["value"], _as_openpyxl_stores(value)), (name, i, j, raw)
                    assert cell["type"] == "n", (name, i, j, raw)

    read = [pd.read_excel(p, sheet_name=None, engine="openpyxl") for p in (new, ref)]
    assert list(read[0]) == list(read[1])
    for name in read[0]:
        pd.testing.assert_frame_equal(read[0][name], read[1][name], check_exact=True)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=_frames(xml=False, max_rows=8), dialect=st.sampled_from([(";", ","), (",", ".")]),
       block=st.sampled_from([1, 3, 5000]))
def test_csv_is_byte_identical_to_the_cell_by_cell_writer(tmp_path_factory, frame, dialect,
                                                          block):
    sep, decimal = dialect
    path = tmp_path_factory.mktemp("csv") / "x.csv"
    with mock.patch.object(excel, "_BLOCK", block):
        excel.write_csv(path, frame, sep=sep, decimal=decimal)
    assert path.read_bytes() == _reference_csv(frame, sep=sep, decimal=decimal)


# ----------------------------------------------------------------------------- cases


def test_xlsx_numbers_are_stored_as_openpyxl_stores_them(tmp_path):
    # openpyxl writes numbers with 16 significant digits ("%.16g"): a float's 17th digit
    # and the digits of an integer beyond 2**53 are rounded
    frame = pd.DataFrame({"f": [0.1 + 0.2, 5e-324, -0.0, 1 / 3],
                          "i": np.array([2**53, -(2**53), 0, 2**62], dtype=np.int64),
                          "o": pd.Series([2**70, 0.1 + 0.2, 1234567890123456, None],
                                         dtype=object)})
    ws = load_workbook(excel.write_xlsx(tmp_path / "n.xlsx", {"S": frame}))["S"]
    assert [c.value for c in ws["A"][1:]] == [0.3, 5e-324, 0, 0.3333333333333333]
    assert [c.value for c in ws["B"][1:]] == [2**53, -(2**53), 0, 4.611686018427388e18]
    assert [c.value for c in ws["C"][1:]] == [1.180591620717411e21, 0.3, 1234567890123456,
                                               None]
    assert {c.data_type for col in ws.iter_cols(min_row=2) for c in col if c.value is not None} \
        == {"n"}


def test_xlsx_dates_times_durations_and_linked_dates_keep_their_formats(tmp_path):
    frame = pd.DataFrame({
        "datum": pd.to_datetime(["2024-03-01", None]),
        "tijd": pd.to_datetime(["2024-03-01 14:30:00.25", "1900-01-01 00:00:01"],
                               format="ISO8601"),
        "los": pd.Series([dt.time(1, 2, 3), dt.timedelta(hours=30)], dtype=object),
        "duur": pd.to_timedelta(["1 days 02:00:00", None]),
    })
    links = {"S": {"datum": pd.Series(["a.html", "b.html"])}}
    ws = load_workbook(excel.write_xlsx(tmp_path / "d.xlsx", {"S": frame},
                                        hyperlinks=links))["S"]
    assert (ws["A2"].value, ws["A2"].number_format) == (dt.datetime(2024, 3, 1), "yyyy-mm-dd")
    assert ws["A2"].hyperlink.target == "a.html" and ws["A2"].style == "Hyperlink"
    assert ws["A3"].value == "b.html" and ws["A3"].data_type == "s"  # no date: the target
    assert ws["B2"].value == dt.datetime(2024, 3, 1, 14, 30, 0, 250000)
    assert ws["B3"].value == dt.datetime(1900, 1, 1, 0, 0, 1)
    assert ws["B2"].number_format == "yyyy-mm-dd h:mm:ss"
    assert (ws["C2"].value, ws["C2"].number_format) == (dt.time(1, 2, 3), "h:mm:ss")
    assert (ws["C3"].value, ws["C3"].number_format) == (dt.timedelta(hours=30), "[hh]:mm:ss")
    assert ws["D2"].value == dt.timedelta(days=1, hours=2) and ws["D3"].value is None
    widths = {k: d.width for k, d in ws.column_dimensions.items()}
    assert widths == {"A": 12, "B": 28, "C": 16, "D": 16}  # len("1 day, 6:00:00") + 2 = 16


@pytest.mark.parametrize(("text", "dtype"), [
    *[(t, d) for t in ("bad\x0bchar", "nul\x00", "non-character \uffff") for d in (object, "str")],
    ("lone \ud800 surrogate", object),  # pyarrow (dtype "str") refuses it itself
])
def test_xlsx_refuses_text_that_xml_cannot_hold(tmp_path, text, dtype):
    frame = pd.DataFrame({"a": pd.Series(["ok", "ok", text], dtype=dtype)})
    with pytest.raises(InputError, match=r"sheet 'S', column 'a', row 4: .*control characters"):
        excel.write_xlsx(tmp_path / "x.xlsx", {"S": frame})
    with pytest.raises(InputError, match=r"column 'b\\x0b', row 1: .*control characters"):
        excel.write_xlsx(tmp_path / "x.xlsx", {"S": pd.DataFrame({"b\x0b": [1]})})
    with pytest.raises(InputError, match=r"'Herkomst', row 2 \('k'\): .*control characters"):
        excel.write_xlsx(tmp_path / "x.xlsx", {}, provenance={"k": text})
    assert list(tmp_path.iterdir()) == []


def test_xlsx_cuts_text_to_excels_limit_and_keeps_surrounding_whitespace(tmp_path):
    frame = pd.DataFrame({"a": ["x" * 40_000, "  twee spaties  ", "\tTAB"]})
    ws = load_workbook(excel.write_xlsx(tmp_path / "t.xlsx", {"S": frame}))["S"]
    assert ws["A2"].value == "x" * 32767
    assert ws["A3"].value == "  twee spaties  " and ws["A4"].value == "'\tTAB"
    assert ws.column_dimensions["A"].width == 60


def test_xlsx_is_reproducible_and_dated_by_the_clock(tmp_path, monkeypatch):
    frame = _frame()
    links = {"S": {"Kaart": _links(frame)}}

    def write(name: str, epoch: int) -> bytes:
        monkeypatch.setenv("SOURCE_DATE_EPOCH", str(epoch))
        return excel.write_xlsx(tmp_path / name, {"S": frame}, provenance={"k": "v"},
                                hyperlinks=links).read_bytes()

    one, two, later = write("a.xlsx", 1_700_000_000), write("b.xlsx", 1_700_000_000), \
        write("c.xlsx", 1_800_000_000)
    assert one == two and one != later
    with zipfile.ZipFile(io.BytesIO(one)) as a, zipfile.ZipFile(io.BytesIO(later)) as c:
        assert {i.date_time for i in a.infolist()} == {(2023, 11, 14, 22, 13, 20)}
        assert {i.date_time for i in c.infolist()} == {(2027, 1, 15, 8, 0, 0)}
        core = a.read("docProps/core.xml").decode()
        assert core.count("2023-11-14T22:13:20Z") == 2  # created and modified
        for name in a.namelist():  # the time stamp and nothing else differs
            assert a.read(name).replace(b"2023-11-14T22:13:20", b"#") == \
                c.read(name).replace(b"2027-01-15T08:00:00", b"#"), name
        # openpyxl's parts, the theme too
        assert {"[Content_Types].xml", "xl/workbook.xml", "xl/styles.xml",
                "xl/theme/theme1.xml", "docProps/app.xml"} <= set(a.namelist())
    wb = load_workbook(tmp_path / "a.xlsx")
    assert wb.properties.created == wb.properties.modified == dt.datetime(2023, 11, 14, 22, 13,
                                                                          20)


def test_xlsx_refuses_more_than_a_worksheet_holds(tmp_path):
    with pytest.raises(InputError, match="16,384 columns"):
        excel.write_xlsx(tmp_path / "x.xlsx", {"S": pd.DataFrame(np.zeros((1, 16_385)))})
    with pytest.raises(InputError, match="1,048,575 rows"):
        excel.write_xlsx(tmp_path / "x.xlsx", {"S": pd.DataFrame({"a": np.zeros(1_048_576)})})
    assert list(tmp_path.iterdir()) == []


def test_xlsx_sheet_names_and_links_with_markup_characters(tmp_path):
    frame = pd.DataFrame({"a": ["x", "y"]})
    links = {"R&D <1>": {"a": pd.Series(["a&b.html?x=1&y=2", None])}}
    path = excel.write_xlsx(tmp_path / "m.xlsx", {"R&D <1>": frame, "it's": frame},
                            hyperlinks=links)
    wb = load_workbook(path)
    assert wb.sheetnames == ["R&D <1>", "it's"]
    assert wb["R&D <1>"]["A2"].hyperlink.target == "a&b.html?x=1&y=2"
    with zipfile.ZipFile(path) as z:
        names = re.findall(r"<definedName [^>]*>([^<]*)<", z.read("xl/workbook.xml").decode())
    assert names == ["'R&amp;D &lt;1&gt;'!$A$1:$A$3", "'it''s'!$A$1:$A$3"]
