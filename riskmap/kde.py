"""Kernel density of incidents on the aligned grid, and time-decay weights.

:func:`kde` evaluates a Gaussian kernel density estimate at every cell centre of a
:class:`~riskmap.grid.Grid`, in (weighted) incidents per km². It bins the points linearly onto
a fine lattice (``cell_size / oversample``) and convolves the binned mass with the Gaussian
sampled at the exact offsets between lattice nodes and cell centres, so the cost grows with
the number of cells, not with the number of points times cells: 100 k incidents on a
700 × 700 grid of 100 m take a fraction of a second, where an exact evaluation takes minutes
(see ``benchmarks/bench_kde.py``). Where few incidents reach a small part of a large grid,
only that part is computed (:func:`kde_cells`), with the same numbers.

:func:`decay_weights` turns incident dates into weights that halve every ``half_life_days``,
so that recent incidents count more.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import ndimage

from riskmap.errors import InputError
from riskmap.grid import Grid

__all__ = ["decay_weights", "kde", "kde_cells"]

#: The kernel is evaluated up to this many bandwidths from a point; farther points are ignored.
TRUNCATE = 5.0


def kde(
    x: np.ndarray,
    y: np.ndarray,
    grid: Grid,
    *,
    bandwidth: float,
    weights: np.ndarray | None = None,
    oversample: int = 3,
) -> np.ndarray:
    """Gaussian kernel density of points at every cell centre, in incidents per km².

    ``value(c) = 10⁶ · Σ_j w_j · K_h(‖c − p_j‖)`` with ``K_h`` the bivariate normal density
    with standard deviation ``h = bandwidth`` metres in each axis, the kernel of
    ``sklearn.neighbors.KernelDensity(kernel="gaussian", bandwidth=h)``. Summed over all cells
    and multiplied by the cell area in km², the map gives back ``Σ w`` (for a grid that holds
    the points with a margin of a few bandwidths and ``bandwidth`` not much below the cell
    size).

    Parameters
    ----------
    x, y : array_like of float
        Point coordinates in the grid's CRS (metres). Points farther than
        ``5 · bandwidth`` (plus a cell) outside the grid cannot reach any cell centre and are
        ignored.
    grid : Grid
        The target grid.
    bandwidth : float
        Standard deviation of the Gaussian kernel in metres, at least the fine cell
        ``cell_size / oversample``.
    weights : array_like of float, optional
        Non-negative weight per point (e.g. :func:`decay_weights`); default 1.
    oversample : int, default=3
        Fine cells per cell edge used for binning. Higher is more accurate and slower (time and
        memory grow with ``oversample²``).

    Returns
    -------
    ndarray of float64, shape ``grid.shape``
        Density at the cell centres, (weighted) incidents per km². Zeros when there are no
        points.

    Raises
    ------
    InputError
        ``E-RISK-BANDWIDTH`` when ``bandwidth`` is not a finite number of at least
        ``cell_size / oversample`` metres; ``E-RISK-OVERSAMPLE`` when ``oversample`` is not a
        positive integer; ``E-RISK-POINTS`` when ``x``, ``y`` and ``weights`` differ in length or
        hold non-finite values; ``E-RISK-WEIGHTS`` for negative weights.

    Notes
    -----
    Kernel density estimation (Silverman 1986) is the standard way to map crime hot spots
    (Chainey, Tompson & Uhlig 2008). The fast evaluation uses linear binning (Jones & Lotwick
    1983; Wand 1994; Hall & Wand 1996):

    1. each weighted point is shared between the four nearest nodes of a lattice of spacing
       ``f = cell_size / oversample`` (bilinear, cloud-in-cell weights), on the grid padded by
       ``⌈5h / cell_size + ½⌉ + 1`` cells so that points outside the grid still contribute;
    2. the separable kernel is applied along x, then y, with ``scipy.ndimage.correlate1d``:
       the lattice is split into its ``oversample`` phases per axis, and each phase is
       correlated with the normal density sampled at the exact distances from its nodes to the
       cell centres. Only cell centres are evaluated, never the fine lattice.

    Both passes run only where the truncated kernel reaches (:func:`kde_cells`): a few
    thousand incidents on a grid of millions of cells cost what the cells they reach cost,
    with the same numbers as a pass over the whole grid, and exact zeros elsewhere.

    Linear binning keeps each point's mass and mean position but spreads it with a variance of
    ``t(1 − t)·f²`` per axis (``t`` the point's position between two nodes), ``f²/6`` on
    average. The kernel applied to the binned mass has standard deviation
    ``√(h² − f²/6)`` so that the result has the requested bandwidth on average; what remains is
    a zero-mean term that cancels over many points. For a single isolated point the peak is off
    by at most about ``f²/(6h²)``; for clustered incidents the error is far below that (the
    tests check ≤ 0.5 % of the peak against scikit-learn's exact estimate for bandwidths of
    150–500 m and cells of 50–150 m; for 100 k incidents at 100 m and ``h`` = 250 m the
    benchmark measures 0.003 % with the default ``oversample=3`` and 0.02 % with
    ``oversample=1``). Memory is about ``8 · oversample²`` bytes per cell of the padded grid
    (40 MB for 700 × 700 cells at the default).

    References: B. W. Silverman (1986), *Density Estimation for Statistics and Data Analysis*,
    Chapman & Hall. S. Chainey, L. Tompson & S. Uhlig (2008), The utility of hotspot mapping
    for predicting spatial patterns of crime, *Security Journal* 21, 4–28. M. C. Jones &
    H. W. Lotwick (1983), On the errors involved in computing the empirical characteristic
    function, *J. Statist. Comput. Simul.* 17, 133–149. M. P. Wand (1994), Fast computation of
    multivariate kernel estimators, *J. Comput. Graph. Statist.* 3, 433–445. P. Hall &
    M. P. Wand (1996), On the accuracy of binned kernel density estimators, *J. Multivariate
    Anal.* 56, 165–184.

    Examples
    --------
    >>> import numpy as np
    >>> from riskmap.grid import Grid
    >>> g = Grid.from_bounds(150_000, 450_000, 155_000, 455_000, cell_size=100)
    >>> d = kde(np.array([152_550.0]), np.array([452_450.0]), g, bandwidth=250)
    >>> round(float(d.sum() * g.cell_area_km2), 4)          # one incident in total
    1.0
    >>> peak = 1e6 / (2 * np.pi * 250**2)                   # K_h(0) · 10⁶ = 2.546 per km²
    >>> bool(abs(d.max() / peak - 1) < 0.005)
    True
    """
    lat = _lattice(x, y, grid, bandwidth=bandwidth, weights=weights, oversample=oversample)
    if lat is None:
        return np.zeros(grid.shape)
    cells = _sparse(lat)
    if cells is None:  # the points reach most of the grid
        return _dense(lat)
    out = np.zeros(grid.shape)
    out.ravel()[cells[0]] = cells[1][0]
    return out


def kde_cells(
    x: np.ndarray,
    y: np.ndarray,
    grid: Grid,
    *,
    bandwidth: float,
    weights: np.ndarray | None = None,
    oversample: int = 3,
) -> tuple[np.ndarray, np.ndarray] | np.ndarray:
    """:func:`kde` on the cells the points reach only, where that is the cheaper way.

    Takes the arguments of :func:`kde` (and raises the same errors). Returns either
    ``(flat, values)``, the flat indices (into ``grid.shape``, each once, in no particular
    order) of the cells within the kernel's reach of some point and the density there, bit
    for bit ``kde(...).ravel()[flat]`` — the density of every other cell is exactly 0 —, or,
    when the points reach most of the grid, the dense array of :func:`kde`.

    Notes
    -----
    The kernel is cut at :data:`TRUNCATE` bandwidths, so a node of the fine lattice reaches
    only the cells within ``K = ⌈5h / cell_size + ½⌉`` cells of its own along each axis: the
    density is exactly 0 beyond that reach of every point with a positive weight. Each pass
    of the separable correlation (``scipy.ndimage.correlate1d`` along x, then along y, zero
    outside) is applied to its non-zero lines only, laid end to end in one array with
    everything farther than ``K`` from a non-zero value cut out and ``K`` zeros between
    lines. Each output within reach then sees exactly the numbers it sees on the whole grid,
    at the same offsets, so the correlation adds the same products in the same order, and
    zeros cut out add nothing: the values are the same floating-point numbers as the dense
    evaluation's (tests/test_kde.py compares them; the partitioned engine relies on the same
    property for sub-grids). The work follows the area the incidents reach, not the grid: a
    few thousand incidents on a 25 m grid of 15 M cells reach 2–15 % of it.

    Examples
    --------
    >>> import numpy as np
    >>> from riskmap.grid import Grid
    >>> g = Grid.from_bounds(150_000, 450_000, 160_000, 460_000, cell_size=25)  # 160 k cells
    >>> x, y = np.array([152_510.0, 152_640.0]), np.array([452_470.0, 452_300.0])
    >>> flat, values = kde_cells(x, y, g, bandwidth=50)
    >>> flat.size                                  # of 160,000: those within about 5 h
    775
    >>> dense = kde(x, y, g, bandwidth=50)
    >>> bool((dense.ravel()[flat] == values).all()), int(np.count_nonzero(dense))
    (True, 775)
    """
    out = _kde_cells(x, y, grid, bandwidth=bandwidth, weights=weights, oversample=oversample)
    return out[0] if isinstance(out, list) else (out[0], out[1][0])


def _kde_cells(x, y, grid: Grid, *, bandwidth, weights, oversample
               ) -> tuple[np.ndarray, np.ndarray] | list[np.ndarray]:
    """:func:`kde_cells` of a batch of weight vectors for the same points.

    ``weights`` of shape (B, n): returns ``(flat, values)`` with ``values`` of shape
    (B, len(flat)) — the cells within reach of any vector's points, some of them 0 for some
    vectors —, or the list of B dense arrays. Each vector's numbers are those of
    ``kde(x, y, grid, weights=weights[b], ...)``: a point of weight 0 only adds zeros.
    """
    lat = _lattice(x, y, grid, bandwidth=bandwidth, weights=weights, oversample=oversample)
    if lat is None:
        n = 1 if weights is None or np.ndim(weights) < 2 else np.shape(weights)[0]
        return np.zeros(0, dtype=np.int64), np.zeros((n, 0))
    cells = _sparse(lat)
    if cells is None:
        return [_dense(lat, b) for b in range(lat.mass.shape[0])]
    return cells


@dataclass(frozen=True)
class _Lattice:
    """Points on the fine lattice of the padded grid (positions, masses) and the kernel."""

    m: int  # oversample
    K: int  # kernel half-width in cells
    P: int  # padding in cells
    height: int  # of the grid (cells)
    width: int
    j0: np.ndarray  # fine row of each kept point's upper-left node in the padded lattice
    i0: np.ndarray  # fine column of it
    mass: np.ndarray  # (B, 4n): w · share per corner (corner by corner), per weight vector
    taps: tuple[np.ndarray, ...]  # kernel per phase


def _lattice(x, y, grid: Grid, *, bandwidth, weights, oversample) -> _Lattice | None:
    """Validate the arguments of :func:`kde` and bin the points (None: no point counts)."""
    x = np.asarray(x, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    # weights: one vector, or (internally) a (B, n) batch of vectors for the same points
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    w = w.reshape(-1, w.shape[-1]) if w.ndim == 2 else w.ravel()[None, :]
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
    if not (x.shape == y.shape == w.shape[1:]):
        raise InputError(
            f"x, y and weights must have the same length, got {x.size}, {y.size} and "
            f"{w.shape[1]}.",
            code="E-RISK-POINTS",
        )
    bad = ~(np.isfinite(x) & np.isfinite(y) & np.isfinite(w).all(axis=0))
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
    # a point of weight 0 adds +0.0 to its nodes (nothing); in a batch it is kept if any
    # vector weighs it
    keep = (i0 >= 0) & (i0 <= Wf - 2) & (j0 >= 0) & (j0 <= Hf - 2) & (w > 0).any(axis=0)
    if not keep.any():
        return None
    tu = ua[keep] - ia[keep]
    tv = va[keep] - ja[keep]
    wk = w[:, keep]
    # each corner's share times the weight, the products the binning sums (elementwise, so
    # the same numbers whichever points a piece of the lattice takes)
    mass = np.concatenate([wk * ((1 - tu) * (1 - tv)), wk * (tu * (1 - tv)),
                           wk * ((1 - tu) * tv), wk * (tu * tv)], axis=1)

    # 2. separable kernel, narrowed by the mean variance linear binning adds
    sd = math.sqrt(h * h - f * f / 6.0)
    offsets = np.arange(-K, K + 1) * s

    def taps(p: int) -> np.ndarray:
        # distance from a cell centre to the node of phase p in the cell k cells further on
        d = offsets + (p - (m - 1) / 2) * f
        return np.exp(-0.5 * (d / sd) ** 2) / (math.sqrt(2 * math.pi) * sd)

    return _Lattice(m=m, K=K, P=P, height=grid.height, width=grid.width,
                    j0=j0[keep].astype(np.int64), i0=i0[keep].astype(np.int64), mass=mass,
                    taps=tuple(taps(p) for p in range(m)))


def _dense(lat: _Lattice, b: int = 0) -> np.ndarray:
    """The density of weight vector ``b`` on the whole grid in one piece."""
    m, P, height, width = lat.m, lat.P, lat.height, lat.width
    Hc, Wc = height + 2 * P, width + 2 * P
    Hf, Wf = Hc * m, Wc * m
    idx = lat.j0 * Wf + lat.i0
    corners = np.concatenate([idx, idx + 1, idx + Wf, idx + Wf + 1])
    fine = np.bincount(corners, weights=lat.mass[b], minlength=Hf * Wf)
    fine = fine.reshape(Hc, m, Wc, m)  # (coarse row, row phase, coarse col, col phase)

    # along x: (Hc, m, Wc) for the inner columns only afterwards
    along_x = np.zeros((Hc, m, Wc))
    for p in range(m):  # loop over the oversample phases, not over points or cells
        along_x += ndimage.correlate1d(fine[:, :, :, p], lat.taps[p], axis=2, mode="constant")
    along_x = along_x[:, :, P:P + width]
    out = np.zeros((Hc, width))
    for p in range(m):
        out += ndimage.correlate1d(along_x[:, p, :], lat.taps[p], axis=0, mode="constant")
    return out[P:P + height] * 1e6


#: The sparse evaluation is used while its work stays below this share of the dense one.
_SPARSE_SHARE = 0.5


def _sparse(lat: _Lattice) -> tuple[np.ndarray, np.ndarray] | None:
    """``(flat, values)`` of the cells within reach (see :func:`kde_cells`); None if dense."""
    m, K, P, H, W = lat.m, lat.K, lat.P, lat.height, lat.width
    Hc, Wc = H + 2 * P, W + 2 * P
    Wf = Wc * m
    dense_work = _SPARSE_SHARE * Hc * m * Wc * m
    idx = lat.j0 * Wf + lat.i0
    corners = np.concatenate([idx, idx + 1, idx + Wf, idx + Wf + 1])
    # when the corners could be too many, count the nodes with mass first, with a bincount
    # over the lattice (masses are not negative, so a node's sum is 0 only when all its
    # masses are): points all over the grid go dense without sorting every corner
    if corners.size * (2 * K + 1) > dense_work and np.count_nonzero(np.bincount(
            corners, weights=lat.mass.sum(axis=0), minlength=Hc * m * Wf)) * (2 * K + 1) \
            > dense_work:
        return None
    # 1. binning: the nodes' masses, summed in the order the dense bincount sums them
    order = np.argsort(corners, kind="stable")
    first = _firsts(corners[order])
    nodes = corners[order][first]
    inverse = np.empty_like(order)
    inverse[order] = np.cumsum(first) - 1
    mass = np.stack([np.bincount(inverse, weights=mb, minlength=nodes.size) for mb in lat.mass])
    nonzero = (mass != 0).any(axis=0)  # a zero node adds nothing
    nodes, mass = nodes[nonzero], np.compress(nonzero, mass, axis=1)
    if nodes.size * (2 * K + 1) > dense_work:
        return None
    # 2. along x: lines are the fine rows, positions the coarse columns, one pass per column
    # phase p (taps[p]) into one sum
    row, col = np.divmod(nodes, Wf)
    span = Wc + K  # K zeros between lines
    fcol, phase = np.divmod(col, m)
    keys, values = _lines(row * span + fcol, mass, phase, lat.taps, K, Hc * m * span)
    row, ccol = np.divmod(keys, span)
    ccol -= P
    inner = (ccol >= 0) & (ccol < W) & (values != 0).any(axis=0)  # the grid's columns
    row, ccol, values = row[inner], ccol[inner], np.compress(inner, values, axis=1)
    # 3. along y: lines are the grid's columns, positions the coarse rows, one pass per row
    # phase q into one sum
    span = Hc + K
    crow, phase = np.divmod(row, m)
    keys = ccol * span + crow
    if _SPARSE_SHARE * Hc * W < min(keys.size * (2 * K + 1), Hc * W):
        distinct = np.sort(keys)
        if _within(distinct[_firsts(distinct)], K, W * span)[0].size > _SPARSE_SHARE * Hc * W:
            return None
    keys, values = _lines(keys, values, phase, lat.taps, K, W * span)
    if W * span < 2**31:  # int32 division is several times quicker
        keys = keys.astype(np.int32)
    ccol, crow = np.divmod(keys, keys.dtype.type(span))
    crow -= P
    inner = (crow >= 0) & (crow < H)
    values = np.compress(inner, values, axis=1)  # (boolean indexing along axis 1 is slow)
    values *= 1e6
    return crow[inner].astype(np.int64) * W + ccol[inner], values


def _lines(keys: np.ndarray, values: np.ndarray, phase: np.ndarray, taps: tuple, k: int,
           total: int) -> tuple[np.ndarray, np.ndarray]:
    """Correlate sparse lines: ``Σ_p correlate1d(values of phase p, taps[p])`` within reach.

    ``keys`` are ``line · span + position`` with at least ``k`` unused positions at the end
    of every line (``total`` = lines · span), distinct within a phase; ``values`` is
    (B, len(keys)), one row per weight vector. Returns the keys within ``k`` of an input,
    sorted, and the (B, ·) sums there, added phase after phase onto zeros as the dense passes
    add them.
    """
    if keys.size > 1 and not (keys[1:] >= keys[:-1]).all():
        order = np.argsort(keys, kind="stable")
        keys, values, phase = keys[order], np.take(values, order, axis=1), phase[order]
    first = _firsts(keys)
    reach, at = _within(keys[first], k, total)
    where = at[np.cumsum(first) - 1]  # the position of every input in `reach`
    out = None
    for p, w in enumerate(taps):
        this = phase == p
        if not this.any():
            continue  # the dense pass adds zeros
        line = np.zeros((values.shape[0], reach.size))
        line[:, where[this]] = values if this.all() else np.compress(this, values, axis=1)
        part = ndimage.correlate1d(line, w, axis=1, mode="constant")
        if out is None:
            out = part  # 0 + x is x for the non-negative sums here
        else:
            out += part
    return reach, np.zeros((values.shape[0], reach.size)) if out is None else out


def _firsts(v: np.ndarray) -> np.ndarray:
    """Where each run of equal values of the sorted ``v`` starts (``np.unique`` without the
    hashing numpy 2 does for it)."""
    return np.concatenate([[True], v[1:] != v[:-1]]) if v.size else np.zeros(0, dtype=bool)


def _within(rows: np.ndarray, k: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The sorted rows of ``[0, n)`` within ``k`` of any of the sorted, distinct ``rows``,
    and where each of ``rows`` sits among them."""
    if rows.size == 0:
        return rows, rows
    lo = np.maximum(rows - k, 0)
    hi = np.minimum(rows + k + 1, n)  # exclusive
    # merge overlapping intervals: a new run starts where lo exceeds every earlier hi
    top = np.maximum.accumulate(hi)
    start = np.concatenate([[True], lo[1:] > top[:-1]])
    run_lo, run_hi = lo[start], top[np.concatenate([np.flatnonzero(start)[1:] - 1, [-1]])]
    sizes = run_hi - run_lo
    begin = np.cumsum(sizes) - sizes  # where each run starts in the output
    out = np.arange(sizes.sum()) + np.repeat(run_lo - begin, sizes)
    run = np.cumsum(start) - 1
    return out, rows - run_lo[run] + begin[run]


