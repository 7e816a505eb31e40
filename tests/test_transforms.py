"""Transforms to [0, 1]: property tests against hand formulas and scipy's rankdata."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.stats import rankdata

from riskmap.transforms import apply

finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
values = arrays(np.float64, st.integers(2, 60), elements=finite)


@settings(max_examples=150, deadline=None)
@given(v=values, method=st.sampled_from(["minmax", "rank"]),
       direction=st.sampled_from(["higher", "lower"]))
def test_scaled_transforms_are_in_unit_interval_and_monotone(v, method, direction):
    t = apply(v, method=method, direction=direction)
    assert t.min() >= 0 and t.max() <= 1
    order = np.argsort(v, kind="stable")
    diffs = np.diff(t[order])
    if direction == "higher":
        assert (diffs >= -1e-12).all()
    else:
        assert (diffs <= 1e-12).all()
    if np.ptp(v) == 0:
        assert (t == 0).all()  # no variation, no information


@settings(max_examples=100, deadline=None)
@given(v=values)
def test_minmax_matches_formula(v):
    if np.ptp(v) == 0:
        return
    expected = (v - v.min()) / (v.max() - v.min())
    np.testing.assert_allclose(apply(v, method="minmax"), expected, atol=1e-12)
    np.testing.assert_allclose(apply(v, method="minmax", direction="lower"), 1 - expected,
                               atol=1e-12)


@settings(max_examples=100, deadline=None)
@given(v=arrays(np.float64, st.integers(2, 60), elements=st.integers(-5, 5).map(float)))
def test_rank_is_scipy_average_rank(v):
    if np.ptp(v) == 0:
        return
    expected = (rankdata(v, method="average") - 1) / (v.size - 1)
    np.testing.assert_allclose(apply(v, method="rank"), expected, atol=1e-12)


def test_unit_sets_the_scale_for_every_cell():
    v = np.array([0.0, 10.0, 20.0, 40.0])
    unit = np.array([True, True, True, False])
    np.testing.assert_allclose(apply(v, method="minmax", unit=unit), [0, 0.5, 1, 1])


def test_nan_means_no_opportunity():
    t = apply(np.array([np.nan, 1.0, 3.0]), method="minmax")
    assert t.tolist() == [0.0, 0.0, 1.0]


@settings(max_examples=100, deadline=None)
@given(d=arrays(np.float64, st.integers(1, 40), elements=st.floats(0, 20_000)),
       influence=st.floats(100, 10_000))
def test_decay_linear_and_exponential(d, influence):
    lin = apply(d, method="decay", direction="lower", influence_m=influence)
    np.testing.assert_allclose(lin, np.where(d < influence, 1 - d / influence, 0), atol=1e-12)
    exp = apply(d, method="decay", direction="lower", influence_m=influence,
                shape="exponential")
    expected = np.where(d < influence, np.exp(-math.log(20) * d / influence), 0)
    np.testing.assert_allclose(exp, expected, atol=1e-12)
    assert (exp >= 0).all() and (exp <= 1).all()


def test_decay_is_one_at_the_feature_and_five_percent_at_influence():
    t = apply(np.array([0.0, 999.999]), method="decay", direction="lower", influence_m=1000,
              shape="exponential")
    assert t[0] == 1.0 and t[1] == pytest.approx(0.05, rel=1e-4)


@settings(max_examples=100, deadline=None)
@given(v=values, threshold=finite)
def test_threshold(v, threshold):
    hi = apply(v, method="threshold", value=threshold)
    lo = apply(v, method="threshold", value=threshold, direction="lower")
    np.testing.assert_array_equal(hi, (v >= threshold).astype(float))
    np.testing.assert_array_equal(lo, (v <= threshold).astype(float))


@settings(max_examples=200, deadline=None)
@given(arrays(np.float64, st.integers(2, 60), elements=st.sampled_from(
    [0.0, -0.0, 1.0, 2.5, -3.0, 1e-300, 7.0])),
       arrays(np.float64, st.integers(2, 60), elements=st.floats(-1e6, 1e6)))
def test_rank_of_the_cells_themselves_equals_the_searchsorted_rank(ties, spread):
    """One sort (the unit is the cells themselves) gives the very ranks of sorting the scale
    and searching every value in it, ties (and ±0) included."""
    from riskmap.transforms import _rank

    for v in (ties, spread):
        s = np.sort(v)
        want = np.clip((np.searchsorted(s, v, side="left") + np.searchsorted(s, v, side="right")
                        - 1) / (2.0 * (v.size - 1)), 0.0, 1.0)
        if v.min() == v.max():
            want = np.zeros_like(v)
        np.testing.assert_array_equal(_rank(v, v.copy()), want)
        np.testing.assert_allclose(_rank(v, v.copy()),
                                   (rankdata(v) - 1) / (v.size - 1) if v.min() < v.max()
                                   else 0.0, rtol=0, atol=1e-15)
