"""Excel workbooks and CSV files for inspectors, safe against formula injection.

Inspection lists end up in Excel, and Excel evaluates any cell that looks like a formula:
``=HYPERLINK("http://…"&A1)`` in a street name or a remark leaks the sheet, ``=cmd|…`` once
started programs (DDE). Every string this module writes, values and column headers alike,
goes through :func:`safe_text`, which prefixes a single quote to anything a spreadsheet could
read as a formula (OWASP ASVS 5.0 requirement 1.2.10; OWASP "CSV Injection"). In the XLSX
workbook every string cell is also stored as a string (``data_type "s"``), never as a formula
or an error value: openpyxl would store any string starting with ``=`` as a formula and
``#N/A`` as an error (field notes).

Both writers convert a frame a column at a time (whole-array operations for typed columns)
and hand the rows on: the workbook to openpyxl in write-only mode, dated by
:mod:`riskmap.clock` so that a run's files are reproducible, the CSV to :mod:`csv`. Both are
atomic (:func:`riskmap.io.atomic_path`): a failure leaves no file behind.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import math
import numbers
import os
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
_LINK_CONTROL = re.compile("[\x00-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
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
    elif _LINK_CONTROL.search(text) or text != text.strip():
        problem = "holds control characters or surrounding whitespace"
    elif text.startswith(("/", "\\")):  # also //host (a netloc)
        problem = "points to another host or an absolute path"
    elif ":" in text:  # only then can there be a scheme
        parts = urlsplit(text)
        if parts.scheme:
            problem = f"has a scheme ({parts.scheme}:)"
        elif parts.netloc:
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


# ----------------------------------------------------------------------------- columns
#
# Both writers convert a frame column by column, a block of rows at a time: typed columns
# (text, integers, floats, booleans, naive date-times) with whole-array operations, anything
# else (object columns of mixed values, nullable and categorical dtypes, timedeltas) value by
# value through _cell_value. Either way a cell ends up as what _cell_value makes of it.

_BLOCK = 5000  # rows converted at a time: bounds the memory a large frame needs

_TEXT, _INT, _FLOAT, _BOOL, _DATE, _DATETIME, _AWARE, _OTHER = (
    "text", "int", "float", "bool", "date", "datetime", "aware", "other")


def _kind(series: pd.Series) -> str:
    """How a column is converted; a datetime column whose times are all midnight holds dates."""
    dtype = series.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        return _AWARE if series.notna().any() else _OTHER
    if isinstance(dtype, pd.StringDtype):
        return _TEXT
    if not isinstance(dtype, np.dtype):
        return _OTHER  # categorical, nullable Int64/boolean/Float64, periods, …
    if dtype.kind == "b":
        return _BOOL
    if dtype.kind in "iu":
        return _INT
    if dtype.kind == "f":
        return _FLOAT
    if dtype.kind == "M":
        valid = series.dropna()
        return _DATE if len(valid) and (valid == valid.dt.normalize()).all() else _DATETIME
    if dtype.kind == "O" and pd.api.types.infer_dtype(series, skipna=True) in ("string",
                                                                                "empty"):
        return _TEXT
    return _OTHER


def _aware_error(series: pd.Series, *, where) -> InputError:
    """The error :func:`_cell_value` raises for the first value of a time-zone aware column."""
    i = int(np.flatnonzero(series.notna().to_numpy())[0])
    try:
        _cell_value(series.iloc[i], where=where(i))
    except InputError as exc:
        return exc
    raise AssertionError(f"{series.dtype} not refused")  # pragma: no cover


def _texts(series: pd.Series) -> list[str | None] | None:
    """A text column's values through :func:`safe_text`, ``None`` where missing; ``None``
    when it holds something other than text or a missing value (convert value by value)."""
    values = series.to_numpy(dtype=object)
    texts = values.tolist()
    for i in np.flatnonzero(pd.isna(values)):
        if not _is_missing(texts[i]):  # such as Decimal("NaN"), which _cell_value refuses
            return None
        texts[i] = None
    # a text whose first character is a letter or digit never needs the quote
    return [t if not t or t[0].isalnum() else safe_text(t) for t in texts]


def _microseconds(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Naive date-times as integer microseconds since 1970 (truncated, as
    ``Timestamp.to_pydatetime``), and the mask of NaT."""
    values = series.to_numpy()
    missing = np.isnat(values)
    us = values.astype("datetime64[us]").astype(np.int64)
    return np.where(missing, 0, us), missing


