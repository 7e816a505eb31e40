"""Benchmark: riskmap.indicators.density and count against the implementations they replaced.

    python benchmarks/bench_density.py [--data benchmarks/results/data_scale1] [--repeat 3]
                                       [--sizes 100 25] [--radii 500 250]

All ``verblijfsobject`` points of the demo's ``bag.gpkg`` (~1.5 M, scale 1) on the region grid
of ``project_100m.toml`` and ``project_25m.toml`` (region plus halo, EPSG:28992). ``density``
is timed counting the points within each radius and, at the smallest radius, summing the
whole-number ``oppervlakte`` (a layer of the demo sums it within 250 m), and on each
municipality's window of the grid with the points within the window plus the radius (what a
partitioned run does: 39 windows × the radii); ``count`` (the risk stage and the back-test
count incidents on the full grid) with 2,400 points (the demo's incidents) and with all
points. The old density is `tests/reference_indicators.py` (commit bde0744), the old
count is copied below. Every
time is the minimum over ``--repeat`` runs, wall clock and the process's CPU time (the
machine may be shared: CPU time is the steadier figure); the results must be identical.
Prints a Markdown table. Takes about five minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from reference_indicators import density_before  # noqa: E402  (the old code, shared)


def count_before(x, y, grid):
    """riskmap.indicators.count (statistic ``count``) at commit bde0744."""
    row, col, inside = grid.rowcol(x, y)
    flat = row[inside] * grid.width + col[inside]
    size = grid.width * grid.height
    return np.bincount(flat, minlength=size).astype(float).reshape(grid.shape)


def best_time(repeat, fn, *args, **kwargs):
    """Minimum wall and CPU seconds over ``repeat`` calls of ``fn``, and its last result."""
    wall, cpu, out = math.inf, math.inf, None
    for _ in range(repeat):
        out = None
        w0, c0 = time.perf_counter(), time.process_time()
        out = fn(*args, **kwargs)
        wall = min(wall, time.perf_counter() - w0)
        cpu = min(cpu, time.process_time() - c0)
    return wall, cpu, out


def _then_half(fn, *args):
    return fn(*args) / 2


def _windows(fn, calls):
    """``fn`` on every (window, points, radius) of ``calls``: the list of results."""
    return [fn(x, y, grid, radius=radius) for grid, x, y, radius in calls]


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print the Markdown table."""
    from riskmap import config, indicators, io, pipeline

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path,
                    default=Path(__file__).parent / "results" / "data_scale1",
                    help="a demo project at scale 1 (project_100m.toml, project_25m.toml)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 25])
    ap.add_argument("--radii", type=float, nargs="+", default=[500.0, 250.0])
    args = ap.parse_args(argv)

    rows = []
    for size in args.sizes:
        region = pipeline.load_region(config.load_project(args.data / f"project_{size}m.toml"))
        grid = region.grid
        pts = io.read_vector(args.data / "data" / "demo" / "bag.gpkg", crs=grid.crs,
                             layer="verblijfsobject", columns=["oppervlakte"], as_points=True)
        x, y = pts.x, pts.y
        area = pts.data["oppervlakte"].to_numpy(dtype=float)
        cases = [(r, None) for r in args.radii] + [(min(args.radii), "oppervlakte")]
        for radius, field in cases:
            w = area if field else None
            t_old, c_old, old = best_time(args.repeat, density_before, x, y, grid,
                                          radius=radius, weights=w)
            t_new, c_new, new = best_time(args.repeat, indicators.density, x, y, grid,
                                          radius=radius, weights=w)
            what = f"density, {len(x):,} points within {radius:g} m" + (
                f", sum of {field}" if field else "")
            rows.append((size, grid, what, t_old, c_old, t_new, c_new,
                         float(np.abs(new - old).max()), np.array_equal(new, old)))
            print(rows[-1][2:], file=sys.stderr, flush=True)
        calls = []
        for code in region.codes:
            window = grid.subgrid(*region.window(code))
            xmin, ymin, xmax, ymax = window.bounds
            for r in args.radii:
                near = (x > xmin - r) & (x < xmax + r) & (y > ymin - r) & (y < ymax + r)
                calls.append((window, x[near], y[near], r))
        t_old, c_old, old = best_time(args.repeat, _windows, density_before, calls)
        t_new, c_new, new = best_time(args.repeat, _windows, indicators.density, calls)
        diff = max(float(np.abs(a - b).max()) for a, b in zip(new, old, strict=True))
        rows.append((size, grid, f"density on the {len(region.codes)} municipality windows, "
                     f"{len(calls)} calls with the points within window + radius "
                     f"({sum(len(c[1]) for c in calls):,} in all)", t_old, c_old,
                     t_new, c_new, diff, diff == 0))
        print(rows[-1][2:], file=sys.stderr, flush=True)
        for n in (2_400, len(x)):
            idx = np.random.default_rng(0).choice(len(x), n, replace=False)
            xs, ys = x[idx], y[idx]
            # then / 2, a consumer that reads every cell: lazily zeroed pages are paid for
            t_old, c_old, old = best_time(args.repeat * 3, _then_half, count_before, xs, ys,
                                          grid)
            t_new, c_new, new = best_time(args.repeat * 3, _then_half, indicators.count, xs, ys,
                                          grid)
            rows.append((size, grid, f"count, {n:,} points (then / 2)", t_old, c_old, t_new,
                         c_new, float(np.abs(new - old).max()), np.array_equal(new, old)))
            print(rows[-1][2:], file=sys.stderr, flush=True)

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}, "
          f"{os.cpu_count()} cores, load {load:.1f} at the end; minimum of {args.repeat} "
          f"runs (count: {args.repeat * 3})", file=sys.stderr)
    print()
    print("| cell size | cells | measure | before: wall / CPU | after: wall / CPU | "
          "ratio (wall / CPU) | identical |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for size, grid, what, t_old, c_old, t_new, c_new, diff, same in rows:
        print(f"| {size} m | {grid.width * grid.height:,} | {what} | {t_old:.3f} / {c_old:.3f} s"
              f" | {t_new:.3f} / {c_new:.3f} s | **{t_old / t_new:.1f}×** / "
              f"{c_old / c_new:.1f}× | {'yes' if same else f'no (max abs diff {diff:.2e})'} |")
    print()
    cmd = "python benchmarks/bench_density.py" + ("" if argv is None and len(sys.argv) == 1
                                                   else " " + " ".join(sys.argv[1:]))
    print(f"Made with `{cmd}`.")


if __name__ == "__main__":
    main()
