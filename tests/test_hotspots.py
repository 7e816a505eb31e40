"""Hot spots: Gi* against esda/libpysal, FDR against a hand example and scipy, Esri's bins,
Mann-Kendall against a hand example and scipy's kendalltau, emerging hot spot categories."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from scipy import stats

from riskmap import hotspots
from riskmap.errors import InputError, RiskmapWarning
from riskmap.hotspots import (
    EMERGING_CATEGORIES,
    band_kernel,
    emerging_hotspots,
    fdr,
    gi_bins,
    gistar,
    mann_kendall,
)

esda = pytest.importorskip("esda")
libpysal = pytest.importorskip("libpysal")

ATOL = 1e-9
X0, Y0 = 150_000.0, 460_000.0  # RD New, rows run south
# libpysal warns about islands / disconnected components of the reference weights
DISCONNECTED = "The weights matrix is not fully connected"


def esda_gistar(values: np.ndarray, mask: np.ndarray, cell_size: float, radius_m: float):
    """Reference z-scores of the masked cells, weights built independently by libpysal."""
    rows, cols = np.nonzero(mask)
    coords = np.column_stack([X0 + (cols + 0.5) * cell_size, Y0 - (rows + 0.5) * cell_size])
    with warnings.catch_warnings():
        # islands (cells without neighbours in the band) and, where the band covers the whole
        # study area, esda's 0/0 in the z-score
        warnings.filterwarnings("ignore", message=DISCONNECTED, category=UserWarning)
        warnings.filterwarnings("ignore", message="invalid value", category=RuntimeWarning)
        w = libpysal.weights.DistanceBand(coords, threshold=radius_m, binary=True,
                                          silence_warnings=True)
        g = esda.G_Local(values[mask], w, star=True, transform="B", permutations=0)
    return g.Zs


def lattice(shape, seed, *, holes=True, blobs=3):
    rng = np.random.default_rng(seed)
    h, w = shape
    lam = np.full(shape, 1.5)
    rr, cc = np.indices(shape)
    for _ in range(blobs):
        r0, c0 = rng.integers(0, h), rng.integers(0, w)
        lam += rng.uniform(3, 8) * np.exp(-((rr - r0) ** 2 + (cc - c0) ** 2) / 4.0)
    values = rng.poisson(lam).astype(float)
    mask = np.ones(shape, dtype=bool)
    if holes:
        mask &= rng.random(shape) > 0.15  # scattered holes, some cells become islands
        mask[h // 3 : h // 3 + 3, w // 4 : w // 4 + 4] = False  # a lake
        mask[:, -2:] &= rr[:, -2:] < h // 2  # an irregular edge
    return values, mask


# --------------------------------------------------------------------------------------------
# band kernel
# --------------------------------------------------------------------------------------------


def test_band_kernel_by_hand():
    np.testing.assert_array_equal(band_kernel(100, 100), [[0, 1, 0], [1, 1, 1], [0, 1, 0]])
    np.testing.assert_array_equal(band_kernel(150, 100), np.ones((3, 3)))
    np.testing.assert_array_equal(band_kernel(99, 100), [[1]])
    np.testing.assert_array_equal(band_kernel(0, 25), [[1]])
    # 2.3 cells: squared offsets 0 (1), 1 (4), 2 (4), 4 (4), 5 (8) are <= 5.29; 8 (4) is not
    k = band_kernel(230, 100)
    assert k.shape == (5, 5) and k.sum() == 1 + 4 + 4 + 4 + 8
    assert k[0, 0] == 0 and k[0, 1] == 1 and k[2, 0] == 1
    assert band_kernel(300, 100).sum() == 29
    np.testing.assert_array_equal(band_kernel(300, 100), band_kernel(300, 100).T)


@pytest.mark.parametrize("bad", [0, -5, np.nan, np.inf, "100 m"])
def test_band_kernel_rejects_bad_cell_size(bad):
    with pytest.raises(InputError, match="cell_size must be a finite number") as err:
        band_kernel(300, bad)
    assert err.value.code == "E-HOTSPOT-CELLSIZE"


# --------------------------------------------------------------------------------------------
# Gi* against esda
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "cell_size", "radius_cells", "seed"),
    [
        ((12, 15), 100.0, 1.0, 0),  # ties exactly at the band: 100 m apart is a neighbour
        ((12, 15), 100.0, 1.5, 1),
        ((30, 20), 100.0, 2.3, 2),
        ((30, 20), 25.0, 2.0, 3),
        ((20, 30), 250.0, 1.5, 4),
        ((25, 22), 100.0, 6.5, 5),  # 129 weights: the FFT path
    ],
)
def test_gistar_matches_esda(shape, cell_size, radius_cells, seed):
    values, mask = lattice(shape, seed)
    radius_m = radius_cells * cell_size
    res = gistar(values, cell_size=cell_size, radius_m=radius_m, mask=mask)
    np.testing.assert_allclose(res.z[mask], esda_gistar(values, mask, cell_size, radius_m),
                               rtol=0, atol=ATOL)
    assert np.isnan(res.z[~mask]).all() and np.isnan(res.p[~mask]).all()
    assert not res.significant[~mask].any() and (res.bin[~mask] == 0).all()
    np.testing.assert_allclose(res.p[mask], 2 * stats.norm.sf(np.abs(res.z[mask])), atol=1e-15)


def test_gistar_without_mask_matches_esda_and_ignores_nothing():
    values, _ = lattice((15, 18), 11, holes=False)
    full = np.ones(values.shape, dtype=bool)
    res = gistar(values, cell_size=100, radius_m=180)
    np.testing.assert_allclose(res.z.ravel(), esda_gistar(values, full, 100, 180), atol=ATOL)


def test_cells_outside_the_mask_are_neither_observations_nor_neighbours():
    values, mask = lattice((20, 20), 7)
    a = gistar(values, cell_size=100, radius_m=250, mask=mask)
    changed = values.copy()
    changed[~mask] = np.where(np.arange((~mask).sum()) % 2, np.nan, 1e6)
    b = gistar(changed, cell_size=100, radius_m=250, mask=mask)
    np.testing.assert_array_equal(a.z, b.z)


def test_esda_default_row_standardised_transform_differs():
    """Guard of the reference: esda's default transform "R" is not our statistic."""
    values, mask = lattice((15, 15), 3, holes=False)
    res = gistar(values, cell_size=100, radius_m=150, mask=mask)
    rows, cols = np.nonzero(mask)
    coords = np.column_stack([cols * 100.0, -rows * 100.0])
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=DISCONNECTED, category=UserWarning)
        warnings.filterwarnings("ignore", message="Gi\\* requested", category=UserWarning)
        w = libpysal.weights.DistanceBand(coords, threshold=150, binary=True,
                                          silence_warnings=True)
        g = esda.G_Local(values[mask], w, star=True, permutations=0)
    assert np.abs(res.z[mask] - g.Zs).max() > 0.1


