"""The risk stage as it was before the sparse evaluation (commit 200830a), for the tests.

Frozen copies: the dense kernel density (every cell of the padded grid), ``evaluate.pei_at``
on the dense map, the candidate loop of ``risk.choose_settings``, ``risk.support`` through
``indicators.density``, and the emerging hot spots on the whole (T, H, W) stack with
``np.vectorize``-d labels. The fast paths must give the same numbers.
"""

from __future__ import annotations

import functools
import itertools
import math
import warnings

import numpy as np
import pandas as pd
from scipy import ndimage, signal

from riskmap import indicators
from riskmap.errors import InputError, RiskmapWarning
from riskmap.evaluate import _prepare, hotspot_size
from riskmap.grid import Grid
from riskmap.hotspots import (
    EMERGING_CATEGORIES,
    FFT_MIN_WEIGHTS,
    OUTSIDE,
    EmergingResult,
    _bh_reject,
    _check_alpha,
    _check_positive,
    _direct,
    _kernel,
    _lattice,
    _moments,
    _two_sided_p,
    gi_bins,
)
from riskmap.incidents import Incidents
from riskmap.kde import TRUNCATE
from riskmap.risk import TREND_LABELS, RiskSettings, _gi_radius, _weights, _window


def kde_dense(x, y, grid: Grid, *, bandwidth: float, weights=None, oversample: int = 3
              ) -> np.ndarray:
    """riskmap.kde.kde before the sparse evaluation (kde.py at 200830a)."""
    x = np.asarray(x, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float).ravel()
    s = float(grid.cell_size)
    if isinstance(oversample, bool) or not isinstance(oversample, int | np.integer) \
            or oversample < 1:
        raise InputError(
            f"oversample must be a positive integer, got {oversample!r}. Use oversample=3 "
            "(the default) or higher for more accuracy.",
            code="E-RISK-OVERSAMPLE",
        )
    m = int(oversample)
    f = s / m
    if isinstance(bandwidth, bool) or not isinstance(bandwidth, int | float | np.number) \
            or not math.isfinite(bandwidth) or bandwidth < f:
        raise InputError(
            f"bandwidth must be a number of metres of at least the fine cell "
            f"(cell_size / oversample = {f:g} m), got {bandwidth!r}. Use a larger bandwidth "
            f"(250–500 m is usual at 100 m cells), a larger oversample, or smaller cells.",
            code="E-RISK-BANDWIDTH",
        )
    h = float(bandwidth)
    if not (x.shape == y.shape == w.shape):
        raise InputError(
            f"x, y and weights must have the same length, got {x.size}, {y.size} and {w.size}.",
            code="E-RISK-POINTS",
        )
    bad = ~(np.isfinite(x) & np.isfinite(y) & np.isfinite(w))
    if bad.any():
        first = np.flatnonzero(bad)[:5].tolist()
        raise InputError(
            f"{int(bad.sum())} points have a non-finite coordinate or weight (positions "
            f"{first}). Drop or repair them before computing the density.",
            code="E-RISK-POINTS",
        )
    if (w < 0).any():
        raise InputError(
            f"weights must be non-negative, got {int((w < 0).sum())} negative weights "
            f"(smallest {float(w.min()):g}).",
            code="E-RISK-WEIGHTS",
        )

    K = int(math.ceil(TRUNCATE * h / s + 0.5))  # kernel half-width in cells
    P = K + 1  # padding in cells
    pg = grid.pad(P)
    Hc, Wc = pg.shape
    Hf, Wf = Hc * m, Wc * m

    # 1. linear binning onto the fine lattice; node (i, j) sits at the centre of fine cell i, j
    # Positions on the fine lattice are taken from the coordinates alone (the lattice of an
    # aligned grid has nodes at multiples of f plus f/2 whatever its origin) and only then
    # shifted by the whole number of fine cells to the grid's origin: a municipality's grid
    # cut out of the region grid gets bit-identical shares (the partitioned engine relies on
    # it).
    aligned = abs(pg.x0 / f - round(pg.x0 / f)) < 1e-9 and abs(pg.y1 / f - round(pg.y1 / f)) \
        < 1e-9
    ox, oy = (0.0, 0.0) if aligned else (pg.x0, pg.y1)  # a grid built by hand may be unaligned
    ua = (x - ox) / f - 0.5  # fine column from the CRS origin, continuous
    va = (oy - y) / f - 0.5  # fine row from the CRS origin, continuous (rows run south)
    ia = np.floor(ua)
    ja = np.floor(va)
    i0 = ia - round((pg.x0 - ox) / f)
    j0 = ja + round((pg.y1 - oy) / f)
    keep = (i0 >= 0) & (i0 <= Wf - 2) & (j0 >= 0) & (j0 <= Hf - 2) & (w > 0)
    if not keep.any():
        return np.zeros(grid.shape)
    tu = ua[keep] - ia[keep]
    tv = va[keep] - ja[keep]
    wk = w[keep]
    idx = j0[keep].astype(np.int64) * Wf + i0[keep].astype(np.int64)
    corners = np.concatenate([idx, idx + 1, idx + Wf, idx + Wf + 1])
    shares = np.concatenate([(1 - tu) * (1 - tv), tu * (1 - tv), (1 - tu) * tv, tu * tv])
    fine = np.bincount(corners, weights=np.tile(wk, 4) * shares, minlength=Hf * Wf)
    fine = fine.reshape(Hc, m, Wc, m)  # (coarse row, row phase, coarse col, col phase)

    # 2. separable kernel, narrowed by the mean variance linear binning adds
    sd = math.sqrt(h * h - f * f / 6.0)
    offsets = np.arange(-K, K + 1) * s

    def taps(p: int) -> np.ndarray:
        # distance from a cell centre to the node of phase p in the cell k cells further on
        d = offsets + (p - (m - 1) / 2) * f
        return np.exp(-0.5 * (d / sd) ** 2) / (math.sqrt(2 * math.pi) * sd)

    # along x: (Hc, m, Wc) for the inner columns only afterwards
    along_x = np.zeros((Hc, m, Wc))
    for p in range(m):  # loop over the oversample phases, not over points or cells
        along_x += ndimage.correlate1d(fine[:, :, :, p], taps(p), axis=2, mode="constant")
    along_x = along_x[:, :, P:P + grid.width]
    out = np.zeros((Hc, grid.width))
    for p in range(m):
        out += ndimage.correlate1d(along_x[:, p, :], taps(p), axis=0, mode="constant")
    return out[P:P + grid.height] * 1e6


