"""Kernel density on the grid against scikit-learn's exact KernelDensity; decay weights."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.neighbors import KernelDensity

from riskmap.errors import InputError
from riskmap.grid import Grid
from riskmap.kde import decay_weights, kde

#: Largest allowed error, as a share of the exact map's peak.
PEAK_RTOL = 0.005


def exact_kde(x, y, grid, *, bandwidth, weights=None) -> np.ndarray:
    """scikit-learn's exact Gaussian KDE at the cell centres, in incidents per km²."""
    xs, ys = grid.centres()
    X, Y = np.meshgrid(xs, ys)
    kd = KernelDensity(kernel="gaussian", bandwidth=bandwidth)
    kd.fit(np.column_stack([x, y]), sample_weight=weights)
    total = x.size if weights is None else float(np.sum(weights))
    logd = kd.score_samples(np.column_stack([X.ravel(), Y.ravel()]))
    return np.exp(logd).reshape(grid.shape) * total * 1e6


def clustered(rng, n, bounds, *, k=6, spread=(30, 600), margin=800.0):
    """``n`` points in ``k`` Gaussian clusters whose centres may lie up to ``margin`` outside."""
    xmin, ymin, xmax, ymax = bounds
    cx = rng.uniform(xmin - margin, xmax + margin, k)
    cy = rng.uniform(ymin - margin, ymax + margin, k)
    sd = rng.uniform(*spread, k)
    lab = rng.integers(0, k, n)
    return cx[lab] + rng.normal(0, 1, n) * sd[lab], cy[lab] + rng.normal(0, 1, n) * sd[lab]


def grid_of(cell_size, width=48, height=40) -> Grid:
    x0, y0 = 150_000, 450_000
    return Grid.from_bounds(x0, y0, x0 + width * cell_size, y0 + height * cell_size,
                            cell_size=cell_size)


@pytest.mark.parametrize("weighted", [False, True], ids=["counts", "weights"])
@pytest.mark.parametrize("cell_size", [50, 100, 150])
@pytest.mark.parametrize("bandwidth", [150, 250, 500])
@pytest.mark.parametrize("seed", [0, 1])
def test_matches_exact_kde_within_half_a_percent_of_peak(seed, bandwidth, cell_size, weighted):
    rng = np.random.default_rng(seed)
    g = grid_of(cell_size)
    x, y = clustered(rng, 600, g.bounds)
    w = rng.uniform(0.1, 3.0, x.size) if weighted else None
    assert (~g.rowcol(x, y)[2]).sum() > 30  # some points lie outside the grid
    ours = kde(x, y, g, bandwidth=bandwidth, weights=w)
    exact = exact_kde(x, y, g, bandwidth=bandwidth, weights=w)
    assert ours.shape == g.shape
    assert np.abs(ours - exact).max() <= PEAK_RTOL * exact.max()


@pytest.mark.parametrize("oversample", [1, 3, 5])
def test_single_point_error_within_documented_bound(oversample):
    # worst case: one isolated point; documented bound f²/(6h²) of the peak, f the fine cell
    g = grid_of(100, 30, 30)
    h = 250.0
    f = 100 / oversample
    offsets = np.linspace(0, 100, 11)
    for dx in offsets:
        x, y = np.array([151_500 + dx]), np.array([451_537.0 - dx / 3])
        ours = kde(x, y, g, bandwidth=h, oversample=oversample)
        exact = exact_kde(x, y, g, bandwidth=h)
        assert np.abs(ours - exact).max() <= f**2 / (6 * h**2) * exact.max() * 1.05


def test_oversampling_lowers_the_error():
    rng = np.random.default_rng(7)
    g = grid_of(100)
    x, y = clustered(rng, 500, g.bounds, spread=(20, 80))
    exact = exact_kde(x, y, g, bandwidth=150)
    errors = [np.abs(kde(x, y, g, bandwidth=150, oversample=m) - exact).max() / exact.max()
              for m in (1, 3, 7)]
    assert errors[0] > errors[1] > errors[2]