def test_high_values_are_hot_whatever_the_mean():
    """esda divides by sum(y): with a negative mean its z flips sign; ours does not."""
    rng = np.random.default_rng(0)
    values = rng.normal(-3.0, 1.0, (10, 10))
    values[2:4, 2:4] += 3.0
    mask = np.ones(values.shape, dtype=bool)
    res = gistar(values, cell_size=100, radius_m=150)
    assert res.z[2, 2] > 2.5
    np.testing.assert_allclose(res.z.ravel(), -esda_gistar(values, mask, 100, 150), atol=ATOL)
    shifted = gistar(values + 10.0, cell_size=100, radius_m=150)  # Gi* is shift-invariant
    np.testing.assert_allclose(shifted.z, res.z, atol=1e-12)


def test_fft_and_direct_window_sums_agree(monkeypatch):
    values, mask = lattice((40, 35), 9)
    direct = gistar(values, cell_size=100, radius_m=420, mask=mask)
    monkeypatch.setattr(hotspots, "FFT_MIN_WEIGHTS", 0)
    fft = gistar(values, cell_size=100, radius_m=420, mask=mask)
    np.testing.assert_allclose(fft.z, direct.z, atol=1e-11, equal_nan=True)
    k = band_kernel(420, 100)
    w_fft = hotspots._window_counts(mask, k)
    monkeypatch.setattr(hotspots, "FFT_MIN_WEIGHTS", 10**9)
    np.testing.assert_array_equal(w_fft, hotspots._window_counts(mask, k))


