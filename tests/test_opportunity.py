"""Opportunity maps: contributions add up, classes, normalisation, themes, what-if weights."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import municipalities
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from riskmap import config, opportunity, pipeline
from riskmap.grid import make_region

THEME_A = {
    "theme": "a",
    "indicator": [
        {"name": "x1", "label": "X1", "source": "f.gpkg", "measure": "count",
         "transform": "minmax", "direction": "higher", "weight": 3, "rationale": "r"},
        {"name": "x2", "label": "X2", "source": "f.gpkg", "measure": "count",
         "transform": "rank", "direction": "lower", "weight": 1, "rationale": "r"},
    ],
}
THEME_B = {
    "theme": "b",
    "indicator": [
        {"name": "y1", "label": "Y1", "source": "f.gpkg", "measure": "count",
         "transform": {"method": "threshold", "value": 0.5}, "direction": "higher",
         "weight": 1, "rationale": "r"},
    ],
}


@pytest.fixture
def setup():
    region = make_region(municipalities(), cell_size=100, halo=200)
    rng = np.random.default_rng(0)
    shape = region.grid.shape
    measures = {"a": {"x1": rng.gamma(2, 3, shape), "x2": rng.normal(0, 1, shape)},
                "b": {"y1": rng.uniform(0, 1, shape)}}
    sets = [config.LayerSet.model_validate(THEME_A), config.LayerSet.model_validate(THEME_B)]
    return region, sets, measures


def test_score_is_weighted_mean_of_hand_transformed_indicators(setup):
    region, sets, measures = setup
    (m,) = opportunity.build(region, sets[:1], measures, codes=["GM9001"])
    rows, cols = region.window("GM9001")
    mask = region.mask("GM9001")
    x1 = measures["a"]["x1"][rows, cols]
    x2 = measures["a"]["x2"][rows, cols]
    t1 = (x1 - x1[mask].min()) / (x1[mask].max() - x1[mask].min())
    from scipy.stats import rankdata

    r = np.zeros_like(x2)
    r[mask] = (rankdata(-x2[mask]) - 1) / (mask.sum() - 1)
    expected = (3 * t1 + 1 * r) / 4
    np.testing.assert_allclose(m.score[mask], expected[mask], atol=1e-12)
    assert np.isnan(m.score[~mask]).all() and (m.klasse[~mask] == 0).all()


def test_contributions_add_up_to_score(setup):
    region, sets, measures = setup
    for m in opportunity.build(region, sets, measures):
        total = np.zeros_like(m.score)
        for col, arr in m.contributions.items():
            theme = col.split("_", 1)[0]
            total += np.where(m.theme == m.themes.index(theme), arr, 0.0)
        np.testing.assert_allclose(total[m.mask], m.score[m.mask], atol=1e-12)
        for t in m.themes:
            parts = sum(v for k, v in m.contributions.items() if k.startswith(f"{t}_"))
            np.testing.assert_allclose(parts[m.mask], m.theme_scores[t][m.mask], atol=1e-12)


def test_combined_score_is_highest_theme(setup):
    region, sets, measures = setup
    for m in opportunity.build(region, sets, measures):
        stacked = np.stack([m.theme_scores[t] for t in m.themes])
        np.testing.assert_allclose(m.score[m.mask], stacked.max(0)[m.mask])
        assert (np.asarray(m.themes)[m.theme[m.mask]] != "").all()


def test_quantile_classes_per_municipality(setup):
    region, sets, measures = setup
    for m in opportunity.build(region, sets[:1], measures, classes=4):
        kl = m.klasse[m.mask]
        assert set(np.unique(kl)) == {1, 2, 3, 4}
        counts = np.bincount(kl)[1:]
        assert counts.max() - counts.min() <= 0.02 * kl.size + 2
        # classes rise with the score
        s = m.score[m.mask]
        for k in (1, 2, 3):
            assert s[kl == k].max() <= s[kl == k + 1].min()


def test_fixed_breaks(setup):
    region, sets, measures = setup
    (m,) = opportunity.build(region, sets[:1], measures, codes=["GM9002"],
                             breaks=[0.25, 0.5, 0.75])
    s, kl = m.score[m.mask], m.klasse[m.mask]
    np.testing.assert_array_equal(kl, 1 + np.searchsorted([0.25, 0.5, 0.75], s, side="left"))


def test_region_normalisation_shares_one_scale(setup):
    region, sets, measures = setup
    maps = opportunity.build(region, sets[:1], measures, normalise="region")
    unit = region.labels >= 0
    x1 = measures["a"]["x1"]
    lo, hi = x1[unit].min(), x1[unit].max()
    for m in maps:
        rows, cols = region.window(m.code)
        t1 = np.clip((x1[rows, cols] - lo) / (hi - lo), 0, 1)
        np.testing.assert_allclose(m.contributions["a_x1"][m.mask], (0.75 * t1)[m.mask],
                                   atol=1e-12)


def test_with_weights_changes_the_map(setup):
    region, sets, measures = setup
    zero_x2 = opportunity.with_weights(sets[0], {"x2": 0.0})
    (m,) = opportunity.build(region, [zero_x2], measures, codes=["GM9001"])
    assert np.allclose(m.contributions["a_x2"][m.mask], 0)
    with pytest.raises(KeyError, match="no indicator"):
        opportunity.with_weights(sets[0], {"nope": 1})


def test_end_to_end_scores_in_unit_interval(tiny_project):
    project = config.load_project(tiny_project)
    region, maps = pipeline.opportunity_maps(project)
    assert [m.code for m in maps] == ["GM9001", "GM9002"]
    for m in maps:
        s = m.score[m.mask]
        assert np.isfinite(s).all() and s.min() >= 0 and s.max() <= 1
        assert len(m.contributions) == 6


@settings(max_examples=100, deadline=None)
@given(arrays(np.float64, st.integers(1, 300), elements=st.one_of(
    st.floats(0, 1), st.sampled_from([0.0, 0.25, 0.5, 1.0]))), st.integers(2, 7))
def test_quantile_classes_are_mapclassify_quantiles(values, k):
    """classify takes mapclassify's quantile bins and binning: the classes and bins of
    mapclassify.Quantiles itself, ties and too few distinct values included."""
    import warnings

    import mapclassify

    from riskmap.opportunity import classify

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = mapclassify.Quantiles(values, k=k)
    classes, bins = classify(values, k=k)
    np.testing.assert_array_equal(classes, np.asarray(ref.yb) + 1)
    assert bins == [float(b) for b in ref.bins]