def test_point_outside_grid_contributes_far_point_ignored():
    g = grid_of(100, 20, 20)
    xmin, ymin, xmax, ymax = g.bounds
    near = (np.array([xmax + 600.0]), np.array([ymin + 1000.0]))  # 2.4 h east of the grid
    ours = kde(*near, g, bandwidth=250)
    exact = exact_kde(*near, g, bandwidth=250)
    assert ours.max() > 0.01 * 1e6 / (2 * np.pi * 250**2)
    assert np.abs(ours - exact).max() <= PEAK_RTOL * exact.max()
    far = (np.array([xmax + 20 * 250.0]), np.array([ymax + 5_000.0]))
    assert not kde(*far, g, bandwidth=250).any()


def test_linear_in_weights_and_additive():
    rng = np.random.default_rng(3)
    g = grid_of(100, 20, 20)
    x, y = clustered(rng, 200, g.bounds)
    w = rng.uniform(0, 2, x.size)
    both = kde(x, y, g, bandwidth=200, weights=w)
    np.testing.assert_allclose(kde(x, y, g, bandwidth=200, weights=2 * w), 2 * both)
    half = x.size // 2
    parts = (kde(x[:half], y[:half], g, bandwidth=200, weights=w[:half])
             + kde(x[half:], y[half:], g, bandwidth=200, weights=w[half:]))
    np.testing.assert_allclose(parts, both, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(kde(x, y, g, bandwidth=200, weights=np.ones_like(x)),
                               kde(x, y, g, bandwidth=200))


def test_empty_input_gives_zeros():
    g = grid_of(100, 12, 9)
    out = kde(np.array([]), np.array([]), g, bandwidth=250)
    assert out.shape == g.shape and out.dtype == np.float64 and not out.any()
    zero_w = kde(np.array([150_500.0]), np.array([450_500.0]), g, bandwidth=250,
                 weights=np.array([0.0]))
    assert not zero_w.any()


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 40),
    bandwidth=st.floats(100, 400),
    seed=st.integers(0, 2**32 - 1),
    weighted=st.booleans(),
)
def test_total_mass_is_sum_of_weights(n, bandwidth, seed, weighted):
    rng = np.random.default_rng(seed)
    x = rng.uniform(152_000, 154_000, n)
    y = rng.uniform(452_000, 454_000, n)
    w = rng.uniform(0, 5, n) if weighted else np.ones(n)
    # the points sit at least 5 bandwidths inside the grid
    g = Grid.from_bounds(150_000, 450_000, 156_000, 456_000, cell_size=100)
    out = kde(x, y, g, bandwidth=bandwidth, weights=w)
    assert out.min() >= 0
    assert out.sum() * g.cell_area_km2 == pytest.approx(w.sum(), rel=0.01, abs=1e-12)


@pytest.mark.parametrize("bandwidth", [0, -250, float("nan"), float("inf"), 20, "250", True])
def test_invalid_bandwidth(bandwidth):
    g = grid_of(100, 5, 5)
    with pytest.raises(InputError, match="bandwidth must be") as info:
        kde(np.array([150_100.0]), np.array([450_100.0]), g, bandwidth=bandwidth)
    assert info.value.code == "E-RISK-BANDWIDTH"


def test_bandwidth_below_the_cell_needs_more_oversampling():
    g = grid_of(100, 5, 5)
    pts = np.array([150_100.0]), np.array([450_100.0])
    with pytest.raises(InputError, match="larger oversample"):
        kde(*pts, g, bandwidth=30)  # fine cell 33.3 m
    assert kde(*pts, g, bandwidth=30, oversample=5).max() > 0


@pytest.mark.parametrize("oversample", [0, -3, 2.0, True])
def test_invalid_oversample(oversample):
    g = grid_of(100, 5, 5)
    with pytest.raises(InputError, match="oversample must be a positive integer") as info:
        kde(np.array([150_100.0]), np.array([450_100.0]), g, bandwidth=250,
            oversample=oversample)
    assert info.value.code == "E-RISK-OVERSAMPLE"


def test_invalid_points_and_weights():
    g = grid_of(100, 5, 5)
    x, y = np.array([150_100.0, 150_200.0]), np.array([450_100.0, 450_300.0])
    with pytest.raises(InputError, match="same length") as info:
        kde(x, y[:1], g, bandwidth=250)
    assert info.value.code == "E-RISK-POINTS"
    with pytest.raises(InputError, match="non-finite") as info:
        kde(np.array([150_100.0, np.nan]), y, g, bandwidth=250)
    assert info.value.code == "E-RISK-POINTS"
    with pytest.raises(InputError, match="non-negative") as info:
        kde(x, y, g, bandwidth=250, weights=np.array([1.0, -1.0]))
    assert info.value.code == "E-RISK-WEIGHTS"