def density_of_dense(x, y, w, grid: Grid, bandwidth: float, *, oversample: int = 3
                     ) -> np.ndarray:
    """risk.density_of with the dense kernel density."""
    if bandwidth <= 0:
        return indicators.count(x, y, grid, values=w, statistic="sum") / grid.cell_area_km2
    return kde_dense(x, y, grid, bandwidth=bandwidth, weights=w, oversample=oversample)


def pei_at_dense(
    score: np.ndarray,
    test_counts: np.ndarray,
    *,
    share: float,
    mask: np.ndarray | None = None,
    seed: int = 0,
) -> float:
    """pei_at before the sparse search (evaluate.py at 200830a)."""
    flat, cells, test, _ = _prepare(score, test_counts, mask)
    k = hotspot_size(float(share), cells.size)
    total = float(test.sum())
    if total == 0:
        return float("nan")
    perm = np.random.default_rng(seed).permutation(cells.size)
    s = flat[cells[perm]]
    t = _kth_largest_dense(s, k)
    above = s > t
    ties = np.flatnonzero(s == t)[: k - int(above.sum())]
    n = float(test[perm[above]].sum() + test[perm[ties]].sum())
    positive = np.sort(test[test > 0])  # counts: few cells hold test incidents
    best = float(positive[-k:].sum())
    return n / best


def _kth_largest_dense(v: np.ndarray, k: int) -> float:
    """The ``k``-th largest value of ``v`` (1-based).

    Maps are mostly zeros (and ties): sorting only the positive values is far quicker than a
    partition of everything (numpy's introselect slows down on many equal values).
    """
    pos = v[v > 0]
    if pos.size >= k:
        return float(np.sort(pos)[pos.size - k])
    return float(np.sort(v)[v.size - k])


