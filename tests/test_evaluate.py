"""Back-test metrics: hand-worked examples, ties, and properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from riskmap.errors import InputError
from riskmap.evaluate import evaluate, hit_rate_curve, hotspot_size, pei_at, rank_cells

# Ten cells in a 2 x 5 map, 20 test incidents, no ties.
#
#   cell (flat)   0   1   2   3   4   5   6   7   8   9
#   score        .9  .1  .5  .7  .3  .8  .2  .6  .0  .4
#   test          6   0   1   4   0   2   0   5   1   1    N = 20
#   train         5   1   0   3   1   4   0   2   0   4    N1 = 20
#
# ranking (score descending): 0, 5, 3, 7, 2, 9, 4, 6, 1, 8
# test in ranked order:       6, 2, 4, 5, 1, 1, 0, 0, 0, 1
# train in ranked order:      5, 4, 3, 2, 0, 4, 1, 0, 1, 0
SCORE = np.array([[0.9, 0.1, 0.5, 0.7, 0.3], [0.8, 0.2, 0.6, 0.0, 0.4]])
TEST = np.array([[6, 0, 1, 4, 0], [2, 0, 5, 1, 1]])
TRAIN = np.array([[5, 1, 0, 3, 1], [4, 0, 2, 0, 4]])


def test_rank_cells_hand_example():
    assert rank_cells(SCORE).tolist() == [0, 5, 3, 7, 2, 9, 4, 6, 1, 8]


def test_evaluate_hand_example():
    r = evaluate(SCORE, TEST, train_counts=TRAIN, shares=(0.1, 0.2, 0.3, 0.5))
    assert r["n_test"] == 20 and r["cells"] == 10
    # share 0.1: k = 1 cell (cell 0): n = 6; best single cell holds 6
    a = r["0.10"]
    assert a["k"] == 1 and a["area_share"] == 0.1
    assert a["hit_rate"] == pytest.approx(6 / 20)
    assert a["pai"] == pytest.approx((6 / 20) / (1 / 10))  # 3.0
    assert a["pei"] == pytest.approx(6 / 6)
    assert a["rri"] == pytest.approx((6 / 5) / (20 / 20))  # 1.2
    # share 0.2: cells 0, 5: n = 6 + 2 = 8; best two cells 6 + 5 = 11
    b = r["0.20"]
    assert b["k"] == 2
    assert b["hit_rate"] == pytest.approx(8 / 20)
    assert b["pai"] == pytest.approx(0.4 / 0.2)  # 2.0
    assert b["pei"] == pytest.approx(8 / 11)
    assert b["rri"] == pytest.approx((8 / 9) / 1)
    # share 0.3: cells 0, 5, 3: n = 12; best three 6 + 5 + 4 = 15; train 5 + 4 + 3 = 12
    c = r["0.30"]
    assert c["k"] == 3
    assert c["hit_rate"] == pytest.approx(12 / 20)
    assert c["pai"] == pytest.approx(0.6 / 0.3)  # 2.0
    assert c["pei"] == pytest.approx(12 / 15)
    assert c["rri"] == pytest.approx(12 / 12)
    # share 0.5: cells 0, 5, 3, 7, 2: n = 18; best five 6+5+4+2+1 = 18; train 14
    d = r["0.50"]
    assert d["hit_rate"] == pytest.approx(0.9)
    assert d["pai"] == pytest.approx(1.8)
    assert d["pei"] == pytest.approx(1.0)
    assert d["rri"] == pytest.approx(18 / 14)
    # curve: cumulative 0, 6, 8, 12, 17, 18, 19, 19, 19, 19, 20 (/ 20)
    cum = np.array([0, 6, 8, 12, 17, 18, 19, 19, 19, 19, 20]) / 20
    share, hit = hit_rate_curve(SCORE, TEST)
    np.testing.assert_allclose(share, np.arange(11) / 10)
    np.testing.assert_allclose(hit, cum)
    auc = np.sum((cum[1:] + cum[:-1]) / 2) / 10  # trapezoids of width 0.1: 0.735
    assert r["auc"] == pytest.approx(auc)
    assert r["auc"] == pytest.approx(0.735)


def test_rri_nan_without_training_incidents_in_the_set():
    train = np.array([[0, 1, 0, 3, 1], [4, 0, 2, 0, 4]])  # cell 0 (top) has none
    r = evaluate(SCORE, TEST, train_counts=train, shares=(0.1, 0.2))
    assert np.isnan(r["0.10"]["rri"])
    # cells 0, 5: n2 = 8, n1 = 4; N2 = 20, N1 = 15
    assert r["0.20"]["rri"] == pytest.approx((8 / 4) / (20 / 15))
    assert "rri" not in evaluate(SCORE, TEST)["0.10"]


def test_pei_is_one_when_the_score_is_the_test_counts():
    rng = np.random.default_rng(5)
    test = rng.poisson(rng.gamma(0.3, 2.0, (30, 40)))  # many ties, many zeros
    r = evaluate(test.astype(float), test, shares=(0.01, 0.05, 0.1, 0.2, 0.5))
    for key in ("0.01", "0.05", "0.10", "0.20", "0.50"):
        assert r[key]["pei"] == pytest.approx(1.0)


def test_hotspot_size_rounds_up_to_cover_the_share():
    assert hotspot_size(0.07, 100) == 7  # 0.07 * 100 = 7.000000000000001
    assert hotspot_size(0.05, 990) == 50  # 49.5 -> 50
    assert hotspot_size(0.05, 1000) == 50
    assert hotspot_size(0.01, 10) == 1  # at least one cell
    assert hotspot_size(1e-9, 10) == 1
    assert hotspot_size(1.0, 37) == 37
    r = evaluate(np.arange(990.0), np.ones(990), shares=(0.05,))
    assert r["0.05"]["k"] == 50 and r["0.05"]["area_share"] == pytest.approx(50 / 990)
    assert r["0.05"]["pai"] == pytest.approx(1.0)


def test_keys_and_share_validation():
    r = evaluate(SCORE, TEST)
    assert [k for k in r if k.startswith("0")] == ["0.01", "0.05", "0.10", "0.20"]
    assert "0.005" in evaluate(SCORE, TEST, shares=(0.005, 0.5))
    for bad in [(0.0,), (1.5,), (-0.1,), (float("nan"),), (), ("0.1",)]:
        with pytest.raises(InputError, match="shares must be area shares") as info:
            evaluate(SCORE, TEST, shares=bad)
        assert info.value.code == "E-EVAL-SHARE"
    with pytest.raises(InputError, match="same result key"):
        evaluate(SCORE, TEST, shares=(0.1, 0.10000000000001))


# --- ties ------------------------------------------------------------------------------------


def test_flat_map_hit_rate_is_the_area_share_on_average():
    rng = np.random.default_rng(11)
    test = rng.poisson(rng.gamma(0.5, 2.0, 400))  # uneven incidents
    flat = np.zeros(400)
    hits = np.array([evaluate(flat, test, shares=(0.1,), seed=s)["0.10"]["hit_rate"]
                     for s in range(300)])
    assert hits.std() > 0  # seeds do change the order
    assert hits.mean() == pytest.approx(0.1, abs=0.01)


def test_seeded_tie_break_is_reproducible():
    score = np.array([3.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 1.0])
    a = rank_cells(score, seed=42)
    np.testing.assert_array_equal(a, rank_cells(score, seed=42))
    assert a[0] == 0 and a[-1] == 6  # ties only reorder among equal scores
    orders = {tuple(rank_cells(score, seed=s)) for s in range(20)}
    assert len(orders) > 5
    test = np.array([0, 1, 2, 3, 4, 5, 6, 7])
    assert evaluate(score, test, seed=3) == evaluate(score, test, seed=3)


def test_rank_cells_skips_non_finite_and_returns_flat_indices():
    score = np.array([[np.nan, 2.0], [np.inf, 5.0], [-np.inf, 1.0]])
    assert rank_cells(score).tolist() == [3, 1, 5]
    assert rank_cells(np.array([np.nan])).size == 0


# --- random maps and extreme cases -----------------------------------------------------------


def test_pai_of_a_random_map_on_uniform_incidents_is_about_one():
    rng = np.random.default_rng(2)
    pai = []
    for _ in range(100):
        test = np.bincount(rng.integers(0, 1000, 2000), minlength=1000)  # uniform incidents
        score = rng.random(1000)  # a map that knows nothing
        pai.append(evaluate(score, test, shares=(0.1,))["0.10"]["pai"])
    # one PAI has sd ~0.07 here; the mean of 100 has sd ~0.007
    assert np.mean(pai) == pytest.approx(1.0, abs=0.03)


def test_auc_perfect_and_uniform():
    n = 50
    test = np.zeros(n)
    test[17] = 30  # all incidents in one cell
    # the perfect map: hit rate 1 from the first cell on: AUC = 1 - 1 / (2n)
    assert evaluate(test, test)["auc"] == pytest.approx(1 - 1 / (2 * n))
    # equal incidents everywhere: the curve is the diagonal whatever the map
    even = np.full(n, 4)
    rng = np.random.default_rng(0)
    assert evaluate(rng.random(n), even)["auc"] == pytest.approx(0.5)
    share, hit = hit_rate_curve(rng.random(n), even)
    np.testing.assert_allclose(hit, share)
    # a flat map on uneven incidents: 0.5 on average over seeds
    aucs = [evaluate(np.zeros(n), test, seed=s)["auc"] for s in range(400)]
    assert np.mean(aucs) == pytest.approx(0.5, abs=0.03)


def test_mask_limits_the_study_area():
    score = np.array([9.0, 8.0, 7.0, 6.0, np.nan, 4.0])
    test = np.array([1, 10, 1, 1, 50, 1])
    mask = np.array([True, False, True, True, False, True])
    r = evaluate(score, test, mask=mask, shares=(0.25, 0.5))
    assert r["cells"] == 4 and r["n_test"] == 4  # cells 1 and 4 and their incidents left out
    assert r["0.25"]["k"] == 1 and r["0.25"]["hit_rate"] == pytest.approx(0.25)
    # default mask: the finite cells
    r = evaluate(score, test, shares=(0.2,))
    assert r["cells"] == 5 and r["n_test"] == 14
    assert r["0.20"]["hit_rate"] == pytest.approx(1 / 14)


def test_no_test_incidents_gives_nan_metrics():
    r = evaluate(SCORE, np.zeros_like(TEST), train_counts=TRAIN, shares=(0.2,))
    assert r["n_test"] == 0 and r["0.20"]["k"] == 2
    assert all(np.isnan(r["0.20"][m]) for m in ("hit_rate", "pai", "pei", "rri"))
    assert np.isnan(r["auc"])
    share, hit = hit_rate_curve(SCORE, np.zeros_like(TEST))
    assert hit[0] == 0 and np.isnan(hit[1:]).all() and share[-1] == 1


def test_weighted_counts_are_allowed():
    r = evaluate(SCORE, TEST * 0.5, shares=(0.1,))
    assert r["n_test"] == 10 and r["0.10"]["hit_rate"] == pytest.approx(0.3)
    r = evaluate(SCORE, TEST + 0.25, shares=(0.1,))
    assert r["n_test"] == pytest.approx(22.5)


def test_input_errors():
    with pytest.raises(InputError, match="shape") as info:
        evaluate(SCORE, TEST.ravel())
    assert info.value.code == "E-EVAL-SHAPE"
    with pytest.raises(InputError, match="train_counts has shape"):
        evaluate(SCORE, TEST, train_counts=TRAIN[:1])
    with pytest.raises(InputError, match="NaN or infinite in 1 cells") as info:
        bad = SCORE.copy()
        bad[0, 0] = np.nan
        evaluate(bad, TEST, mask=np.ones(SCORE.shape, dtype=bool))
    assert info.value.code == "E-EVAL-MASK"
    with pytest.raises(InputError, match="boolean array"):
        evaluate(SCORE, TEST, mask=np.ones(SCORE.shape))
    with pytest.raises(InputError, match="no cells") as info:
        evaluate(np.full(4, np.nan), np.ones(4))
    assert info.value.code == "E-EVAL-EMPTY"
    with pytest.raises(InputError, match="non-negative") as info:
        evaluate(SCORE, -TEST)
    assert info.value.code == "E-EVAL-COUNTS"


# --- properties ------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    score=hnp.arrays(np.float64, st.integers(1, 60), elements=st.integers(0, 4).map(float)),
    data=st.data(),
    seed=st.integers(0, 1000),
)
def test_properties(score, data, seed):
    test = data.draw(hnp.arrays(np.int64, score.shape, elements=st.integers(0, 5)))
    shares = sorted(data.draw(st.lists(st.floats(0.001, 1.0), min_size=1, max_size=6,
                                       unique_by=lambda a: f"{a:.12f}")))
    share, hit = hit_rate_curve(score, test, seed=seed)
    if test.sum() > 0:
        assert np.all(np.diff(hit) >= -1e-12)  # non-decreasing in the share
        assert hit[0] == 0 and hit[-1] == pytest.approx(1.0)
        assert np.all(hit <= 1 + 1e-12)
    try:
        r = evaluate(score, test, shares=shares, seed=seed)
    except InputError:  # two shares rounding to the same key
        return
    if test.sum() == 0:
        return
    keys = [key for key in r if key not in ("auc", "n_test", "cells")]
    assert len(keys) == len(shares)
    rates = [r[key]["hit_rate"] for key in keys]
    order = np.argsort([r[key]["k"] for key in keys], kind="stable")
    assert np.all(np.diff(np.asarray(rates)[order]) >= -1e-12)
    for key in keys:
        assert 0 <= r[key]["hit_rate"] <= 1 + 1e-12
        assert 0 <= r[key]["pei"] <= 1 + 1e-12
        assert r[key]["pai"] == pytest.approx(r[key]["hit_rate"] * r["cells"] / r[key]["k"])
    assert 0 <= r["auc"] <= 1


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000), st.integers(5, 400), st.sampled_from([0.01, 0.05, 0.1, 0.5, 1.0]),
       st.integers(1, 6), st.booleans())
def test_pei_at_equals_evaluate(seed, n, share, levels, with_mask):
    """The partial-sort PEI* picks the same cells as the full ranking (ties included)."""
    rng = np.random.default_rng(seed)
    score = rng.integers(0, levels, n).astype(float)  # few levels: many ties
    test = rng.poisson(0.5, n).astype(float)
    mask = rng.uniform(size=n) < 0.8 if with_mask else None
    if mask is not None and not mask.any():
        mask[0] = True
    want = evaluate(score, test, mask=mask, shares=(share,), seed=seed % 7)
    got = pei_at(score, test, share=share, mask=mask, seed=seed % 7)
    key = next(k for k in want if k not in ("auc", "n_test", "cells"))
    if np.isnan(want[key]["pei"]):
        assert np.isnan(got)
    else:
        assert got == want[key]["pei"]


# --- PEI* of many sparse maps (the settings search) -------------------------------------------


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 40), st.integers(1, 40),
       st.sampled_from([0.01, 0.05, 0.1, 0.3, 1.0]), st.floats(0.0, 1.0), st.integers(1, 5),
       st.integers(0, 9))
def test_pei_search_equals_pei_at(seed, h, w, share, density, levels, tie_seed):
    """Same hotspot set as pei_at from the positive cells alone: ties among positive scores,
    fewer positive cells than k (zeros taken in the seeded order), cells outside the mask."""
    from reference_risk import pei_at_dense

    from riskmap.evaluate import PeiSearch

    rng = np.random.default_rng(seed)
    mask = rng.uniform(size=(h, w)) < rng.uniform(0.2, 1.0)
    mask.flat[rng.integers(mask.size)] = True
    tests = [rng.poisson(rng.uniform(0, 1.5), (h, w)).astype(float) for _ in range(2)]
    search = PeiSearch.prepare(mask, tests, share=share, seed=tie_seed)
    for _ in range(3):
        scale = rng.choice([1.0, 0.37, 1e-300])
        score = np.where(rng.uniform(size=(h, w)) < density,
                         rng.integers(0, levels + 1, (h, w)) * scale, 0.0)
        # the cells handed over: every positive one, some zeros, in any order
        cells = np.flatnonzero((score.ravel() > 0) | (rng.uniform(size=score.size) < 0.3))
        rng.shuffle(cells)
        for period, test in enumerate(tests):
            want = pei_at_dense(score, test, share=share, mask=mask, seed=tie_seed)
            got = search.pei(cells, score.ravel()[cells], period=period)
            assert got == want or (np.isnan(got) and np.isnan(want))
            assert got == pei_at(score, test, share=share, mask=mask, seed=tie_seed) or \
                np.isnan(got)


def test_pei_search_input_errors():
    from riskmap.evaluate import PeiSearch

    mask = np.ones((3, 4), dtype=bool)
    with pytest.raises(InputError, match="boolean") as info:
        PeiSearch.prepare(mask.astype(int), [np.zeros((3, 4))], share=0.1)
    assert info.value.code == "E-EVAL-MASK"
    with pytest.raises(InputError, match="no cells") as info:
        PeiSearch.prepare(~mask, [np.zeros((3, 4))], share=0.1)
    assert info.value.code == "E-EVAL-EMPTY"
    with pytest.raises(InputError, match="shape") as info:
        PeiSearch.prepare(mask, [np.zeros((4, 3))], share=0.1)
    assert info.value.code == "E-EVAL-SHAPE"
    with pytest.raises(InputError, match="whole") as info:  # sums must be exact in any order
        PeiSearch.prepare(mask, [np.full((3, 4), 0.5)], share=0.1)
    assert info.value.code == "E-EVAL-COUNTS"


def test_pei_search_from_incidents_equals_prepare():
    from riskmap.evaluate import PeiSearch

    rng = np.random.default_rng(4)
    mask = rng.uniform(size=(30, 40)) < 0.7
    flats = [rng.integers(0, mask.size, n) for n in (50, 0, 300)]
    dense = [np.bincount(f, minlength=mask.size).reshape(mask.shape).astype(float)
             for f in flats]
    a = PeiSearch.prepare(mask, dense, share=0.05, seed=3)
    b = PeiSearch.from_incidents(mask, flats, share=0.05, seed=3)
    for name in ("code", "rank", "test_cells"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert a.best == b.best and a.k == b.k
    for x, y in zip(a.counts, b.counts, strict=True):
        np.testing.assert_array_equal(x, y)