# --- decay weights ---------------------------------------------------------------------------


def test_decay_weights_hand_values():
    ref = np.datetime64("2024-07-01")
    dates = ref - np.array([0, 30, 60, 90, 15], dtype="timedelta64[D]")
    w = decay_weights(dates, reference=ref, half_life_days=30)
    np.testing.assert_allclose(w, [1.0, 0.5, 0.25, 0.125, 2**-0.5])


def test_decay_weights_future_incidents_get_zero():
    ref = np.datetime64("2024-07-01T00:00")
    dates = np.array(["2024-07-01T12:00", "2024-08-01", "2024-06-30T12:00"],
                     dtype="datetime64[m]")
    w = decay_weights(dates, reference=ref, half_life_days=1)
    np.testing.assert_allclose(w, [0.0, 0.0, 2**-0.5])


def test_decay_weights_accepts_pandas_and_strings():
    s = pd.Series(pd.to_datetime(["2024-01-01", "2023-12-02"])).dt.tz_localize("Europe/Amsterdam")
    w = decay_weights(s, reference=pd.Timestamp("2024-01-01", tz="Europe/Amsterdam"),
                      half_life_days=30)
    np.testing.assert_allclose(w, [1.0, 0.5])
    w = decay_weights(["2024-01-01", "2023-12-02"], reference="2024-01-01", half_life_days=30)
    np.testing.assert_allclose(w, [1.0, 0.5])
    assert decay_weights(np.array([], dtype="datetime64[D]"), reference="2024-01-01",
                         half_life_days=30).shape == (0,)


@pytest.mark.parametrize("half_life", [0, -5, float("nan"), None])
def test_decay_weights_invalid_half_life(half_life):
    with pytest.raises(InputError, match="half_life_days must be a positive") as info:
        decay_weights(np.array(["2024-01-01"], dtype="datetime64[D]"), reference="2024-01-02",
                      half_life_days=half_life)
    assert info.value.code == "E-RISK-HALFLIFE"


def test_decay_weights_bad_dates():
    with pytest.raises(InputError, match="missing") as info:
        decay_weights(np.array(["2024-01-01", "NaT"], dtype="datetime64[D]"),
                      reference="2024-01-02", half_life_days=30)
    assert info.value.code == "E-RISK-DATES"
    with pytest.raises(InputError, match="time zone"):
        decay_weights(pd.Series(pd.to_datetime(["2024-01-01"])).dt.tz_localize("UTC"),
                      reference="2024-01-02", half_life_days=30)
    with pytest.raises(InputError, match="could not be read"):
        decay_weights(["gisteren"], reference="2024-01-02", half_life_days=30)


# --- the sparse evaluation equals the dense one, bit for bit ----------------------------------


def _points(draw_rng, kind, n, bounds):
    """Incident sets of three shapes: tight clusters, spread, and a few far apart."""
    xmin, ymin, xmax, ymax = bounds
    if kind == "clustered":
        return clustered(draw_rng, n, bounds, k=3, spread=(20, 300), margin=600.0)
    if kind == "spread":
        return (draw_rng.uniform(xmin - 500, xmax + 500, n),
                draw_rng.uniform(ymin - 500, ymax + 500, n))
    # on node lines and cell edges: shares of exactly 0 and 1
    return (np.round(draw_rng.uniform(xmin, xmax, n) / 25) * 25,
            np.round(draw_rng.uniform(ymin, ymax, n) / 25) * 25)


