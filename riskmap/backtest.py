"""Back-tests of risk maps on a time split, for any region in the world.

The incidents before the split make the maps, the incidents after it score them. Three
methods are compared on the same cells: ``riskmap`` (the tool's automatic risk map, settings
chosen on the training period only, see :func:`riskmap.risk.choose_settings`), ``counts``
(training counts per cell) and ``kde`` (a fixed 250 m Gaussian kernel density). Metrics are
those of :mod:`riskmap.evaluate`: hit rate, PAI, PEI* at area shares, the area under the
hit-rate curve and the recapture rate index, with ties broken in a seeded random order.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from riskmap import evaluate, indicators, kde, risk
from riskmap.crs import RD_NEW
from riskmap.errors import InputError
from riskmap.grid import Grid
from riskmap.incidents import Incidents

__all__ = ["METHODS", "SHARES", "backtest", "suitable_crs"]

SHARES = (0.01, 0.05, 0.10, 0.20)
METHODS = ("riskmap", "counts", "kde")
KDE_BANDWIDTH = 250.0


def suitable_crs(lon: np.ndarray, lat: np.ndarray) -> CRS:
    """RD New when the points lie in the Netherlands, else the UTM zone of their centre."""
    lon_c, lat_c = float(np.nanmedian(lon)), float(np.nanmedian(lat))
    aou = RD_NEW.area_of_use
    if aou.west <= lon_c <= aou.east and aou.south <= lat_c <= aou.north:
        return RD_NEW
    zone = int(math.floor((lon_c + 180) / 6)) + 1
    return CRS.from_epsg((32600 if lat_c >= 0 else 32700) + zone)


def _maps(train: Incidents, grid: Grid, mask: np.ndarray, *, split: pd.Timestamp,
          area_share: float, seed: int) -> dict[str, tuple[np.ndarray, dict]]:
    settings, table = risk.choose_settings(train, grid, mask=mask, area_share=area_share,
                                           seed=seed)
    settings = risk.RiskSettings(**{**settings.as_dict(), "reference": split.isoformat()})
    surf = risk.surface(train, grid, mask=mask, settings=settings, fdr=True)
    pick = table[table["chosen"]].iloc[0]
    chosen = {**settings.as_dict(), "why": f"simplest of the candidates within 1 % of the best "
              f"mean PEI* at {area_share:.0%} over the rolling-origin folds of the training "
              f"period ({pick['pei_mean']:.3f}; best {table['pei_mean'].iloc[0]:.3f})",
              "candidates": len(table)}
    counts = indicators.count(train.x, train.y, grid)
    dens = kde.kde(train.x, train.y, grid, bandwidth=KDE_BANDWIDTH)
    return {"riskmap": (surf.density, chosen), "counts": (counts, {}),
            "kde": (dens, {"bandwidth_m": KDE_BANDWIDTH})}


def backtest(
    inc: Incidents,
    *,
    split: str,
    until: str | None = None,
    area=None,
    cell_size: float = 150.0,
    offsets: int = 1,
    area_share: float = 0.05,
    seed: int = 0,
) -> dict:
    """Back-test the three methods on a time split.

    Parameters
    ----------
    inc : Incidents
        All incidents, in a projected CRS in metres.
    split : str
        ISO date: incidents before it train, from it on test.
    until : str, optional
        ISO date: test incidents before it (default: all after the split).
    area : shapely geometry, optional
        Study area in ``inc.crs`` (default: the convex hull of all incidents).
    cell_size : float, default=150.0
        Cell size in metres.
    offsets : int, default=1
        Repeat on grids shifted by ``j / offsets`` of a cell (j = 0 … offsets − 1) along both
        axes and report the spread: hit rates depend on where the grid lies.
    area_share : float, default=0.05
        The share at which the automatic settings are chosen.
    seed : int, default=0
        Seed of the tie-breaking order.

    Returns
    -------
    dict
        ``n_train``, ``n_test``, ``cells``, ``cell_size``, ``crs``, ``split``, ``until``,
        ``results`` (per method: metrics per share, ``auc``, ``rri`` and ``settings``),
        ``curves`` (hit-rate curves for plotting) and, with ``offsets`` > 1, ``offsets``
        (per method: min, mean and max PEI* and hit rate at each share).

    Notes
    -----
    Chainey, S., Tompson, L. & Uhlig, S. (2008), The utility of hotspot mapping for predicting
    spatial patterns of crime, Security Journal 21. Hunt, J. M. (2016), Do crime hot spots
    move? NIJ Journal 277 (PEI*). Levine, N. (2008), The "Hottest" Part of a Hotspot (RRI).
    """
    split_ts = pd.Timestamp(split)
    until_ts = pd.Timestamp(until) if until else None
    if area is None:
        area = shapely.convex_hull(shapely.multipoints(np.column_stack([inc.x, inc.y])))
    inc = inc.within(area)
    train = inc.select(end=split_ts)
    test = inc.select(start=split_ts, end=until_ts)
    if len(train) == 0 or len(test) == 0:
        raise InputError(f"the split {split} leaves {len(train)} training and {len(test)} test "
                         f"incidents (data run from {inc.period[0].date()} to "
                         f"{inc.period[1].date()}). Choose a split inside the period.",
                         code="E-INCIDENTS-EMPTY")
    xmin, ymin, xmax, ymax = shapely.bounds(area)
    runs = []
    for j in range(max(offsets, 1)):
        shift = cell_size * j / max(offsets, 1)
        base = Grid.from_bounds(xmin, ymin, xmax, ymax, cell_size=cell_size, crs=inc.crs,
                                halo=cell_size)
        grid = Grid(base.x0 - shift, base.y1 - shift, base.width + 1, base.height + 1,
                    cell_size, inc.crs)
        xs, ys = grid.centres()
        X, Y = np.meshgrid(xs, ys)
        mask = shapely.contains_xy(area, X, Y)
        test_counts = indicators.count(test.x, test.y, grid)
        train_counts = indicators.count(train.x, train.y, grid)
        maps = _maps(train, grid, mask, split=split_ts, area_share=area_share, seed=seed)
        res = {}
        curves = {}
        for name, (score, settings) in maps.items():
            r = evaluate.evaluate(score, test_counts, mask=mask, train_counts=train_counts,
                                  shares=SHARES, seed=seed)
            r["settings"] = settings
            res[name] = r
            curves[name] = [a.tolist() for a in evaluate.hit_rate_curve(
                score, test_counts, mask=mask, seed=seed)]
        runs.append({"grid": grid, "mask": mask, "results": res, "curves": curves})
    first = runs[0]
    out = {
        "n_train": len(train), "n_test": len(test),
        "cells": int(first["mask"].sum()), "cell_size": cell_size,
        "crs": inc.crs.to_string(), "split": split_ts.date().isoformat(),
        "until": until_ts.date().isoformat() if until_ts is not None else None,
        "train_period": [str(train.period[0].date()), str(train.period[1].date())],
        "test_period": [str(test.period[0].date()), str(test.period[1].date())],
        "results": first["results"], "curves": first["curves"],
    }
    if len(runs) > 1:
        spread = {}
        for name in METHODS:
            spread[name] = {}
            for a in SHARES:
                key = f"{a:.2f}"
                for metric in ("pei", "hit_rate", "pai"):
                    vals = [r["results"][name][key][metric] for r in runs]
                    spread[name][f"{metric}@{key}"] = {"min": float(np.min(vals)),
                                                       "mean": float(np.mean(vals)),
                                                       "max": float(np.max(vals))}
        out["offsets"] = {"n": len(runs), "shift_m": [cell_size * j / len(runs)
                                                      for j in range(len(runs))],
                          "spread": spread}
    return out
