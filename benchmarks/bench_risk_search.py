"""Benchmark: the risk stage before and after the sparse evaluation, on the region.

    python benchmarks/bench_risk_search.py [--sizes 100 25] [--old 200830a] [--skip-old]
                                           [--data DIR] [--audiences partners police]

The demo region at scale 1 (39 municipalities, 2,400 incidents; made by ``bench_run.py`` /
``bench_opportunity.py`` under ``benchmarks/results/data_scale1``, or ``--data``), at each
cell size (``project.toml`` with ``cell_size`` overridden in memory: no file is written).
Each side runs in a fresh process: the riskmap of commit ``--old`` (extracted with
``git archive`` into a temporary folder; default 200830a, the commit before the sparse
evaluation) and this checkout. Per process and step, wall and CPU seconds:

- ``search``: ``risk.choose_settings`` inside ``pipeline.risk_surface`` (84 candidates ×
  2 folds, each a kernel density at ``oversample=1`` and PEI*);
- ``surface``: ``risk.surface`` with the chosen settings (KDE at ``oversample=3``, Gi*);
- ``maps <audience>``: ``pipeline.risk_maps`` (classes per municipality; for partners the
  suppression ``risk.support`` per municipality, for police the emerging hot spots);
- ``support``: ``risk.support`` on the region grid, what ``overlay_maps`` calls.

Peak memory is the process's maximum resident set size (``ru_maxrss``, region included),
read after each step. The parent then compares the outputs of the two processes bit for bit
(settings, candidate table, counts, density, score, Gi* z/p/bin, classes per municipality
and audience, emerging trend labels, support) and prints a Markdown table with the command.
The old side takes several minutes at 25 m.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
OLD = "200830a"
STEPS = ["search", "surface", "maps partners", "maps police", "maps public", "support"]


# ----------------------------------------------------------------------------- child


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(project_path: str, cell_size: float, out: str, audiences: list[str]) -> None:
    """Run the risk stage once with whatever riskmap PYTHONPATH gives; write times and outputs."""
    from riskmap import config, pipeline, risk

    times: dict[str, dict] = {}
    kept: dict = {}

    def timed(name, fn):
        def inner(*a, **k):
            t, c = time.perf_counter(), time.process_time()
            try:
                kept[name] = fn(*a, **k)
                return kept[name]
            finally:
                entry = times.setdefault(name, {"wall": 0.0, "cpu": 0.0})
                entry["wall"] += time.perf_counter() - t
                entry["cpu"] += time.process_time() - c
                entry["rss_mb"] = _rss_mb()
        return inner

    risk.choose_settings = timed("search", risk.choose_settings)
    risk.surface = timed("surface", risk.surface)
    project = config.load_project(project_path)
    project = project.model_copy(update={"region": project.region.model_copy(
        update={"cell_size": float(cell_size)})})
    region = pipeline.load_region(project)
    _ = region.labels
    region_mb = _rss_mb()
    t0 = time.perf_counter()
    surf, inc = pipeline.risk_surface(project, region)
    arrays = {"counts": surf.counts, "weighted": surf.weighted, "density": surf.density,
              "score": surf.score, "gi_z": surf.gi.z, "gi_p": surf.gi.p, "gi_bin": surf.gi.bin,
              "gi_significant": surf.gi.significant}
    for audience in audiences:
        _, maps, meta = timed(f"maps {audience}", pipeline.risk_maps)(
            project, audience=audience, region=region, surface=(surf, inc))
        arrays[f"klasse_{audience}"] = np.concatenate([m.klasse.ravel() for m in maps])
        if audience == "police":
            arrays["trend"] = np.concatenate([m.trend.ravel() for m in maps]).astype(str)
    radius = risk.suppression_radius(surf.settings, region.grid.cell_size)
    arrays["support"] = timed("support", risk.support)(risk._window(inc, surf.settings),
                                                        region.grid, radius_m=radius)
    total = time.perf_counter() - t0
    np.savez(Path(out) / "arrays.npz", **arrays)
    table = kept["search"][1].to_dict(orient="records")  # the whole candidate table
    Path(out, "result.json").write_text(json.dumps({
        "times": times, "total_wall": total, "region_mb": region_mb, "peak_mb": _rss_mb(),
        "settings": surf.settings.as_dict(), "candidates": table,
        "grid": list(region.grid.shape), "mask_cells": int((region.labels >= 0).sum()),
        "incidents": len(inc)}, default=str))


# ----------------------------------------------------------------------------- parent


def _run_side(tree: Path, project: Path, size: float, audiences: list[str], tag: str) -> dict:
    out = Path(tempfile.mkdtemp(prefix=f"risksearch_{tag}_"))
    cmd = [sys.executable, str(Path(__file__).resolve()), "child", str(project), f"{size:g}",
           str(out), *audiences]
    env = {**os.environ, "PYTHONPATH": str(tree)}
    load = os.getloadavg()[0]
    subprocess.run(cmd, check=True, env=env, cwd=tempfile.gettempdir())
    result = json.loads((out / "result.json").read_text())
    result["out"] = str(out)
    result["load"] = (round(load, 1), round(os.getloadavg()[0], 1))
    return result


def _old_tree(rev: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix=f"riskmap_{rev}_"))
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "riskmap"], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


def _same(a: dict, b: dict) -> list[str]:
    """Names of the outputs that differ between two runs (empty: bit for bit the same)."""
    diff = []
    if a["settings"] != b["settings"]:
        diff.append("settings")
    if json.dumps(a["candidates"]) != json.dumps(b["candidates"]):  # floats in repr: exact
        diff.append("candidate table")
    x = np.load(Path(a["out"]) / "arrays.npz")
    y = np.load(Path(b["out"]) / "arrays.npz")
    for name in sorted(set(x.files) | set(y.files)):
        if name not in x.files or name not in y.files:
            diff.append(f"{name} (missing)")
            continue
        u, v = x[name], y[name]
        same = u.shape == v.shape and u.dtype == v.dtype and (
            np.array_equal(u, v, equal_nan=u.dtype.kind == "f"))
        if same and u.dtype.kind == "f":  # also the sign of zeros and the NaN pattern
            same = np.array_equal(np.signbit(u), np.signbit(v))
        if not same:
            diff.append(name)
    return diff


def _row(size: float, label: str, r: dict) -> str:
    t = r["times"]
    cells = []
    for step in STEPS:
        cells.append(f"{t[step]['wall']:.2f} s" if step in t else "–")
    risk_total = sum(v["wall"] for v in t.values())
    return (f"| {size:g} m | {label} | " + " | ".join(cells)
            + f" | **{risk_total:.1f} s** | {sum(v['cpu'] for v in t.values()):.1f} s"
            + f" | {r['peak_mb']:,.0f} MB | {r['peak_mb'] - r['region_mb']:,.0f} MB"
            + f" | {r['load'][0]} → {r['load'][1]} |")


def _compare_size(size: float, project: Path, old_tree: Path | None, args, rows: list,
                  notes: list) -> None:
    """Time this checkout (and the old code) at one cell size; compare; remove the outputs."""
    new = _run_side(ROOT, project, size, args.audiences, "new")
    print(f"{size:g} m new: {new['total_wall']:.1f} s, {new['peak_mb']:.0f} MB",
          file=sys.stderr)
    rows.append(_row(size, "this checkout", new))
    if old_tree is None:
        shutil.rmtree(new["out"], ignore_errors=True)
        return
    old = _run_side(old_tree, project, size, args.audiences, "old")
    print(f"{size:g} m old: {old['total_wall']:.1f} s, {old['peak_mb']:.0f} MB",
          file=sys.stderr)
    rows.insert(len(rows) - 1, _row(size, f"`{args.old}`", old))
    ratio = sum(v["wall"] for v in old["times"].values()) / sum(
        v["wall"] for v in new["times"].values())
    diff = _same(old, new)
    for side in (old, new):
        shutil.rmtree(side["out"], ignore_errors=True)
    notes.append(
        f"- {size:g} m: grid {new['grid'][0]} × {new['grid'][1]} "
        f"({new['mask_cells']:,} study cells), {new['incidents']:,} incidents; settings "
        f"{new['settings']['bandwidth_m']:g} m / {new['settings']['half_life_days']} d / "
        f"{new['settings']['window_days']}; old / new risk stage **{ratio:.1f}×**; "
        + ("outputs bit for bit the same (settings, candidate table, counts, density, "
           "score, Gi*, classes, trend, support)" if not diff
           else f"**outputs differ: {', '.join(diff)}**"))


def main() -> None:
    """Run both sides per cell size and print the Markdown table."""
    if len(sys.argv) > 1 and sys.argv[1] == "child":
        child(sys.argv[2], float(sys.argv[3]), sys.argv[4], sys.argv[5:])
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=float, nargs="+", default=[100.0, 25.0])
    ap.add_argument("--old", default=OLD, help="git revision of the code to compare with")
    ap.add_argument("--skip-old", action="store_true", help="time this checkout only")
    ap.add_argument("--data", type=Path, default=None,
                    help="folder with project.toml (default: benchmarks/results/data_scale1)")
    ap.add_argument("--audiences", nargs="+", default=["partners", "police"],
                    choices=["partners", "police", "public"])
    args = ap.parse_args()
    if args.data is None:
        sys.path.insert(0, str(HERE))
        sys.path.insert(0, str(ROOT))
        from bench_opportunity import ensure_data

        project = ensure_data(1.0)
    else:
        project = args.data / "project.toml"
    old_tree = None if args.skip_old else _old_tree(args.old)
    rows, notes = [], []
    try:
        for size in args.sizes:
            _compare_size(size, project, old_tree, args, rows, notes)
    finally:  # the outputs of a 25 m side take ~1.7 GB
        if old_tree is not None:
            shutil.rmtree(old_tree, ignore_errors=True)
    head = ("| cell size | code | " + " | ".join(STEPS)
            + " | risk stage | CPU | peak RSS | above region | load |")
    print(f"Made with `python benchmarks/bench_risk_search.py {' '.join(sys.argv[1:])}` on "
          f"{time.strftime('%Y-%m-%d %H:%M')}: {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, numpy {np.__version__}. Wall seconds per step "
          "(each side one fresh process); peak RSS is the process's maximum resident set "
          "(region included), `above region` what the risk stage added; load is the 1-minute "
          "load average before → after.\n")
    print(head)
    print("|" + " --- |" * (head.count("|") - 1))
    print("\n".join(rows))
    if notes:
        print()
        print("\n".join(notes))


if __name__ == "__main__":
    main()
