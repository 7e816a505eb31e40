"""Hot spots on a regular lattice: Getis-Ord Gi*, FDR, Esri's bins and emerging hot spots.

Everything works on 2-D arrays of a regular grid of square cells (rows run south; the fixed
distance band is symmetric, so the orientation does not matter). A boolean ``mask`` marks the
study area: only masked cells are observations, so cells outside it are neither observations
nor neighbours, and their z-scores and p-values are NaN.

Gi* is computed with window sums (a correlation of the masked values with a 0/1 band kernel),
which gives exactly the z-scores of ``esda.G_Local(y, w, star=True, transform="B")`` with
``w`` the fixed distance band between the centres of the masked cells, in milliseconds instead
of seconds (see ``benchmarks/bench_hotspots.py``).
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass

import numpy as np
from scipy import fft as sp_fft
from scipy import ndimage, signal, special

from riskmap.errors import InputError, RiskmapWarning

__all__ = [
    "EMERGING_CATEGORIES",
    "EmergingResult",
    "GiStar",
    "band_kernel",
    "emerging_category_codes",
    "emerging_hotspots",
    "fdr",
    "gi_bins",
    "gistar",
    "gistar_from_z",
    "gistar_moments",
    "gistar_partition",
    "mann_kendall",
]

#: Confidence levels of Esri's ``Gi_Bin`` field: bin k (k = 3, 2, 1) means significant at
#: p <= BIN_ALPHAS[k].
BIN_ALPHAS = {3: 0.01, 2: 0.05, 1: 0.10}

#: Kernels with more non-zero weights than this are correlated by FFT, smaller ones directly
#: (crossover measured on a 700 x 700 lattice: direct 13 ms vs FFT 17 ms at 49 weights,
#: 31 ms vs 22 ms at 81).
FFT_MIN_WEIGHTS = 64

#: Threads of the FFT correlations (``scipy.fft`` workers): the same numbers in any number.
FFT_WORKERS = max(1, min(os.cpu_count() or 1, 4))

_PATTERNS = (
    "new",
    "consecutive",
    "intensifying",
    "persistent",
    "diminishing",
    "sporadic",
    "oscillating",
    "historical",
)
#: The 17 categories of Esri's Emerging Hot Spot Analysis, in Esri's order.
EMERGING_CATEGORIES = (
    "no pattern",
    *(f"{p} hot spot" for p in _PATTERNS),
    *(f"{p} cold spot" for p in _PATTERNS),
)
#: Category of cells outside the mask.
OUTSIDE = ""


@dataclass(frozen=True)
class GiStar:
    """Result of :func:`gistar`; every array has the shape of the input lattice.

    Attributes
    ----------
    z : ndarray of float64
        Gi* z-scores; NaN outside the mask.
    p : ndarray of float64
        Two-sided p-values under the normal approximation; NaN outside the mask.
    significant : ndarray of bool
        Significant at ``alpha`` after the Benjamini-Hochberg correction (or at plain
        ``alpha`` when ``fdr=False``); False outside the mask.
    bin : ndarray of int8
        Esri's ``Gi_Bin``: +3/-3 hot/cold spot at 99 % confidence, +2/-2 at 95 %, +1/-1 at
        90 %, 0 not significant or outside the mask.
    """

    z: np.ndarray
    p: np.ndarray
    significant: np.ndarray
    bin: np.ndarray


@dataclass(frozen=True)
class EmergingResult:
    """Result of :func:`emerging_hotspots`.

    Attributes
    ----------
    category : ndarray of str, shape (H, W)
        One of :data:`EMERGING_CATEGORIES` per masked cell (``"no pattern"``,
        ``"new hot spot"``, ..., ``"historical cold spot"``); the empty string outside the
        mask.
    trend_z, trend_p : ndarray of float64, shape (H, W)
        Mann-Kendall z and two-sided p of each cell's Gi* z-scores over time; NaN outside the
        mask.
    gistar_z : ndarray of float64, shape (T, H, W)
        Gi* z-score of each cell in each period; NaN outside the mask.
    gistar_bin : ndarray of int8, shape (T, H, W)
        Esri's ``Gi_Bin`` (FDR-corrected) of each cell in each period.
    hot, cold : ndarray of bool, shape (T, H, W)
        Significant hot / cold spot (FDR at ``alpha``) per period: what the categories are
        built from.
    """

    category: np.ndarray
    trend_z: np.ndarray
    trend_p: np.ndarray
    gistar_z: np.ndarray
    gistar_bin: np.ndarray
    hot: np.ndarray
    cold: np.ndarray


# --------------------------------------------------------------------------------------------
# validation helpers
# --------------------------------------------------------------------------------------------


def _check_positive(name: str, value: float, *, allow_zero: bool = False) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = float("nan")
    if not np.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        bound = "zero or more" if allow_zero else "more than zero"
        msg = f"{name} must be a finite number {bound} (metres), got {value!r}."
        raise InputError(msg, code=f"E-HOTSPOT-{name.upper().replace('_', '')}")
    return v


def _check_alpha(alpha: float) -> float:
    try:
        a = float(alpha)
    except (TypeError, ValueError):
        a = float("nan")
    if not 0 < a < 1:
        msg = f"alpha must lie strictly between 0 and 1, got {alpha!r}; use e.g. alpha=0.05."
        raise InputError(msg, code="E-HOTSPOT-ALPHA")
    return a


def _check_mask(mask, shape: tuple[int, ...]) -> np.ndarray:
    if mask is None:
        return np.ones(shape, dtype=bool)
    m = np.asarray(mask)
    if m.shape != shape:
        msg = (f"mask has shape {m.shape} but the values have shape {shape}; pass a boolean "
               "mask of the lattice's shape (True = study area).")
        raise InputError(msg, code="E-HOTSPOT-MASK")
    if m.dtype != bool:
        if not np.isin(m, (0, 1)).all():
            msg = "mask must be boolean (True = study area) or 0/1."
            raise InputError(msg, code="E-HOTSPOT-MASK")
        m = m.astype(bool)
    return m


# --------------------------------------------------------------------------------------------
# kernel and window sums
# --------------------------------------------------------------------------------------------


def _kernel(radius_m: float, cell_size: float, max_half: tuple[int, int] | None = None):
    half = int(np.floor(radius_m / cell_size + 1e-9))
    hy = hx = half
    if max_half is not None:  # offsets beyond the lattice reach no cell: clip the kernel
        hy, hx = min(half, max_half[0]), min(half, max_half[1])
    dy = np.arange(-hy, hy + 1, dtype=np.float64)[:, None] * cell_size
    dx = np.arange(-hx, hx + 1, dtype=np.float64)[None, :] * cell_size
    # sqrt(dx**2 + dy**2) as libpysal/scipy's KD-tree computes the distance
    return (np.sqrt(dy * dy + dx * dx) <= radius_m).astype(np.float64)


def band_kernel(radius_m: float, cell_size: float) -> np.ndarray:
    """Return the 0/1 fixed-distance-band kernel of a square lattice.

    Parameters
    ----------
    radius_m : float
        Distance band in metres; a cell is a neighbour when the distance between the cell
        centres is at most ``radius_m``.
    cell_size : float
        Cell size in metres.

    Returns
    -------
    ndarray of float64, shape (2h + 1, 2h + 1)
        1 where ``hypot(di, dj) * cell_size <= radius_m`` (the centre included), else 0;
        ``h = floor(radius_m / cell_size)``.

    Notes
    -----
    This is the binary "fixed distance band" of Getis & Ord (1992) and of Esri's Hot Spot
    Analysis ("Fixed distance", weight 1 inside the band, 0 outside), with the cell itself
    included as Gi* requires (Ord & Getis 1995).

    Examples
    --------
    >>> band_kernel(150, 100).astype(int)
    array([[1, 1, 1],
           [1, 1, 1],
           [1, 1, 1]])
    >>> int(band_kernel(300, 100).sum())
    29
    """
    cs = _check_positive("cell_size", cell_size)
    r = _check_positive("radius_m", radius_m, allow_zero=True)
    if r / cs > 5000:
        msg = (f"radius_m={radius_m} is {r / cs:.0f} cells of {cs} m: the kernel would not fit "
               "in memory. Check the units (metres) of radius_m and cell_size.")
        raise InputError(msg, code="E-HOTSPOT-RADIUS")
    return _kernel(r, cs)


def _correlate(a: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Correlate with zero padding; direct for small kernels, FFT for large ones."""
    if np.count_nonzero(k) <= FFT_MIN_WEIGHTS:
        return _direct(a, k)
    # the band kernel is symmetric, so correlation equals convolution; pocketfft computes
    # each 1-D transform alike in any thread, so the workers change the time, not the numbers
    with sp_fft.set_workers(FFT_WORKERS):
        return signal.fftconvolve(a, k, mode="same")


