"""Excel workbooks and CSV files for inspectors, safe against formula injection.

Inspection lists end up in Excel, and Excel evaluates any cell that looks like a formula:
``=HYPERLINK("http://…"&A1)`` in a street name or a remark leaks the sheet, ``=cmd|…`` once
started programs (DDE). Every string this module writes, values and column headers alike,
goes through :func:`safe_text`, which prefixes a single quote to anything a spreadsheet could
read as a formula (OWASP ASVS 5.0 requirement 1.2.10; OWASP "CSV Injection"). In the XLSX
workbook every string cell is also stored as a string (``data_type "s"``), never as a formula:
openpyxl would otherwise store any string starting with ``=`` as one (field notes).

Both writers are atomic (:func:`riskmap.io.atomic_path`): a failure leaves no file behind.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import numbers
import re
import zipfile
from collections.abc import Mapping
from io import BytesIO
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pandas as pd

from riskmap import clock
from riskmap.errors import InputError
from riskmap.io import atomic_path

__all__ = ["PROVENANCE_SHEET", "safe_text", "write_csv", "write_xlsx"]

PROVENANCE_SHEET = "Herkomst"
"""Name of the last worksheet of :func:`write_xlsx`: where the figures come from."""

#: First characters that make Excel, LibreOffice Calc or Google Sheets read a cell as a
#: formula (= + - @; ASVS adds NUL; OWASP adds TAB and CR, LF for good measure), and their
#: full-width forms, which Excel with an East Asian input method turns into the ASCII ones.
FORMULA_TRIGGERS = frozenset("=+-@\t\r\n\0" "\uff1d\uff0b\uff0d\uff20")

_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\\x00-\x1f]")
_SHEET_MAX = 31
_MIN_WIDTH, _MAX_WIDTH = 8, 60


def safe_text(value: object) -> object:
    """Return ``value`` so that a spreadsheet shows it as text and never evaluates it.

    A string whose first character, or whose first character after leading whitespace, is
    one of ``= + - @``, TAB, CR, LF or NUL (or a full-width ``＝ ＋ － ＠``) gets a single quote
    ``'`` in front; all other strings, and every non-string value (numbers, booleans, dates,
    ``None``), are returned unchanged.

    Parameters
    ----------
    value : object
        A cell value or a column header.

    Returns
    -------
    object
        ``"'" + value`` for a string that could start a formula, otherwise ``value``.

    Notes
    -----
    The rule follows OWASP ASVS 5.0 requirement 1.2.10 ("special characters (including '=',
    '+', '-', '@', '\\t' (tab), and '\\0' (null character)) must be escaped with a single quote
    if they appear as the first character in a field value") and the OWASP "CSV Injection"
    page (which adds CR). Leading whitespace is looked through because some programs trim it
    before deciding (" =1"). A negative number stored as text (``"-2"``) becomes ``"'-2"``;
    write numbers as numbers to keep them numeric.

    Examples
    --------
    >>> safe_text('=HYPERLINK("http://x")')
    '\\'=HYPERLINK("http://x")'
    >>> safe_text(" =1"), safe_text("Stationsweg 1"), safe_text(-2)
    ("' =1", 'Stationsweg 1', -2)
    """
    if not isinstance(value, str) or not value:
        return value
    if value[0] in FORMULA_TRIGGERS:
        return "'" + value
    stripped = value.lstrip()
    if stripped and stripped[0] in FORMULA_TRIGGERS:
        return "'" + value
    return value


def _is_missing(value: object) -> bool:
    if value is None or value is pd.NaT or value is pd.NA:
        return True
    if isinstance(value, float | np.floating | np.datetime64 | np.timedelta64):
        return bool(pd.isna(value))
    return False


def _rows(frame: pd.DataFrame) -> list[tuple]:
    """The frame's rows; a datetime column whose times are all midnight becomes dates."""
    columns = []
    for _, series in frame.items():
        if pd.api.types.is_datetime64_dtype(series.dtype):  # naive only; aware ones are refused
            valid = series.dropna()
            if len(valid) and (valid == valid.dt.normalize()).all():
                columns.append([None if pd.isna(v) else v.date() for v in series])
                continue
        columns.append(series.tolist())
    return list(zip(*columns, strict=True)) if columns else [() for _ in range(len(frame))]