# ----------------------------------------------------------------------------- XLSX
#
# openpyxl writes the workbook, in write-only mode: rows are appended as tuples of plain
# values (str, int, float, bool, date, datetime, time, timedelta; None for an empty cell),
# which openpyxl turns into cells and streams to the worksheet part. A WriteOnlyCell is made
# only where a cell needs more than its value: the bold header, a hyperlink, or a text that
# openpyxl would otherwise type as something other than a string (_TYPED_TEXT).

#: Characters XML 1.0 cannot hold: the control characters openpyxl refuses
#: (``IllegalCharacterError``), and lone surrogates and U+FFFE/U+FFFF, which it would write
#: into a part that Excel cannot read.
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_MAX_ROWS, _MAX_COLUMNS = 1_048_576, 16_384
#: First characters of the texts openpyxl types as a formula (``=…``, which safe_text
#: already quotes) or as an error value (``#N/A``, ``#DIV/0!``, …) instead of a string.
_TYPED_TEXT = ("=", "#")


def _illegal(where: str) -> InputError:
    return InputError(f"{where}: the text holds control characters that Excel cannot store; "
                      "remove them from the data first.", code="E-INPUT-COLUMNTYPE")


def _as_text(ws, text: str, *, font=None):
    """A cell that stores ``text`` as a string (``data_type "s"``), whatever it looks like."""
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(ws, text)
    cell.data_type = "s"  # never "f" (formula) or "e" (an error value such as "#N/A")
    if font is not None:
        cell.font = font
    return cell


def _linked(ws, value: object, target: str):
    """A cell in the Hyperlink style that links to ``target`` and shows ``value`` (the
    target, as text, when there is none); a date keeps its number format."""
    from openpyxl.cell import Cell, WriteOnlyCell

    if isinstance(value, Cell):  # a text stored as text (_as_text)
        value = value.value
    if value is None or value == "":
        value = safe_text(target)
    cell = WriteOnlyCell(ws, value)
    if isinstance(value, str):
        cell.data_type = "s"
    number_format = cell.number_format
    cell.hyperlink = target
    cell.style = "Hyperlink"  # a named style replaces the number format too
    cell.number_format = number_format
    return cell


def _xlsx_column(ws, series: pd.Series, kind: str, *, where) -> tuple[list, int]:
    """A block of one column as the values openpyxl is given (a cell for a text that needs
    one), and the length of the longest value shown (for the column width)."""
    if kind == _AWARE:
        raise _aware_error(series, where=where)
    if kind == _TEXT:
        texts = _texts(series)
        if texts is not None:
            whole = "".join(t for t in texts if t)
            if not whole.isprintable() and _ILLEGAL.search(whole):
                raise _illegal(where(next(i for i, t in enumerate(texts)
                                          if t and _ILLEGAL.search(t))))
            longest = max((len(t) for t in texts if t is not None), default=0)
            values: list = texts
            for i, t in enumerate(texts):
                if t and t[0] in _TYPED_TEXT:
                    values[i] = _as_text(ws, t)
            return values, longest
        kind = _OTHER
    if kind == _INT:
        values = series.to_numpy().tolist()
        return values, max(len(str(min(values))), len(str(max(values))))
    if kind == _BOOL:
        values = series.to_numpy().tolist()
        return values, 4 if all(values) else 5  # True, False
    numbers = series.to_numpy()
    if kind == _FLOAT and not np.isinf(numbers).any():
        missing = np.isnan(numbers)
        values = numbers.astype(object)
        values[missing] = None
        return values.tolist(), max(map(len, map(repr, numbers[~missing].tolist())), default=0)
    if kind in (_DATE, _DATETIME):
        us, missing = _microseconds(series)
        stamps = us.astype("datetime64[us]")
        values = (stamps.astype("datetime64[D]") if kind == _DATE else stamps).astype(object)
        values[missing] = None
        if missing.all():
            longest = 0
        elif kind == _DATE:
            longest = 10  # 2024-03-01
        else:  # 2024-03-01 14:30:00 or 2024-03-01 14:30:00.250000
            longest = 26 if (us[~missing] % 10**6).any() else 19
        return values.tolist(), longest
    values, longest = [], 0
    for i, raw in enumerate(series.tolist()):  # value by value, infinities too
        value = _cell_value(raw, where=where(i))
        if value is not None:
            longest = max(longest, len(str(value)))
        if isinstance(value, str):
            if _ILLEGAL.search(value):
                raise _illegal(where(i))
            if value[:1] in _TYPED_TEXT:
                value = _as_text(ws, value)
        values.append(value)
    return values, longest