def _correlator(shape: tuple[int, int], k: np.ndarray):
    """:func:`_correlate` for many arrays of ``shape``, with the kernel's spectrum made once.

    ``signal.fftconvolve(a, k, mode="same")`` transforms the zero-padded ``a`` and ``k``,
    multiplies the spectra and transforms back; here the kernel's transform is kept for the
    next array. The same transforms of the same padded arrays in the same order (scipy's
    ``_freq_domain_conv`` and ``_centered``), so the same numbers: tests compare with
    ``fftconvolve``. Small kernels, and lattices a single cell wide, go to
    :func:`_correlate` as before.
    """
    if np.count_nonzero(k) <= FFT_MIN_WEIGHTS or min(*shape, *k.shape) == 1:
        return lambda a: _correlate(a, k)
    full = [shape[i] + k.shape[i] - 1 for i in range(2)]
    fshape = [sp_fft.next_fast_len(n, True) for n in full]
    with sp_fft.set_workers(FFT_WORKERS):
        spectrum = sp_fft.rfftn(k, fshape, axes=[0, 1])
    r0, c0 = (full[0] - shape[0]) // 2, (full[1] - shape[1]) // 2

    def correlate(a: np.ndarray) -> np.ndarray:
        with sp_fft.set_workers(FFT_WORKERS):
            out = sp_fft.irfftn(sp_fft.rfftn(a, fshape, axes=[0, 1]) * spectrum, fshape,
                                axes=[0, 1])
        return out[r0:r0 + shape[0], c0:c0 + shape[1]].copy()

    return correlate


