"""Benchmark: scoring and ranking 1.5 M premises (weighted scorer, contributions, reasons).

    python benchmarks/bench_scoring.py [--n 1500000]

Times the scoring kernel (seven transformed, weighted features with per-premise
contributions, the three Dutch reasons per premise, the sort) on ``--n`` synthetic premises,
against the same weighted sum written as a per-premise Python loop (the reference way, timed
on 20 000 premises and scaled) — and checks both give the same scores.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import pandas as pd
from timing import median_time

from riskmap import scoring

FEATURES = [
    {"name": "prioriteitszone", "transform": {"method": "threshold", "value": 1},
     "direction": "higher", "weight": 0.15, "reason": "ligt in een prioriteitszone"},
    {"name": "gelegenheid", "transform": {"method": "minmax"}, "direction": "higher",
     "weight": 0.2, "reason": "veel gelegenheid in de omgeving (score {waarde})"},
    {"name": "inschrijvingen", "transform": {"method": "threshold", "value": 5},
     "direction": "higher", "weight": 0.15, "reason": "{waarde} inschrijvingen op dit adres"},
    {"name": "leegstand", "transform": {"method": "threshold", "value": 1},
     "direction": "higher", "weight": 0.15, "reason": "leegstaand pand"},
    {"name": "oppervlakte", "transform": {"method": "rank"}, "direction": "higher",
     "weight": 0.1, "reason": "grote bedrijfsruimte ({waarde} m²)"},
    {"name": "signalen", "transform": {"method": "threshold", "value": 1},
     "direction": "higher", "weight": 0.2, "reason": "{waarde} politiesignalen"},
    {"name": "bouwjaar", "transform": {"method": "rank"}, "direction": "lower",
     "weight": 0.05, "reason": "oud pand (bouwjaar {waarde})"},
]


def data(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "prioriteitszone": (rng.uniform(size=n) < 0.05).astype(float),
        "gelegenheid": rng.beta(2, 5, n),
        "inschrijvingen": rng.poisson(1.0, n).astype(float),
        "leegstand": (rng.uniform(size=n) < 0.08).astype(float),
        "oppervlakte": rng.lognormal(6, 1, n).round(),
        "signalen": rng.poisson(0.02, n).astype(float),
        "bouwjaar": rng.integers(1900, 2021, n).astype(float),
    })


def ours(values: pd.DataFrame):
    score, contrib = scoring.score_weighted(values, FEATURES)
    why = scoring.reasons(values, contrib, FEATURES)
    order = np.argsort(-score, kind="stable")
    return score, why, order


def reference(values: pd.DataFrame) -> np.ndarray:
    """The same weighted sum premise by premise (what a naive implementation does)."""
    total = sum(f["weight"] for f in FEATURES)
    cols = {f["name"]: values[f["name"]].to_numpy() for f in FEATURES}
    lo = {k: v.min() for k, v in cols.items()}
    hi = {k: v.max() for k, v in cols.items()}
    sorted_cols = {k: np.sort(v) for k, v in cols.items()}
    n = len(values)
    out = np.zeros(n)
    for i in range(n):
        s = 0.0
        for f in FEATURES:
            v = cols[f["name"]][i]
            m = f["transform"]["method"]
            if m == "threshold":
                t = float(v >= f["transform"]["value"])
            elif m == "minmax":
                t = (v - lo[f["name"]]) / (hi[f["name"]] - lo[f["name"]])
            else:
                srt = sorted_cols[f["name"]]
                left = np.searchsorted(srt, v, "left")
                right = np.searchsorted(srt, v, "right")
                t = (left + right - 1) / (2 * (n - 1))
                if f["direction"] == "lower":
                    t = 1 - t
            s += f["weight"] / total * t
        out[i] = s
    return out


def end_to_end(scale: float) -> str:
    """``rank_premises`` on the demo at ``scale`` (1.0 ≈ 1.5 M addresses), every stage it needs."""
    import warnings
    from pathlib import Path

    from riskmap import config, demo, pipeline

    folder = Path(__file__).resolve().parent / "results" / f"demo_scale{scale:g}"
    project_file = folder / "project.toml"
    if not project_file.exists():
        demo.write_demo_project(folder, scale=scale)
    project = config.load_project(project_file)
    region = pipeline.load_region(project)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, ranking = pipeline.rank_premises(project, audience="partners", region=region)
    total = time.perf_counter() - t0
    return (f"| `rank_premises` end to end on the demo at scale {scale:g} (all stages it needs: "
            f"opportunity, risk with automatic settings, overlay, {len(ranking.table):,} "
            f"candidates scored with reasons) | {total:.1f} s | | | | |")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_500_000)
    ap.add_argument("--scale", type=float, default=None,
                    help="also time rank_premises end to end on the demo at this scale")
    args = ap.parse_args()
    values = data(args.n)
    t_ours, (score, why, order) = median_time(lambda: ours(values))
    t_score, _ = median_time(lambda: scoring.score_weighted(values, FEATURES))
    sub = values.iloc[:20_000].reset_index(drop=True)
    t0 = time.perf_counter()
    ref = reference(sub)
    t_ref_sub = time.perf_counter() - t0
    t_ref = t_ref_sub * args.n / len(sub)
    sub_score, _ = scoring.score_weighted(sub, FEATURES)
    diff = float(np.abs(sub_score - ref).max())
    print(f"scores + contributions: {t_score:.2f} s; with reasons and sort: {t_ours:.2f} s",
          file=sys.stderr)
    print("| kernel | riskmap | reference | reference time | ratio | agreement |")
    print("| --- | --- | --- | --- | --- | --- |")
    print(f"| weighted score, contributions, 3 Dutch reasons and sort of {args.n:,} premises "
          f"(7 features) | {t_ours:.2f} s (scores alone {t_score:.2f} s) | the same weighted "
          f"sum premise by premise in Python (timed on 20,000, scaled) | {t_ref:.0f} s | "
          f"**{t_ref / t_score:.0f}× faster** (scores) | max abs diff {diff:.1e} |")
    if args.scale:
        print(end_to_end(args.scale))
    print()
    cmd = f"python benchmarks/bench_scoring.py --n {args.n}"
    cmd += f" --scale {args.scale:g}" if args.scale else ""
    print(f"Made with `{cmd}`; median of 3 runs for the kernel, one end-to-end run.")


if __name__ == "__main__":
    main()