def _width(longest: int) -> float:
    return float(min(max(longest + 2, _MIN_WIDTH), _MAX_WIDTH))


def _worksheet(wb, frame: pd.DataFrame, title: str, *, label: str, where,
               links: Mapping[int, list], column_widths: bool, autofilter: bool):
    """A worksheet for ``frame`` with a frozen header row, optionally an autofilter over the
    data, and the rows to append to it: the bold header and the converted values.

    ``label`` names the sheet and ``where(j, r)`` column ``j`` (0-based) of row ``r``
    (1-based, as Excel counts) in error messages; ``links`` maps a column to a link target
    per row. Nothing is written yet: a value that cannot be written fails here, before
    openpyxl starts streaming any worksheet.
    """
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    n, m = frame.shape
    if n + 1 > _MAX_ROWS or m > _MAX_COLUMNS:
        raise InputError(f"{label}: {n} rows and {m} columns; an Excel "
                         f"worksheet holds at most {_MAX_ROWS - 1:,} rows below its header and "
                         f"{_MAX_COLUMNS:,} columns. Split the frame, or write CSV.",
                         code="E-INPUT-ARGUMENT")
    ws = wb.create_sheet(title)
    if not m:  # no columns: an empty worksheet
        return ws, []
    bold = Font(bold=True)
    header = []
    for j, col in enumerate(frame.columns):
        text = safe_text(str(col))
        if _ILLEGAL.search(text):
            raise _illegal(where(j, 1))
        header.append(_as_text(ws, text, font=bold))
    longest = [len(cell.value) for cell in header]
    series = [s for _, s in frame.items()]
    kinds = [_kind(s) for s in series]
    rows: list[tuple] = [tuple(header)]
    for lo in range(0, n, _BLOCK):
        columns = []
        for j in range(m):
            values, widest = _xlsx_column(ws, series[j].iloc[lo:lo + _BLOCK], kinds[j],
                                          where=lambda i, j=j, lo=lo: where(j, lo + i + 2))
            longest[j] = max(longest[j], widest)
            for i, target in enumerate(links[j][lo:lo + _BLOCK] if j in links else ()):
                if not _is_missing(target):
                    values[i] = _linked(ws, values[i],
                                        _check_link(target, where=where(j, lo + i + 2)))
            columns.append(values)
        rows += zip(*columns, strict=True)

    # openpyxl writes these before the first row
    if column_widths:
        for j, w in enumerate(longest, start=1):
            ws.column_dimensions[get_column_letter(j)].width = _width(w)
    ws.freeze_panes = "A2"
    if autofilter:
        ws.auto_filter.ref = f"A1:{get_column_letter(m)}{n + 1}"
    return ws, rows


