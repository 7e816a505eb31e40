"""Inspection planning: from a ranking of premises to a plan of work packages (visit days).

A ranking (one row per candidate premise, higher ``score`` = inspect first) becomes a plan of
``capacity`` inspections in four steps:

1. **Cool-down** — premises inspected recently are not eligible.
2. **Verkenning** (exploration) — a share of the slots is drawn at random, weighted by
   opportunity, from premises in blind spots and premises with little police information.
   A ranking that only follows past police attention feeds on itself: premises nobody looked
   at never get a high score. Exploration visits are how the ranking learns about them.
3. **Minimum gemeente** — every municipality gets at least a minimum number of inspections.
4. **Ranglijst** — the remaining slots go down the ranking.

The chosen premises are then grouped into work packages (one visit day each): premises on the
same industrial estate together, the others by proximity within the same municipality, and
ordered within a package by a nearest-neighbour tour.
"""

from __future__ import annotations

import contextlib
import math
import numbers
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from riskmap.errors import ConfigError, InputError, Problems

__all__ = ["REQUIRED_COLUMNS", "SOORTEN", "Plan", "make_plan", "precision_at_k"]

REQUIRED_COLUMNS = (
    "premise_id",
    "statcode",
    "score",
    "x",
    "y",
    "estate",
    "opportunity",
    "zone",
    "police_info",
    "last_inspection",
)
"""Columns that :func:`make_plan` needs in the ranking."""

RANGLIJST = "ranglijst"
VERKENNING = "verkenning"
MINIMUM = "minimum gemeente"
SOORTEN = (RANGLIJST, VERKENNING, MINIMUM)
"""Values of the plan's ``soort`` column: why a premise is in the plan."""

BLINDE_VLEK = "blinde vlek"

# Exploration pool tiers, drawn from in this order (see make_plan, rule 2).
_POOL_TIERS = (
    "blinde vlek zonder politie-informatie",
    "weinig politie-informatie",
    "blinde vlek met politie-informatie",
)

_PLAN_COLUMNS = ("slot", "soort", "werkpakket", "dag_volgorde")
_PACKAGE_COLUMNS = ("werkpakket", "statcode", "estate", "n", "x", "y", "max_afstand_m")


@dataclass
class Plan:
    """An inspection plan made by :func:`make_plan`.

    Attributes
    ----------
    plan : pandas.DataFrame
        The chosen premises in visit order (index labels of the ranking kept): every column of
        the ranking plus ``slot`` (1..n, visit order), ``soort`` (``"ranglijst"``,
        ``"verkenning"`` or ``"minimum gemeente"``), ``werkpakket`` (work package id, 1..p,
        one visit day) and ``dag_volgorde`` (1.. order within the package).
    packages : pandas.DataFrame
        One row per work package: ``werkpakket``, ``statcode``, ``estate`` (``""`` when not an
        estate package), ``n`` (premises), ``x``, ``y`` (centroid, RD New metres) and
        ``max_afstand_m`` (largest distance between two premises of the package, metres).
    settings : dict
        Every setting used, for provenance (``period_start`` as an ISO string).
    report : dict
        Counts: candidates, eligible, skipped by cool-down, per ``soort``, per municipality,
        the exploration pool and draw, the minima and the municipalities that could not get
        theirs, the number of packages.
    """

    plan: pd.DataFrame
    packages: pd.DataFrame
    settings: dict[str, Any] = field(default_factory=dict)
    report: dict[str, Any] = field(default_factory=dict)