def _cell_value(value: object, *, where: str) -> object:
    """Convert one value to what openpyxl writes: None, str, bool, number, date or time."""
    if _is_missing(value):
        return None
    if isinstance(value, str):
        return safe_text(value)
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        number = float(value)
        if math.isinf(number):  # Excel has no infinity; the text reads the same
            return "\u221e" if number > 0 else "\u2212\u221e"
        return number
    if isinstance(value, np.datetime64):
        value = pd.Timestamp(value)
    if isinstance(value, np.timedelta64):
        value = pd.Timedelta(value)
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, pd.Timedelta):
        value = value.to_pytimedelta()
    if isinstance(value, dt.datetime | dt.time) and value.tzinfo is not None:
        raise InputError(
            f"{where}: {value!r} has a time zone, which Excel cannot store. Convert the "
            "column to local time first: "
            "frame[col] = frame[col].dt.tz_convert('Europe/Amsterdam').dt.tz_localize(None).",
            code="E-INPUT-COLUMNTYPE")
    if isinstance(value, dt.date | dt.time | dt.timedelta):
        return value
    raise InputError(
        f"{where}: cannot write a {type(value).__name__} ({value!r:.60}) to a spreadsheet. "
        "Convert the column to text, numbers or dates first (a geometry: drop it, or write "
        "gdf.geometry.to_wkt()).", code="E-INPUT-COLUMNTYPE")


def _sheet_title(name: object, taken: set[str]) -> str:
    """Excel's rules: 1–31 characters, none of ``[]:*?/\\``, no quote at either end, unique."""
    title = _SHEET_FORBIDDEN.sub("_", str(name)).strip().strip("'").strip()
    title = title[:_SHEET_MAX] or "Blad"
    base, n = title, 1
    while title.casefold() in taken or title.casefold() == "history":  # History is reserved
        n += 1
        suffix = f" ({n})"
        title = base[: _SHEET_MAX - len(suffix)] + suffix
    taken.add(title.casefold())
    return title


def _check_link(link: object, *, where: str) -> str:
    """Allow relative links and file names only (``../GM0050/kaart.html#17/52.3/5.4``)."""
    text = str(link)
    problem = None
    if not text.strip():
        problem = "is empty"
    elif any(ord(c) < 0x20 or ord(c) == 0x7F for c in text) or text != text.strip():
        problem = "holds control characters or surrounding whitespace"
    else:
        parts = urlsplit(text)
        if parts.scheme:
            problem = f"has a scheme ({parts.scheme}:)"
        elif parts.netloc or text.startswith(("/", "\\")):
            problem = "points to another host or an absolute path"
    if problem:
        raise InputError(
            f"{where}: link {text!r:.80} {problem}. Only relative links to files next to the "
            "workbook are written (such as ../GM0050/kaart.html#17/52.3/5.4); javascript:, "
            "data:, http(s): and UNC links are refused.", code="E-INPUT-LINK")
    return text


def _aligned_links(series: pd.Series, frame: pd.DataFrame, *, where: str) -> list[object]:
    """Links in the order of the frame's rows; the index is the join key."""
    if series.index.equals(frame.index):
        return list(series)
    extra = series.index.difference(frame.index)
    if len(extra) or not series.index.is_unique:
        raise InputError(
            f"{where}: the link Series must share the frame's index (the index is the join "
            f"key); labels not in the frame: {list(extra[:5])}"
            + (" (duplicated labels)" if not series.index.is_unique else "")
            + ". Build it with frame[col].map(...) or pd.Series(links, index=frame.index).",
            code="E-INPUT-LINK")
    return list(series.reindex(frame.index))


def _width(values: list[object]) -> float:
    longest = max((len(str(v)) for v in values if v is not None), default=0)
    return float(min(max(longest + 2, _MIN_WIDTH), _MAX_WIDTH))


