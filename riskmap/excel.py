"""Excel workbooks and CSV files for inspectors, safe against formula injection.

Inspection lists end up in Excel, and Excel evaluates any cell that looks like a formula:
``=HYPERLINK("http://…"&A1)`` in a street name or a remark leaks the sheet, ``=cmd|…`` once
started programs (DDE). Every string this module writes, values and column headers alike,
goes through :func:`safe_text`, which prefixes a single quote to anything a spreadsheet could
read as a formula (OWASP ASVS 5.0 requirement 1.2.10; OWASP "CSV Injection"). In the XLSX
workbook every string cell is also stored as a string (an inline string, read back with
``data_type "s"``), never as a formula or an error value: openpyxl would store any string
starting with ``=`` as a formula (field notes).

Both writers convert a frame a column at a time and write the result directly: the CSV
through :mod:`csv`, the workbook as its Office Open XML parts (ECMA-376) in a zip, dated by
:mod:`riskmap.clock` so that a run's files are reproducible. Both are atomic
(:func:`riskmap.io.atomic_path`): a failure leaves no file behind.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import numbers
import re
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple
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


def _float_value(value: float) -> float | str | None:
    """A float as :func:`_cell_value` converts it: NaN missing, infinity as text."""
    if value != value:
        return None
    if value in (math.inf, -math.inf):  # Excel has no infinity; the text reads the same
        return "\u221e" if value > 0 else "\u2212\u221e"
    return value


def _microseconds(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Naive date-times as integer microseconds since 1970 (truncated, as
    ``Timestamp.to_pydatetime``), and the mask of NaT."""
    values = series.to_numpy()
    missing = np.isnat(values)
    us = values.astype("datetime64[us]").astype(np.int64)
    return np.where(missing, 0, us), missing


# ----------------------------------------------------------------------------- XLSX cells

_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

#: Characters XML 1.0 cannot hold (openpyxl refuses the same control characters); lone
#: surrogates and U+FFFE/U+FFFF cannot be encoded either.
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_MAX_TEXT = 32767  # characters in a cell; openpyxl cut longer text to this too
_MAX_ROWS, _MAX_COLUMNS = 1_048_576, 16_384

# cell styles: indices into <cellXfs> of _STYLES
_HEADER = 1
# datetime before date: a datetime is also a date
_FORMAT_STYLE = {dt.datetime: 3, dt.date: 2, dt.time: 4, dt.timedelta: 5}
_LINKED = {0: 6, 2: 7, 3: 8, 4: 9, 5: 10}  # the same with the Hyperlink cell style
_EPOCH = dt.datetime(1899, 12, 30)  # Excel's day 0 (Windows 1900 date system)
_EPOCH_US = (_EPOCH - dt.datetime(1970, 1, 1)) // dt.timedelta(microseconds=1)
_DAY_US = 86_400_000_000


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _attr(text: str) -> str:
    return _escape(text).replace('"', "&quot;")


