"""Benchmark: riskmap.excel's writers against writing cell by cell, as before.

    python benchmarks/bench_excel.py [--repeat 3] [--seed 0] [--value-by-value]

The workload of a region run's ranked lists (``riskmap/pipeline.py:_ranking_files``): 38
municipalities with the row counts of the benchmark region at 100 m (12,459 premises in all,
46 to 1,923 each), the 19 columns of ``RANK_COLUMNS`` with the dtypes the ranking has (text,
integers, floats, a mostly empty date column), a link per premise to its place on the map and
a ``Herkomst`` sheet of 20 provenance entries. Per format it times writing all 38 files
(CPU time of the process and wall time, median of ``--repeat`` after one warm-up round;
CPU time is what other work on the machine disturbs least) with

* the reference: the code ``riskmap.excel`` had before, copied below (its zip rewrite and
  per-value CSV text are still ``riskmap.excel``'s own): openpyxl in normal
  mode filled cell by cell, saved, and the zip rewritten with the run's dates; the CSV
  converted value by value and fed to ``csv.writer``;
* ``riskmap.excel.write_xlsx`` (openpyxl in write-only mode, fed rows of values converted a
  column at a time) / ``write_csv`` (columns converted at a time, then ``csv.writer``);
* with ``--value-by-value``, also openpyxl's write-only mode fed values converted one at a
  time, as the reference converts them, with the same layout and dates: what converting a
  column at a time adds to the write-only mode.

It checks that the new files hold what the reference's hold (every cell of all 38
workbooks read back with openpyxl: value and type, number format, bold, hyperlink; the
sheets' frozen panes, filters and column widths; the CSV byte for byte) and prints a
Markdown table. Takes about two minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

#: Rows of the ranked list per municipality in the region run at 100 m.
SIZES = [568, 950, 1923, 92, 1437, 322, 112, 211, 117, 165, 138, 178, 141, 299, 170, 93, 87,
         152, 334, 46, 103, 215, 79, 77, 101, 42, 269, 61, 87, 181, 392, 446, 1139, 333, 288,
         344, 126, 641]


def ranking(n: int, rng: np.random.Generator, code: str) -> tuple[pd.DataFrame, pd.Series]:
    """A ranked list as ``_ranking_files`` writes it (Dutch headers), and its map links."""
    def pick(values, size=n):
        return rng.choice(np.array(values, dtype=object), size)

    reasons = ["recent politiesignaal op dit adres", "leegstaand pand",
               "veel gelegenheid in de omgeving (score 0,7)", "17 inschrijvingen op dit adres",
               "dicht bij een snelwegafrit"]
    why = ["; ".join(rng.choice(reasons, rng.integers(1, 4), replace=False)) for _ in range(n)]
    last = pd.Series(pd.NaT, index=range(n), dtype="datetime64[us]")
    seen = rng.random(n) < 0.1
    last[seen] = pd.Timestamp("2023-01-01") + pd.to_timedelta(
        rng.integers(0, 700, seen.sum()), unit="D")
    x = np.round(120_000 + rng.random(n) * 40_000, 1)
    y = np.round(450_000 + rng.random(n) * 40_000, 1)
    lat, lon = np.round(52 + rng.random(n) * 0.4, 6), np.round(5 + rng.random(n) * 0.5, 6)
    frame = pd.DataFrame({
        "Rang": np.arange(1, n + 1),
        "Verblijfsobject": [f"{code[2:]}01000{v:07d}" for v in rng.integers(0, 9_999_999, n)],
        "Gemeente": "Hilversum", "Gemeentecode": code,
        "Gebied": pick(["buitengebied", "bedrijventerrein"]),
        "Bedrijventerrein": pick([None, "De Wetering", "De Meent", "Kerkelanden"]),
        "Straat": pick(["Noorderweg", "Zilverweg", "Diamantweg", "Kelvinstraat",
                        "Van 't Hoffstraat", "Oude Amersfoortseweg"]),
        "Huisnummer": rng.integers(1, 250, n).astype(np.int32),
        "Postcode": [f"12{v:02d}{a}{b}" for v, a, b in zip(
            rng.integers(0, 99, n), pick(list("ABNRTW")), pick(list("DJRSTV")), strict=True)],
        "Woonplaats": "Hilversum",
        "Score": np.round(np.sort(rng.random(n))[::-1], 6),
        "Redenen": why,
        "Zone": pick(["", "prioriteit", "blinde vlek", "risico"]),
        "Laatste inspectie": last,
        "Laatste uitkomst": np.where(seen, "geen bijzonderheden", ""),
        "x (RD)": x, "y (RD)": y, "Breedtegraad": lat, "Lengtegraad": lon,
    })
    links = ("kaart.html#17/" + pd.Series(lat).astype(str) + "/"
             + pd.Series(lon).astype(str)).set_axis(frame.index)
    return frame, links


PROVENANCE = {f"kenmerk_{i}": '{"bron": "bag.gpkg", "sha256": "' + "ab" * 32 + '"}'
              for i in range(20)}


# ----------------------------------------------------------------------------- the reference
# riskmap/excel.py before this branch (commit 200830a), without its comments.


def _old_rows(frame):
    columns = []
    for _, series in frame.items():
        if pd.api.types.is_datetime64_dtype(series.dtype):
            valid = series.dropna()
            if len(valid) and (valid == valid.dt.normalize()).all():
                columns.append([None if pd.isna(v) else v.date() for v in series])
                continue
        columns.append(series.tolist())
    return list(zip(*columns, strict=True)) if columns else [() for _ in range(len(frame))]


def _old_width(values):
    longest = max((len(str(v)) for v in values if v is not None), default=0)
    return float(min(max(longest + 2, 8), 60))


def old_write_xlsx(path, sheets, *, provenance, hyperlinks):
    """openpyxl in normal mode, cell by cell, then the zip rewritten with the run's dates."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    from riskmap import clock, excel
    from riskmap.io import atomic_path

    wb = Workbook()
    wb.remove(wb.active)
    taken = {excel.PROVENANCE_SHEET.casefold()}
    bold = Font(bold=True)
    for name, frame in sheets.items():
        ws = wb.create_sheet(excel._sheet_title(name, taken))
        columns = list(frame.columns)
        links = {columns.index(c): excel._aligned_links(s, frame, where="")
                 for c, s in hyperlinks.get(name, {}).items()}
        headers = [excel.safe_text(str(c)) for c in columns]
        for j, header in enumerate(headers, start=1):
            cell = ws.cell(row=1, column=j, value=header)
            cell.data_type = "s"
            cell.font = bold
        widths = [[h] for h in headers]
        for i, row in enumerate(_old_rows(frame), start=2):
            for j, raw in enumerate(row):
                where = f"sheet {name!r}, column {columns[j]!r}, row {i}"
                value = excel._cell_value(raw, where=where)
                cell = ws.cell(row=i, column=j + 1, value=value)
                if isinstance(value, str):
                    cell.data_type = "s"
                if j in links:
                    target = links[j][i - 2]
                    if not excel._is_missing(target):
                        cell.hyperlink = excel._check_link(target, where=where)
                        cell.style = "Hyperlink"
                        if value is None:
                            cell.value = excel.safe_text(cell.value)
                            cell.data_type = "s"
                widths[j].append(value)
        ws.freeze_panes = "A2"
        ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{len(frame) + 1}"
        for j, values in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(j)].width = _old_width(values)
    ws = wb.create_sheet(excel.PROVENANCE_SHEET)
    ws.append(["Kenmerk", "Waarde"])
    for cell in ws[1]:
        cell.font = bold
    for i, (key, value) in enumerate(provenance.items(), start=2):
        for j, item in enumerate((str(key), value), start=1):
            cell = ws.cell(row=i, column=j, value=excel._cell_value(item, where=""))
            if isinstance(cell.value, str):
                cell.data_type = "s"
    ws.freeze_panes = "A2"
    ws.column_dimensions["A"].width = _old_width([c.value for c in ws["A"]])
    ws.column_dimensions["B"].width = _old_width([c.value for c in ws["B"]])
    when = clock.now()
    wb.properties.created = when.replace(tzinfo=None)
    with atomic_path(path) as tmp:
        wb.save(tmp)
        tmp.write_bytes(excel._reproducible_zip(tmp.read_bytes(), when))