def _write_sheet(ws, frame: pd.DataFrame, *, name: str, links: Mapping[str, pd.Series],
                 column_widths: bool) -> None:
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    from openpyxl.utils.exceptions import IllegalCharacterError

    headers = [safe_text(str(col)) for col in frame.columns]
    columns = list(frame.columns)
    unknown = [str(c) for c in links if c not in columns]
    if unknown:
        raise InputError(
            f"sheet {name!r}: hyperlinks for columns {unknown} that the frame does not have; "
            f"its columns are {[str(c) for c in columns]}.", code="E-INPUT-COLUMN")
    link_cols = {columns.index(col): _aligned_links(series, frame,
                                                    where=f"sheet {name!r}, column {col!r}")
                 for col, series in links.items()}

    bold = Font(bold=True)
    for j, header in enumerate(headers, start=1):
        cell = ws.cell(row=1, column=j, value=header)
        cell.data_type = "s"
        cell.font = bold

    widths = [[h] for h in headers]
    for i, row in enumerate(_rows(frame), start=2):
        for j, raw in enumerate(row):
            where = f"sheet {name!r}, column {columns[j]!r}, row {i}"
            value = _cell_value(raw, where=where)
            try:
                cell = ws.cell(row=i, column=j + 1, value=value)
            except IllegalCharacterError as exc:  # control characters XML cannot hold
                raise InputError(f"{where}: the text holds control characters that Excel cannot "
                                 "store; remove them from the data first.",
                                 code="E-INPUT-COLUMNTYPE") from exc
            if isinstance(value, str):
                cell.data_type = "s"  # never "f" (formula) or "e" (error such as "#N/A")
            if j in link_cols:
                target = link_cols[j][i - 2]
                if not _is_missing(target):
                    cell.hyperlink = _check_link(target, where=where)
                    cell.style = "Hyperlink"
                    if value is None:  # openpyxl shows the target; keep it text
                        cell.value = safe_text(cell.value)
                        cell.data_type = "s"
            if column_widths:
                widths[j].append(value)

    if columns:
        last = get_column_letter(len(columns))
        ws.freeze_panes = "A2"
        ws.auto_filter.ref = f"A1:{last}{len(frame) + 1}"
    if column_widths:
        for j, values in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(j)].width = _width(values)