def _is_int(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _check_settings(
    *,
    capacity: object,
    period_start: object,
    min_per_municipality: object,
    cooldown_days: object,
    exploration_share: object,
    package_size: object,
    package_radius_m: object,
    seed: object,
) -> pd.Timestamp:
    """Check every option, raise one ConfigError listing all bad ones; return period_start."""
    problems = Problems()
    code = "E-CONFIG-VALUE"
    if not _is_int(capacity) or capacity < 1:
        problems.add(code, f"capacity must be a whole number >= 1, got {capacity!r}.",
                     fix="pass the number of inspections the period allows, e.g. capacity=40.")
    if not _is_real(exploration_share) or not 0.0 <= exploration_share <= 1.0:
        problems.add(code, f"exploration_share must be in [0, 1], got {exploration_share!r}.",
                     fix="e.g. exploration_share=0.15 (15 % of the slots); 0 turns it off.")
    if not _is_int(cooldown_days) or cooldown_days < 0:
        problems.add(code, f"cooldown_days must be a whole number >= 0, got {cooldown_days!r}.",
                     fix="e.g. cooldown_days=180; 0 turns the cool-down off.")
    if not _is_int(min_per_municipality) or min_per_municipality < 0:
        problems.add(code, "min_per_municipality must be a whole number >= 0, "
                     f"got {min_per_municipality!r}.", fix="e.g. min_per_municipality=1.")
    if not _is_int(package_size) or package_size < 1:
        problems.add(code, f"package_size must be a whole number >= 1, got {package_size!r}.",
                     fix="the number of inspections in one visit day, e.g. package_size=6.")
    if not _is_real(package_radius_m) or not package_radius_m >= 0:
        problems.add(code, f"package_radius_m must be a distance >= 0 in metres, "
                     f"got {package_radius_m!r}.", fix="e.g. package_radius_m=3000.")
    if not _is_int(seed):
        problems.add(code, f"seed must be a whole number, got {seed!r}.", fix="e.g. seed=0.")
    start = pd.NaT
    with contextlib.suppress(TypeError, ValueError):
        start = pd.Timestamp(period_start)
    if pd.isna(start):
        problems.add(code, f"period_start is not a date: {period_start!r}.",
                     fix='pass a date, e.g. period_start="2024-01-01".')
    problems.raise_if_any(ConfigError, title="make_plan: invalid settings" if len(problems) > 1
                          else "")
    return start


def _check_ranking(ranking: pd.DataFrame) -> None:
    """Raise InputError for missing columns, duplicate ids and unusable values."""
    if not isinstance(ranking, pd.DataFrame):
        msg = f"ranking must be a pandas DataFrame, got {type(ranking).__name__}."
        raise InputError(msg, code="E-INPUT-COLUMN")
    missing = [c for c in REQUIRED_COLUMNS if c not in ranking.columns]
    if missing:
        msg = (f"ranking is missing column(s) {', '.join(missing)}. "
               f"Columns in the ranking: {', '.join(map(str, ranking.columns)) or '(none)'}. "
               f"Required: {', '.join(REQUIRED_COLUMNS)}.")
        raise InputError(msg, code="E-INPUT-COLUMN")
    ids = ranking["premise_id"]
    dup = ids[ids.duplicated(keep=False)]
    if len(dup):
        shown = list(dict.fromkeys(dup.astype(str)))
        more = f" and {len(shown) - 5} more" if len(shown) > 5 else ""
        msg = (f"ranking has {len(shown)} duplicate premise_id value(s): "
               f"{', '.join(shown[:5])}{more}. Each premise must appear once; "
               "drop or merge the duplicates before planning.")
        raise InputError(msg, code="E-INPUT-DUPLICATE")
    problems = Problems()
    if ids.isna().any():
        problems.add("E-INPUT-VALUE", f"{int(ids.isna().sum())} row(s) have no premise_id.",
                     where="ranking column premise_id")
    for col in ("score", "x", "y"):
        values = pd.to_numeric(ranking[col], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(values)
        if bad.any():
            first = ", ".join(map(str, ranking["premise_id"][bad].astype(str)[:5]))
            problems.add("E-INPUT-VALUE", f"{int(bad.sum())} value(s) are missing or not "
                         f"finite numbers (premises {first}).", where=f"ranking column {col}",
                         fix="drop those premises or fill in the values.")
    opp = pd.to_numeric(ranking["opportunity"], errors="coerce").to_numpy(dtype=float)
    bad = (opp < 0) | (opp > 1)
    if bad.any():
        problems.add("E-INPUT-VALUE", f"{int(bad.sum())} value(s) outside [0, 1].",
                     where="ranking column opportunity", fix="use the opportunity score in [0, 1].")
    problems.raise_if_any(InputError, title="ranking has unusable values" if len(problems) > 1
                          else "")


def _last_inspection(ranking: pd.DataFrame, start: pd.Timestamp) -> pd.Series:
    col = ranking["last_inspection"]
    if not pd.api.types.is_datetime64_any_dtype(col):
        try:
            col = pd.to_datetime(col)
        except (TypeError, ValueError) as err:
            msg = (f"ranking column last_inspection holds values that are not dates ({err}). "
                   "Use datetime64 values, NaT for never inspected.")
            raise InputError(msg, code="E-INPUT-VALUE") from None
    col_tz = getattr(col.dt, "tz", None)
    if (col_tz is None) != (start.tz is None):
        msg = ("ranking column last_inspection and period_start must both have a time zone or "
               f"both have none (last_inspection: {col_tz}, period_start: {start.tz}).")
        raise InputError(msg, code="E-INPUT-VALUE")
    return col


def _weighted_order(
    weight: np.ndarray, tier: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Order for drawing without replacement, tier by tier, proportional to ``weight``.

    Efraimidis & Spirakis (2006): with ``u ~ U(0, 1]`` the keys ``log(u) / w`` sorted
    descending give a weighted random sample without replacement of any size. Zero weights
    come after all positive ones, in uniform random order.
    """
    n = len(weight)
    u = 1.0 - rng.random(n)  # in (0, 1], so log never sees 0
    v = rng.random(n)
    key = np.full(n, -np.inf)
    pos = weight > 0
    key[pos] = np.log(u[pos]) / weight[pos]
    return np.lexsort((v, -key, tier))


def _greedy_packages(xy: np.ndarray, *, size: int, radius: float) -> list[np.ndarray]:
    """Group points (given in priority order) into packages of at most ``size``.

    The best unassigned point seeds a package; the nearest unassigned points within
    ``radius`` of the seed join it until it holds ``size``. Each package comes back in
    nearest-neighbour tour order starting at its seed.
    """
    m = len(xy)
    free = np.ones(m, dtype=bool)
    packages = []
    for i in range(m):
        if not free[i]:
            continue
        d = np.hypot(xy[:, 0] - xy[i, 0], xy[:, 1] - xy[i, 1])
        cand = np.flatnonzero(free & (d <= radius))
        cand[cand == i] = -1  # the seed always goes first, even with co-located points
        cand = np.concatenate(([i], cand[cand >= 0]))
        take = cand[np.argsort(d[cand], kind="stable")][:size]
        free[take] = False
        packages.append(_tour(xy, take))
    return packages


def _tour(xy: np.ndarray, members: np.ndarray) -> np.ndarray:
    """Nearest-neighbour tour through ``members``, starting at ``members[0]``."""
    left = list(members[1:])
    order = [members[0]]
    while left:
        last = xy[order[-1]]
        pts = xy[left]
        j = int(np.argmin(np.hypot(pts[:, 0] - last[0], pts[:, 1] - last[1])))
        order.append(left.pop(j))
    return np.asarray(order, dtype=np.int64)


def _max_distance(xy: np.ndarray) -> float:
    if len(xy) < 2:
        return 0.0
    diff = xy[:, None, :] - xy[None, :, :]
    return float(np.sqrt((diff**2).sum(axis=-1)).max())


def make_plan(
    ranking: pd.DataFrame,
    *,
    capacity: int,
    period_start: Any,
    min_per_municipality: int = 1,
    municipalities: list[str] | None = None,
    cooldown_days: int = 180,
    exploration_share: float = 0.15,
    package_size: int = 6,
    package_radius_m: float = 3000.0,
    seed: int = 0,
) -> Plan:
    """Choose the premises to inspect in a period and group them into work packages.

    Parameters
    ----------
    ranking : pandas.DataFrame
        One row per candidate premise with columns ``premise_id`` (unique), ``statcode``
        (municipality code), ``score`` (higher = inspect first), ``x``, ``y`` (RD New,
        metres), ``estate`` (industrial-estate id, None/NaN/"" when not on one),
        ``opportunity`` (0–1, NaN counts as 0), ``zone`` (``"prioriteit"``,
        ``"blinde vlek"``, ``"risico"`` or ``""``), ``police_info`` (bool; False or missing =
        little police information) and ``last_inspection`` (datetime64, NaT = never).
        Other columns are carried into the plan.
    capacity : int
        Number of inspections in the period (>= 1).
    period_start : date-like
        First day of the period; anything :class:`pandas.Timestamp` accepts.
    min_per_municipality : int, default=1
        Least number of inspections per municipality (rule 3).
    municipalities : list of str, optional
        Municipalities that get the minimum; default all ``statcode`` values of the ranking.
        Premises of other municipalities stay eligible for the other slots.
    cooldown_days : int, default=180
        Premises inspected less than this many days before ``period_start`` are skipped.
    exploration_share : float, default=0.15
        Share of the capacity for exploration visits, in [0, 1].
    package_size : int, default=6
        Most premises in one work package (visit day).
    package_radius_m : float, default=3000.0
        Premises not on an estate join a package when within this distance (metres) of the
        premise that seeded it.
    seed : int, default=0
        Seed of the exploration draw (``numpy.random.default_rng(seed)``).

    Returns
    -------
    Plan
        ``plan`` (chosen premises in visit order), ``packages``, ``settings``, ``report``.

    Raises
    ------
    ConfigError
        ``E-CONFIG-VALUE``: capacity < 1, exploration_share outside [0, 1], a negative
        cool-down, min_per_municipality < 0, package_size < 1, package_radius_m < 0, a
        period_start that is not a date (all bad settings listed at once).
    InputError
        ``E-INPUT-COLUMN`` (missing columns, listed), ``E-INPUT-DUPLICATE`` (duplicate
        premise ids, up to 5 named), ``E-INPUT-VALUE`` (missing or non-finite score/x/y,
        opportunity outside [0, 1], dates that are not dates), ``E-PLAN-CAPACITY`` (the
        capacity cannot hold the minima; the message says how much is needed).

    Notes
    -----
    The rules, applied in this order:

    1. **Cool-down.** A premise whose ``last_inspection`` is later than
       ``period_start - cooldown_days`` is not eligible (this includes inspections on or after
       ``period_start``). Counted in ``report["n_cooldown"]``.
    2. **Verkenning** (exploration). ``n = round(exploration_share * capacity)`` (Python's
       ``round``, halves to even) slots are drawn at random *without replacement* with
       probability proportional to ``opportunity`` (Efraimidis & Spirakis 2006, "Weighted
       random sampling with a reservoir", Inf. Process. Lett. 97(5)), from eligible premises
       with ``zone == "blinde vlek"`` or ``police_info == False``: first from blind-spot
       premises without police information; if those are too few, all of them are taken and
       the rest is drawn from other premises without police information, and then from
       blind-spot premises with police information. Premises with opportunity 0 are drawn
       only after all others of their tier. Exploration gives way to the minima: at most
       ``capacity - (slots the minima need)`` slots are drawn. A ranking that only follows
       past police attention feeds on itself; exploration visits are how it learns about
       premises nobody looked at.
    3. **Minimum gemeente.** Each municipality in ``municipalities`` with eligible premises
       gets ``min(min_per_municipality, its eligible premises)`` inspections; exploration
       visits in it count. The missing ones are its best-ranked eligible premises not yet
       chosen. They are marked ``"minimum gemeente"`` only when a better-ranked eligible
       premise was left out for them; otherwise they would have made it on rank alone and are
       marked ``"ranglijst"``. When the capacity cannot hold all minima, ``E-PLAN-CAPACITY``.
    4. **Ranglijst.** The remaining slots go down the ranking: ``score`` descending, ties by
       ``premise_id`` ascending. So the ``"ranglijst"`` premises are always exactly the
       best-ranked eligible premises that are not ``"verkenning"``. The plan holds
       ``min(capacity, eligible premises)`` premises.
    5. **Werkpakketten** (work packages, one visit day each). Per municipality, premises on
       the same estate form their own packages (an estate with more than ``package_size``
       premises is split by proximity); the others are grouped greedily: the best-ranked
       unassigned premise seeds a package, the nearest unassigned premises of the municipality
       within ``package_radius_m`` of it join until it holds ``package_size``. Packages never
       mix municipalities or estates. Within a package the visit order (``dag_volgorde``) is a
       nearest-neighbour tour from the seed; packages are numbered by their best-ranked
       premise, and ``slot`` numbers the whole plan in visit order.

    The result depends only on the ranking's content and the settings (rows are processed in
    ``premise_id`` order), so the same seed gives the same plan.

    Examples
    --------
    >>> import pandas as pd
    >>> ranking = pd.DataFrame({
    ...     "premise_id": ["a", "b", "c", "d"], "statcode": ["GM0001"] * 3 + ["GM0002"],
    ...     "score": [0.9, 0.8, 0.7, 0.1], "x": [0.0, 100.0, 200.0, 9000.0],
    ...     "y": [0.0, 0.0, 0.0, 0.0], "estate": [None] * 4, "opportunity": [0.5] * 4,
    ...     "zone": [""] * 4, "police_info": [True] * 4,
    ...     "last_inspection": pd.to_datetime([None, "2023-12-01", None, None])})
    >>> result = make_plan(ranking, capacity=2, period_start="2024-01-01",
    ...                    exploration_share=0.0)
    >>> result.plan[["premise_id", "soort", "werkpakket"]].to_numpy().tolist()
    [['a', 'ranglijst', 1], ['d', 'minimum gemeente', 2]]
    >>> result.report["n_cooldown"]
    1
    """
    start = _check_settings(
        capacity=capacity, period_start=period_start, min_per_municipality=min_per_municipality,
        cooldown_days=cooldown_days, exploration_share=exploration_share,
        package_size=package_size, package_radius_m=package_radius_m, seed=seed,
    )
    _check_ranking(ranking)
    last = _last_inspection(ranking, start)

    # Canonical row order (by premise_id) so that the result does not depend on row order.
    canon = np.argsort(ranking["premise_id"].astype(str).to_numpy(), kind="stable")
    n = len(ranking)
    statcode = ranking["statcode"].astype(str).to_numpy()[canon]
    score = pd.to_numeric(ranking["score"]).to_numpy(dtype=float)[canon]
    xy = np.column_stack([pd.to_numeric(ranking[c]).to_numpy(dtype=float)[canon]
                          for c in ("x", "y")]) if n else np.zeros((0, 2))
    opp = np.nan_to_num(pd.to_numeric(ranking["opportunity"]).to_numpy(dtype=float)[canon])
    blind = ranking["zone"].eq(BLINDE_VLEK).to_numpy(dtype=bool)[canon]
    police_raw = ranking["police_info"].to_numpy(dtype=object)[canon]
    police = np.zeros(n, dtype=bool)
    known = ~pd.isna(police_raw)
    police[known] = police_raw[known].astype(bool)
    estate_raw = ranking["estate"]
    has_estate = (estate_raw.notna() & estate_raw.astype(str).ne("")).to_numpy()[canon]
    estate = np.where(has_estate, estate_raw.astype(str).to_numpy()[canon], "")

    # Rank of every premise: score descending, ties by premise_id (= canonical position).
    by_rank = np.argsort(-score, kind="stable")
    rank = np.empty(n, dtype=np.int64)
    rank[by_rank] = np.arange(n)

    # 1. Cool-down.
    cutoff = start - pd.Timedelta(days=cooldown_days)
    in_cooldown = (last > cutoff).to_numpy(dtype=bool)[canon]  # NaT compares False
    eligible = ~in_cooldown

    # 3 (counted first). Slots the minima need.
    muni_list = (list(dict.fromkeys(statcode.tolist())) if municipalities is None
                 else [str(m) for m in dict.fromkeys(municipalities)])
    elig_per_muni = pd.Series(statcode[eligible]).value_counts()
    need = {m: min(min_per_municipality, int(elig_per_muni.get(m, 0))) for m in muni_list}
    needed = sum(need.values())
    if needed > capacity:
        short = [m for m in muni_list if need[m] > 0]
        msg = (f"capacity {capacity} cannot hold the minimum of {min_per_municipality} "
               f"inspection(s) per municipality: {len(short)} municipalities with eligible "
               f"premises need {needed} slots. Raise capacity to at least {needed}, lower "
               "min_per_municipality, or pass fewer municipalities.")
        raise InputError(msg, code="E-PLAN-CAPACITY")

    # 2. Exploration.
    tier = np.full(n, len(_POOL_TIERS), dtype=np.int64)
    tier[eligible & blind & police] = 2
    tier[eligible & ~police & ~blind] = 1
    tier[eligible & blind & ~police] = 0
    pool_size = int((tier < len(_POOL_TIERS)).sum())
    n_explore_requested = round(exploration_share * capacity)
    n_explore = min(n_explore_requested, capacity - needed, pool_size)
    rng = np.random.default_rng(seed)
    draw = _weighted_order(opp, tier, rng)[:n_explore]
    soort = np.full(n, "", dtype=object)
    soort[draw] = VERKENNING
    explored = soort == VERKENNING

    # 3. Minimum per municipality: best-ranked eligible premises not yet chosen.
    have = pd.Series(statcode[explored]).value_counts()
    more = pd.Series({m: max(0, need[m] - int(have.get(m, 0))) for m in muni_list},
                     dtype="int64")
    free_by_rank = by_rank[(eligible & ~explored)[by_rank]]
    nth = pd.Series(statcode[free_by_rank]).groupby(statcode[free_by_rank]).cumcount()
    quota = pd.Series(statcode[free_by_rank]).map(more).fillna(0).to_numpy()
    minimum = np.zeros(n, dtype=bool)
    minimum[free_by_rank[nth.to_numpy() < quota]] = True

    # 4. Ranked slots.
    left = capacity - n_explore - int(minimum.sum())
    rest = free_by_rank[~minimum[free_by_rank]][:left]
    chosen_ranked = np.zeros(n, dtype=bool)
    chosen_ranked[rest] = True
    # "ranglijst" = the longest run from the top of the non-exploration ranking that is all
    # chosen; minimum premises after it displaced a better-ranked premise.
    in_plan_by_rank = (chosen_ranked | minimum)[free_by_rank]
    prefix = int(np.argmin(in_plan_by_rank)) if not in_plan_by_rank.all() else len(
        free_by_rank)
    soort[free_by_rank[:prefix]] = RANGLIJST
    soort[minimum & (soort == "")] = MINIMUM
    chosen = np.flatnonzero(soort != "")

    # 5. Work packages, per (municipality, estate); non-estate premises by proximity.
    chosen = chosen[np.argsort(rank[chosen], kind="stable")]
    groups: dict[tuple[str, str], list[int]] = {}
    for i in chosen:
        groups.setdefault((statcode[i], estate[i]), []).append(int(i))
    packs: list[tuple[int, str, str, np.ndarray]] = []
    for (muni, est), members in groups.items():
        idx = np.asarray(members, dtype=np.int64)  # in rank order
        radius = math.inf if est else float(package_radius_m)
        for local in _greedy_packages(xy[idx], size=package_size, radius=radius):
            packs.append((int(rank[idx[local[0]]]), muni, est, idx[local]))
    packs.sort(key=lambda p: p[0])

    werkpakket = np.zeros(n, dtype=np.int64)
    dag = np.zeros(n, dtype=np.int64)
    visit: list[int] = []
    rows = []
    for k, (_, muni, est, members) in enumerate(packs, start=1):
        werkpakket[members] = k
        dag[members] = np.arange(1, len(members) + 1)
        visit.extend(members.tolist())
        centre = xy[members].mean(axis=0)
        rows.append((k, muni, est, len(members), float(centre[0]), float(centre[1]),
                     _max_distance(xy[members])))
    visit_arr = np.asarray(visit, dtype=np.int64)

    plan = ranking.iloc[canon[visit_arr]].copy()
    plan["slot"] = np.arange(1, len(visit_arr) + 1, dtype=np.int64)
    plan["soort"] = pd.Series(soort[visit_arr], index=plan.index, dtype=object)
    plan["werkpakket"] = werkpakket[visit_arr]
    plan["dag_volgorde"] = dag[visit_arr]
    packages = pd.DataFrame(rows, columns=list(_PACKAGE_COLUMNS)).astype(
        {"werkpakket": "int64", "n": "int64", "x": "float64", "y": "float64",
         "max_afstand_m": "float64"})

    settings = {
        "capacity": capacity,
        "period_start": start.isoformat(),
        "min_per_municipality": min_per_municipality,
        "municipalities": muni_list,
        "cooldown_days": cooldown_days,
        "exploration_share": exploration_share,
        "package_size": package_size,
        "package_radius_m": float(package_radius_m),
        "seed": seed,
        "tie_break": "premise_id ascending",
    }
    counts = pd.Series(soort[visit_arr]).value_counts()
    per_muni = pd.Series(statcode[visit_arr]).value_counts()
    all_munis = list(dict.fromkeys(muni_list + statcode.tolist()))
    present = set(statcode.tolist())
    report = {
        "n_candidates": n,
        "n_eligible": int(eligible.sum()),
        "n_cooldown": int(in_cooldown.sum()),
        "n_planned": len(visit_arr),
        "capacity_unused": capacity - len(visit_arr),
        "per_soort": {s: int(counts.get(s, 0)) for s in SOORTEN},
        "per_municipality": {m: int(per_muni.get(m, 0)) for m in all_munis},
        "exploration": {
            "requested": n_explore_requested,
            "drawn": n_explore,
            "pool": {name: int((tier == t).sum()) for t, name in enumerate(_POOL_TIERS)},
            "limited_by_minimum": n_explore_requested > capacity - needed,
        },
        "minimum": {
            "slots_needed": needed,
            "municipalities_without_candidates": [m for m in muni_list if m not in present],
            "municipalities_all_in_cooldown": [
                m for m in muni_list if m in present and need[m] == 0
                and min_per_municipality > 0],
        },
        "n_packages": len(packs),
    }
    return Plan(plan=plan, packages=packages, settings=settings, report=report)


def precision_at_k(plan_ids: Iterable[Any], truth: set[Any]) -> float:
    """Share of the planned premises that are true positives.

    Parameters
    ----------
    plan_ids : iterable
        Premise ids in the plan (e.g. ``plan.plan["premise_id"]``).
    truth : set
        Ids of the premises where an inspection did find something.

    Returns
    -------
    float
        ``|plan ∩ truth| / |plan|``; NaN for an empty plan (precision is undefined there).

    Examples
    --------
    >>> precision_at_k(["a", "b", "c", "d"], {"a", "c", "x"})
    0.5
    """
    ids = list(plan_ids)
    if not ids:
        return float("nan")
    return float(np.mean([pid in truth for pid in ids]))