def test_band_covering_the_whole_study_area_gives_z0():
    values, mask = lattice((6, 7), 2, holes=False)
    res = gistar(values, cell_size=100, radius_m=5_000, mask=mask)
    assert (res.z == 0).all() and (res.p == 1).all() and (res.bin == 0).all()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    h=st.integers(3, 9),
    w=st.integers(3, 9),
    seed=st.integers(0, 2**32 - 1),
    radius_cells=st.sampled_from([1.0, 1.2, 1.5, 2.0, 2.3, 3.1]),
    cell_size=st.sampled_from([10.0, 25.0, 100.0]),
    hole_share=st.floats(0.0, 0.5),
)
def test_gistar_matches_esda_property(h, w, seed, radius_cells, cell_size, hole_share):
    rng = np.random.default_rng(seed)
    values = rng.poisson(rng.uniform(0.5, 5), (h, w)).astype(float)
    mask = rng.random((h, w)) >= hole_share
    assume(mask.sum() >= 3 and np.ptp(values[mask]) > 0)
    radius_m = radius_cells * cell_size
    res = gistar(values, cell_size=cell_size, radius_m=radius_m, mask=mask)
    ref = esda_gistar(values, mask, cell_size, radius_m)
    whole = np.isnan(ref)  # esda's 0/0 where the band covers the whole study area
    np.testing.assert_allclose(res.z[mask][~whole], ref[~whole], rtol=0, atol=ATOL)
    assert (res.z[mask][whole] == 0).all()


@pytest.mark.parametrize(
    ("kwargs", "code", "match"),
    [
        ({"values": np.zeros((4, 4))}, "E-HOTSPOT-CONSTANT", "constant inside the mask"),
        ({"values": np.arange(16.0)}, "E-HOTSPOT-SHAPE", "2-D lattice"),
        ({"mask": np.ones((3, 3), bool)}, "E-HOTSPOT-MASK", "mask has shape"),
        ({"mask": np.eye(4, dtype=bool) & False}, "E-HOTSPOT-SMALL", "at least 3"),
        ({"cell_size": 0}, "E-HOTSPOT-CELLSIZE", "cell_size must be"),
        ({"radius_m": -1}, "E-HOTSPOT-RADIUSM", "radius_m must be"),
        ({"alpha": 1.5}, "E-HOTSPOT-ALPHA", "alpha must lie"),
        ({"values": np.where(np.eye(4) > 0, np.nan, 1.0)}, "E-HOTSPOT-NAN", "NaN or infinite"),
    ],
)
def test_gistar_input_errors(kwargs, code, match):
    args = {"values": np.arange(16.0).reshape(4, 4), "cell_size": 100, "radius_m": 150,
            "mask": None, "alpha": 0.05} | kwargs
    values = args.pop("values")
    with pytest.raises(InputError, match=match) as err:
        gistar(values, **args)
    assert err.value.code == code
    assert isinstance(err.value, ValueError)


def test_gistar_options_are_keyword_only():
    with pytest.raises(TypeError):
        gistar(np.arange(16.0).reshape(4, 4), 100, 150)  # type: ignore[misc]


# --------------------------------------------------------------------------------------------
# FDR
# --------------------------------------------------------------------------------------------