def write_xlsx(
    path: str | Path,
    sheets: Mapping[str, pd.DataFrame],
    *,
    provenance: Mapping[str, object] | None = None,
    hyperlinks: Mapping[str, Mapping[str, pd.Series]] | None = None,
    column_widths: bool = True,
) -> Path:
    """Write frames to an Excel workbook, one worksheet each, with no formula in any cell.

    Each worksheet has a bold, frozen header row and an autofilter over the data. Strings
    (values and headers) pass :func:`safe_text` and are stored as text. Missing values
    (None, NaN, NaT) become empty cells; infinities the text ``∞``/``−∞``; the index is not
    written (``reset_index()`` first to keep it).

    Parameters
    ----------
    path : str or Path
        The ``.xlsx`` file; its folder is created, an existing file is replaced.
    sheets : mapping of str to DataFrame
        Worksheet name to frame, in order. Names are made valid for Excel: at most 31
        characters, ``[]:*?/\\`` replaced by ``_``, duplicates numbered ``(2)``.
    provenance : mapping of str to str, optional
        Where the figures come from (source files, dates, riskmap version, method); written
        as key/value rows on a last worksheet ``Herkomst``.
    hyperlinks : mapping of str to mapping of str to Series, optional
        ``hyperlinks[sheet][column]`` is a Series of link targets aligned on the frame's
        index; missing entries get no link. Only relative links and file names are allowed,
        such as ``../GM0050/kaart.html#17/52.3/5.4`` (relative to the workbook's folder).
    column_widths : bool, default=True
        Size every column to its longest text (8 to 60 characters).

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    InputError
        A value that a spreadsheet cannot hold (``E-INPUT-COLUMNTYPE``), a link that is not
        relative (``E-INPUT-LINK``, also a ``ValueError``), links for a sheet or column that
        does not exist (``E-INPUT-COLUMN``), or nothing to write (``E-INPUT-EMPTY``).

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"Adres": ["Stationsweg 1"], "Kaart": ["GM0050"]})
    >>> links = {"Inspectie": {"Kaart": pd.Series(["../GM0050/kaart.html"])}}
    >>> write_xlsx("out/inspectie.xlsx", {"Inspectie": frame}, hyperlinks=links,
    ...            provenance={"Bron": "demo"})  # doctest: +SKIP
    PosixPath('out/inspectie.xlsx')
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font

    path = Path(path)
    hyperlinks = dict(hyperlinks or {})
    unknown = [s for s in hyperlinks if s not in sheets]
    if unknown:
        raise InputError(f"hyperlinks for sheets {unknown} that are not written; the sheets "
                         f"are {list(sheets)}.", code="E-INPUT-COLUMN")
    if not sheets and not provenance:
        raise InputError(f"{path.name}: no sheets and no provenance to write; an Excel "
                         "workbook needs at least one worksheet.", code="E-INPUT-EMPTY")

    wb = Workbook()
    wb.remove(wb.active)
    taken = {PROVENANCE_SHEET.casefold()} if provenance else set()
    for name, frame in sheets.items():
        ws = wb.create_sheet(_sheet_title(name, taken))
        _write_sheet(ws, frame, name=str(name), links=hyperlinks.get(name, {}),
                     column_widths=column_widths)

    if provenance:
        ws = wb.create_sheet(PROVENANCE_SHEET)
        bold = Font(bold=True)
        ws.append(["Kenmerk", "Waarde"])
        for cell in ws[1]:
            cell.font = bold
        for i, (key, value) in enumerate(provenance.items(), start=2):
            where = f"sheet {PROVENANCE_SHEET!r}, row {i} ({key!r})"
            for j, item in enumerate((str(key), value), start=1):
                cell = ws.cell(row=i, column=j, value=_cell_value(item, where=where))
                if isinstance(cell.value, str):
                    cell.data_type = "s"
        ws.freeze_panes = "A2"
        if column_widths:
            ws.column_dimensions["A"].width = _width([c.value for c in ws["A"]])
            ws.column_dimensions["B"].width = _width([c.value for c in ws["B"]])

    wb.properties.created = clock.now().replace(tzinfo=None)
    with atomic_path(path) as tmp:
        wb.save(tmp)
        tmp.write_bytes(_reproducible_zip(tmp.read_bytes(), clock.now()))
    return path


def _reproducible_zip(data: bytes, when: dt.datetime) -> bytes:
    """The XLSX (a zip) with every entry dated ``when``, also the ``modified`` property.

    openpyxl dates the zip entries and ``docProps/core.xml``'s ``dcterms:modified`` with the
    time of saving; the run's time (:mod:`riskmap.clock`) keeps the workbook reproducible.
    """
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    date_time = max(when.timetuple()[:6], (1980, 1, 1, 0, 0, 0))  # zip dates start in 1980
    out = BytesIO()
    with zipfile.ZipFile(BytesIO(data)) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == "docProps/core.xml":
                body = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                              rb"\g<1>" + stamp.encode() + rb"\g<2>", body)
            entry = zipfile.ZipInfo(info.filename, date_time=date_time)
            entry.compress_type = info.compress_type
            entry.external_attr = info.external_attr
            dst.writestr(entry, body)
    return out.getvalue()


def _csv_text(value: object, *, decimal: str, where: str) -> str:
    value = _cell_value(value, where=where)
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


def write_csv(
    path: str | Path,
    frame: pd.DataFrame,
    *,
    sep: str = ";",
    decimal: str = ",",
) -> Path:
    """Write a frame as CSV that Dutch Excel opens right, with no formula in any field.

    The file is UTF-8 with a byte-order mark (Excel reads it as UTF-8 only then), separated
    by semicolons and with decimal commas, as Excel with Dutch regional settings expects;
    fields are quoted per RFC 4180 where needed, lines end in CRLF. Strings (values and
    headers) pass :func:`safe_text`. Missing values are empty fields, dates ISO 8601
    (``2024-03-01``, ``2024-03-01 14:30:00``), booleans ``true``/``false``; the index is not
    written. Read it back with ``pd.read_csv(path, sep=";", decimal=",",
    encoding="utf-8-sig")``.

    Parameters
    ----------
    path : str or Path
        The ``.csv`` file; its folder is created, an existing file is replaced.
    frame : DataFrame
        The rows to write.
    sep : str, default=";"
        Field separator.
    decimal : str, default=","
        Decimal mark of floats; use ``"."`` with ``sep=","`` for English-language tools.

    Returns
    -------
    Path
        ``path``.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"Adres": ["=1+1"], "Score": [0.5]})
    >>> write_csv("out/inspectie.csv", frame)  # doctest: +SKIP
    PosixPath('out/inspectie.csv')
    """
    if sep == decimal:
        raise InputError(f"write_csv: separator and decimal mark are both {sep!r}; use "
                         "sep=';' with decimal=',' (Dutch Excel) or sep=',' with decimal='.'.",
                         code="E-INPUT-ARGUMENT")
    path = Path(path)
    columns = list(frame.columns)
    header = [safe_text(str(col)) for col in columns]
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f, delimiter=sep, quotechar='"', doublequote=True,
                            quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
        writer.writerow(header)
        for i, row in enumerate(_rows(frame), start=2):
            writer.writerow([
                _csv_text(v, decimal=decimal,
                          where=f"{path.name}, column {columns[j]!r}, line {i}")
                for j, v in enumerate(row)])
    return path