def old_write_csv(path, frame, *, sep=";", decimal=","):
    """Each value converted on its own and handed to csv.writer."""
    from riskmap import excel
    from riskmap.io import atomic_path

    columns = list(frame.columns)
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f, delimiter=sep, quotechar='"', doublequote=True,
                            quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
        writer.writerow([excel.safe_text(str(c)) for c in columns])
        for i, row in enumerate(_old_rows(frame), start=2):
            writer.writerow([excel._csv_text(excel._cell_value(
                v, where=f"{Path(path).name}, column {columns[j]!r}, line {i}"), decimal=decimal)
                for j, v in enumerate(row)])


def value_by_value_xlsx(path, sheets, *, provenance, hyperlinks):
    """openpyxl's write-only mode fed values converted one at a time (_old_rows and
    _cell_value), otherwise as riskmap.excel.write_xlsx: widths, links, layout, dates."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    from riskmap import clock, excel
    from riskmap.io import atomic_path

    wb = Workbook(write_only=True)
    bold = Font(bold=True)
    taken = {excel.PROVENANCE_SHEET.casefold()}
    pending = []

    def add(title, columns, rows, links, autofilter):
        ws = wb.create_sheet(title)
        header = [excel._as_text(ws, excel.safe_text(str(c)), font=bold) for c in columns]
        widths = [len(c.value) for c in header]
        out = [header]
        for i, row in enumerate(rows):
            values = []
            for j, raw in enumerate(row):
                value = excel._cell_value(raw, where="")
                if value is not None:
                    widths[j] = max(widths[j], len(str(value)))
                if isinstance(value, str) and value[:1] in excel._TYPED_TEXT:
                    value = excel._as_text(ws, value)
                if j in links and not excel._is_missing(links[j][i]):
                    value = excel._linked(ws, value, excel._check_link(links[j][i], where=""))
                values.append(value)
            out.append(values)
        for j, w in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(j)].width = excel._width(w)
        ws.freeze_panes = "A2"
        if autofilter:
            ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{len(out)}"
        pending.append((ws, out))

    for name, frame in sheets.items():
        columns = list(frame.columns)
        links = {columns.index(c): excel._aligned_links(s, frame, where="")
                 for c, s in hyperlinks.get(name, {}).items()}
        add(excel._sheet_title(name, taken), columns, _old_rows(frame), links, True)
    add(excel.PROVENANCE_SHEET, ["Kenmerk", "Waarde"],
        [(str(k), v) for k, v in provenance.items()], {}, False)
    when = clock.now()
    wb.properties.created = when.replace(tzinfo=None)
    with atomic_path(path) as tmp:
        for ws, rows in pending:
            for row in rows:
                ws.append(row)
        wb.save(tmp)
        tmp.write_bytes(excel._reproducible_zip(tmp.read_bytes(), when))


# ----------------------------------------------------------------------------- the run


def difference(a: Path, b: Path) -> str | None:
    """Where two workbooks differ when read back with openpyxl, or None: every cell's value
    (and its type), number format, bold and hyperlink; each sheet's frozen panes, filter and
    column widths."""
    from openpyxl import load_workbook

    wa, wb = load_workbook(a), load_workbook(b)
    if wa.sheetnames != wb.sheetnames:
        return f"sheets {wa.sheetnames} != {wb.sheetnames}"
    for name in wa.sheetnames:
        sa, sb = wa[name], wb[name]
        for what, x, y in (
                ("freeze", sa.freeze_panes, sb.freeze_panes),
                ("filter", sa.auto_filter.ref, sb.auto_filter.ref),
                ("widths", {k: d.width for k, d in sa.column_dimensions.items()},
                 {k: d.width for k, d in sb.column_dimensions.items()}),
                ("size", (sa.max_row, sa.max_column), (sb.max_row, sb.max_column))):
            if x != y:
                return f"{name}: {what} {x} != {y}"
        for ra, rb in zip(sa.iter_rows(), sb.iter_rows(), strict=True):
            for ca, cb in zip(ra, rb, strict=True):
                x, y = ((type(c.value), c.value, c.data_type, c.number_format, c.font.b,
                         c.hyperlink.target if c.hyperlink else None) for c in (ca, cb))
                if x != y:
                    return f"{name}!{ca.coordinate}: {x} != {y}"
    return None


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print the Markdown table."""
    import openpyxl

    from riskmap import excel

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--value-by-value", action="store_true",
                    help="also time openpyxl's write-only mode fed values converted one at a "
                         "time")
    args = ap.parse_args(argv)

    load0 = os.getloadavg()[0]
    rng = np.random.default_rng(args.seed)
    parts = [(f"GM{k:04d}", *ranking(n, rng, f"GM{k:04d}")) for k, n in enumerate(SIZES)]
    rows, cells = sum(SIZES), sum(SIZES) * len(parts[0][1].columns)
    out = Path(tempfile.mkdtemp(prefix="bench_excel_"))

    def xlsx(writer, tag):
        def run():
            for code, frame, links in parts:
                writer(out / f"{code}.{tag}.xlsx", {"Ranglijst": frame}, provenance=PROVENANCE,
                       hyperlinks={"Ranglijst": {"Verblijfsobject": links}})
        return run

    def csvs(writer, tag):
        def run():
            for code, frame, _ in parts:
                writer(out / f"{code}.{tag}.csv", frame)
        return run

    timed, wall_times = {}, {}
    jobs = [("xlsx old", xlsx(old_write_xlsx, "old")), ("xlsx new", xlsx(excel.write_xlsx, "new")),
            ("csv old", csvs(old_write_csv, "old")), ("csv new", csvs(excel.write_csv, "new"))]
    if args.value_by_value:
        jobs.append(("xlsx value by value", xlsx(value_by_value_xlsx, "vbv")))
    for name, run in jobs:
        run()  # warm-up: imports, first-call costs
        walls, cpus = [], []
        for _ in range(args.repeat):
            wall, cpu = time.perf_counter(), time.process_time()
            run()
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
        timed[name] = statistics.median(cpus)
        wall_times[name] = statistics.median(walls)
        print(f"{name}: {timed[name]:.3f} s CPU, {wall_times[name]:.3f} s wall", file=sys.stderr)

    tags = ["new", "vbv"] if args.value_by_value else ["new"]
    differences = {t: [d for c, _, _ in parts if (d := difference(
        out / f"{c}.{t}.xlsx", out / f"{c}.old.xlsx")) is not None] for t in tags}
    for tag, found in differences.items():
        for d in found[:3]:
            print(f"{tag} differs from old: {d}", file=sys.stderr)
    csv_same = all((out / f"{c}.new.csv").read_bytes() == (out / f"{c}.old.csv").read_bytes()
                   for c, _, _ in parts)
    size = {t: sum((out / f"{c}.{t}.xlsx").stat().st_size for c, _, _ in parts) / 1e6
            for t in ("old", "new")}

    print(f"python {platform.python_version()}, pandas {pd.__version__}, openpyxl "
          f"{openpyxl.__version__}, {platform.machine()}; {len(parts)} ranked lists, "
          f"{rows:,} rows x {len(parts[0][1].columns)} columns ({cells:,} cells) with a link "
          f"per row and a Herkomst sheet", file=sys.stderr)
    print()
    print("| files (38 ranked lists, 12,459 rows × 19 columns) | cell by cell (before) | "
          "riskmap.excel | ratio | same content |")
    print("| --- | --- | --- | --- | --- |")

    def cells(old, new, bold="**"):
        return (f"{timed[old]:.2f} s ({wall_times[old]:.2f} s) | {timed[new]:.2f} s "
                f"({wall_times[new]:.2f} s) | {bold}{timed[old] / timed[new]:.1f}× faster{bold} "
                f"({wall_times[old] / wall_times[new]:.1f}×)")

    def same(tag):
        found = differences[tag]
        return ("all 38 read back equal, cell by cell" if not found
                else f"NO: {len(found)} of 38 differ")

    print(f"| `write_xlsx` | {cells('xlsx old', 'xlsx new')} | {same('new')}; "
          f"{size['old']:.2f} → {size['new']:.2f} MB |")
    print(f"| `write_csv` | {cells('csv old', 'csv new')} | "
          f"{'all 38 byte for byte' if csv_same else 'NO'} |")
    if args.value_by_value:
        print(f"| openpyxl write-only, values converted one at a time | "
              f"{cells('xlsx old', 'xlsx value by value', bold='')} | {same('vbv')} |")
    print()
    print(f"CPU time of the process (wall time in brackets), median of {args.repeat} after a "
          f"warm-up round; the writers use one core. Load average before and after: "
          f"{load0:.1f}, {os.getloadavg()[0]:.1f}.")
    cmd = " ".join(["python benchmarks/bench_excel.py", *sys.argv[1:]])
    print(f"Made with `{cmd}`.")


if __name__ == "__main__":
    main()
