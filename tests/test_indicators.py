"""Each measure against values computed independently (shapely exact geometry, brute force)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

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