def _column_letter(j: int) -> str:
    """``0`` → ``A``, ``26`` → ``AA``."""
    letters = ""
    j += 1
    while j:
        j, rest = divmod(j - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


class _IllegalTextError(Exception):
    """A text that XML cannot hold; the caller knows the cell and raises the InputError."""


def _illegal(where: str) -> InputError:
    return InputError(f"{where}: the text holds control characters that Excel cannot store; "
                      "remove them from the data first.", code="E-INPUT-COLUMNTYPE")


_PRESERVE = ' xml:space="preserve"'


def _string_cell(text: str, style: int = 0) -> str:
    """The rest of a ``<c>`` element holding ``text`` (already through safe_text) as text:
    an inline string, never a formula (``t="str"``) or an error value (``t="e"``)."""
    if _ILLEGAL.search(text):
        raise _IllegalTextError
    text = text[:_MAX_TEXT]
    s = f' s="{style}"' if style else ""
    return (f'{s} t="inlineStr"><is><t{_PRESERVE if text != text.strip() else ""}>'
            f"{_escape(text)}</t></is></c>")


def _text_cells(texts: list[str | None], ref: str, rows: range) -> list[str]:
    """The ``<c>`` elements of a text column (``""``: no cell, for a missing or empty text).

    Checked and escaped as one string; NUL, which no text that passes the check holds,
    separates them.
    """
    texts = [t or "" for t in texts]
    whole = "".join(texts)
    if not whole.isprintable() and _ILLEGAL.search(whole):
        raise _IllegalTextError
    if len(whole) > _MAX_TEXT:
        texts = [t[:_MAX_TEXT] for t in texts]
    escaped = _escape("\0".join(texts)).split("\0")
    return [f'<c r="{ref}{r}" t="inlineStr"><is><t{_PRESERVE if e != e.strip() else ""}>{e}'
            "</t></is></c>" if e else "" for r, e in zip(rows, escaped, strict=True)]


def _serial(value: dt.date | dt.time | dt.timedelta) -> float:
    """Excel's serial number of a date, time or duration (days since 1899-12-30), computed
    as openpyxl does (``openpyxl.utils.datetime.to_excel``)."""
    if isinstance(value, dt.timedelta):
        return value.total_seconds() / 86400
    if not isinstance(value, dt.time | dt.datetime):
        value = dt.datetime.combine(value, dt.time())
    fraction = (value.hour * 3600 + value.minute * 60 + value.second
                + value.microsecond / 10**6) / 86400
    if isinstance(value, dt.time):
        return fraction
    days = (value - _EPOCH).days
    if 0 < days <= 60:  # Excel counts a 29 February 1900 that never was
        days -= 1
    return days + fraction


def _value_cell(value: object, *, linked: bool) -> str | None:
    """The rest of the ``<c>`` element of a value that :func:`_cell_value` made."""
    if value is None or value == "":
        return f' s="{_LINKED[0]}"/>' if linked else None
    if isinstance(value, str):
        return _string_cell(value, _LINKED[0] if linked else 0)
    style = next((s for t, s in _FORMAT_STYLE.items() if isinstance(value, t)), 0)
    s = _LINKED[style] if linked else style
    s = f' s="{s}"' if s else ""
    if isinstance(value, bool):
        return f'{s} t="b"><v>{int(value)}</v></c>'
    if isinstance(value, int):
        return f"{s}><v>{value}</v></c>"
    if isinstance(value, float):
        return f"{s}><v>{value!r}</v></c>"
    return f"{s}><v>{_serial(value):.16g}</v></c>"  # type: ignore[arg-type]


def _xlsx_column(series: pd.Series, kind: str, *, ref: str, rows: range, links: list | None,
                 where) -> tuple[list[str], int]:
    """A block of one column: per row its ``<c>`` element (``""``: no cell), and the length
    of the longest value shown (for the column width)."""
    if kind == _AWARE:
        raise _aware_error(series, where=where)
    values = None
    if links is not None:  # few columns: value by value
        values = ([None if v is pd.NaT else v.date() for v in series] if kind == _DATE
                  else series.tolist())
        kind = _OTHER
    if kind == _TEXT:
        texts = _texts(series)
        if texts is not None:
            try:
                cells = _text_cells(texts, ref, rows)
            except _IllegalTextError:
                raise _illegal(where(next(i for i, t in enumerate(texts)
                                          if t and _ILLEGAL.search(t)))) from None
            return cells, max((len(t) for t in texts if t is not None), default=0)
        kind = _OTHER
    if kind == _INT:
        texts = series.to_numpy().astype(str).tolist()
        return ([f'<c r="{ref}{r}"><v>{t}</v></c>' for r, t in zip(rows, texts, strict=True)],
                max(map(len, texts), default=0))
    if kind == _BOOL:
        flags = series.to_numpy().tolist()
        return ([f'<c r="{ref}{r}" t="b"><v>{int(v)}</v></c>'
                 for r, v in zip(rows, flags, strict=True)],
                max((len(str(v)) for v in flags), default=0))
    if kind == _FLOAT and not np.isinf(series.to_numpy()).any():
        texts = [repr(v) if v == v else "" for v in series.tolist()]  # NaN: no cell
        return ([f'<c r="{ref}{r}"><v>{t}</v></c>' if t else ""
                 for r, t in zip(rows, texts, strict=True)], max(map(len, texts), default=0))
    if kind in (_DATE, _DATETIME):
        us, missing = _microseconds(series)
        rel = us - _EPOCH_US
        days = rel // _DAY_US
        of_day = rel - days * _DAY_US
        fraction = (of_day // 10**6 + (of_day % 10**6) / 10**6) / 86400
        serial = np.where((days > 0) & (days <= 60), days - 1, days) + fraction
        s = _FORMAT_STYLE[dt.date if kind == _DATE else dt.datetime]
        cells = [f'<c r="{ref}{r}" s="{s}"><v>{v:.16g}</v></c>' if not gone else ""
                 for r, v, gone in zip(rows, serial.tolist(), missing.tolist(), strict=True)]
        if missing.all():
            longest = 0
        elif kind == _DATE:
            longest = 10  # 2024-03-01
        else:  # 2024-03-01 14:30:00 or 2024-03-01 14:30:00.250000
            longest = 26 if (us[~missing] % 10**6).any() else 19
        return cells, longest
    cells, longest = [], 0
    for i, (r, raw) in enumerate(zip(rows, series.tolist() if values is None else values,
                                     strict=True)):
        value = _cell_value(raw, where=where(i))
        target = None if links is None or _is_missing(links[i]) else links[i]
        if target is not None:
            target = _check_link(target, where=where(i))
        if value is not None:
            longest = max(longest, len(str(value)))
        if (value is None or value == "") and target is not None:
            value = safe_text(target)  # the cell shows the target, as text
        try:
            body = _value_cell(value, linked=target is not None)
        except _IllegalTextError:
            raise _illegal(where(i)) from None
        cells.append("" if body is None else f'<c r="{ref}{r}"{body}')
    return cells, longest


# ----------------------------------------------------------------------------- worksheets


def _width(longest: int) -> float:
    return float(min(max(longest + 2, _MIN_WIDTH), _MAX_WIDTH))


class _Sheet(NamedTuple):
    title: str
    xml: list[bytes]  # the worksheet part, in chunks
    links: list[tuple[str, str]]  # (cell, target) of its hyperlinks
    filter_ref: str | None  # the autofilter's range


def _worksheet(frame: pd.DataFrame, title: str, *, label: str, where,
               links: Mapping[int, list], column_widths: bool, autofilter: bool) -> _Sheet:
    """A frame as a worksheet: bold header row, frozen below it, optionally an autofilter.

    ``label`` names the sheet and ``where(j, r)`` column ``j`` (0-based) of row ``r``
    (1-based, as Excel counts) in error messages; ``links`` maps a column to a link target
    per row.
    """
    n, m = frame.shape
    if n + 1 > _MAX_ROWS or m > _MAX_COLUMNS:
        raise InputError(f"{label}: {n} rows and {m} columns; an Excel "
                         f"worksheet holds at most {_MAX_ROWS - 1:,} rows below its header and "
                         f"{_MAX_COLUMNS:,} columns. Split the frame, or write CSV.",
                         code="E-INPUT-ARGUMENT")
    letters = [_column_letter(j) for j in range(m)]
    series = [s for _, s in frame.items()]
    kinds = [_kind(s) for s in series]
    header = []
    for j, col in enumerate(frame.columns):
        text = safe_text(str(col))
        try:
            body = _string_cell(text, _HEADER) if text else f' s="{_HEADER}"/>'
        except _IllegalTextError:
            raise _illegal(where(j, 1)) from None
        header.append((f'<c r="{letters[j]}1"{body}', len(text)))
    longest = [w for _, w in header]
    rows = [f'<row r="1">{"".join(c for c, _ in header)}</row>'.encode()] if m else []
    hyperlinks = []
    for lo in range(0, n, _BLOCK):
        numbers = range(lo + 2, min(lo + _BLOCK, n) + 2)
        columns = []
        for j in range(m):
            targets = links[j][lo:lo + _BLOCK] if j in links else None
            ref = letters[j]
            cells, widest = _xlsx_column(series[j].iloc[lo:lo + _BLOCK], kinds[j], ref=ref,
                                         rows=numbers,
                                         links=targets,
                                         where=lambda i, j=j, lo=lo: where(j, lo + i + 2))
            longest[j] = max(longest[j], widest)
            columns.append(cells)
            if targets is not None:
                hyperlinks += [(f"{ref}{r}", t) for r, t in zip(numbers, targets, strict=True)
                               if not _is_missing(t)]
        if m:
            text = "".join(f'<row r="{r}">{"".join(cells)}</row>'
                           for r, cells in zip(numbers, zip(*columns, strict=True), strict=True)
                           if any(cells))
            rows.append(text.encode())

    last = f"{letters[-1]}{n + 1}" if m else "A1"
    pane = ('<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
            '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/>' if m
            else '<selection activeCell="A1" sqref="A1"/>')
    cols = ""
    if column_widths and m:
        cols = "<cols>" + "".join(f'<col min="{j}" max="{j}" width="{_width(w):g}" '
                                  'customWidth="1"/>'
                                  for j, w in enumerate(longest, start=1)) + "</cols>"
    filter_ref = f"A1:{last}" if autofilter and m else None
    hyperlink_xml = ""
    if hyperlinks:
        hyperlink_xml = "<hyperlinks>" + "".join(
            f'<hyperlink ref="{ref}" r:id="rId{k}"/>'
            for k, (ref, _) in enumerate(hyperlinks, start=1)) + "</hyperlinks>"
    head = (f'{_XML_HEAD}<worksheet xmlns="{_MAIN_NS}" xmlns:r="{_REL_NS}">'
            f'<dimension ref="A1:{last}"/><sheetViews><sheetView workbookViewId="0">{pane}'
            f'</sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"/>{cols}<sheetData>')
    tail = ("</sheetData>" + (f'<autoFilter ref="{filter_ref}"/>' if filter_ref else "")
            + hyperlink_xml + '<pageMargins left="0.75" right="0.75" top="1" bottom="1" '
            'header="0.5" footer="0.5"/></worksheet>')
    return _Sheet(title, [head.encode(), *rows, tail.encode()], hyperlinks, filter_ref)


# ----------------------------------------------------------------------------- the package

#: Cell formats (<cellXfs>): 0 General, 1 bold header, 2 date, 3 date-time, 4 time,
#: 5 duration, 6–10 those with the Hyperlink cell style (blue, underlined). Colours are RGB,
#: so no theme part is needed.
_STYLES = (
    f'{_XML_HEAD}<styleSheet xmlns="{_MAIN_NS}">'
    '<numFmts count="3"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/>'
    '<numFmt numFmtId="165" formatCode="yyyy-mm-dd h:mm:ss"/>'
    '<numFmt numFmtId="166" formatCode="[hh]:mm:ss"/></numFmts>'
    '<fonts count="3"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><u/><sz val="11"/><color rgb="FF0563C1"/><name val="Calibri"/><family val="2"/>'
    '</font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
    '<xf numFmtId="0" fontId="2" fillId="0" borderId="0" applyFont="1"/></cellStyleXfs>'
    '<cellXfs count="11">'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    + "".join(f'<xf numFmtId="{f}" fontId="0" fillId="0" borderId="0" xfId="0" '
              'applyNumberFormat="1"/>' for f in (164, 165, 21, 166))
    + '<xf numFmtId="0" fontId="2" fillId="0" borderId="0" xfId="1" applyFont="1"/>'
    + "".join(f'<xf numFmtId="{f}" fontId="2" fillId="0" borderId="0" xfId="1" applyFont="1" '
              'applyNumberFormat="1"/>' for f in (164, 165, 21, 166))
    + '</cellXfs><cellStyles count="2"><cellStyle name="Normal" xfId="0" builtinId="0"/>'
    '<cellStyle name="Hyperlink" xfId="1" builtinId="8"/></cellStyles>'
    '<dxfs count="0"/><tableStyles count="0" defaultTableStyle="TableStyleMedium9" '
    'defaultPivotStyle="PivotStyleLight16"/></styleSheet>')

_CT = "application/vnd.openxmlformats-officedocument"
_RT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def _relationships(rels: list[tuple[str, str, str]]) -> str:
    """A relationships part from (type, target, extra attributes)."""
    return (f'{_XML_HEAD}<Relationships xmlns="{_PKG_REL_NS}">'
            + "".join(f'<Relationship Id="rId{k}" Type="{kind}" Target="{_attr(target)}"{extra}/>'
                      for k, (kind, target, extra) in enumerate(rels, start=1))
            + "</Relationships>")


def _write_package(path: Path, sheets: list[_Sheet], when: dt.datetime) -> None:
    """The XLSX package (a zip) of ``sheets``, every entry and the document dated ``when``.

    The run's time (:mod:`riskmap.clock`), not the time of writing, keeps the bytes
    reproducible.
    """
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    date_time = max(when.timetuple()[:6], (1980, 1, 1, 0, 0, 0))  # zip dates start in 1980
    n = len(sheets)
    types = "".join(f'<Override PartName="/xl/worksheets/sheet{k}.xml" '
                    f'ContentType="{_CT}.spreadsheetml.worksheet+xml"/>'
                    for k in range(1, n + 1))
    content_types = (
        f'{_XML_HEAD}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{_CT}.spreadsheetml.sheet.main+xml"/>'
        f'<Override PartName="/xl/styles.xml" ContentType="{_CT}.spreadsheetml.styles+xml"/>'
        f'{types}<Override PartName="/docProps/core.xml" '
        'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
        f'<Override PartName="/docProps/app.xml" ContentType="{_CT}.extended-properties+xml"/>'
        '</Types>')
    root_rels = _relationships([
        (f"{_RT}/officeDocument", "xl/workbook.xml", ""),
        ("http://schemas.openxmlformats.org/package/2006/relationships/metadata/"
         "core-properties", "docProps/core.xml", ""),
        (f"{_RT}/extended-properties", "docProps/app.xml", "")])
    core = (f'{_XML_HEAD}<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/'
            '2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" '
            'xmlns:dcterms="http://purl.org/dc/terms/" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><dc:creator>riskmap'
            f'</dc:creator><dcterms:created xsi:type="dcterms:W3CDTF">{stamp}</dcterms:created>'
            f'<dcterms:modified xsi:type="dcterms:W3CDTF">{stamp}</dcterms:modified>'
            '</cp:coreProperties>')
    app = (f'{_XML_HEAD}<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/'
           'extended-properties"><Application>riskmap</Application></Properties>')
    names = "".join(
        f'<definedName name="_xlnm._FilterDatabase" localSheetId="{k}" hidden="1">'
        f"{_escape(_quoted(sheet.title))}!{_absolute(sheet.filter_ref)}</definedName>"
        for k, sheet in enumerate(sheets) if sheet.filter_ref)
    workbook = (
        f'{_XML_HEAD}<workbook xmlns="{_MAIN_NS}" xmlns:r="{_REL_NS}"><workbookPr/>'
        '<bookViews><workbookView activeTab="0"/></bookViews><sheets>'
        + "".join(f'<sheet name="{_attr(sheet.title)}" sheetId="{k}" r:id="rId{k}"/>'
                  for k, sheet in enumerate(sheets, start=1))
        + "</sheets>" + (f"<definedNames>{names}</definedNames>" if names else "")
        + '<calcPr calcId="124519" fullCalcOnLoad="1"/></workbook>')
    workbook_rels = _relationships(
        [(f"{_RT}/worksheet", f"worksheets/sheet{k}.xml", "") for k in range(1, n + 1)]
        + [(f"{_RT}/styles", "styles.xml", "")])

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        def entry(name: str, chunks: list[bytes]) -> None:
            info = zipfile.ZipInfo(name, date_time=date_time)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            with z.open(info, "w") as f:
                for chunk in chunks:
                    f.write(chunk)

        for name, text in (("[Content_Types].xml", content_types), ("_rels/.rels", root_rels),
                           ("docProps/app.xml", app), ("docProps/core.xml", core),
                           ("xl/workbook.xml", workbook),
                           ("xl/_rels/workbook.xml.rels", workbook_rels),
                           ("xl/styles.xml", _STYLES)):
            entry(name, [text.encode()])
        for k, sheet in enumerate(sheets, start=1):
            entry(f"xl/worksheets/sheet{k}.xml", sheet.xml)
            if sheet.links:
                entry(f"xl/worksheets/_rels/sheet{k}.xml.rels", [_relationships(
                    [(f"{_RT}/hyperlink", target, ' TargetMode="External"')
                     for _, target in sheet.links]).encode()])


def _quoted(title: str) -> str:
    return "'" + title.replace("'", "''") + "'"


def _absolute(ref: str) -> str:
    """``A1:E9`` → ``$A$1:$E$9``."""
    return ":".join(re.sub(r"([A-Z]+)(\d+)", r"$\1$\2", part) for part in ref.split(":"))


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
    The workbook's parts (Office Open XML, ECMA-376) are written directly from the columns,
    with numbers, dates and text converted a column at a time; a cell is what openpyxl
    would write for it, except that floats keep all 17 significant digits (``repr``) and
    integers all their digits. Text is stored as inline strings (``t="inlineStr"``), so no
    value can become a formula. Dates, times and durations are serial numbers with the
    formats ``yyyy-mm-dd``, ``yyyy-mm-dd h:mm:ss``, ``h:mm:ss`` and ``[hh]:mm:ss``.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"Adres": ["Stationsweg 1"], "Kaart": ["GM0050"]})
    >>> links = {"Inspectie": {"Kaart": pd.Series(["../GM0050/kaart.html"])}}
    >>> write_xlsx("out/inspectie.xlsx", {"Inspectie": frame}, hyperlinks=links,
    ...            provenance={"Bron": "demo"})  # doctest: +SKIP
    PosixPath('out/inspectie.xlsx')
    """
    path = Path(path)
    hyperlinks = dict(hyperlinks or {})
    unknown = [s for s in hyperlinks if s not in sheets]
    if unknown:
        raise InputError(f"hyperlinks for sheets {unknown} that are not written; the sheets "
                         f"are {list(sheets)}.", code="E-INPUT-COLUMN")
    if not sheets and not provenance:
        raise InputError(f"{path.name}: no sheets and no provenance to write; an Excel "
                         "workbook needs at least one worksheet.", code="E-INPUT-EMPTY")

    parts = []
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
        parts.append(_worksheet(
            frame, _sheet_title(name, taken), label=label, links=targets,
            where=lambda j, r, label=label, columns=columns: f"{label}, column {columns[j]!r}, "
                                                            f"row {r}",
            column_widths=column_widths, autofilter=True))

    if provenance:
        keys = list(provenance)
        frame = pd.DataFrame({"Kenmerk": pd.Series([str(k) for k in keys], dtype=object),
                              "Waarde": pd.Series(list(provenance.values()), dtype=object)})
        parts.append(_worksheet(
            frame, PROVENANCE_SHEET, label=f"sheet {PROVENANCE_SHEET!r}", links={},
            where=lambda j, r: f"sheet {PROVENANCE_SHEET!r}, row {r} ({keys[r - 2]!r})",
            column_widths=column_widths, autofilter=False))

    with atomic_path(path) as tmp:
        _write_package(tmp, parts, clock.now())
    return path


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