def _window_counts(mask: np.ndarray, k: np.ndarray) -> np.ndarray:
    """W_i: the number of masked cells in each cell's band (exact integers).

    Counted in integers from a summed-area table of the mask, one rectangle per run of equal
    kernel rows: the whole numbers a correlation of the mask with the kernel rounds to
    (``np.rint`` of it, as it was computed before), at a fraction of an FFT's cost.
    """
    if not np.array_equal(k, k[::-1, ::-1]):  # not a band kernel: correlate and round
        return np.rint(_correlate(mask.astype(np.float64), k))
    h, w = mask.shape
    hy, hx = k.shape[0] // 2, k.shape[1] // 2
    kind = np.int32 if mask.size < 2**31 else np.int64
    sat = np.zeros((h + 2 * hy + 1, w + 2 * hx + 1), dtype=kind)
    sat[1 + hy:1 + hy + h, 1 + hx:1 + hx + w] = mask
    np.cumsum(sat, axis=0, out=sat)
    np.cumsum(sat, axis=1, out=sat)
    out = np.zeros((h, w), dtype=kind)
    for i0, i1, j0, j1 in _rectangles(k != 0):
        # cells of the band: mask rows r + i0 - hy … r + i1 - 1 - hy, likewise columns
        out += sat[i1:i1 + h, j1:j1 + w]
        out -= sat[i0:i0 + h, j1:j1 + w]
        out -= sat[i1:i1 + h, j0:j0 + w]
        out += sat[i0:i0 + h, j0:j0 + w]
    return out.astype(np.float64)


def _rectangles(k: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Disjoint rectangles ``(i0, i1, j0, j1)`` (half-open) covering the True cells of ``k``:
    each row's runs, consecutive rows with the same runs merged."""
    rows = []
    for row in k:
        edges = np.flatnonzero(np.diff(np.concatenate([[0], row.astype(np.int8), [0]])))
        rows.append(tuple(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True)))
    rects = []
    i = 0
    while i < len(rows):
        j = i
        while j + 1 < len(rows) and rows[j + 1] == rows[i]:
            j += 1
        rects += [(i, j + 1, a, b) for a, b in rows[i]]
        i = j + 1
    return rects


def _moments(x: np.ndarray, mask: np.ndarray) -> tuple[float, float]:
    xm = x[mask]
    mean = xm.mean()
    s = np.sqrt(np.mean((xm - mean) ** 2))  # population standard deviation (ddof=0)
    if np.ptp(xm) == 0:
        s = 0.0
    return float(mean), float(s)