def test_fdr_hand_worked_step_up():
    # m = 10, alpha = 0.05: threshold of rank k is k/10 * 0.05 = 0.005 k
    # rank k   p        threshold   p <= threshold
    #  1      0.002     0.005       yes
    #  2      0.011     0.010       no   (rejected anyway: step-up from rank 4)
    #  3      0.016     0.015       no   (idem)
    #  4      0.019     0.020       yes  <- largest k: reject ranks 1-4
    #  5      0.030     0.025       no
    #  6      0.200     0.030       no
    #  7..10  0.3, 0.5, 0.7, 0.9    0.035 .. 0.050   no
    p = np.array([0.5, 0.011, 0.9, 0.002, 0.3, 0.019, 0.7, 0.016, 0.2, 0.03])
    expected = np.array([0, 1, 0, 1, 0, 1, 0, 1, 0, 0], dtype=bool)
    np.testing.assert_array_equal(fdr(p, alpha=0.05), expected)
    # NaN (outside the mask) is no test: adding some changes nothing, and is never rejected
    padded = np.concatenate([p, [np.nan, np.nan]]).reshape(3, 4)
    np.testing.assert_array_equal(fdr(padded, alpha=0.05).ravel()[:10], expected)
    assert not fdr(padded, alpha=0.05).ravel()[10:].any()
    # alpha 0.01: thresholds 0.001 k; only 0.002 <= 0.002 at k = 2? no: 0.002 is rank 1 and
    # 0.002 > 0.001, 0.011 > 0.002 ... nothing is rejected
    assert not fdr(p, alpha=0.01).any()


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("alpha", [0.01, 0.05, 0.1, 0.25])
def test_fdr_matches_scipy(seed, alpha):
    rng = np.random.default_rng(seed)
    # a mix of nulls (uniform) and signals (small p-values), with ties
    p = np.concatenate([rng.uniform(size=300), rng.beta(0.3, 30, size=rng.integers(0, 100))])
    p[:5] = p[5]
    rng.shuffle(p)
    expected = stats.false_discovery_control(p, method="bh") <= alpha
    np.testing.assert_array_equal(fdr(p, alpha=alpha), expected)


def test_fdr_rejects_bad_p():
    with pytest.raises(InputError, match=r"p-values must lie in \[0, 1\]"):
        fdr(np.array([0.1, 1.2]))


# --------------------------------------------------------------------------------------------
# Esri bins
# --------------------------------------------------------------------------------------------


def test_gi_bins_by_hand_without_fdr():
    z = np.array([3.0, -3.0, -2.0, 2.0, 1.7, -1.7, 1.0, np.nan])
    p = 2 * stats.norm.sf(np.abs(z))  # 0.0027, 0.0027, 0.0455, 0.0455, 0.0891, 0.0891, ...
    np.testing.assert_array_equal(gi_bins(z, p, fdr=False), [3, -3, -2, 2, 1, -1, 0, 0])
    assert gi_bins(z, p, fdr=False).dtype == np.int8
    # a single test is its own FDR
    np.testing.assert_array_equal(gi_bins([3.0], [0.0027], fdr=True), [3])


def test_gi_bins_fdr_by_hand():
    # m = 5 p-values, BH per level
    #   level 0.01: thresholds 0.002 k -> 0.001 <= 0.002 only (0.008 > 0.004)   -> k = 1
    #   level 0.05: thresholds 0.010 k -> 0.001, 0.008 <= 0.02, 0.029 <= 0.03  -> k = 3
    #   level 0.10: thresholds 0.020 k -> ... 0.06 <= 0.08, 0.5 > 0.10         -> k = 4
    z = np.array([4.0, -2.7, 2.2, -1.9, 0.7])
    p = np.array([0.001, 0.008, 0.029, 0.06, 0.5])
    np.testing.assert_array_equal(gi_bins(z, p, fdr=True), [3, -2, 2, -1, 0])
    np.testing.assert_array_equal(gi_bins(z, p, fdr=False), [3, -3, 2, -1, 0])