def _discard(wb) -> None:
    """After a failure: finish the worksheets openpyxl has begun to stream to temporary
    files, and remove those files (openpyxl removes them once saved, or when Python exits)."""
    for ws in wb.worksheets:
        writer = getattr(ws, "_writer", None)  # made when the first row is appended
        if writer is None:
            continue
        with contextlib.suppress(Exception):
            if not ws.closed:
                ws.close()
        if os.path.exists(writer.out):
            with contextlib.suppress(OSError):
                writer.cleanup()


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
        does not exist (``E-INPUT-COLUMN``), more rows or columns than a worksheet holds
        (``E-INPUT-ARGUMENT``), or nothing to write (``E-INPUT-EMPTY``).

    Notes
    -----
    openpyxl writes the workbook in write-only mode, fed a row at a time with values
    converted a column at a time; numbers are stored as openpyxl stores them (16
    significant digits), dates, times and durations as serial numbers with the formats
    ``yyyy-mm-dd``, ``yyyy-mm-dd h:mm:ss``, ``h:mm:ss`` and ``[hh]:mm:ss``. The zip entries
    and the document's dates are those of the run (:mod:`riskmap.clock`), so that the same
    run gives the same bytes.

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

    path = Path(path)
    hyperlinks = dict(hyperlinks or {})
    unknown = [s for s in hyperlinks if s not in sheets]
    if unknown:
        raise InputError(f"hyperlinks for sheets {unknown} that are not written; the sheets "
                         f"are {list(sheets)}.", code="E-INPUT-COLUMN")
    if not sheets and not provenance:
        raise InputError(f"{path.name}: no sheets and no provenance to write; an Excel "
                         "workbook needs at least one worksheet.", code="E-INPUT-EMPTY")

    wb = Workbook(write_only=True)
    sheets_rows = []
    taken = {PROVENANCE_SHEET.casefold()} if provenance else set()
    for name, frame in sheets.items():
        label = f"sheet {str(name)!r}"
        columns = list(frame.columns)
        links = hyperlinks.get(name, {})
        unknown = [str(c) for c in links if c not in columns]
        if unknown:
            raise InputError(
                f"{label}: hyperlinks for columns {unknown} that the frame does not have; "
                f"its columns are {[str(c) for c in columns]}.", code="E-INPUT-COLUMN")
        targets = {columns.index(col): _aligned_links(series, frame,
                                                      where=f"{label}, column {col!r}")
                   for col, series in links.items()}
        sheets_rows.append(_worksheet(
            wb, frame, _sheet_title(name, taken), label=label, links=targets,
            where=lambda j, r, label=label, columns=columns: f"{label}, column "
                                                            f"{columns[j]!r}, row {r}",
            column_widths=column_widths, autofilter=True))

    if provenance:
        keys = list(provenance)
        frame = pd.DataFrame({"Kenmerk": pd.Series([str(k) for k in keys], dtype=object),
                              "Waarde": pd.Series(list(provenance.values()), dtype=object)})
        sheets_rows.append(_worksheet(
            wb, frame, PROVENANCE_SHEET, label=f"sheet {PROVENANCE_SHEET!r}", links={},
            where=lambda j, r: f"sheet {PROVENANCE_SHEET!r}, row {r} ({keys[r - 2]!r})",
            column_widths=column_widths, autofilter=False))

    when = clock.now()
    wb.properties.created = when.replace(tzinfo=None)
    with atomic_path(path) as tmp:
        try:
            for ws, rows in sheets_rows:
                for row in rows:
                    ws.append(row)
            wb.save(tmp)
        except BaseException:
            _discard(wb)
            raise
        tmp.write_bytes(_reproducible_zip(tmp.read_bytes(), when))
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


# ----------------------------------------------------------------------------- CSV


def _csv_text(value: object, *, decimal: str) -> str:
    """The CSV field of a value that :func:`_cell_value` made."""
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


def _csv_column(series: pd.Series, kind: str, *, decimal: str, where) -> list[str]:
    """A block of one column as CSV fields."""
    if kind == _AWARE:
        raise _aware_error(series, where=where)
    if kind == _TEXT:
        texts = _texts(series)
        if texts is not None:
            return [t if t is not None else "" for t in texts]
    elif kind == _INT:
        return series.to_numpy().astype(str).tolist()
    elif kind == _FLOAT and not np.isinf(series.to_numpy()).any():
        texts = [repr(v) if v == v else "" for v in series.tolist()]  # NaN: empty
        if decimal == ".":
            return texts
        return "\n".join(texts).replace(".", decimal).split("\n")  # repr holds no newline
    elif kind == _BOOL:
        return ["true" if v else "false" for v in series.to_numpy().tolist()]
    elif kind in (_DATE, _DATETIME):
        us, missing = _microseconds(series)
        stamps = us.astype("datetime64[us]")
        if kind == _DATE:
            texts = np.datetime_as_string(stamps.astype("datetime64[D]"))
        else:
            texts = np.where(us % 10**6 != 0, np.datetime_as_string(stamps, unit="us"),
                             np.datetime_as_string(stamps, unit="s"))
            texts = np.char.replace(texts, "T", " ")
        return np.where(missing, "", texts).tolist()
    return [_csv_text(_cell_value(v, where=where(i)), decimal=decimal)  # also infinities
            for i, v in enumerate(series.tolist())]


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
    series = [s for _, s in frame.items()]
    kinds = [_kind(s) for s in series]
    header = [safe_text(str(col)) for col in columns]
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f, delimiter=sep, quotechar='"', doublequote=True,
                            quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
        writer.writerow(header)
        for lo in range(0, len(frame), _BLOCK):
            fields = [_csv_column(s.iloc[lo:lo + _BLOCK], kind, decimal=decimal,
                                  where=lambda i, j=j, lo=lo: f"{path.name}, column "
                                                              f"{columns[j]!r}, line {lo + i + 2}")
                      for j, (s, kind) in enumerate(zip(series, kinds, strict=True))]
            writer.writerows(zip(*fields, strict=True) if fields
                             else [()] * min(_BLOCK, len(frame) - lo))
    return path