def decay_weights(
    dates: np.ndarray | pd.Series | pd.DatetimeIndex,
    *,
    reference: np.datetime64 | pd.Timestamp | str,
    half_life_days: float,
) -> np.ndarray:
    """Weights that halve every ``half_life_days`` before ``reference``: ``0.5 ** (age / T½)``.

    Parameters
    ----------
    dates : array_like of datetime
        Incident dates or times (``numpy.datetime64``, pandas datetimes, or ISO strings).
    reference : datetime
        The date the map is made for; an incident on it has weight 1.
    half_life_days : float
        Age in days at which an incident counts half.

    Returns
    -------
    ndarray of float64
        One weight per date, in [0, 1]. Incidents after ``reference`` (negative age) get
        weight 0: a map made for a date must not see later incidents (in a back-test, that would
        leak the test period into the map).

    Raises
    ------
    InputError
        ``E-RISK-HALFLIFE`` when ``half_life_days`` is not a positive number;
        ``E-RISK-DATES`` when a date is missing (NaT) or cannot be read as a date, or when
        ``dates`` and ``reference`` differ in having a time zone.

    Notes
    -----
    Exponential decay with a half-life is the usual way to let recent incidents weigh more in
    prospective hot-spot maps, following the finding that risk after a crime is raised nearby
    for weeks and then decays (Bowers, Johnson & Pease 2004, Prospective hot-spotting: the future
    of crime mapping?, *British Journal of Criminology* 44, 641–658). Ages are measured in
    days of 86 400 s, fractions included.

    Examples
    --------
    >>> import numpy as np
    >>> d = np.array(["2024-03-01", "2024-02-01", "2024-01-03", "2024-04-01"],
    ...              dtype="datetime64[D]")
    >>> decay_weights(d, reference=np.datetime64("2024-03-01"), half_life_days=29).tolist()
    [1.0, 0.5, 0.25, 0.0]
    """
    if isinstance(half_life_days, bool) or not isinstance(half_life_days, int | float | np.number) \
            or not math.isfinite(half_life_days) or half_life_days <= 0:
        raise InputError(
            f"half_life_days must be a positive number of days, got {half_life_days!r}. "
            "Use e.g. half_life_days=90.",
            code="E-RISK-HALFLIFE",
        )
    try:
        when = pd.DatetimeIndex(pd.to_datetime(np.asarray(dates).ravel()
                                               if not isinstance(dates, pd.Series | pd.Index)
                                               else dates))
        ref = pd.Timestamp(reference)
    except (ValueError, TypeError) as exc:
        raise InputError(
            f"dates could not be read as dates ({exc}). Pass numpy datetime64 values, pandas "
            "datetimes or ISO strings such as '2024-03-01'.",
            code="E-RISK-DATES",
        ) from None
    if pd.isna(ref):
        raise InputError("reference is missing (NaT). Pass the date the map is made for.",
                         code="E-RISK-DATES")
    if (when.tz is None) != (ref.tz is None):
        raise InputError(
            f"dates and reference must both have a time zone or both have none; dates have "
            f"{when.tz or 'none'}, reference has {ref.tz or 'none'}. Use tz_localize or "
            "tz_convert on one of them.",
            code="E-RISK-DATES",
        )
    missing = when.isna()
    if missing.any():
        first = np.flatnonzero(missing)[:5].tolist()
        raise InputError(
            f"{int(missing.sum())} dates are missing (NaT) at positions {first}. Drop those "
            "incidents or fill their dates.",
            code="E-RISK-DATES",
        )
    age = ((ref - when) / pd.Timedelta(days=1)).to_numpy(dtype=float)
    weights = np.exp2(-age / float(half_life_days))
    return np.where(age < 0, 0.0, weights)