@settings(max_examples=120, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    kind=st.sampled_from(["clustered", "spread", "on_edges"]),
    n=st.integers(1, 60),
    cell_size=st.sampled_from([25.0, 50.0, 100.0]),
    width=st.integers(1, 150),
    height=st.integers(1, 150),
    bandwidth_cells=st.sampled_from([1.0, 1.5, 2.0, 3.0, 4.0, 6.0]),
    oversample=st.integers(1, 3),
    weights=st.sampled_from(["none", "uniform", "with_zeros", "tiny"]),
    aligned=st.booleans(),
    sparse=st.sampled_from(["auto", "always", "never"]),
)
def test_kde_equals_the_dense_evaluation_bit_for_bit(seed, kind, n, cell_size, width, height,
                                                     bandwidth_cells, oversample, weights,
                                                     aligned, sparse):
    """kde (sparse where the points reach little of the grid) == the dense kde of 200830a."""
    from riskmap import kde as kde_mod

    share = {"auto": kde_mod._SPARSE_SHARE, "always": 1e12, "never": 0.0}[sparse]
    with pytest.MonkeyPatch.context() as mp:  # force each path, so both see every shape
        mp.setattr(kde_mod, "_SPARSE_SHARE", share)
        _check_against_dense(seed, kind, n, cell_size, width, height, bandwidth_cells,
                             oversample, weights, aligned)


def _check_against_dense(seed, kind, n, cell_size, width, height, bandwidth_cells, oversample,
                         weights, aligned):
    from reference_risk import kde_dense

    from riskmap import kde as kde_mod

    rng = np.random.default_rng(seed)
    x0 = 150_000.0 if aligned else 150_013.7  # a hand-made grid off the lattice
    g = Grid(x0, 450_000.0 + height * cell_size, width, height, cell_size)
    x, y = _points(rng, kind, n, g.bounds)
    w = {"none": None, "uniform": rng.uniform(0.1, 3.0, n),
         "with_zeros": np.where(rng.uniform(size=n) < 0.4, 0.0, rng.uniform(0, 2, n)),
         "tiny": 2.0 ** -rng.uniform(0, 120, n)}[weights]
    h = bandwidth_cells * cell_size
    want = kde_dense(x, y, g, bandwidth=h, weights=w, oversample=oversample)
    got = kde(x, y, g, bandwidth=h, weights=w, oversample=oversample)
    np.testing.assert_array_equal(got, want)
    assert not np.signbit(got).any()
    cells = kde_mod.kde_cells(x, y, g, bandwidth=h, weights=w, oversample=oversample)
    if isinstance(cells, tuple):
        flat, values = cells
        assert np.unique(flat).size == flat.size
        np.testing.assert_array_equal(values, want.ravel()[flat])
        rest = np.ones(want.size, dtype=bool)
        rest[flat] = False
        assert not want.ravel()[rest].any()  # exactly 0 outside the cells
    else:
        np.testing.assert_array_equal(cells, want)


def test_few_incidents_on_a_large_grid_take_the_sparse_path():
    from reference_risk import kde_dense

    from riskmap import kde as kde_mod

    rng = np.random.default_rng(5)
    g = grid_of(25, 900, 800)
    x, y = clustered(rng, 40, g.bounds, k=4, spread=(30, 200), margin=0.0)
    for m in (1, 3):
        cells = kde_mod.kde_cells(x, y, g, bandwidth=150, oversample=m)
        assert isinstance(cells, tuple) and cells[0].size < 0.2 * g.width * g.height
        np.testing.assert_array_equal(kde(x, y, g, bandwidth=150, oversample=m),
                                      kde_dense(x, y, g, bandwidth=150, oversample=m))


def test_many_incidents_take_the_dense_path():
    from riskmap import kde as kde_mod

    rng = np.random.default_rng(6)
    g = grid_of(100, 40, 30)
    x, y = clustered(rng, 5000, g.bounds, k=30, spread=(200, 900), margin=0.0)
    assert not isinstance(kde_mod.kde_cells(x, y, g, bandwidth=300), tuple)


def test_subgrid_equals_the_window_of_the_grid():
    """What the partitioned engine relies on, now with the sparse path on both sides."""
    rng = np.random.default_rng(8)
    g = grid_of(25, 400, 300)
    x, y = clustered(rng, 30, g.bounds, k=3, spread=(30, 300), margin=200.0)
    w = rng.uniform(0.2, 2.0, x.size)
    whole = kde(x, y, g, bandwidth=75, weights=w)
    rows, cols = slice(37, 251), slice(102, 333)
    part = kde(x, y, g.subgrid(rows, cols), bandwidth=75, weights=w)
    np.testing.assert_array_equal(part, whole[rows, cols])