def test_fdr_never_finds_more_than_plain_alpha():
    values, mask = lattice((40, 40), 4)
    with_fdr = gistar(values, cell_size=100, radius_m=200, mask=mask, fdr=True)
    plain = gistar(values, cell_size=100, radius_m=200, mask=mask, fdr=False)
    np.testing.assert_array_equal(with_fdr.z, plain.z)
    assert with_fdr.significant.sum() <= plain.significant.sum()
    assert (with_fdr.significant <= plain.significant).all()
    assert (np.abs(with_fdr.bin) <= np.abs(plain.bin)).all()
    assert with_fdr.significant.sum() > 0  # the blobs are found
    # significant at 5 % is exactly bin +-2 or +-3
    np.testing.assert_array_equal(plain.significant, np.abs(plain.bin) >= 2)
    np.testing.assert_array_equal(with_fdr.significant, np.abs(with_fdr.bin) >= 2)


# --------------------------------------------------------------------------------------------
# Mann-Kendall
# --------------------------------------------------------------------------------------------


def test_mann_kendall_hand_worked_with_ties():
    x = np.array([1.0, 2.0, 2.0, 4.0, 3.0])
    # pairs i < j, sign(x_j - x_i):
    #   from 1: +1 +1 +1 +1 = 4;  from 2: 0 +1 +1 = 2;  from 2: +1 +1 = 2;  from 4: -1
    s = 4 + 2 + 2 - 1  # 7
    # one tie group of size 2: 2 * 1 * (2*2 + 5) = 18
    var = (5 * 4 * 15 - 18) / 18  # 15.667
    z_expected = (s - 1) / np.sqrt(var)  # 1.5159
    z, p = mann_kendall(x)
    assert z == pytest.approx(z_expected, rel=1e-12)
    assert z == pytest.approx(1.515873, abs=1e-6)
    assert p == pytest.approx(2 * stats.norm.sf(z_expected), rel=1e-12)
    z0, _ = mann_kendall(x, continuity=False)
    assert z0 == pytest.approx(s / np.sqrt(var), rel=1e-12)

    # decreasing with a tie group of 3: S = -(3*... ) written out
    y = np.array([5.0, 3.0, 3.0, 3.0, 1.0])
    #   from 5: -4;  from 3: 0 0 -1;  from 3: 0 -1;  from 3: -1  -> S = -7
    #   ties: 3 * 2 * 11 = 66 -> var = (300 - 66) / 18 = 13
    z, p = mann_kendall(y)
    assert z == pytest.approx((-7 + 1) / np.sqrt(13.0), rel=1e-12)

    z, p = mann_kendall(np.full(6, 2.5))  # no variance: no trend
    assert z == 0 and p == 1


def test_mann_kendall_vectorised_over_other_axes():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 4, size=(3, 4, 9)).astype(float)  # many ties
    z, p = mann_kendall(x, axis=-1)
    assert z.shape == (3, 4)
    z0, p0 = mann_kendall(np.moveaxis(x, -1, 0), axis=0)
    np.testing.assert_array_equal(z, z0)
    for i in range(3):
        for j in range(4):
            zi, pi = mann_kendall(x[i, j])
            assert z[i, j] == zi and p[i, j] == pi
    x[1, 2, 5] = np.nan
    z, p = mann_kendall(x, axis=-1)
    assert np.isnan(z[1, 2]) and np.isnan(p[1, 2]) and np.isfinite(z[0, 0])


@pytest.mark.parametrize("seed", range(8))
def test_mann_kendall_against_kendalltau(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(8, 30))
    t = np.arange(n)
    x = rng.normal(size=n) + rng.choice([-0.3, 0, 0.3]) * t  # no ties
    tau = stats.kendalltau(t, x, method="asymptotic")
    z, p = mann_kendall(x)
    z0, p0 = mann_kendall(x, continuity=False)
    var = n * (n - 1) * (2 * n + 5) / 18
    assert z0 * np.sqrt(var) == pytest.approx(tau.statistic * n * (n - 1) / 2, abs=1e-9)  # S
    assert p0 == pytest.approx(tau.pvalue, rel=1e-9)
    assert np.sign(z) == np.sign(tau.statistic) or z == 0
    assert p >= p0  # the continuity correction is conservative
    exact = stats.kendalltau(t, x, method="exact").pvalue
    if min(exact, p) < 0.01 or max(exact, p) > 0.1:  # same decision away from the border
        assert (p <= 0.05) == (exact <= 0.05)
    # with ties in x, tau-b's asymptotic p equals the tie-corrected Mann-Kendall p
    xt = np.round(x)
    assert mann_kendall(xt, continuity=False)[1] == pytest.approx(
        stats.kendalltau(t, xt, method="asymptotic").pvalue, rel=1e-9)