def choose_settings_dense(
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
    """risk.choose_settings before the sparse search (risk.py at 200830a)."""
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
    fn = functools.partial(_candidate, inc=inc, grid=grid, mask=mask, origins=origins,
                           horizon=horizon, area_share=area_share, seed=seed)
    rows = mapper(fn, candidates) if mapper is not None else [fn(c) for c in candidates]
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


def _candidate(cand, *, inc: Incidents, grid: Grid, mask: np.ndarray, origins: list,
               horizon: int, area_share: float, seed: int) -> dict:
    """One row of the choice table, with the dense density and PEI*."""
    bw, hl, win = cand
    peis = []
    for o in origins:
        st = RiskSettings(bandwidth_m=bw, half_life_days=hl, window_days=win,
                          reference=o.isoformat())
        sel = _window(inc, st)
        test = inc.select(start=o, end=o + pd.Timedelta(days=horizon))
        if len(sel) == 0 or len(test) == 0:
            peis.append(np.nan)
            continue
        # binning at the cell size is ample to rank candidates (field notes: 0.2 % error)
        dens = density_of_dense(sel.x, sel.y, _weights(sel, st), grid, bw, oversample=1)
        tc = indicators.count(test.x, test.y, grid)
        peis.append(pei_at_dense(dens, tc, share=area_share, mask=mask,
                                  seed=seed))
    complexity = (bw > 0) + (hl is not None) + (win is not None)
    return {"bandwidth_m": bw, "half_life_days": hl, "window_days": win,
            **{f"pei_fold{j + 1}": p for j, p in enumerate(peis)},
            "pei_mean": float(np.nanmean(peis)) if np.isfinite(peis).any() else np.nan,
            "complexity": complexity}


def support_dense(inc: Incidents, grid: Grid, *, radius_m: float) -> np.ndarray:
    """risk.support of 200830a: indicators.density on the whole (padded) grid."""
    if len(inc) == 0:
        return np.zeros(grid.shape)
    d = indicators.density(inc.x, inc.y, grid, radius=radius_m)
    return np.rint(d * math.pi * radius_m**2 / 1e6)


def emerging_dense(inc: Incidents, grid: Grid, *, mask: np.ndarray, settings: RiskSettings,
                   period_days: int = 91, periods: int = 8) -> np.ndarray:
    """The labels of risk.emerging of 200830a (the stack of counts, np.vectorize)."""
    end = pd.Timestamp(settings.reference) if settings.reference else (
        pd.Timestamp(inc.date.max()).normalize() + pd.Timedelta(days=1))
    edges = [end - pd.Timedelta(days=period_days * j) for j in range(periods, -1, -1)]
    parts = [inc.select(start=a, end=b) for a, b in itertools.pairwise(edges)]
    stack = np.stack([indicators.count(p.x, p.y, grid) for p in parts])
    res = emerging_hotspots_dense(stack, cell_size=grid.cell_size,
                                  radius_m=_gi_radius(settings, grid.cell_size), mask=mask)
    return np.vectorize(TREND_LABELS.get, otypes=[object])(res.category)


def mann_kendall_dense(
    series: np.ndarray, axis: int = 0, *, continuity: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """hotspots.mann_kendall of 200830a."""
    x = np.moveaxis(np.asarray(series, dtype=np.float64), axis, 0)
    t = x.shape[0]
    s = np.zeros(x.shape[1:])
    ties = np.zeros(x.shape[1:])
    for i in range(t):
        s += np.sign(x[i + 1 :] - x[i]).sum(axis=0)
        c = (x == x[i]).sum(axis=0)
        ties += (c - 1) * (2 * c + 5)
    var = (t * (t - 1) * (2 * t + 5) - ties) / 18.0
    num = s - np.sign(s) if continuity else s
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(var > 0, num / np.sqrt(np.where(var > 0, var, 1.0)), 0.0)
    has_nan = np.isnan(x).any(axis=0)
    z = np.where(has_nan, np.nan, z)
    p = np.where(has_nan, np.nan, _two_sided_p(z))
    return z, p


# --------------------------------------------------------------------------------------------
# Emerging hot spots
# --------------------------------------------------------------------------------------------


def _classify_side_dense(
    sig: np.ndarray, other: np.ndarray, trend_up: np.ndarray, trend_down: np.ndarray
) -> list[tuple[str, np.ndarray]]:
    """Esri's eight patterns for one side (hot: sig = hot, other = cold; cold mirrored).

    ``trend_up`` is a significant trend towards *more* of this side (rising z for hot spots,
    falling z for cold spots). Returns (pattern, condition) pairs, mutually exclusive.
    """
    t = sig.shape[0]
    count = sig.sum(axis=0)
    final = sig[-1]
    run = np.cumprod(sig[::-1], axis=0).sum(axis=0)  # length of the final uninterrupted run
    most = 10 * count >= 9 * t  # significant in at least 90 % of the steps (exact integers)
    ever_other = other.any(axis=0)
    recent = final & ~most
    return [
        ("new", recent & (count == 1)),
        ("consecutive", recent & (run >= 2) & (run == count)),
        ("intensifying", final & most & trend_up),
        ("persistent", final & most & ~trend_up & ~trend_down),
        ("diminishing", final & most & trend_down),
        ("sporadic", recent & (run < count) & ~ever_other),
        ("oscillating", recent & (run < count) & ever_other),
        ("historical", ~final & most),
    ]


def _categories_dense(
    hot: np.ndarray, cold: np.ndarray, trend_z: np.ndarray, trend_p: np.ndarray, *, alpha: float
) -> np.ndarray:
    """Esri's emerging hot spot category per series from the (T, ...) hot/cold flags."""
    up = (trend_p <= alpha) & (trend_z > 0)
    down = (trend_p <= alpha) & (trend_z < 0)
    hot_rules = _classify_side_dense(hot, cold, up, down)
    cold_rules = _classify_side_dense(cold, hot, down, up)
    width = max(len(c) for c in EMERGING_CATEGORIES)
    category = np.full(hot.shape[1:], "no pattern", dtype=f"<U{width}")
    # the patterns of the side significant in the final step first, then the historical ones
    rules = [(f"{p} hot spot", c) for p, c in hot_rules[:-1]]
    rules += [(f"{p} cold spot", c) for p, c in cold_rules[:-1]]
    rules += [("historical hot spot", hot_rules[-1][1]),
              ("historical cold spot", cold_rules[-1][1])]
    done = np.zeros(hot.shape[1:], dtype=bool)
    for name, cond in rules:
        sel = cond & ~done
        category[sel] = name
        done |= sel
    return category


def emerging_hotspots_dense(
    stack: np.ndarray,
    *,
    cell_size: float,
    radius_m: float,
    mask=None,
    alpha: float = 0.05,
) -> EmergingResult:
    """hotspots.emerging_hotspots of 200830a (the whole (T, H, W) stack)."""
    a = _check_alpha(alpha)
    cs = _check_positive("cell_size", cell_size)
    r = _check_positive("radius_m", radius_m, allow_zero=True)
    x, m, n = _lattice(stack, mask, ndim=3)
    t, h, w_ = x.shape
    if t < 1:
        msg = "the stack holds no periods; pass an array of shape (T, H, W) with T >= 1."
        raise InputError(msg, code="E-HOTSPOT-SHAPE")
    k = _kernel(r, cs, max_half=(h - 1, w_ - 1))
    wc = _window_counts_dense(m, k)
    z = np.empty(x.shape)
    constant = []
    for i in range(t):  # one lattice per period; every period is vectorised
        zi = _gistar_z_dense(x[i], m, k, wc, n)
        if zi is None:
            constant.append(i)
            zi = np.where(m, 0.0, np.nan)
        z[i] = zi
    if constant:
        warnings.warn(
            f"period(s) {constant} are constant inside the mask, so Gi* is undefined there; "
            "they count as having no hot or cold spots (z = 0).",
            RiskmapWarning,
            stacklevel=2,
        )
    p = _two_sided_p(z)
    sig = np.stack([_bh_reject(p[i], a) for i in range(t)])
    bins = np.stack([gi_bins(z[i], p[i], fdr=True) for i in range(t)])
    hot = sig & (z > 0)
    cold = sig & (z < 0)

    trend_z, trend_p = mann_kendall_dense(z, axis=0)
    category = _categories_dense(hot, cold, trend_z, trend_p, alpha=a)
    category[~m] = OUTSIDE
    return EmergingResult(
        category=category,
        trend_z=trend_z,
        trend_p=trend_p,
        gistar_z=z,
        gistar_bin=bins,
        hot=hot,
        cold=cold,
    )


def _correlate_dense(a: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Correlate with zero padding; direct for small kernels, FFT for large ones."""
    if np.count_nonzero(k) <= FFT_MIN_WEIGHTS:
        return _direct(a, k)
    # the band kernel is symmetric, so correlation equals convolution
    return signal.fftconvolve(a, k, mode="same")


def _window_counts_dense(mask: np.ndarray, k: np.ndarray) -> np.ndarray:
    """W_i: the number of masked cells in each cell's band (exact integers)."""
    return np.rint(_correlate_dense(mask.astype(np.float64), k))


def _gistar_z_dense(
    x: np.ndarray, mask: np.ndarray, k: np.ndarray, w: np.ndarray, n: int,
    moments: tuple[float, float] | None = None, correlate=None,
) -> np.ndarray | None:
    """Gi* z-scores of one lattice (NaN outside the mask); None if x is constant on the mask.

    ``moments`` (mean, standard deviation) and ``n`` of the whole lattice when ``x`` is a
    window of it (the partitioned engine); by default those of ``x`` itself. ``correlate``
    replaces :func:`_correlate` (the windows correlate directly, never by FFT).
    """
    mean, s = moments if moments is not None else _moments(x, mask)
    if not s > 0:
        return None
    # numerator S - mean * W_i = correlate((x - mean) * mask, K): centred first, which keeps
    # the FFT's rounding error small.
    centred = np.where(mask, x - mean, 0.0)
    num = (correlate or _correlate_dense)(centred, k)
    var = w * (n - w) / (n - 1)
    z = np.full(x.shape, np.nan)
    ok = mask & (var > 0)
    z[ok] = num[ok] / (s * np.sqrt(var[ok]))
    z[mask & ~(var > 0)] = 0.0  # the band covers the whole study area: no test possible
    return z
