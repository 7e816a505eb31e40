"""Each measure against values computed independently (shapely exact geometry, brute force)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from reference_indicators import density_before as _density_reference
from scipy.spatial import cKDTree

from riskmap import indicators
from riskmap.grid import Grid

GRID = Grid.from_bounds(150_000, 450_000, 153_000, 452_500, cell_size=100)


def _centres(grid: Grid) -> np.ndarray:
    xs, ys = grid.centres()
    X, Y = np.meshgrid(xs, ys)
    return shapely.points(X, Y)


def _random_points(n: int, seed: int, pad: float = 800) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    xmin, ymin, xmax, ymax = GRID.bounds
    return rng.uniform(xmin - pad, xmax + pad, n), rng.uniform(ymin - pad, ymax + pad, n)


def test_distance_exact_equals_shapely():
    x, y = _random_points(15, 1, pad=3000)
    geoms = np.concatenate([shapely.points(x[:10], y[:10]),
                            [shapely.LineString([(x[10], y[10]), (x[11], y[11])])],
                            [shapely.buffer(shapely.Point(x[12], y[12]), 250)]])
    d = indicators.distance(geoms, GRID, max_distance=4000, mode="exact")
    ref = np.min(shapely.distance(_centres(GRID)[..., None], geoms), axis=-1)
    np.testing.assert_allclose(d, np.minimum(ref, 4000), atol=1e-9)


def test_distance_raster_within_half_cell_diagonal_and_sees_beyond_edge():
    x, y = _random_points(6, 2, pad=3000)
    lines = shapely.linestrings(np.stack([np.stack([x[:3], y[:3]], -1),
                                          np.stack([x[3:], y[3:]], -1)], axis=1))
    # a feature 1.5 km outside the grid must still count (padded extent)
    outside = shapely.points([GRID.bounds[0] - 1500], [GRID.bounds[1] + 1200])
    geoms = np.concatenate([lines, outside])
    d = indicators.distance(geoms, GRID, max_distance=5000)
    ref = np.minimum(np.min(shapely.distance(_centres(GRID)[..., None], geoms), axis=-1), 5000)
    half_diag = GRID.cell_size * math.sqrt(2) / 2
    assert np.abs(d - ref).max() <= half_diag + 1e-6


def test_distance_without_features_is_capped():
    d = indicators.distance(np.array([], dtype=object), GRID, max_distance=1234)
    assert (d == 1234).all()


@pytest.mark.parametrize("radius", [50.0, 100.0, 230.0, 500.0])
def test_density_counts_points_within_radius_like_shapely(radius):
    x, y = _random_points(600, 3)
    pts = shapely.points(x, y)
    d = indicators.density(x, y, GRID, radius=radius)
    # independent: shapely distance from every centre to every point
    within = shapely.distance(_centres(GRID)[..., None], pts) <= radius
    expected = within.sum(-1) / (math.pi * radius**2 / 1e6)
    np.testing.assert_allclose(d, expected, rtol=1e-9, atol=1e-9)


def test_density_sums_weights():
    x, y = _random_points(300, 4)
    w = np.random.default_rng(4).uniform(0, 1000, 300)
    d = indicators.density(x, y, GRID, radius=300, weights=w)
    within = shapely.distance(_centres(GRID)[..., None], shapely.points(x, y)) <= 300
    expected = (within * w).sum(-1) / (math.pi * 0.3**2)
    np.testing.assert_allclose(d, expected, rtol=1e-9, atol=1e-6)


def test_count_statistics_match_cell_polygons():
    x, y = _random_points(500, 5, pad=0)
    v = np.random.default_rng(5).integers(0, 40, 500).astype(float)
    rows, cols = np.indices(GRID.shape)
    cells = GRID.cell_polygons(rows.ravel(), cols.ravel())
    # independent: shapely "covers" of each square (points never fall on edges here)
    inside = shapely.contains_xy(cells[:, None], x[None, :], y[None, :])
    n = inside.sum(1).reshape(GRID.shape)
    s = (inside * v).sum(1).reshape(GRID.shape)
    mx = np.where(inside, v, -np.inf).max(1).reshape(GRID.shape)
    np.testing.assert_array_equal(indicators.count(x, y, GRID), n)
    np.testing.assert_allclose(indicators.count(x, y, GRID, values=v, statistic="sum"), s)
    with np.errstate(invalid="ignore", divide="ignore"):
        np.testing.assert_allclose(indicators.count(x, y, GRID, values=v, statistic="mean"),
                                   np.where(n > 0, s / n, np.nan))
    np.testing.assert_allclose(indicators.count(x, y, GRID, values=v, statistic="max"),
                               np.where(n > 0, mx, np.nan))


def _polygons(seed: int) -> np.ndarray:
    x, y = _random_points(12, seed, pad=200)
    r = np.random.default_rng(seed).uniform(80, 600, 12)
    return shapely.buffer(shapely.points(x, y), r)


def test_coverage_exact_equals_shapely_intersection_area():
    polys = _polygons(6)
    cov = indicators.coverage(polys, GRID, mode="exact")
    union = shapely.union_all(polys)
    rows, cols = np.indices(GRID.shape)
    cells = GRID.cell_polygons(rows.ravel(), cols.ravel())
    expected = shapely.area(shapely.intersection(cells, union)).reshape(GRID.shape) / 100**2
    np.testing.assert_allclose(cov, expected, atol=1e-9)


def test_coverage_raster_is_close_to_exact():
    polys = _polygons(7)
    exact = indicators.coverage(polys, GRID, mode="exact")
    approx = indicators.coverage(polys, GRID, supersample=20)
    # a polygon edge crossing a cell misplaces at most ~one sub-cell strip per edge
    assert np.abs(approx - exact).max() < 0.1
    assert np.abs(approx - exact).mean() < 0.005
    assert approx.min() >= 0 and approx.max() <= 1


def test_attribute_takes_value_of_polygon_covering_cell_centre():
    polys = shapely.box([150_000, 151_520], [450_000, 450_000], [151_520, 153_000],
                        [452_500, 451_230])
    values = np.array([3.0, 7.0])
    a = indicators.attribute(polys, values, GRID)
    c = _centres(GRID)
    expected = np.where(shapely.contains(polys[1], c), 7.0,
                        np.where(shapely.contains(polys[0], c), 3.0, np.nan))
    np.testing.assert_array_equal(a, expected)
    filled = indicators.attribute(polys[:1], values[:1], GRID, fill=0)
    assert set(np.unique(filled)) == {0.0, 3.0}


def test_points_of_uses_centroids_for_lines_and_polygons():
    geoms = np.array([shapely.Point(1, 2), shapely.box(0, 0, 4, 2),
                      shapely.LineString([(0, 0), (10, 0)])])
    x, y = indicators.points_of(geoms)
    assert x.tolist() == [1, 2, 5] and y.tolist() == [2, 1, 0]


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), radius=st.floats(40, 400))
def test_density_property_matches_brute_force(seed, radius):
    x, y = _random_points(80, seed)
    d = indicators.density(x, y, GRID, radius=radius)
    xs, ys = GRID.centres()
    X, Y = np.meshgrid(xs, ys)
    n = (np.hypot(X[..., None] - x, Y[..., None] - y) <= radius).sum(-1)
    np.testing.assert_allclose(d * math.pi * radius**2 / 1e6, n, atol=1e-6)


# --- density: the difference-array implementation against independent references ---------
#
# Two references: brute force (every centre against every point, the documented test
# ``dx * dx + dy * dy <= r * r`` in metres; cKDTree for larger cases) and the implementation
# it replaced (FFT of the binned counts for whole cells plus a per-offset loop over the ring),
# kept verbatim below. They agree except at exact ties off the cell centres, which the old
# ring test in cell units could miss (test_density_counts_exact_ties_the_old_code_missed).


def _brute_sum(x, y, grid, radius, weights=None):
    """Sum of weights (count) within ``radius`` of every centre: the distance matrix."""
    xs, ys = grid.centres()
    X, Y = np.meshgrid(xs, ys)
    dx = X[..., None] - np.asarray(x, dtype=float)
    dy = Y[..., None] - np.asarray(y, dtype=float)
    within = dx * dx + dy * dy <= radius * radius
    if weights is None:
        return within.sum(-1)
    return (within * np.asarray(weights, dtype=float)).sum(-1)


def _per_km2(total, radius):
    return total / (math.pi * radius**2 / 1e6)


#: Pythagorean triples: integer offsets at an integer distance, so exact ties off the centres.
TRIPLES = [(3, 4, 5), (5, 12, 13), (8, 15, 17), (7, 24, 25), (20, 21, 29), (9, 40, 41)]


@st.composite
def _lattice_case(draw):
    """A small grid and points on the half-metre lattice: exactly on cell centres, exactly
    ``radius`` from a centre (along an axis or at a Pythagorean offset) or a hair off that
    (one ulp, or 1e-9 to 1e-4 m), or anywhere within reach of the grid, inside or outside."""
    s = draw(st.sampled_from([10.0, 25.0, 50.0, 100.0]))
    width, height = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    grid = Grid.from_bounds(150_000, 450_000, 150_000 + width * s, 450_000 + height * s,
                            cell_size=s)
    triple = draw(st.sampled_from(TRIPLES))
    mult = draw(st.sampled_from([0.5, 1.0, 2.0, 5.0, 10.0, 20.0]))
    radius = draw(st.one_of(st.integers(1, 4).map(lambda k: k * s),  # a multiple of the cell
                            st.just(triple[2] * mult),
                            st.integers(1, 1000).map(lambda k: k / 2)))
    xs, ys = grid.centres()
    reach = int(math.ceil(radius / s)) + 1
    points = []
    for _ in range(draw(st.integers(0, 30))):
        kind = draw(st.sampled_from(["centre", "axis", "triple", "any"]))
        i = draw(st.integers(-reach, height + reach - 1))
        j = draw(st.integers(-reach, width + reach - 1))
        cx, cy = grid.x0 + (j + 0.5) * s, grid.y1 - (i + 0.5) * s
        sx, sy = draw(st.sampled_from([-1, 1])), draw(st.sampled_from([-1, 1]))
        if kind == "centre":
            points.append((cx, cy))
        elif kind == "axis":
            points.append((cx + sx * radius, cy) if draw(st.booleans()) else (cx, cy + sy * radius))
        elif kind == "triple":
            a, b, c = triple
            a, b = (a, b) if draw(st.booleans()) else (b, a)
            f = radius / c
            points.append((cx + sx * a * f, cy + sy * b * f))
        else:
            points.append((draw(st.integers(-2 * reach, 2 * (width + reach))) * s / 2 + grid.x0,
                           grid.y1 - draw(st.integers(-2 * reach, 2 * (height + reach))) * s / 2))
        if kind in ("axis", "triple"):
            nudge = draw(st.sampled_from([None, "ulp", 1e-9, -1e-9, 1e-6, -1e-6, 1e-4]))
            px, py = points[-1]
            if nudge == "ulp":
                px = float(np.nextafter(px, px + draw(st.sampled_from([-1.0, 1.0]))))
            elif nudge is not None:
                py += nudge
            points[-1] = (px, py)
    x = np.array([p[0] for p in points], dtype=float)
    y = np.array([p[1] for p in points], dtype=float)
    return grid, radius, x, y


@settings(max_examples=300, deadline=None)
@given(case=_lattice_case())
def test_density_at_and_near_exact_ties_matches_brute_force(case):
    grid, radius, x, y = case
    d = indicators.density(x, y, grid, radius=radius)
    # counts are exact: the same integers divided by the same area
    np.testing.assert_array_equal(d, _per_km2(_brute_sum(x, y, grid, radius), radius))


@settings(max_examples=150, deadline=None)
@given(case=_lattice_case(), data=st.data())
def test_density_whole_weights_at_ties_are_exact(case, data):
    grid, radius, x, y = case
    w = np.array(data.draw(st.lists(st.integers(0, 5000), min_size=x.size, max_size=x.size)),
                 dtype=float)
    d = indicators.density(x, y, grid, radius=radius, weights=w)
    np.testing.assert_array_equal(d, _per_km2(_brute_sum(x, y, grid, radius, w), radius))


def test_density_counts_exact_ties_the_old_code_missed():
    # eight points 85 m from one centre of a 25 m grid, at offsets (±40, ±75) and (±75, ±40)
    g = Grid.from_bounds(150_000, 450_000, 150_500, 450_500, cell_size=25)
    xs, ys = g.centres()
    cx, cy = xs[10], ys[10]
    x = np.array([cx + sx * a for sx in (-1, 1) for sy in (-1, 1) for a, b in ((40, 75), (75, 40))])
    y = np.array([cy + sy * b for sx in (-1, 1) for sy in (-1, 1) for a, b in ((40, 75), (75, 40))])
    d = indicators.density(x, y, g, radius=85)
    np.testing.assert_array_equal(d, _per_km2(_brute_sum(x, y, g, 85), 85))
    assert d[10, 10] == _per_km2(8, 85)
    assert _density_reference(x, y, g, radius=85)[10, 10] == 0  # the rounding it fixed


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 400),
       radius=st.floats(20, 700), zeros=st.floats(0, 1))
def test_density_float_points_match_brute_force_and_old_code(seed, n, radius, zeros):
    rng = np.random.default_rng(seed)
    x, y = _random_points(n, seed, pad=radius + 150)
    w = rng.uniform(0, 1000, n) * (rng.uniform(0, 1, n) >= zeros)  # a share of zero weights
    d = indicators.density(x, y, GRID, radius=radius)
    # random float coordinates: a point within rounding of the circle is vanishingly
    # unlikely (~1e-12 per pair), so every implementation finds the same integers
    np.testing.assert_array_equal(d, _per_km2(_brute_sum(x, y, GRID, radius), radius))
    np.testing.assert_array_equal(d, _density_reference(x, y, GRID, radius=radius))
    whole = np.round(w)
    np.testing.assert_array_equal(
        indicators.density(x, y, GRID, radius=radius, weights=whole),
        _density_reference(x, y, GRID, radius=radius, weights=whole))
    # float weights: each cell is a sum taken in another order (the old code: an FFT plus
    # ring sums; the new: a running sum along the row), so agreement is to rounding of the
    # order of 1e-16 of the sums involved, not bit for bit; 1e-12 of the largest possible
    # cell total bounds both
    dw = indicators.density(x, y, GRID, radius=radius, weights=w)
    atol = 1e-12 * _per_km2(w.sum(), radius)
    np.testing.assert_allclose(dw, _density_reference(x, y, GRID, radius=radius, weights=w),
                               rtol=1e-12, atol=atol)
    np.testing.assert_allclose(dw, _per_km2(_brute_sum(x, y, GRID, radius, w), radius),
                               rtol=1e-12, atol=atol)


def test_density_many_points_match_ckdtree():
    x, y = _random_points(20_000, 11, pad=600)
    # a share of the points on cell centres and at exactly 300 m from one
    x[:2000] = np.round(x[:2000] / 100) * 100 + 50
    y[:2000] = np.round(y[:2000] / 100) * 100 + 50
    x[2000:3000], y[2000:3000] = x[:1000] + 180, y[:1000] - 240
    xs, ys = GRID.centres()
    X, Y = np.meshgrid(xs, ys)
    tree = cKDTree(np.column_stack([x, y]))
    for radius in (300.0, 250.0, 100.0):
        n = tree.query_ball_point(np.column_stack([X.ravel(), Y.ravel()]), radius,
                                  return_length=True).reshape(GRID.shape)
        np.testing.assert_array_equal(indicators.density(x, y, GRID, radius=radius),
                                      _per_km2(n, radius))


def test_density_edge_cases():
    none = np.array([], dtype=float)
    assert (indicators.density(none, none, GRID, radius=300) == 0).all()
    assert indicators.density(none, none, GRID, radius=300).shape == GRID.shape
    # far outside the grid, or not finite: no contribution
    xmin, ymin, xmax, ymax = GRID.bounds
    x = np.array([xmin - 1000, xmax + 301, np.nan, np.inf, (xmin + xmax) / 2, 151_050.0])
    y = np.array([ymin, ymax, ymin, ymin, np.nan, 451_050.0])
    w = np.array([1.0, 1.0, 1.0, 1.0, 1.0, np.nan])
    assert (indicators.density(x, y, GRID, radius=300, weights=w) == 0).all()
    only = indicators.density(x, y, GRID, radius=300)
    np.testing.assert_array_equal(only, _per_km2(_brute_sum(x[5:], y[5:], GRID, 300), 300))
    # a point just outside the grid, within the radius of the edge cells
    d = indicators.density(np.array([xmin - 250.0]), np.array([451_050.0]), GRID, radius=300)
    assert d[:, 0].sum() > 0 and d[:, 3:].sum() == 0
    # negative whole weights: the sum is clipped at 0, as before
    x, y = np.array([151_050.0, 151_050.0]), np.array([451_050.0, 451_150.0])
    w = np.array([-3.0, 1.0])
    np.testing.assert_array_equal(indicators.density(x, y, GRID, radius=150, weights=w),
                                  _density_reference(x, y, GRID, radius=150, weights=w))
    with pytest.raises(ValueError, match="radius must be a positive number"):
        indicators.density(x, y, GRID, radius=0)


@pytest.mark.parametrize("cell_size", [25.0, 100.0])
def test_density_large_grid_equals_old_code(cell_size):
    # many points per row block (several scatter chunks) and a radius of many cells
    g = Grid.from_bounds(150_000, 450_000, 160_000, 458_000, cell_size=cell_size)
    rng = np.random.default_rng(3)
    n = 150_000
    x = rng.normal(155_000, 2500, n)
    y = rng.normal(454_000, 2000, n)
    for radius in (500.0, 230.0):
        np.testing.assert_array_equal(indicators.density(x, y, g, radius=radius),
                                      _density_reference(x, y, g, radius=radius))


@pytest.mark.parametrize(("block", "chunk"), [(1, 1), (40, 90), (1 << 16, 1 << 17)])
def test_density_does_not_depend_on_block_sizes(monkeypatch, block, chunk):
    # one point per block, blocks that split a row, and the defaults: same exact counts
    monkeypatch.setattr(indicators, "_BLOCK", block)
    monkeypatch.setattr(indicators, "_CHUNK", chunk)
    rng = np.random.default_rng(8)
    x, y = _random_points(300, 8, pad=400)
    x, y = np.round(x * 2) / 2, np.round(y * 2) / 2  # half-metre lattice
    xs, ys = GRID.centres()
    i, j = rng.integers(0, GRID.height, 100), rng.integers(0, GRID.width, 100)
    x[:100], y[:100] = xs[j] + 120, ys[i] - 160  # exactly 200 m from a centre
    for radius in (200.0, 250.0, 430.5):
        np.testing.assert_array_equal(indicators.density(x, y, GRID, radius=radius),
                                      _per_km2(_brute_sum(x, y, GRID, radius), radius))
    w = rng.integers(0, 9, 300).astype(float)
    np.testing.assert_array_equal(indicators.density(x, y, GRID, radius=200, weights=w),
                                  _per_km2(_brute_sum(x, y, GRID, 200, w), 200))


# --- count against the implementation it replaced ------------------------------------------


def _count_reference(x, y, grid, *, values=None, statistic="count"):
    """riskmap.indicators.count before it skipped the integer grid (commit bde0744): the
    code verbatim, without its check of ``statistic``."""
    row, col, inside = grid.rowcol(x, y)
    flat = row[inside] * grid.width + col[inside]
    size = grid.width * grid.height
    n = np.bincount(flat, minlength=size).astype(float)
    if statistic == "count":
        return n.reshape(grid.shape)
    v = np.asarray(values, dtype=float)[inside]
    finite = np.isfinite(v)
    flat, v = flat[finite], v[finite]
    if statistic in ("sum", "mean"):
        total = np.bincount(flat, weights=v, minlength=size)
        if statistic == "sum":
            return total.reshape(grid.shape)
        n = np.bincount(flat, minlength=size)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(n > 0, total / n, np.nan).reshape(grid.shape)
    out = np.full(size, -np.inf)
    np.maximum.at(out, flat, v)
    out[np.isneginf(out)] = np.nan
    return out.reshape(grid.shape)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 3000),
       statistic=st.sampled_from(["count", "sum", "mean", "max"]))
def test_count_equals_old_code(seed, n, statistic):
    rng = np.random.default_rng(seed)
    x, y = _random_points(n, seed, pad=300)
    # values with NaN, infinities, signed zeros and repeats; points on cell edges
    v = rng.choice([np.nan, np.inf, -np.inf, 0.0, -0.0, -2.5, 1.0, 7.0, 1e300], n)
    v[: n // 2] = rng.normal(0, 100, n // 2)
    x[: n // 4] = np.round(x[: n // 4], -2)
    new = indicators.count(x, y, GRID, values=v, statistic=statistic)
    old = _count_reference(x, y, GRID, values=v, statistic=statistic)
    np.testing.assert_array_equal(new, old)
    assert (np.signbit(new) == np.signbit(old)).all()
    # always float now; the old code returned bincount's int64 zeros for a sum of no points
    assert new.dtype == np.float64 and new.shape == old.shape


def test_count_with_more_points_than_cells_equals_old_code():
    x, y = _random_points(5000, 12, pad=50)  # 750 cells
    np.testing.assert_array_equal(indicators.count(x, y, GRID), _count_reference(x, y, GRID))


def test_count_refuses_unknown_statistic_and_missing_values():
    x, y = _random_points(5, 1)
    with pytest.raises(ValueError, match="statistic must be count, sum, mean or max"):
        indicators.count(x, y, GRID, statistic="median")
    with pytest.raises(ValueError, match="needs values"):
        indicators.count(x, y, GRID, statistic="sum")


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), density=st.floats(0.0005, 0.3),
       shape=st.tuples(st.integers(1, 60), st.integers(1, 60)),
       cell=st.sampled_from([25.0, 100.0, 12.5]))
def test_distance_to_cells_equals_scipy_edt(seed, density, shape, cell):
    """The distance from some cells to the nearest target cell: the same floats as scipy's
    Euclidean distance transform of the whole grid, read at those cells."""
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    target = rng.random(shape) < density
    rows = rng.integers(0, shape[0], 50)
    cols = rng.integers(0, shape[1], 50)
    got = indicators.distance_to_cells(target, rows, cols, cell_size=cell)
    if not target.any():
        assert np.isinf(got).all()
        return
    want = ndimage.distance_transform_edt(~target, sampling=cell)[rows, cols]
    np.testing.assert_array_equal(got, want)