# --------------------------------------------------------------------------------------------
# Emerging hot spots
# --------------------------------------------------------------------------------------------


def _seq(bits: str) -> np.ndarray:
    return np.array([c == "1" for c in bits])


@pytest.mark.parametrize(
    ("hot", "cold", "trend", "expected"),
    [
        ("0000000001", "0000000000", 0, "new hot spot"),
        ("0000000001", "1111000000", 0, "new hot spot"),  # defined by the hot history alone
        ("0000000111", "0000000000", 0, "consecutive hot spot"),
        ("0000000011", "0110000000", 0, "consecutive hot spot"),
        ("1000000011", "0000000000", 0, "sporadic hot spot"),  # hot before the final run
        ("0101010101", "0000000000", 0, "sporadic hot spot"),
        ("1000000011", "0001000000", 0, "oscillating hot spot"),
        ("1111111111", "0000000000", 1, "intensifying hot spot"),
        ("1111111111", "0000000000", 0, "persistent hot spot"),
        ("1111011111", "0000000000", 0, "persistent hot spot"),  # 90 %, final hot
        ("1111111111", "0000000000", -1, "diminishing hot spot"),
        ("1111111110", "0000000000", 1, "historical hot spot"),
        ("1111111110", "0000000001", 0, "new cold spot"),  # the final step's side wins
        ("1111111100", "0000000000", 0, "no pattern"),  # 80 %: not historical
        ("0100100000", "0000000000", 0, "no pattern"),  # on and off, but not at the end
        ("0000000000", "0000000000", 1, "no pattern"),
        ("0000000000", "1111111111", -1, "intensifying cold spot"),
        ("0000000000", "1111111111", 1, "diminishing cold spot"),
        ("0000000000", "1111111111", 0, "persistent cold spot"),
        ("0000000000", "1111111110", 0, "historical cold spot"),
        ("1100000000", "0000000011", 0, "consecutive cold spot"),
        ("0010000000", "0100000101", 0, "oscillating cold spot"),
        ("00000", "01011", 0, "sporadic cold spot"),
        ("01111", "00000", 0, "consecutive hot spot"),  # T < 10: 90 % means every step
        ("10111", "00000", 0, "sporadic hot spot"),
        ("11111", "00000", 0, "persistent hot spot"),
    ],
)
def test_emerging_categories_by_hand(hot, cold, trend, expected):
    h, c = _seq(hot)[:, None], _seq(cold)[:, None]
    trend_z = np.array([2.5 * trend])
    trend_p = 2 * stats.norm.sf(np.abs(trend_z))
    assert hotspots._categories(h, c, trend_z, trend_p, alpha=0.05)[0] == expected


