"""Police risk maps (risicokaarten): incidents → weighted counts → kernel density and Gi*.

The stage works on arrays: :func:`surface` turns incidents into a risk surface on the grid
(counts with optional exponential time decay, kernel density in incidents per km², Getis-Ord
Gi* hot spots with false-discovery-rate control, a score in [0, 1]); :func:`choose_settings`
picks the bandwidth, half-life and window on the training period only (rolling origin);
:func:`for_audience` makes what each audience may see. Reading incidents lives in
:mod:`riskmap.incidents`, files in :mod:`riskmap.pipeline`.
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from riskmap import evaluate, hotspots, indicators
from riskmap import kde as kde_mod
from riskmap.errors import InputError, PrivacyError
from riskmap.grid import Grid
from riskmap.incidents import Incidents

__all__ = [
    "AUDIENCES",
    "RiskSettings",
    "RiskSurface",
    "choose_settings",
    "for_audience",
    "surface",
]

AUDIENCES = ("police", "partners", "public")
#: The smallest k riskmap accepts for partners and public (design.md: default 5, never < 3).
MIN_K = 3


@dataclass(frozen=True)
class RiskSettings:
    """How a risk surface is made.

    ``bandwidth_m`` 0 means raw (decayed) counts per cell instead of a kernel density;
    ``half_life_days`` None means no time decay; ``window_days`` None means all history
    before ``reference``.
    """

    bandwidth_m: float
    half_life_days: float | None = None
    window_days: float | None = None
    gi_radius_m: float | None = None
    reference: str | None = None  # ISO date the map is made for (exclusive end)

    def as_dict(self) -> dict:
        """Plain dict for JSON and provenance."""
        return asdict(self)


@dataclass
class RiskSurface:
    """A risk surface on ``grid``; arrays are NaN (score) or 0 outside ``mask``."""

    grid: Grid
    mask: np.ndarray
    counts: np.ndarray
    weighted: np.ndarray
    density: np.ndarray
    score: np.ndarray
    gi: hotspots.GiStar
    settings: RiskSettings
    n_incidents: int
    info: dict = field(default_factory=dict)


def _gi_radius(settings: RiskSettings, cell_size: float) -> float:
    return settings.gi_radius_m or max(settings.bandwidth_m, 1.5 * cell_size)


def _window(inc: Incidents, settings: RiskSettings) -> Incidents:
    end = pd.Timestamp(settings.reference) if settings.reference else None
    start = end - pd.Timedelta(days=settings.window_days) if (
        end is not None and settings.window_days) else None
    return inc.select(start=start, end=end)


def _weights(inc: Incidents, settings: RiskSettings) -> np.ndarray:
    if settings.half_life_days is None or len(inc) == 0:
        return inc.weight
    ref = pd.Timestamp(settings.reference) if settings.reference else pd.Timestamp(
        inc.date.max()) + pd.Timedelta(days=1)
    return inc.weight * kde_mod.decay_weights(inc.date, reference=ref,
                                              half_life_days=settings.half_life_days)


def density_of(x: np.ndarray, y: np.ndarray, w: np.ndarray, grid: Grid, bandwidth: float, *,
               oversample: int = 3) -> np.ndarray:
    """Incidents per km²: kernel density, or (``bandwidth`` 0) weighted counts per cell."""
    if bandwidth <= 0:
        return indicators.count(x, y, grid, values=w, statistic="sum") / grid.cell_area_km2
    return kde_mod.kde(x, y, grid, bandwidth=bandwidth, weights=w, oversample=oversample)


def _density(inc: Incidents, w: np.ndarray, grid: Grid, bandwidth: float, *,
             oversample: int = 3) -> np.ndarray:
    return density_of(inc.x, inc.y, w, grid, bandwidth, oversample=oversample)


def surface(inc: Incidents, grid: Grid, *, mask: np.ndarray, settings: RiskSettings,
            fdr: bool = True, density: np.ndarray | None = None,
            gi_z: np.ndarray | None = None) -> RiskSurface:
    """The risk surface of ``inc`` on ``grid`` with ``settings``.

    Parameters
    ----------
    inc : Incidents
        Incidents in the grid's CRS (all history; the window and reference select).
    grid : Grid
        The analysis grid (the region with its halo, so borders do not cut hot spots).
    mask : ndarray of bool
        The study-area cells: observations for Gi* and the unit of the score.
    settings : RiskSettings
        Bandwidth, half-life, window, Gi* radius and reference date.
    density, gi_z : ndarray, optional
        The density and the Gi* z-scores when they were computed elsewhere (per partition,
        :mod:`riskmap.engine`); the counts, the score and the global FDR are made here.

    Notes
    -----
    Kernel density: Gaussian kernel, linear binning and a Gaussian filter
    (:func:`riskmap.kde.kde`). Gi*: Getis, A. & Ord, J. K. (1992), Ord, J. K. & Getis, A.
    (1995), with a distance band of ``gi_radius_m``, binary weights, and Benjamini, Y. &
    Hochberg, Y. (1995) false-discovery-rate control. The score is the density divided by
    its maximum in the study area.
    """
    sel = _window(inc, settings)
    w = _weights(sel, settings)
    counts = indicators.count(sel.x, sel.y, grid)
    weighted = indicators.count(sel.x, sel.y, grid, values=w, statistic="sum")
    if density is None:
        density = _density(sel, w, grid, settings.bandwidth_m)
    top = np.max(density[mask]) if mask.any() else 0.0
    score = np.where(mask, density / top if top > 0 else 0.0, np.nan)
    if gi_z is None:
        gi = hotspots.gistar(weighted, cell_size=grid.cell_size,
                             radius_m=_gi_radius(settings, grid.cell_size), mask=mask, fdr=fdr)
    else:
        gi = hotspots.gistar_from_z(gi_z, fdr=fdr)
    return RiskSurface(grid=grid, mask=mask, counts=counts, weighted=weighted, density=density,
                       score=score, gi=gi, settings=settings, n_incidents=len(sel))


def choose_settings(
    inc: Incidents,
    grid: Grid,
    *,
    mask: np.ndarray,
    area_share: float = 0.05,
    bandwidths: list[float] | None = None,
    half_lives: list[float | None] | None = None,
    windows: list[float | None] | None = None,
    folds: int = 2,
    tolerance: float = 0.01,
    seed: int = 0,
    mapper=None,
) -> tuple[RiskSettings, pd.DataFrame]:
    """Choose bandwidth, half-life and window on ``inc`` (the training period) only.

    Rolling origin: the training period is cut at ``folds`` origins in its last part; for
    each origin the earlier incidents make the map and the next horizon (a sixth of the
    training span, at least 30 days) scores it by PEI* at ``area_share`` (predictive
    efficiency: the share of the incidents the best possible map of that size would have
    caught). Of the candidates whose mean PEI* is within ``tolerance`` (relative) of the
    best, the simplest wins (fewest of: kernel, decay, window), then the best of those.
    ``mapper(fn, items)`` evaluates the candidates elsewhere (e.g. an engine's ``map`` on
    Dask), one item per bandwidth and window (its half-lives together); results are the same
    in any case.

    Returns
    -------
    settings : RiskSettings
        The winner, with ``reference`` the end of the training period.
    table : DataFrame
        Every candidate with its PEI* per fold and mean, best first, and ``chosen``: the
        why of the choice.

    Notes
    -----
    Hunt, Saunders & Hollywood (2014), RAND, on evaluating predictive policing; Chainey,
    Tompson & Uhlig (2008) for PAI; Hunt (2016) for PEI*.

    Each candidate's PEI* is that of ``evaluate.pei_at`` on its dense density map, bit for
    bit, but only the cells the incidents reach are computed (:func:`riskmap.kde.kde_cells`)
    and ranked (:class:`riskmap.evaluate.PeiSearch`): with a few thousand incidents on a
    grid of millions of cells, most cells are exactly 0 in every map.
    """
    if len(inc) == 0:
        raise InputError("no incidents in the training period: cannot choose settings.",
                         code="E-INCIDENTS-EMPTY")
    s = grid.cell_size
    bandwidths = bandwidths if bandwidths is not None else [0.0, s, 1.5 * s, 2 * s, 3 * s,
                                                            4 * s, 6 * s]
    half_lives = half_lives if half_lives is not None else [None, 30.0, 90.0, 365.0]
    windows = windows if windows is not None else [None, 365.0, 180.0]
    t0, t1 = inc.period
    end = t1.normalize() + pd.Timedelta(days=1)
    span = (end - t0).days
    horizon = max(30, span // (3 * folds))
    origins = [end - pd.Timedelta(days=horizon * (j + 1)) for j in range(folds)]
    origins = [o for o in origins if (o - t0).days >= horizon]
    if not origins:
        raise InputError(f"the training period ({t0.date()} – {t1.date()}) is too short to "
                         "choose settings (at least two months are needed); give bandwidth_m "
                         "and half_life_days yourself.", code="E-RISK-TRAINING")
    candidates = list(itertools.product(bandwidths, half_lives, windows))
    tests = [inc.select(start=o, end=o + pd.Timedelta(days=horizon)) for o in origins]
    search = _Search(inc=inc, grid=grid, origins=origins, n_test=[len(t) for t in tests],
                     pei=evaluate.PeiSearch.from_incidents(
                         mask, [_flat_cells(t, grid) for t in tests], share=area_share,
                         seed=seed))
    # one task per bandwidth and window: its half-lives weigh the same incidents, so their
    # densities share the work of finding the cells within reach
    groups = [(bw, tuple(half_lives), win) for bw, win in itertools.product(bandwidths, windows)]
    fn = functools.partial(_candidates, search=search)
    done = mapper(fn, groups) if mapper is not None else [fn(g) for g in groups]
    by_key = {(r["bandwidth_m"], r["half_life_days"], r["window_days"]): r
              for rows in done for r in rows}
    rows = [by_key[c] for c in candidates]  # the order of the candidates, as before
    table = pd.DataFrame(rows).sort_values(["pei_mean", "complexity"], ascending=[False, True],
                                           kind="stable").reset_index(drop=True)
    # parsimony: the simplest candidate within `tolerance` of the best (cf. the one-standard-
    # error rule): differences that small between folds are noise, and simpler maps travel
    top = table["pei_mean"].iloc[0]
    near = table[table["pei_mean"] >= top * (1 - tolerance)]
    best = near.sort_values(["complexity", "pei_mean"], ascending=[True, False],
                            kind="stable").iloc[0]
    table["chosen"] = table.index == best.name

    def _opt(v):
        return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)

    settings = RiskSettings(bandwidth_m=float(best["bandwidth_m"]),
                            half_life_days=_opt(best["half_life_days"]),
                            window_days=_opt(best["window_days"]), reference=end.isoformat())
    return settings, table


@dataclass(frozen=True)
class _Search:
    """What every candidate of :func:`choose_settings` shares (prepared once)."""

    inc: Incidents
    grid: Grid
    origins: list
    n_test: list[int]  # test incidents per origin
    pei: evaluate.PeiSearch  # the study area, the tie-break order and the test cells


def _candidates(group, *, search: _Search) -> list[dict]:
    """PEI* at every origin of the candidates of one bandwidth and window (rows of the table).

    The map of each origin is made from the incidents before it and scored on the test
    period after it by PEI*, exactly as ``evaluate.pei_at(density, test_counts, share=…,
    mask=…, seed=…)`` scores the dense map; only the cells the incidents reach are computed
    and looked at (:func:`riskmap.kde.kde_cells`, :class:`riskmap.evaluate.PeiSearch`), for
    all half-lives at once.
    """
    bw, half_lives, win = group
    peis = {hl: [] for hl in half_lives}
    for j, o in enumerate(search.origins):
        settings = [RiskSettings(bandwidth_m=bw, half_life_days=hl, window_days=win,
                                 reference=o.isoformat()) for hl in half_lives]
        sel = _window(search.inc, settings[0])  # the same incidents for every half-life
        if len(sel) == 0 or search.n_test[j] == 0:
            for hl in half_lives:
                peis[hl].append(np.nan)
            continue
        weights = np.stack([_weights(sel, st) for st in settings])
        # binning at the cell size is ample to rank candidates (field notes: 0.2 % error)
        cells, values = _density_cells(sel.x, sel.y, weights, search.grid, bw)
        for hl, p in zip(half_lives, search.pei.peis(cells, values, period=j), strict=True):
            peis[hl].append(p)
    rows = []
    for hl in half_lives:
        complexity = (bw > 0) + (hl is not None) + (win is not None)
        rows.append({"bandwidth_m": bw, "half_life_days": hl, "window_days": win,
                     **{f"pei_fold{j + 1}": p for j, p in enumerate(peis[hl])},
                     "pei_mean": float(np.nanmean(peis[hl])) if np.isfinite(peis[hl]).any()
                     else np.nan,
                     "complexity": complexity})
    return rows


def _flat_cells(inc: Incidents, grid: Grid) -> np.ndarray:
    """The flat index of the cell of every incident on the grid (as indicators.count)."""
    row, col, inside = grid.rowcol(inc.x, inc.y)
    return row[inside] * grid.width + col[inside]


def _density_cells(x: np.ndarray, y: np.ndarray, weights: np.ndarray, grid: Grid,
                   bandwidth: float) -> tuple[np.ndarray, np.ndarray]:
    """:func:`density_of` at ``oversample=1`` as flat cells and values (0 elsewhere).

    ``weights`` is one vector or (B, n), one map per row: ``values`` has shape (B, cells).
    The same numbers as the dense maps: kernel densities as :func:`riskmap.kde.kde_cells`
    gives them; weighted counts summed per cell in the order of the incidents, as
    ``np.bincount`` in :func:`riskmap.indicators.count` sums them.
    """
    weights = np.atleast_2d(np.asarray(weights, dtype=float))
    if bandwidth > 0:
        out = kde_mod._kde_cells(x, y, grid, bandwidth=bandwidth, weights=weights,
                                 oversample=1)
        if isinstance(out, list):  # dense
            return np.arange(grid.width * grid.height), np.stack([d.ravel() for d in out])
        return out
    row, col, inside = grid.rowcol(x, y)
    flat = row[inside] * grid.width + col[inside]
    order = np.argsort(flat, kind="stable")
    first = np.concatenate([[True], flat[order][1:] != flat[order][:-1]]) if flat.size \
        else np.zeros(0, dtype=bool)
    inverse = np.empty_like(order)
    inverse[order] = np.cumsum(first) - 1
    sums = []
    for w in weights[:, inside]:
        finite = np.isfinite(w)  # as indicators.count: non-finite values are left out
        sums.append(np.bincount(inverse[finite], weights=w[finite],
                                minlength=int(first.sum())))
    return flat[order][first], np.stack(sums) / grid.cell_area_km2


def support(inc: Incidents, grid: Grid, *, radius_m: float) -> np.ndarray:
    """Number of incidents within ``radius_m`` of each cell centre (exact).

    The count of :func:`riskmap.indicators.density` (``weights=None``) — the same offsets
    wholly inside the circle and the same point-by-point test on the ring of offsets the
    circle cuts — made incident by incident, so the cost follows the incidents and the
    cells they reach, not the grid.
    """
    out = np.zeros(grid.shape)
    if len(inc) == 0:
        return out
    s = grid.cell_size
    n = int(math.ceil(radius_m / s)) + 1
    pg = grid.pad(n)
    row, col, inside = pg.rowcol(inc.x, inc.y)
    x, y = np.asarray(inc.x, dtype=float)[inside], np.asarray(inc.y, dtype=float)[inside]
    row, col = row[inside], col[inside]
    fx = (x - (pg.x0 + col * s)) / s  # as indicators.density: 0..1 from the west edge
    fy = ((pg.y1 - (row + 1) * s) - y) / -s  # 0..1 from the south edge
    rr = radius_m / s
    k = np.arange(-n, n + 1)
    DJ, DK = np.meshgrid(k, k)  # DJ east offset, DK north offset (in cells)
    far = (np.abs(DJ) + 0.5) ** 2 + (np.abs(DK) + 0.5) ** 2 <= rr**2
    near = np.maximum(np.abs(DJ) - 0.5, 0) ** 2 + np.maximum(np.abs(DK) - 0.5, 0) ** 2 <= rr**2
    ring = near & ~far
    if 4 * row.size * (int(far.sum()) + int(ring.sum())) > out.size:  # cheaper on the grid
        d = indicators.density(inc.x, inc.y, grid, radius=radius_m)
        return np.rint(d * math.pi * radius_m**2 / 1e6)
    # every incident counts for the cells at its far offsets; on the ring, if within reach
    targets = [(row[:, None] - DK[far][None, :] - n, col[:, None] + DJ[far][None, :] - n)]
    for dj, dk in zip(DJ[ring], DK[ring], strict=True):
        hit = (dj + 0.5 - fx) ** 2 + (dk + 0.5 - fy) ** 2 <= rr**2
        targets.append((row[hit] - dk - n, col[hit] + dj - n))
    tr = np.concatenate([t[0].ravel() for t in targets])
    tc = np.concatenate([t[1].ravel() for t in targets])
    good = (tr >= 0) & (tr < grid.height) & (tc >= 0) & (tc < grid.width)
    out.ravel()[:] = np.bincount(tr[good] * grid.width + tc[good], minlength=out.size)
    # back from incidents per km² (as indicators.density) to incidents, as computed there:
    # np.rint(d * math.pi * radius_m**2 / 1e6), in place
    out /= math.pi * radius_m**2 / 1e6
    out *= math.pi
    out *= radius_m**2
    out /= 1e6
    return np.rint(out, out=out)


def suppression_radius(settings: RiskSettings, cell_size: float) -> float:
    """The neighbourhood whose incident count must reach k before a cell may show a class."""
    return max(2.0 * settings.bandwidth_m, 1.5 * cell_size)


def for_audience(
    surf: RiskSurface,
    inc: Incidents,
    klasse: np.ndarray,
    *,
    audience: str,
    k: int = 5,
) -> tuple[np.ndarray, dict]:
    """Classes an audience may see, and what was done to them.

    For ``police`` the classes are returned unchanged. For ``partners`` and ``public`` every
    cell with fewer than ``k`` incidents within the suppression radius (twice the bandwidth,
    at least 1.5 cells) is merged into the lowest class, so no class reveals a group of fewer
    than ``k`` incidents; the caller then writes classes only (no counts, scores, z-scores or
    points).
    """
    if audience not in AUDIENCES:
        raise PrivacyError(f"unknown audience {audience!r}; use one of {', '.join(AUDIENCES)}.",
                           code="E-PRIVACY-AUDIENCE")
    if audience == "police":
        return klasse, {"suppressed_cells": 0}
    if k < MIN_K:
        raise PrivacyError(f"k = {k} is below the minimum of {MIN_K} for audience "
                           f"{audience!r}. Use k = 5 (default) or more.",
                           code="E-PRIVACY-K")
    radius = suppression_radius(surf.settings, surf.grid.cell_size)
    sel = _window(inc, surf.settings)
    n = support(sel, surf.grid, radius_m=radius)
    low = (n < k) & surf.mask & (klasse > 1)
    out = np.where(low, 1, klasse).astype(klasse.dtype)
    return out, {"suppressed_cells": int(low.sum()), "k": k, "suppression_radius_m": radius}


def check_public_meta(meta: dict) -> None:
    """Refuse provenance for partners/public that would carry incident counts or points."""
    forbidden = {"n_incidents", "candidates", "x", "y", "lon", "lat", "counts"}
    found = sorted(_keys(meta) & forbidden)
    if found:
        raise PrivacyError(f"provenance for audience {meta.get('audience')!r} would contain "
                           f"{', '.join(found)}: incident-derived detail may not leave the "
                           "police environment.", code="E-PRIVACY-LEAK")


def _keys(d) -> set[str]:
    if isinstance(d, dict):
        return set(d) | set().union(*(_keys(v) for v in d.values())) if d else set()
    if isinstance(d, list):
        return set().union(*(_keys(v) for v in d)) if d else set()
    return set()


#: Dutch names of Esri's emerging hot spot categories, for users.
TREND_LABELS = {
    "no pattern": "geen patroon", "": "",
    **{f"{en} {side}": f"{nl} {side_nl}"
       for en, nl in [("new", "nieuwe"), ("consecutive", "opeenvolgende"),
                      ("intensifying", "toenemende"), ("persistent", "aanhoudende"),
                      ("diminishing", "afnemende"), ("sporadic", "sporadische"),
                      ("oscillating", "wisselende"), ("historical", "historische")]
       for side, side_nl in [("hot spot", "hotspot"), ("cold spot", "coldspot")]},
}


def emerging(inc: Incidents, grid: Grid, *, mask: np.ndarray, settings: RiskSettings,
             period_days: int = 91, periods: int = 8) -> tuple[np.ndarray, dict]:
    """Esri-style emerging hot spot category per cell (Dutch labels) over recent periods.

    The ``periods`` periods of ``period_days`` before the reference date each get a Gi*
    map (distance band ``gi_radius_m``, FDR); a Mann–Kendall test on each cell's Gi* z over
    time gives the trend (:func:`riskmap.hotspots.emerging_hotspots`).
    """
    end = pd.Timestamp(settings.reference) if settings.reference else (
        pd.Timestamp(inc.date.max()).normalize() + pd.Timedelta(days=1))
    edges = [end - pd.Timedelta(days=period_days * j) for j in range(periods, -1, -1)]
    # one period's counts at a time: the categories of hotspots.emerging_hotspots on the
    # stack, without holding it (or its z-scores outside the study area) in memory
    code = hotspots.emerging_category_codes(
        (indicators.count(*_xy(inc.select(start=a, end=b)), grid)
         for a, b in itertools.pairwise(edges)),
        cell_size=grid.cell_size, radius_m=_gi_radius(settings, grid.cell_size), mask=mask)
    names = np.array([TREND_LABELS[c] for c in (*hotspots.EMERGING_CATEGORIES,
                                                hotspots.OUTSIDE)], dtype=object)
    labels = names[code]  # code -1 (outside the study area): the last name, ""
    return labels, {"periods": periods, "period_days": period_days,
                    "first": edges[0].date().isoformat(), "end": end.date().isoformat()}


def _xy(inc: Incidents) -> tuple[np.ndarray, np.ndarray]:
    return inc.x, inc.y
