"""Benchmark: riskmap.kde against scikit-learn's KernelDensity, in the same run.

    python benchmarks/bench_kde.py [--points 100000] [--size 700] [--cell 100] [--bandwidth 250]
                                   [--oversample 3] [--exact-cells 1000] [--seed 0]

100 k clustered incidents (some outside the grid) on a 700 × 700 grid of 100 m, Gaussian
kernel with a bandwidth of 250 m. Times ``riskmap.kde.kde`` (median of 3) against
``KernelDensity(kernel="gaussian").score_samples`` with ``rtol=1e-4`` on every cell centre (one
run, 6–10 s). The fully exact ``score_samples`` (``rtol=0``) would take about 20 minutes for all
490 k centres, so it is run only on ``--exact-cells`` cells: the same number of the densest
cells (where the error is largest) and of random cells. Errors are the largest absolute
difference as a share of the reference's peak. Prints a Markdown row in the format of the
kernel table of BENCHMARKS.md. Takes about half a minute on 2 cores.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time

import numpy as np
from timing import median_time


def clustered_points(rng, n, bounds, *, clusters=300):
    """Incidents in Gaussian clusters (sd 50–1500 m) plus 10 % scattered; some fall outside."""
    xmin, ymin, xmax, ymax = bounds
    n_bg = n // 10
    cx = rng.uniform(xmin - 1000, xmax + 1000, clusters)
    cy = rng.uniform(ymin - 1000, ymax + 1000, clusters)
    sd = rng.uniform(50, 1500, clusters)
    size = rng.pareto(1.2, clusters) + 1
    lab = rng.choice(clusters, n - n_bg, p=size / size.sum())
    x = np.concatenate([cx[lab] + rng.normal(0, 1, lab.size) * sd[lab],
                        rng.uniform(xmin, xmax, n_bg)])
    y = np.concatenate([cy[lab] + rng.normal(0, 1, lab.size) * sd[lab],
                        rng.uniform(ymin, ymax, n_bg)])
    return x, y


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print the Markdown row."""
    from sklearn import __version__ as skl_version
    from sklearn.neighbors import KernelDensity

    from riskmap.grid import Grid
    from riskmap.kde import kde

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--points", type=int, default=100_000)
    ap.add_argument("--size", type=int, default=700, help="grid width and height in cells")
    ap.add_argument("--cell", type=float, default=100.0, help="cell size in metres")
    ap.add_argument("--bandwidth", type=float, default=250.0)
    ap.add_argument("--oversample", type=int, default=3)
    ap.add_argument("--exact-cells", type=int, default=1000,
                    help="densest and random cells checked against the exact (rtol=0) KDE")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    x0, y0 = 100_000.0, 400_000.0
    side = args.size * args.cell
    grid = Grid.from_bounds(x0, y0, x0 + side, y0 + side, cell_size=args.cell)
    x, y = clustered_points(rng, args.points, grid.bounds)
    outside = int((~grid.rowcol(x, y)[2]).sum())
    h = args.bandwidth

    t_ours, ours = median_time(lambda: kde(x, y, grid, bandwidth=h,
                                            oversample=args.oversample))

    xs, ys = grid.centres()
    X, Y = np.meshgrid(xs, ys)
    centres = np.column_stack([X.ravel(), Y.ravel()])
    kd = KernelDensity(kernel="gaussian", bandwidth=h, rtol=1e-4).fit(np.column_stack([x, y]))
    t = time.perf_counter()
    ref = np.exp(kd.score_samples(centres)).reshape(grid.shape) * x.size * 1e6
    t_ref = time.perf_counter() - t
    err_ref = float(np.abs(ours - ref).max() / ref.max())

    # exact (rtol=0) on the densest cells and on random cells; the time for all cells is
    # extrapolated from the random ones (the densest cells are slower to evaluate)
    m = min(args.exact_cells, ref.size)
    top = np.argsort(ref.ravel())[-m:]
    rand = rng.choice(ref.size, m, replace=False)
    kd0 = KernelDensity(kernel="gaussian", bandwidth=h).fit(np.column_stack([x, y]))
    t = time.perf_counter()
    exact_rand = np.exp(kd0.score_samples(centres[rand]))
    t_exact = time.perf_counter() - t
    exact_top = np.exp(kd0.score_samples(centres[top]))
    pick = np.concatenate([top, rand])
    exact = np.concatenate([exact_top, exact_rand]) * x.size * 1e6
    err_exact = float(np.abs(ours.ravel()[pick] - exact).max() / exact.max())
    err_ref_exact = float(np.abs(ref.ravel()[pick] - exact).max() / exact.max())
    t_exact_all = t_exact * ref.size / rand.size

    print(f"python {platform.python_version()}, scikit-learn {skl_version}, "
          f"{platform.machine()}; {args.points:,} points ({outside:,} outside the grid), "
          f"{grid.width} x {grid.height} cells of {args.cell:g} m, bandwidth {h:g} m, "
          f"oversample {args.oversample}", file=sys.stderr)
    print(f"riskmap.kde (median of 3): {t_ours:.3f} s", file=sys.stderr)
    print(f"KernelDensity.score_samples rtol=1e-4 (1 run): {t_ref:.2f} s", file=sys.stderr)
    print(f"exact rtol=0 on {rand.size:,} random cells: {t_exact:.1f} s "
          f"(all {ref.size:,} cells: ~{t_exact_all / 60:.0f} min, not run)", file=sys.stderr)
    print(f"max |riskmap - rtol=1e-4| / peak: {err_ref:.3%}; on the checked cells "
          f"max |riskmap - exact| / peak: {err_exact:.3%} "
          f"(rtol=1e-4 itself: {err_ref_exact:.4%})", file=sys.stderr)

    print()
    print("| kernel | riskmap | reference | reference time | ratio | agreement |")
    print("| --- | --- | --- | --- | --- | --- |")
    print(f"| Gaussian KDE of {args.points:,} incidents, bandwidth {h:g} m, "
          f"{ref.size:,} cells of {args.cell:g} m | {t_ours:.3f} s | "
          f"sklearn KernelDensity.score_samples (rtol=1e-4; exact rtol=0 ≈ "
          f"{t_exact_all / 60:.0f} min) | {t_ref:.2f} s | **{t_ref / t_ours:.0f}× faster** | "
          f"max abs diff {err_ref:.3%} of the peak vs rtol=1e-4; {err_exact:.3%} vs exact on "
          f"{pick.size:,} cells (densest + random) |")
    print()
    cmd = "python benchmarks/bench_kde.py" + ("" if argv is None and len(sys.argv) == 1
                                               else " " + " ".join(sys.argv[1:]))
    print(f"Made with `{cmd}`.")


if __name__ == "__main__":
    main()