@pytest.fixture(scope="module")
def emerging_stack():
    """Ten periods on 48 x 48 cells of 100 m, Poisson background 5, one pattern per blob."""
    rng = np.random.default_rng(7)
    lam = np.full((10, 48, 48), 5.0)

    def blob(r, c, periods, amp):
        for t, a in zip(periods, np.broadcast_to(amp, len(periods)), strict=True):
            lam[t, r - 2 : r + 3, c - 2 : c + 3] += a

    def hole(r, c, periods):
        for t in periods:
            lam[t, r - 3 : r + 4, c - 3 : c + 4] = 0.0

    blob(6, 6, [9], 10)
    blob(6, 20, [7, 8, 9], 10)
    blob(6, 34, range(10), np.linspace(4, 25, 10))
    blob(20, 6, range(10), 10)
    blob(20, 20, range(10), np.linspace(25, 6, 10))
    blob(20, 34, [1, 4, 6, 9], 10)
    hole(34, 6, [0, 1, 2, 3])
    blob(34, 6, [6, 9], 10)
    blob(34, 20, range(9), 10)
    hole(34, 34, [9])
    hole(42, 42, range(10))
    mask = np.ones((48, 48), dtype=bool)
    mask[0, :] = False
    return rng.poisson(lam).astype(float), mask


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ((6, 6), "new hot spot"),  # blob in the last period only
        ((6, 20), "consecutive hot spot"),  # the last three periods
        ((6, 34), "intensifying hot spot"),  # every period, growing
        ((20, 6), "persistent hot spot"),  # every period, constant
        ((20, 20), "diminishing hot spot"),  # every period, shrinking
        ((20, 34), "sporadic hot spot"),  # periods 1, 4, 6 and 9
        ((34, 6), "oscillating hot spot"),  # a cold hole in periods 0-3, hot in 6 and 9
        ((34, 20), "historical hot spot"),  # periods 0-8, gone in the last
        ((34, 34), "new cold spot"),  # a hole in the last period
        ((42, 42), "persistent cold spot"),  # a hole throughout
        ((13, 13), "no pattern"),  # background
    ],
)
def test_emerging_hotspots_synthetic_stack(emerging_stack, cell, expected):
    stack, mask = emerging_stack
    res = emerging_hotspots(stack, cell_size=100, radius_m=150, mask=mask)
    assert res.category[cell] == expected


def test_emerging_hotspots_outputs(emerging_stack):
    stack, mask = emerging_stack
    res = emerging_hotspots(stack, cell_size=100, radius_m=150, mask=mask)
    assert res.gistar_z.shape == stack.shape and res.category.shape == mask.shape
    assert set(np.unique(res.category[mask])) <= set(EMERGING_CATEGORIES)
    assert (res.category[~mask] == "").all() and np.isnan(res.trend_z[~mask]).all()
    for t in (0, 9):  # per period exactly gistar with FDR
        g = gistar(stack[t], cell_size=100, radius_m=150, mask=mask)
        np.testing.assert_array_equal(res.gistar_z[t], g.z)
        np.testing.assert_array_equal(res.gistar_bin[t], g.bin)
        np.testing.assert_array_equal(res.hot[t], g.significant & (g.z > 0))
    z, p = mann_kendall(res.gistar_z[:, 30, 30])
    assert res.trend_z[30, 30] == z and res.trend_p[30, 30] == p


def test_emerging_hotspots_constant_period_warns():
    rng = np.random.default_rng(0)
    stack = rng.poisson(3.0, (4, 12, 12)).astype(float)
    stack[1] = 0.0
    with pytest.warns(RiskmapWarning, match=r"period\(s\) \[1\] are constant"):
        res = emerging_hotspots(stack, cell_size=100, radius_m=150)
    assert (res.gistar_z[1] == 0).all()


def test_emerging_hotspots_rejects_a_2d_array():
    with pytest.raises(InputError, match="3-D stack") as err:
        emerging_hotspots(np.ones((5, 5)), cell_size=100, radius_m=150)
    assert err.value.code == "E-HOTSPOT-SHAPE"


# --- the study cells only, one period at a time: the numbers of 200830a ------------------------


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), t=st.integers(1, 11), h=st.integers(3, 40),
       w=st.integers(3, 40), radius=st.sampled_from([100.0, 150.0, 300.0, 1_000.0]),
       hole_share=st.floats(0.0, 0.5), empty_first=st.booleans())
