"""Inspection planner: hand-worked examples, error cases and properties over random rankings."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskmap.errors import ConfigError, InputError
from riskmap.planner import REQUIRED_COLUMNS, make_plan, precision_at_k

START = pd.Timestamp("2024-01-01")


def frame(rows: list[dict]) -> pd.DataFrame:
    """A ranking from partial rows; unspecified columns get neutral defaults."""
    defaults = {"statcode": "GM0001", "score": 0.5, "x": 150_000.0, "y": 450_000.0,
                "estate": None, "opportunity": 0.5, "zone": "", "police_info": True,
                "last_inspection": pd.NaT}
    df = pd.DataFrame([{**defaults, **r} for r in rows],
                      columns=["premise_id", *defaults])
    df["last_inspection"] = pd.to_datetime(df["last_inspection"])
    return df[list(REQUIRED_COLUMNS)]


def ids(result, soort: str | None = None) -> list[str]:
    plan = result.plan
    if soort is not None:
        plan = plan[plan["soort"] == soort]
    return plan["premise_id"].tolist()


# --------------------------------------------------------------------------- hand examples


def test_cooldown_minimum_and_ranking_by_hand():
    # GM1: a .9, b .8 (inspected 31 days ago: cool-down), c .7, e .7 (tie with c); GM2: d .1
    ranking = frame([
        {"premise_id": "a", "score": 0.9},
        {"premise_id": "b", "score": 0.8, "last_inspection": "2023-12-01"},
        {"premise_id": "e", "score": 0.7},
        {"premise_id": "c", "score": 0.7},
        {"premise_id": "d", "score": 0.1, "statcode": "GM0002", "x": 190_000.0},
    ])
    result = make_plan(ranking, capacity=3, period_start=START, exploration_share=0.0)
    # a and c on rank (c before e by premise_id); d only because GM0002 needs one.
    assert sorted(ids(result, "ranglijst")) == ["a", "c"]
    assert ids(result, "minimum gemeente") == ["d"]
    assert "b" not in ids(result)
    assert result.report["n_cooldown"] == 1
    assert result.report["per_soort"] == {"ranglijst": 2, "verkenning": 0, "minimum gemeente": 1}
    assert result.report["per_municipality"] == {"GM0001": 2, "GM0002": 1}
    assert result.plan["slot"].tolist() == [1, 2, 3]


def test_minimum_premise_that_makes_it_on_rank_is_ranglijst():
    ranking = frame([
        {"premise_id": "a", "score": 0.9, "statcode": "GM0002"},
        {"premise_id": "b", "score": 0.8},
        {"premise_id": "c", "score": 0.1},
    ])
    result = make_plan(ranking, capacity=2, period_start=START, exploration_share=0.0)
    assert sorted(ids(result, "ranglijst")) == ["a", "b"]
    assert result.report["per_soort"]["minimum gemeente"] == 0


def test_cooldown_boundary_and_future_inspections():
    ranking = frame([
        {"premise_id": "exact", "last_inspection": START - pd.Timedelta(days=180)},
        {"premise_id": "one_day_short", "last_inspection": START - pd.Timedelta(days=179)},
        {"premise_id": "future", "last_inspection": START + pd.Timedelta(days=3)},
        {"premise_id": "never"},
    ])
    result = make_plan(ranking, capacity=4, period_start=START, exploration_share=0.0)
    assert sorted(ids(result)) == ["exact", "never"]
    assert result.report["n_cooldown"] == 2
    assert result.report["capacity_unused"] == 2


def test_exploration_prefers_blind_spots_without_police_info():
    ranking = frame([
        {"premise_id": "t1a", "zone": "blinde vlek", "police_info": False, "score": 0.0},
        {"premise_id": "t1b", "zone": "blinde vlek", "police_info": False, "score": 0.0},
        {"premise_id": "t2", "zone": "risico", "police_info": False, "score": 0.0},
        {"premise_id": "t3", "zone": "blinde vlek", "police_info": True, "score": 0.0},
        {"premise_id": "no", "zone": "prioriteit", "police_info": True, "score": 0.0},
        *({"premise_id": f"top{i}", "score": 1.0} for i in range(5)),
    ])
    # round(0.3 * 10) = 3 exploration slots: both tier-1 premises, then the tier-2 one.
    result = make_plan(ranking, capacity=10, period_start=START, exploration_share=0.3)
    assert sorted(ids(result, "verkenning")) == ["t1a", "t1b", "t2"]
    assert result.report["exploration"]["pool"] == {
        "blinde vlek zonder politie-informatie": 2, "weinig politie-informatie": 1,
        "blinde vlek met politie-informatie": 1}
    # 4 exploration slots reach tier 3; 5 cannot be filled from the pool of 4.
    four = make_plan(ranking, capacity=10, period_start=START, exploration_share=0.4)
    assert sorted(ids(four, "verkenning")) == ["t1a", "t1b", "t2", "t3"]
    five = make_plan(ranking, capacity=10, period_start=START, exploration_share=0.5)
    assert five.report["exploration"] | {"pool": None} == {
        "requested": 5, "drawn": 4, "pool": None, "limited_by_minimum": False}
    assert len(five.plan) == 10  # the rest goes down the ranking


def test_exploration_draw_is_proportional_to_opportunity():
    ranking = frame([
        {"premise_id": "hi", "police_info": False, "opportunity": 0.8},
        {"premise_id": "lo", "police_info": False, "opportunity": 0.2},
        {"premise_id": "zero", "police_info": False, "opportunity": 0.0},
        {"premise_id": "r", "score": 1.0},
    ])
    picks = [ids(make_plan(ranking, capacity=1, period_start=START, exploration_share=1.0,
                           min_per_municipality=0, seed=s), "verkenning")[0]
             for s in range(250)]
    share_hi = picks.count("hi") / len(picks)
    assert picks.count("zero") == 0  # opportunity 0 only after every positive one
    assert 0.7 < share_hi < 0.9  # expected 0.8; 250 draws: sd 0.025


def test_exploration_gives_way_to_minima():
    ranking = frame([{"premise_id": f"p{i}", "statcode": f"GM000{i}", "police_info": False}
                     for i in range(3)])
    result = make_plan(ranking, capacity=3, period_start=START, exploration_share=1.0)
    assert result.report["exploration"]["drawn"] == 0
    assert result.report["exploration"]["limited_by_minimum"] is True
    assert sorted(result.plan["statcode"]) == ["GM0000", "GM0001", "GM0002"]


def test_capacity_too_small_for_minima():
    ranking = frame([{"premise_id": f"p{i}", "statcode": f"GM000{i % 4}"} for i in range(8)])
    with pytest.raises(InputError, match=r"need 8 slots.*at least 8") as err:
        make_plan(ranking, capacity=5, period_start=START, min_per_municipality=2)
    assert err.value.code == "E-PLAN-CAPACITY"
    # municipalities restricts who gets the minimum; unknown ones are reported, not fatal
    result = make_plan(ranking, capacity=5, period_start=START, min_per_municipality=2,
                       municipalities=["GM0001", "GM0099"])
    assert (result.plan["statcode"] == "GM0001").sum() >= 2
    assert result.report["minimum"]["municipalities_without_candidates"] == ["GM0099"]


def test_work_packages_by_hand():
    x0, y0 = 150_000.0, 450_000.0
    ranking = frame([
        # estate E1: three premises, far from each other but one package
        {"premise_id": "e1", "estate": "E1", "x": x0, "y": y0, "score": 0.95},
        {"premise_id": "e2", "estate": "E1", "x": x0 + 5000, "y": y0, "score": 0.2},
        {"premise_id": "e3", "estate": "E1", "x": x0 + 100, "y": y0, "score": 0.3},
        # loose premises: a, b within 3 km, c 4 km from a, d in another municipality
        {"premise_id": "a", "x": x0 + 20_000, "y": y0, "score": 0.9},
        {"premise_id": "b", "x": x0 + 22_000, "y": y0, "score": 0.8},
        {"premise_id": "c", "x": x0 + 16_000, "y": y0, "score": 0.7},
        {"premise_id": "d", "statcode": "GM0002", "x": x0 + 21_000, "y": y0, "score": 0.6},
    ])
    result = make_plan(ranking, capacity=7, period_start=START, exploration_share=0.0)
    plan = result.plan.set_index("premise_id")
    assert plan.loc[["e1", "e2", "e3"], "werkpakket"].nunique() == 1
    assert plan.loc["a", "werkpakket"] == plan.loc["b", "werkpakket"]
    assert plan.loc["c", "werkpakket"] != plan.loc["a", "werkpakket"]
    assert plan.loc["d", "werkpakket"] != plan.loc["a", "werkpakket"]
    # packages numbered by their best premise: E1 (.95), a+b (.9), c (.7), d (.6)
    assert result.plan["premise_id"].tolist() == ["e1", "e3", "e2", "a", "b", "c", "d"]
    assert result.plan["dag_volgorde"].tolist() == [1, 2, 3, 1, 2, 1, 1]
    pk = result.packages
    assert pk["werkpakket"].tolist() == [1, 2, 3, 4]
    assert pk["estate"].tolist() == ["E1", "", "", ""]
    assert pk["n"].tolist() == [3, 2, 1, 1]
    assert pk["max_afstand_m"].tolist() == [5000.0, 2000.0, 0.0, 0.0]
    assert pk.loc[1, "x"] == x0 + 21_000
    # a big estate is split into packages of at most package_size
    big = make_plan(ranking, capacity=7, period_start=START, exploration_share=0.0,
                    package_size=2)
    assert big.packages["n"].max() == 2
    e_packs = big.plan.loc[big.plan["estate"] == "E1", "werkpakket"]
    assert e_packs.nunique() == 2


def test_result_does_not_depend_on_row_order_and_keeps_index():
    rng = np.random.default_rng(1)
    ranking = random_ranking(rng, n=80, n_munis=3, n_estates=4)
    a = make_plan(ranking, capacity=25, period_start=START, seed=3)
    b = make_plan(ranking.sample(frac=1.0, random_state=7), capacity=25, period_start=START,
                  seed=3)
    pd.testing.assert_frame_equal(a.plan, b.plan)
    pd.testing.assert_frame_equal(a.packages, b.packages)
    assert a.settings == b.settings and a.report == b.report
    assert (ranking.loc[a.plan.index, "premise_id"] == a.plan["premise_id"]).all()
    c = make_plan(ranking, capacity=25, period_start=START, seed=4)
    assert set(ids(c, "verkenning")) != set(ids(a, "verkenning"))


def test_empty_ranking_gives_empty_plan():
    result = make_plan(frame([]), capacity=3, period_start=START)
    assert len(result.plan) == 0 and len(result.packages) == 0
    assert list(result.plan.columns) == [*REQUIRED_COLUMNS, "slot", "soort", "werkpakket",
                                         "dag_volgorde"]
    assert result.report["capacity_unused"] == 3


def test_settings_recorded():
    ranking = frame([{"premise_id": "a"}])
    result = make_plan(ranking, capacity=1, period_start="2024-03-01", seed=5)
    assert result.settings["period_start"] == "2024-03-01T00:00:00"
    assert result.settings["seed"] == 5
    assert result.settings["municipalities"] == ["GM0001"]


def test_precision_at_k():
    assert precision_at_k(["a", "b", "c", "d"], {"a", "c", "x"}) == 0.5
    assert precision_at_k(pd.Series(["a"]), {"a"}) == 1.0
    assert math.isnan(precision_at_k([], {"a"}))


# --------------------------------------------------------------------------- errors


def test_duplicate_ids_named():
    ranking = frame([{"premise_id": p} for p in ["a", "a", "b", "c", "c", "d", "d", "e", "e",
                                                  "f", "f", "g", "g"]])
    with pytest.raises(InputError, match=r"6 duplicate premise_id.*a, c, d, e, f and 1 more"
                       ) as err:
        make_plan(ranking, capacity=3, period_start=START)
    assert err.value.code == "E-INPUT-DUPLICATE"


def test_missing_columns_listed():
    ranking = frame([{"premise_id": "a"}]).drop(columns=["zone", "police_info"])
    with pytest.raises(InputError, match=r"missing column\(s\) zone, police_info") as err:
        make_plan(ranking, capacity=3, period_start=START)
    assert err.value.code == "E-INPUT-COLUMN"


def test_bad_values():
    ranking = frame([{"premise_id": "a", "score": float("nan")},
                     {"premise_id": "b", "opportunity": 1.5}])
    with pytest.raises(InputError, match=r"(?s)score.*premises a.*opportunity") as err:
        make_plan(ranking, capacity=3, period_start=START)
    assert err.value.code == "E-INPUT-VALUE"


@pytest.mark.parametrize(("option", "value", "match"), [
    ("capacity", 0, "capacity must be"),
    ("capacity", 2.5, "capacity must be"),
    ("exploration_share", 1.2, "exploration_share must be in"),
    ("exploration_share", -0.1, "exploration_share must be in"),
    ("exploration_share", float("nan"), "exploration_share must be in"),
    ("cooldown_days", -1, "cooldown_days must be"),
    ("min_per_municipality", -1, "min_per_municipality must be"),
    ("package_size", 0, "package_size must be"),
    ("package_radius_m", -5.0, "package_radius_m must be"),
    ("period_start", "not a date", "period_start is not a date"),
])
def test_bad_settings(option, value, match):
    kwargs = {"capacity": 3, "period_start": START, option: value}
    with pytest.raises(ConfigError, match=match) as err:
        make_plan(frame([{"premise_id": "a"}]), **kwargs)
    assert err.value.code == "E-CONFIG-VALUE"


def test_all_bad_settings_reported_at_once():
    with pytest.raises(ConfigError, match=r"(?s)capacity.*exploration_share.*cooldown") as err:
        make_plan(frame([{"premise_id": "a"}]), capacity=0, period_start=START,
                  exploration_share=2.0, cooldown_days=-3)
    assert err.value.code == "E-CONFIG-VALUE"
    assert len(err.value.problems) == 3


# --------------------------------------------------------------------------- properties

ZONES = np.array(["prioriteit", "blinde vlek", "risico", ""], dtype=object)


def random_ranking(rng: np.random.Generator, *, n: int, n_munis: int,
                   n_estates: int) -> pd.DataFrame:
    """A random ranking: clustered municipalities, estates, ties, cool-downs, blind spots."""
    muni = rng.integers(0, n_munis, n)
    centre = rng.uniform(0, 60_000, (n_munis, 2)) + [120_000, 430_000]
    xy = centre[muni] + rng.normal(0, 2500, (n, 2))
    estate = np.where(rng.random(n) < 0.3, rng.integers(0, max(n_estates, 1), n), -1)
    xy[estate >= 0] = centre[muni[estate >= 0]] + 300 * estate[estate >= 0, None]
    days_ago = rng.integers(-30, 720, n)
    last = pd.Series(START - pd.to_timedelta(days_ago, unit="D"))
    last[rng.random(n) < 0.4] = pd.NaT
    estate_ids = pd.Series(np.where(estate >= 0, np.char.add("E", estate.astype(str)), None),
                           dtype=object)
    estate_ids[(estate < 0) & (rng.random(n) < 0.5)] = np.nan
    return pd.DataFrame({
        "premise_id": rng.permutation([f"P{i:04d}" for i in range(n)]),
        "statcode": [f"GM{m:04d}" for m in muni],
        "score": np.round(rng.random(n), int(rng.integers(1, 4))),  # rounding makes ties
        "x": xy[:, 0],
        "y": xy[:, 1],
        "estate": estate_ids,
        "opportunity": np.where(rng.random(n) < 0.1, 0.0, rng.random(n)),
        "zone": ZONES[rng.integers(0, 4, n)],
        "police_info": rng.random(n) < 0.6,
        "last_inspection": last,
    })


@st.composite
def cases(draw):
    n = draw(st.integers(20, 300))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    ranking = random_ranking(rng, n=n, n_munis=draw(st.integers(1, 8)),
                             n_estates=draw(st.integers(0, 6)))
    options = {
        "capacity": draw(st.integers(1, 120)),
        "min_per_municipality": draw(st.integers(0, 3)),
        "cooldown_days": draw(st.sampled_from([0, 90, 180, 365])),
        "exploration_share": draw(st.sampled_from([0.0, 0.1, 0.15, 0.25, 0.5, 1.0])),
        "package_size": draw(st.integers(1, 8)),
        "package_radius_m": draw(st.sampled_from([0.0, 1000.0, 3000.0, 10_000.0])),
        "seed": draw(st.integers(0, 1000)),
    }
    if draw(st.booleans()):
        present = sorted(set(ranking["statcode"]))
        options["municipalities"] = draw(st.lists(st.sampled_from([*present, "GM9999"]),
                                                  max_size=4))
    return ranking, options


def rank_key(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(["score", "premise_id"], ascending=[False, True])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_plan_properties(case):
    ranking, options = case
    cap = options["capacity"]
    cutoff = START - pd.Timedelta(days=options["cooldown_days"])
    eligible = ranking[~(ranking["last_inspection"] > cutoff)]
    munis = options.get("municipalities") or sorted(set(ranking["statcode"]))
    if options.get("municipalities") == []:
        munis = []
    elig_count = eligible["statcode"].value_counts()
    need = {m: min(options["min_per_municipality"], int(elig_count.get(m, 0)))
            for m in set(munis)}
    if sum(need.values()) > cap:
        with pytest.raises(InputError) as err:
            make_plan(ranking, period_start=START, **options)
        assert err.value.code == "E-PLAN-CAPACITY"
        assert f"at least {sum(need.values())}" in str(err.value)
        return

    result = make_plan(ranking, period_start=START, **options)
    plan = result.plan

    # capacity: never exceeded, filled when there is enough
    assert len(plan) == min(cap, len(eligible))
    assert plan["slot"].tolist() == list(range(1, len(plan) + 1))
    assert plan["premise_id"].is_unique
    # cool-down
    assert set(plan["premise_id"]) <= set(eligible["premise_id"])
    assert result.report["n_cooldown"] == len(ranking) - len(eligible)
    # minimum per municipality
    planned = plan["statcode"].value_counts()
    for m, k in need.items():
        assert planned.get(m, 0) >= k
        assert ((plan["statcode"] == m) & (plan["soort"] == "minimum gemeente")).sum() <= k

    # exploration
    explore = plan[plan["soort"] == "verkenning"]
    in_pool = (eligible["zone"] == "blinde vlek") | ~eligible["police_info"]
    tier1 = eligible[(eligible["zone"] == "blinde vlek") & ~eligible["police_info"]]
    wanted = round(options["exploration_share"] * cap)
    if in_pool.sum() >= wanted and cap - sum(need.values()) >= wanted:
        assert len(explore) == wanted
    assert len(explore) <= wanted
    assert (explore["zone"].eq("blinde vlek") | ~explore["police_info"]).all()
    if len(tier1) >= len(explore):
        assert set(explore["premise_id"]) <= set(tier1["premise_id"])
    else:
        assert set(tier1["premise_id"]) <= set(explore["premise_id"])

    # ranked slots: exactly the best eligible premises not taken by exploration
    ranked = plan[plan["soort"] == "ranglijst"]
    rest = rank_key(eligible[~eligible["premise_id"].isin(explore["premise_id"])])
    assert set(ranked["premise_id"]) == set(rest["premise_id"].iloc[: len(ranked)])
    # a "minimum gemeente" premise displaced a better-ranked eligible premise
    order = {p: i for i, p in enumerate(rest["premise_id"])}
    left_out = [order[p] for p in rest["premise_id"] if p not in set(plan["premise_id"])]
    for p in plan.loc[plan["soort"] == "minimum gemeente", "premise_id"]:
        assert left_out and min(left_out) < order[p]

    # work packages
    pk = result.packages
    size = options["package_size"]
    assert (pk["n"] <= size).all() and pk["n"].sum() == len(plan)
    assert pk["werkpakket"].tolist() == list(range(1, len(pk) + 1))
    by_pack = plan.groupby("werkpakket")
    assert (by_pack["statcode"].nunique() == 1).all()
    assert (by_pack.size().to_numpy() == pk["n"].to_numpy()).all()
    assert plan["werkpakket"].is_monotonic_increasing
    est = plan["estate"].where(plan["estate"].notna(), "").astype(str)
    assert (est.groupby(plan["werkpakket"]).nunique() == 1).all()
    on_estate = plan[est != ""]
    for _, group in on_estate.groupby(["statcode", est[est != ""]]):
        if len(group) <= size:
            assert group["werkpakket"].nunique() == 1
    radius = options["package_radius_m"]
    for k, group in by_pack:
        assert group["dag_volgorde"].tolist() == list(range(1, len(group) + 1))
        xy = group[["x", "y"]].to_numpy()
        d = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
        assert pk.loc[k - 1, "max_afstand_m"] == pytest.approx(d.max())
        if est[group.index[0]] == "":
            assert (d[0] <= radius + 1e-6).all()  # all within the radius of the seed
        for i in range(1, len(group) - 1):  # nearest-neighbour tour
            assert d[i, i + 1] <= d[i, i + 1:].min() + 1e-6

    # reproducible
    again = make_plan(ranking, period_start=START, **options)
    pd.testing.assert_frame_equal(plan, again.plan)
    pd.testing.assert_frame_equal(pk, again.packages)
    assert result.report == again.report