def _gistar_z(
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
    num = (correlate or _correlate)(centred, k)
    var = w * (n - w) / (n - 1)
    z = np.full(x.shape, np.nan)
    ok = mask & (var > 0)
    z[ok] = num[ok] / (s * np.sqrt(var[ok]))
    z[mask & ~(var > 0)] = 0.0  # the band covers the whole study area: no test possible
    return z


def _two_sided_p(z: np.ndarray) -> np.ndarray:
    return 2.0 * special.ndtr(-np.abs(z))


def _lattice(values, mask, *, ndim: int):
    arr = np.asarray(values)
    if arr.ndim != ndim:
        what = "a 2-D lattice (H, W)" if ndim == 2 else "a 3-D stack (T, H, W)"
        msg = f"values must be {what}, got an array of shape {arr.shape}."
        raise InputError(msg, code="E-HOTSPOT-SHAPE")
    if not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        msg = f"values must be real numbers, got dtype {arr.dtype}."
        raise InputError(msg, code="E-HOTSPOT-DTYPE")
    arr = arr.astype(np.float64, copy=False)
    m = _check_mask(mask, arr.shape[-2:])
    n = int(m.sum())
    if n < 3:
        msg = (f"the mask holds {n} cell(s); Gi* needs at least 3 study-area cells "
               "(and many more to mean anything).")
        raise InputError(msg, code="E-HOTSPOT-SMALL")
    bad = ~np.isfinite(arr) & m
    if bad.any():
        idx = np.argwhere(bad)[0]
        msg = (f"{int(bad.sum())} cell(s) inside the mask are NaN or infinite (first at index "
               f"{tuple(int(i) for i in idx)}); fill them (e.g. with 0 counts) or take them "
               "out of the mask.")
        raise InputError(msg, code="E-HOTSPOT-NAN")
    return arr, m, n


# --------------------------------------------------------------------------------------------
# Gi*
# --------------------------------------------------------------------------------------------


def gistar(
    values,
    *,
    cell_size: float,
    radius_m: float,
    mask=None,
    fdr: bool = True,
    alpha: float = 0.05,
) -> GiStar:
    r"""Getis-Ord Gi* hot spots on a regular lattice with a fixed distance band.

    Parameters
    ----------
    values : array_like, shape (H, W)
        The variable per cell, e.g. incident counts. Must be finite inside the mask.
    cell_size : float
        Cell size in metres.
    radius_m : float
        Distance band in metres: cells whose centres lie at most ``radius_m`` apart are
        neighbours (weight 1); each cell is its own neighbour (Gi*).
    mask : array_like of bool, shape (H, W), optional
        The study area (default: every cell). Only masked cells are observations; cells
        outside are neither observations nor neighbours and get NaN z and p.
    fdr : bool, default=True
        Correct for multiple testing with Benjamini-Hochberg (``significant``) and use the
        FDR-corrected bins (``bin``), as ArcGIS Pro's "Apply False Discovery Rate (FDR)
        Correction".
    alpha : float, default=0.05
        Significance level of ``significant`` (the bins always use 0.01, 0.05 and 0.10).

    Returns
    -------
    GiStar
        ``z``, ``p`` (two-sided), ``significant`` and ``bin`` arrays of shape (H, W).

    Raises
    ------
    InputError
        Bad shapes or options, non-finite values inside the mask, fewer than 3 masked cells
        (``E-HOTSPOT-SMALL``), or values that are constant on the mask
        (``E-HOTSPOT-CONSTANT``: Gi* is undefined without variance).

    Notes
    -----
    Gi* of Getis & Ord (1992) and Ord & Getis (1995) with binary weights :math:`w_{ij}`
    (self included), computed with window sums:

    .. math::

        z_i = \frac{S_i - \bar x W_i}{s \sqrt{(n W_i - W_i^2) / (n - 1)}},

    with :math:`S_i = \sum_j w_{ij} x_j` and :math:`W_i = \sum_j w_{ij}` correlations of the
    masked values and of the mask with the band kernel (zero outside the lattice),
    :math:`\bar x` and :math:`s` the mean and population standard deviation (ddof=0) of the
    ``n`` masked values. This equals ``esda.G_Local(y, w, star=True, transform="B").Zs``
    (esda's default ``transform="R"`` gives other z-scores) whenever the mean of the masked
    values is positive, as for counts; esda divides G by the sum of ``y``, so for values with
    a negative mean its z-scores have the opposite sign, whereas here high values are hot
    spots whatever the mean. Kernels of more than
    :data:`FFT_MIN_WEIGHTS` weights are correlated by FFT (window counts rounded to
    integers); the result matches esda to about 1e-12. A cell whose band covers the whole
    study area (:math:`W_i = n`) cannot be tested and gets z = 0, p = 1.

    Benjamini, Y. & Hochberg, Y. (1995) for ``fdr``. Getis, A. & Ord, J.K. (1992). The
    analysis of spatial association by use of distance statistics. Geographical Analysis
    24(3), 189-206. Ord, J.K. & Getis, A. (1995). Local spatial autocorrelation statistics:
    distributional issues and an application. Geographical Analysis 27(4), 286-306.

    Examples
    --------
    >>> import numpy as np
    >>> counts = np.random.default_rng(0).poisson(1.0, (40, 40)).astype(float)
    >>> counts[18:22, 18:22] += 8
    >>> res = gistar(counts, cell_size=100, radius_m=150)
    >>> int(res.bin[20, 20])
    3
    >>> bool(res.significant[0, 0])
    False
    """
    a = _check_alpha(alpha)
    cs = _check_positive("cell_size", cell_size)
    r = _check_positive("radius_m", radius_m, allow_zero=True)
    x, m, n = _lattice(values, mask, ndim=2)
    k = _kernel(r, cs, max_half=(x.shape[0] - 1, x.shape[1] - 1))
    w = _window_counts(m, k)
    z = _gistar_z(x, m, k, w, n)
    if z is None:
        msg = ("the values are constant inside the mask, so Gi* is undefined (zero variance); "
               "there are no hot or cold spots to find.")
        raise InputError(msg, code="E-HOTSPOT-CONSTANT")
    return _result(z, a, fdr=fdr)


def gistar_partition(
    values: np.ndarray,
    *,
    mask: np.ndarray,
    cell_size: float,
    radius_m: float,
    moments: tuple[float, float, int],
    max_half: tuple[int, int],
) -> np.ndarray:
    """Gi* z-scores on a window of a larger lattice, with that lattice's moments.

    The partitioned engine cuts the lattice into windows that reach ``radius_m`` beyond the
    cells they answer for; with the mean, the population standard deviation and the number of
    study-area cells of the whole lattice (``moments``, from :func:`gistar_moments`) and its
    kernel clipping (``max_half``), the z-scores of those inner cells equal those of
    :func:`gistar` on the whole lattice. Kernels are correlated directly (never by FFT), so the
    sums do not depend on the window's size. p-values, the FDR correction and the bins are
    global and are made from the assembled z-scores (:func:`gistar_from_z`).
    """
    x = np.asarray(values, dtype=np.float64)
    m = np.asarray(mask, dtype=bool)
    mean, s, n = moments
    k = _kernel(radius_m, cell_size, max_half=max_half)
    w = np.rint(_direct(m.astype(np.float64), k))
    return _gistar_z(x, m, k, w, n, moments=(mean, s), correlate=_direct)


def _direct(a: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Correlate with zero padding, always directly (sums independent of the array size)."""
    return ndimage.correlate(a, k, mode="constant", cval=0.0)


def gistar_moments(values, *, mask=None) -> tuple[float, float, int]:
    """Mean, population standard deviation and count of ``values`` on the mask (for windows).

    Raises ``E-HOTSPOT-CONSTANT`` as :func:`gistar` when the values are constant.
    """
    x, m, n = _lattice(values, mask, ndim=2)
    mean, s = _moments(x, m)
    if not s > 0:
        msg = ("the values are constant inside the mask, so Gi* is undefined (zero variance); "
               "there are no hot or cold spots to find.")
        raise InputError(msg, code="E-HOTSPOT-CONSTANT")
    return mean, s, n


def gistar_from_z(z: np.ndarray, *, fdr: bool = True, alpha: float = 0.05) -> GiStar:
    """p-values, significance (FDR) and bins of assembled Gi* z-scores (NaN outside)."""
    return _result(np.asarray(z, dtype=np.float64), _check_alpha(alpha), fdr=fdr)


def _result(z: np.ndarray, alpha: float, *, fdr: bool) -> GiStar:
    p = np.full(z.shape, np.nan)  # NaN outside the mask, as _two_sided_p(NaN)
    tested = ~np.isnan(z)
    p[tested] = _two_sided_p(z[tested])
    significant = _bh_reject(p, alpha) if fdr else p <= alpha  # NaN <= a is False
    return GiStar(z=z, p=p, significant=significant, bin=gi_bins(z, p, fdr=fdr))


# --------------------------------------------------------------------------------------------
# FDR and bins
# --------------------------------------------------------------------------------------------


def _bh_cutoffs(p: np.ndarray, alphas: tuple[float, ...]) -> list[float]:
    """Benjamini-Hochberg cut-off per level: reject p <= cut-off (-inf: reject nothing).

    Only p-values up to the largest level can be rejected, and the ranks of those among all
    ``m`` finite p-values are their ranks among themselves: sorting just them is enough.
    """
    p = np.asarray(p, dtype=np.float64)
    m = int(np.isfinite(p).sum())
    cand = np.sort(p[p <= max(alphas)])  # NaN compares False: left out
    ranks = np.arange(1, cand.size + 1)
    cutoffs = []
    for a in alphas:
        ok = np.flatnonzero(cand <= a * ranks / max(m, 1))
        cutoffs.append(cand[ok[-1]] if ok.size else -np.inf)  # largest p(k) <= k/m * alpha
    return cutoffs


def _bh_reject(p: np.ndarray, alpha: float) -> np.ndarray:
    p = np.asarray(p, dtype=np.float64)
    return p <= _bh_cutoffs(p, (alpha,))[0]


def fdr(p: np.ndarray, *, alpha: float = 0.05) -> np.ndarray:
    r"""Benjamini-Hochberg: which p-values are rejected at false discovery rate ``alpha``.

    Parameters
    ----------
    p : array_like
        p-values in [0, 1], any shape. NaN (e.g. cells outside the mask) are ignored: they
        do not count as tests and are never rejected.
    alpha : float, default=0.05
        The false discovery rate to control.

    Returns
    -------
    ndarray of bool
        ``True`` where the null hypothesis is rejected, same shape as ``p``.

    Notes
    -----
    Benjamini, Y. & Hochberg, Y. (1995). Controlling the false discovery rate: a practical
    and powerful approach to multiple testing. Journal of the Royal Statistical Society B
    57(1), 289-300. With the ``m`` finite p-values sorted, :math:`p_{(1)} \le \dots \le
    p_{(m)}`, find the largest ``k`` with :math:`p_{(k)} \le k \alpha / m` and reject the
    ``k`` smallest (every p-value at most :math:`p_{(k)}`). Same decisions as
    ``scipy.stats.false_discovery_control(p) <= alpha``.

    Examples
    --------
    Step-up: 0.011 > 2/10 * 0.05 and 0.016 > 3/10 * 0.05, yet both are rejected because
    0.019 <= 4/10 * 0.05.

    >>> fdr([0.002, 0.011, 0.016, 0.019, 0.03, 0.2, 0.3, 0.5, 0.7, 0.9], alpha=0.05).nonzero()
    (array([0, 1, 2, 3]),)
    """
    a = _check_alpha(alpha)
    arr = np.asarray(p, dtype=np.float64)
    if ((arr < 0) | (arr > 1)).any():
        msg = "p-values must lie in [0, 1] (NaN for no test)."
        raise InputError(msg, code="E-HOTSPOT-PVALUE")
    return _bh_reject(arr, a)


def gi_bins(z, p, *, fdr: bool = True) -> np.ndarray:
    """Esri's ``Gi_Bin``: confidence bins of hot (+) and cold (-) spots.

    Parameters
    ----------
    z : array_like
        Gi* z-scores (their sign makes a hot or a cold spot).
    p : array_like
        Two-sided p-values, same shape; NaN (outside the mask) gets bin 0.
    fdr : bool, default=True
        Bin ±k only where the p-value is rejected by Benjamini-Hochberg at that bin's level
        (0.01, 0.05, 0.10 for k = 3, 2, 1) over all finite p-values, as ArcGIS Pro's Hot Spot
        Analysis with "Apply False Discovery Rate (FDR) Correction". ``False``: plain
        ``p <= level``.

    Returns
    -------
    ndarray of int8
        +3/-3 at 99 % confidence, +2/-2 at 95 %, +1/-1 at 90 %, 0 not significant.

    Notes
    -----
    Esri, ArcGIS Pro: "How Hot Spot Analysis (Getis-Ord Gi*) works" (Gi_Bin field). The FDR
    version applies Benjamini & Hochberg (1995) separately at each confidence level; since
    the BH cut-off grows with the level, a cell significant at 99 % is significant at 95 %
    and 90 % too. With ``fdr=True`` never more cells are significant than without.

    Examples
    --------
    >>> gi_bins([3.0, -2.0, 1.7, 1.0], [0.0027, 0.0455, 0.0891, 0.3173], fdr=False)
    array([ 3, -2,  1,  0], dtype=int8)
    """
    zz = np.asarray(z, dtype=np.float64)
    pp = np.asarray(p, dtype=np.float64)
    if zz.shape != pp.shape:
        msg = f"z and p must have the same shape, got {zz.shape} and {pp.shape}."
        raise InputError(msg, code="E-HOTSPOT-SHAPE")
    levels = (1, 2, 3)
    alphas = tuple(BIN_ALPHAS[k] for k in levels)
    cutoffs = _bh_cutoffs(pp, alphas) if fdr else alphas
    level = np.zeros(zz.shape, dtype=np.int8)
    for k, cut in zip(levels, cutoffs, strict=True):  # rising confidence overwrites
        level[pp <= cut] = k
    return level * np.sign(np.nan_to_num(zz)).astype(np.int8)


# --------------------------------------------------------------------------------------------
# Mann-Kendall
# --------------------------------------------------------------------------------------------


def mann_kendall(
    series: np.ndarray, axis: int = 0, *, continuity: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    r"""Mann-Kendall trend test along ``axis``, vectorised over the other axes.

    Parameters
    ----------
    series : array_like
        Time series (oldest first) along ``axis``.
    axis : int, default=0
        The time axis.
    continuity : bool, default=True
        Apply the continuity correction (:math:`S \mp 1`) to the z-score.

    Returns
    -------
    z : ndarray of float64
        Standardised trend statistic (> 0: increasing); NaN where a series holds NaN.
    p : ndarray of float64
        Two-sided p-value under the normal approximation; NaN where a series holds NaN.

    Notes
    -----
    Mann, H.B. (1945). Nonparametric tests against trend. Econometrica 13(3), 245-259;
    Kendall, M.G. (1975). Rank Correlation Methods. :math:`S = \sum_{i<j}
    \mathrm{sgn}(x_j - x_i)` with variance corrected for ties,

    .. math::

        \mathrm{Var}(S) = \frac{n(n-1)(2n+5) - \sum_g t_g(t_g-1)(2t_g+5)}{18},

    :math:`t_g` the size of tie group ``g``, and :math:`z = (S - \mathrm{sgn}(S)) /
    \sqrt{\mathrm{Var}(S)}` (without the 1 when ``continuity=False``; then ``p`` equals the
    asymptotic p of ``scipy.stats.kendalltau(t, x)``); z = 0, p = 1 when Var(S) = 0. The
    tie term is summed per value rather than per group: with :math:`c_i` the size of the
    group of :math:`x_i`, :math:`\sum_g t_g(t_g-1)(2t_g+5) = \sum_i (c_i-1)(2c_i+5)`.
    The loops run over the ``n`` time steps, each vectorised over all series.

    Examples
    --------
    >>> z, p = mann_kendall(np.array([1.0, 2.0, 2.0, 4.0, 3.0]))
    >>> round(float(z), 4), round(float(p), 4)
    (1.5159, 0.1296)
    """
    x = np.moveaxis(np.asarray(series, dtype=np.float64), axis, 0)
    t = x.shape[0]
    # S and the tie term are whole numbers: counted in integers pair by pair (no (T, ...)
    # temporaries), they are the same floats as summed signs; series holding NaN are NaN below
    small = np.int16 if t < 256 else np.int64  # |S| <= T(T - 1)/2, counts <= T
    s = np.zeros(x.shape[1:], dtype=small)
    equal = np.ones(x.shape, dtype=small)  # per step, the steps equal to it (itself too)
    for i in range(t):
        for j in range(i + 1, t):
            s += x[j] > x[i]
            s -= x[j] < x[i]
            same = x[j] == x[i]
            equal[i] += same
            equal[j] += same
    ties = np.zeros(x.shape[1:], dtype=np.int64)
    for c in equal:
        c = c.astype(np.int64)
        ties += (c - 1) * (2 * c + 5)
    s = s.astype(np.float64)
    var = (t * (t - 1) * (2 * t + 5) - ties.astype(np.float64)) / 18.0
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


def _classify_side(
    sig: np.ndarray, other: np.ndarray, trend_up: np.ndarray, trend_down: np.ndarray
) -> list[tuple[str, np.ndarray]]:
    """Esri's eight patterns for one side (hot: sig = hot, other = cold; cold mirrored).

    ``trend_up`` is a significant trend towards *more* of this side (rising z for hot spots,
    falling z for cold spots). Returns (pattern, condition) pairs, mutually exclusive.
    """
    t = sig.shape[0]
    count = sig.sum(axis=0)
    final = sig[-1]
    run = np.zeros(sig.shape[1:], dtype=np.int64)  # length of the final uninterrupted run
    alive = np.ones(sig.shape[1:], dtype=bool)
    for i in range(t - 1, -1, -1):
        alive &= sig[i]
        run += alive
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


def _categories(
    hot: np.ndarray, cold: np.ndarray, trend_z: np.ndarray, trend_p: np.ndarray, *, alpha: float
) -> np.ndarray:
    """Esri's emerging hot spot category per series from the (T, ...) hot/cold flags."""
    width = max(len(c) for c in EMERGING_CATEGORIES)
    names = np.asarray(EMERGING_CATEGORIES, dtype=f"<U{width}")
    return names[_category_codes(hot, cold, trend_z, trend_p, alpha=alpha)]


def _category_codes(
    hot: np.ndarray, cold: np.ndarray, trend_z: np.ndarray, trend_p: np.ndarray, *, alpha: float
) -> np.ndarray:
    """:func:`_categories` as positions in :data:`EMERGING_CATEGORIES` (int8)."""
    up = (trend_p <= alpha) & (trend_z > 0)
    down = (trend_p <= alpha) & (trend_z < 0)
    hot_rules = _classify_side(hot, cold, up, down)
    cold_rules = _classify_side(cold, hot, down, up)
    code = np.zeros(hot.shape[1:], dtype=np.int8)  # "no pattern"
    # the patterns of the side significant in the final step first, then the historical ones
    rules = [(f"{p} hot spot", c) for p, c in hot_rules[:-1]]
    rules += [(f"{p} cold spot", c) for p, c in cold_rules[:-1]]
    rules += [("historical hot spot", hot_rules[-1][1]),
              ("historical cold spot", cold_rules[-1][1])]
    done = np.zeros(hot.shape[1:], dtype=bool)
    for name, cond in rules:
        sel = cond & ~done
        code[sel] = EMERGING_CATEGORIES.index(name)
        done |= sel
    return code


def _emerging_z(periods, m: np.ndarray, n: int, k: np.ndarray, wc: np.ndarray,
                ) -> tuple[np.ndarray, list[int]]:
    """Gi* z-scores of each period's lattice on the study cells (T, n); constant periods.

    :func:`_gistar_z` restricted to the study cells, with the variance term (the same in
    every period) computed once: the same operations on the same numbers.
    """
    var = (wc * (n - wc) / (n - 1))[m]
    tested = var > 0  # else the band covers the whole study area: z = 0
    root = np.sqrt(var[tested])
    correlate = _correlator(m.shape, k)
    z, constant = [], []
    for i, x in enumerate(periods):  # one lattice at a time; every period is vectorised
        mean, s = _moments(x, m)
        zi = np.zeros(n)
        if not s > 0:
            constant.append(i)
        else:
            num = correlate(np.where(m, x - mean, 0.0))[m]
            zi[tested] = num[tested] / (s * root)
        z.append(zi)
    if constant:
        warnings.warn(
            f"period(s) {constant} are constant inside the mask, so Gi* is undefined there; "
            "they count as having no hot or cold spots (z = 0).",
            RiskmapWarning,
            stacklevel=3,
        )
    return np.stack(z), constant


def _emerging_of_z(z: np.ndarray, alpha: float, *, keep_p: bool = False
                   ) -> dict[str, np.ndarray]:
    """Everything :func:`emerging_hotspots` derives from the (T, n) z-scores of the study cells.

    Each step works per cell or, for the FDR, on the finite p-values of a period, which are
    those of the study cells: the same numbers as on the whole lattice. The p-values are
    made a period at a time and kept only with ``keep_p``.
    """
    hot = np.empty(z.shape, dtype=bool)
    cold = np.empty(z.shape, dtype=bool)
    p = np.empty(z.shape) if keep_p else None
    for i, zi in enumerate(z):
        pi = _two_sided_p(zi)
        sig = _bh_reject(pi, alpha)
        hot[i] = sig & (zi > 0)
        cold[i] = sig & (zi < 0)
        if keep_p:
            p[i] = pi
    trend_z, trend_p = mann_kendall(z, axis=0)
    return {"p": p, "hot": hot, "cold": cold, "trend_z": trend_z, "trend_p": trend_p,
            "code": _category_codes(hot, cold, trend_z, trend_p, alpha=alpha)}


def emerging_category_codes(
    periods,
    *,
    cell_size: float,
    radius_m: float,
    mask,
    alpha: float = 0.05,
) -> np.ndarray:
    """The categories of :func:`emerging_hotspots`, one period's lattice at a time.

    ``periods`` is an iterable of (H, W) lattices, oldest first (a generator keeps one in
    memory at a time); ``mask`` the study area. Returns the position of each cell's category
    in :data:`EMERGING_CATEGORIES` (int8), -1 outside the mask:
    ``EMERGING_CATEGORIES[code]`` is ``emerging_hotspots(np.stack(periods), ...).category``,
    computed from the same numbers, with the work after the Gi* correlations done on the
    study cells only. Raises and warns as :func:`emerging_hotspots`.
    """
    a = _check_alpha(alpha)
    cs = _check_positive("cell_size", cell_size)
    r = _check_positive("radius_m", radius_m, allow_zero=True)
    m = _check_mask(mask, np.shape(mask))
    h, w_ = m.shape
    k = _kernel(r, cs, max_half=(h - 1, w_ - 1))
    state: dict = {}

    def lattices():
        for values in periods:
            x, mm, n = _lattice(values, m, ndim=2)
            if "wc" not in state:
                state.update(wc=_window_counts(mm, k), n=n)
            yield x

    gen = lattices()
    first = next(gen, None)
    if first is None:
        msg = "no periods given; pass at least one (H, W) lattice."
        raise InputError(msg, code="E-HOTSPOT-SHAPE")
    z, _ = _emerging_z(_chain(first, gen), m, state["n"], k, state["wc"])
    code = np.full(m.shape, -1, dtype=np.int8)
    code[m] = _emerging_of_z(z, a)["code"]
    return code


def _chain(first, rest):
    yield first
    yield from rest


def emerging_hotspots(
    stack: np.ndarray,
    *,
    cell_size: float,
    radius_m: float,
    mask=None,
    alpha: float = 0.05,
) -> EmergingResult:
    """Esri's Emerging Hot Spot Analysis on a stack of lattices.

    Parameters
    ----------
    stack : array_like, shape (T, H, W)
        The variable per period and cell (e.g. incident counts), oldest period first.
    cell_size : float
        Cell size in metres.
    radius_m : float
        Distance band of Gi* in metres (see :func:`gistar`).
    mask : array_like of bool, shape (H, W), optional
        The study area, the same in every period (default: every cell).
    alpha : float, default=0.05
        Significance level of the hot/cold spots per period (Benjamini-Hochberg FDR per
        period) and of the Mann-Kendall trend.

    Returns
    -------
    EmergingResult
        ``category`` per cell, ``trend_z``/``trend_p`` of the Mann-Kendall test and the Gi*
        z-scores per period (``gistar_z``), with bins and hot/cold flags.

    Raises
    ------
    InputError
        As :func:`gistar`; a stack that is not 3-D (``E-HOTSPOT-SHAPE``).

    Warns
    -----
    RiskmapWarning
        When a period is constant on the mask (e.g. no incidents at all): its Gi* is
        undefined; it gets z = 0 (no hot or cold spot) in that period.

    Notes
    -----
    Method of Esri, ArcGIS Pro, "How Emerging Hot Spot Analysis works", with Gi* of Getis &
    Ord (1992) / Ord & Getis (1995) per period (a spatial neighbourhood only, no
    neighbouring time steps), Benjamini & Hochberg (1995) per period, and the Mann-Kendall
    test (Mann 1945; Kendall 1975) of each cell's Gi* z-scores over time. A cell is *hot*
    (*cold*) in a period when it is FDR-significant at ``alpha`` with z > 0 (z < 0). With
    ``T`` periods, "90 % of the steps" means at least ``0.9 T`` of them (so every step when
    ``T < 10``), and a trend is significant when its p <= ``alpha``. The hot-spot patterns
    (cold spots mirror them, with "intensifying" a significant *falling* z):

    - **new**: hot in the final step only.
    - **consecutive**: one uninterrupted run of at least two hot steps at the end, never hot
      before it, hot in < 90 % of the steps.
    - **intensifying** / **persistent** / **diminishing**: hot in >= 90 % of the steps and in
      the final one, with a significant rising / no significant / a significant falling
      trend.
    - **sporadic**: hot in the final step, hot before but not in one run up to the final
      step (on-again, off-again), < 90 % of the steps, never cold.
    - **oscillating**: as sporadic, but cold in some earlier step.
    - **historical**: not hot in the final step, but hot in >= 90 % of the steps.
    - **no pattern**: none of these.

    Interpretations where Esri's text leaves room: (1) persistent requires the final step
    hot (otherwise it is historical), so the categories do not overlap; (2) new and
    consecutive take precedence over oscillating: they are defined by the hot history alone,
    so a cell cold before and hot only at the end is a *new* hot spot; oscillating and
    sporadic are the remaining < 90 % cells hot at the end, split by whether they were ever
    cold; (3) sporadic requires the final step hot (ArcGIS Pro's current wording; older
    ArcMap text omits it), so a cell on-and-off hot but not at the end is "no pattern";
    (4) where a hot and a cold pattern both apply (hot in >= 90 % of the steps, cold in the
    last), the pattern of the final step's side wins (here: new cold spot, not historical
    hot spot).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> stack = rng.poisson(2.0, (10, 30, 30)).astype(float)
    >>> stack[-1, 12:18, 12:18] += 10            # a blob in the last period only
    >>> res = emerging_hotspots(stack, cell_size=100, radius_m=150)
    >>> str(res.category[15, 15])
    'new hot spot'
    """
    a = _check_alpha(alpha)
    cs = _check_positive("cell_size", cell_size)
    r = _check_positive("radius_m", radius_m, allow_zero=True)
    x, m, n = _lattice(stack, mask, ndim=3)
    t, h, w_ = x.shape
    if t < 1:
        msg = "the stack holds no periods; pass an array of shape (T, H, W) with T >= 1."
        raise InputError(msg, code="E-HOTSPOT-SHAPE")
    k = _kernel(r, cs, max_half=(h - 1, w_ - 1))
    wc = _window_counts(m, k)
    zm, _ = _emerging_z((x[i] for i in range(t)), m, n, k, wc)
    em = _emerging_of_z(zm, a, keep_p=True)  # on the study cells; outside: NaN, False, 0, ""

    def full(values, fill):  # the study cells' values on the lattice (per period)
        out = np.full((h, w_) if values.ndim == 1 else (t, h, w_), fill, dtype=values.dtype)
        out[..., m] = values
        return out

    z = full(zm, np.nan)
    p = full(em["p"], np.nan)
    bins = np.stack([gi_bins(z[i], p[i], fdr=True) for i in range(t)])
    hot = full(em["hot"], False)
    cold = full(em["cold"], False)
    trend_z = full(em["trend_z"], np.nan)
    trend_p = full(em["trend_p"], np.nan)
    width = max(len(c) for c in EMERGING_CATEGORIES)
    category = np.full((h, w_), OUTSIDE, dtype=f"<U{width}")
    category[m] = np.asarray(EMERGING_CATEGORIES, dtype=f"<U{width}")[em["code"]]
    return EmergingResult(
        category=category,
        trend_z=trend_z,
        trend_p=trend_p,
        gistar_z=z,
        gistar_bin=bins,
        hot=hot,
        cold=cold,
    )