def test_emerging_equals_the_whole_stack_version(seed, t, h, w, radius, hole_share,
                                                 empty_first):
    from reference_risk import emerging_hotspots_dense

    from riskmap.hotspots import emerging_category_codes

    rng = np.random.default_rng(seed)
    stack = rng.poisson(rng.uniform(0.05, 2.0), (t, h, w)).astype(float)
    stack[-1, h // 3: h // 2 + 1, w // 3: w // 2 + 1] += rng.integers(0, 9)
    if empty_first:
        stack[0] = 0.0  # a constant period: warns, z = 0
    mask = rng.uniform(size=(h, w)) >= hole_share
    mask[0, :3] = True
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        want = emerging_hotspots_dense(stack, cell_size=100, radius_m=radius, mask=mask)
        got = emerging_hotspots(stack, cell_size=100, radius_m=radius, mask=mask)
        codes = emerging_category_codes(iter(stack), cell_size=100, radius_m=radius, mask=mask)
    assert len(caught) % 3 == 0  # each warns alike, or none does
    for name in ("category", "trend_z", "trend_p", "gistar_z", "gistar_bin", "hot", "cold"):
        a, b = getattr(got, name), getattr(want, name)
        assert a.dtype == b.dtype and a.shape == b.shape, name
        np.testing.assert_array_equal(a, b, err_msg=name)
    names = np.array([*EMERGING_CATEGORIES, ""])  # code -1: outside the mask
    np.testing.assert_array_equal(names[codes], want.category)


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), t=st.integers(1, 12), continuity=st.booleans(),
       levels=st.integers(1, 5), with_nan=st.booleans())
def test_mann_kendall_equals_the_sign_sum_version(seed, t, continuity, levels, with_nan):
    """Integer counts pair by pair give the floats of the summed signs (200830a), ties too."""
    from reference_risk import mann_kendall_dense

    rng = np.random.default_rng(seed)
    x = rng.integers(0, levels, (t, 7, 5)).astype(float) * 0.3
    if with_nan:
        x[rng.integers(t), rng.integers(7), rng.integers(5)] = np.nan
    for axis, series in ((0, x), (-1, np.moveaxis(x, 0, -1))):
        z, p = mann_kendall(series, axis=axis, continuity=continuity)
        z0, p0 = mann_kendall_dense(series, axis=axis, continuity=continuity)
        np.testing.assert_array_equal(z, z0)
        np.testing.assert_array_equal(p, p0)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), h=st.integers(1, 50), w=st.integers(1, 50),
       radius=st.sampled_from([0.0, 100.0, 150.0, 250.0, 420.0, 1_000.0, 5_000.0]),
       share=st.floats(0.0, 1.0))
def test_window_counts_are_the_rounded_correlation(seed, h, w, radius, share):
    """Counted from a summed-area table: the integers FFT and direct correlation round to."""
    from scipy import signal

    rng = np.random.default_rng(seed)
    mask = rng.uniform(size=(h, w)) < share
    k = hotspots._kernel(radius, 100.0, max_half=(h - 1, w - 1))
    got = hotspots._window_counts(mask, k)
    np.testing.assert_array_equal(got, np.rint(hotspots._direct(mask.astype(float), k)))
    np.testing.assert_array_equal(
        got, np.rint(signal.fftconvolve(mask.astype(float), k, mode="same")))


def test_fft_threads_give_the_same_numbers():
    from scipy import fft, signal

    rng = np.random.default_rng(2)
    a = rng.normal(size=(301, 257))
    k = hotspots._kernel(700, 100.0)
    with fft.set_workers(1):
        one = signal.fftconvolve(a, k, mode="same")
    with fft.set_workers(3):
        three = signal.fftconvolve(a, k, mode="same")
    np.testing.assert_array_equal(one, three)
    np.testing.assert_array_equal(hotspots._correlate(a, k), one)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), h=st.integers(1, 70), w=st.integers(1, 70),
       radius=st.sampled_from([150.0, 420.0, 700.0, 1_300.0]))
def test_correlator_equals_fftconvolve(seed, h, w, radius):
    """The kernel's spectrum kept between arrays: fftconvolve's numbers, bit for bit."""
    from scipy import signal

    rng = np.random.default_rng(seed)
    k = hotspots._kernel(radius, 100.0, max_half=(h - 1, w - 1))
    correlate = hotspots._correlator((h, w), k)
    for _ in range(2):
        a = rng.normal(size=(h, w)) * rng.uniform(size=(h, w)).round()
        want = (signal.fftconvolve(a, k, mode="same") if np.count_nonzero(k) > 64
                else hotspots._direct(a, k))
        np.testing.assert_array_equal(correlate(a), want)
