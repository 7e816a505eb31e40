"""Back-test metrics for risk maps: hit rate, PAI, PEI*, RRI and the hit-rate curve.

A risk map made from incidents before a cut-off date is judged by the incidents after it
(the test period). Cells of the study area are ranked by the map's score, best first; the
*hotspot set* for an area share ``a`` is the first ``k = ⌈a · n_cells⌉`` cells of that ranking.

=============  ====================================================================
metric         meaning for the hotspot set of ``k`` of the ``n_cells`` cells
=============  ====================================================================
hit rate       ``n / N``: share of all test incidents in the study area that fall in it
PAI            ``(n / N) / (k / n_cells)``: hit rate per unit of area share
PEI*           ``n / n*``: against the most any ``k`` cells could capture
RRI            ``(n₂ / n₁) / (N₂ / N₁)``: test over training incidents in the set,
               relative to the same ratio in the whole study area
AUC            area under the hit-rate curve (hit rate against area share, 0 to 1)
=============  ====================================================================

Ties between equal scores are broken in a seeded random order, so that a flat map does not
look better (or worse) than it is: its expected hit rate equals the area share.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from riskmap.errors import InputError

__all__ = [
    "PeiSearch",
    "evaluate",
    "hit_rate_curve",
    "hotspot_size",
    "pei_at",
    "rank_cells",
]

_TOL = 1e-9  # float slack when turning an area share into a number of cells


def rank_cells(score: np.ndarray, *, seed: int = 0) -> np.ndarray:
    """Flat indices of the finite cells of ``score``, highest score first.

    Parameters
    ----------
    score : array_like of float
        Risk score per cell, any shape; NaN and ±inf cells are left out.
    seed : int, default=0
        Seed of the random order in which cells with equal scores follow each other
        (``numpy.random.default_rng(seed)``). The same seed gives the same ranking.

    Returns
    -------
    ndarray of int64
        Indices into ``score.ravel()``; as many as ``score`` has finite values.

    Notes
    -----
    The finite cells are shuffled with ``default_rng(seed).permutation`` and then sorted by
    descending score with a stable sort, so ties come out in a random but reproducible order.
    A deterministic tie-break (e.g. by cell index) would favour whatever sits first in the
    array; Chainey, Tompson & Uhlig (2008) rank cells by score, and a flat stretch of a map
    must not be credited with the incidents its first cells happen to hold.

    Examples
    --------
    >>> import numpy as np
    >>> rank_cells(np.array([[0.2, 0.9], [np.nan, 0.5]])).tolist()
    [1, 3, 0]
    """
    flat = np.asarray(score, dtype=float).ravel()
    return _rank(flat, np.flatnonzero(np.isfinite(flat)), seed)


def _rank(flat: np.ndarray, cells: np.ndarray, seed: int) -> np.ndarray:
    """``cells`` (flat indices) ordered by descending ``flat`` score, seeded tie-break."""
    shuffled = cells[np.random.default_rng(seed).permutation(cells.size)]
    return shuffled[np.argsort(-flat[shuffled], kind="stable")]


def hotspot_size(share: float, n_cells: int) -> int:
    """Return the number of cells ``k = ⌈share · n_cells⌉`` in the hotspot set, at least 1.

    The smallest number of cells that covers at least ``share`` of the study area (a
    tolerance of 10⁻⁹ cells absorbs float round-off, so ``0.07 · 100`` gives 7, not 8).

    Examples
    --------
    >>> hotspot_size(0.05, 1000), hotspot_size(0.05, 990), hotspot_size(0.01, 10)
    (50, 50, 1)
    """
    return int(min(max(math.ceil(share * n_cells - _TOL), 1), n_cells))


def _prepare(
    score: np.ndarray,
    test_counts: np.ndarray,
    mask: np.ndarray | None,
    extra: dict[str, np.ndarray | None] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Validate; return flat score, study cells (flat indices), test and extra counts there."""
    score = np.asarray(score, dtype=float)
    arrays: dict[str, np.ndarray] = {"test_counts": np.asarray(test_counts, dtype=float)}
    for name, arr in (extra or {}).items():
        if arr is not None:
            arrays[name] = np.asarray(arr, dtype=float)
    for name, arr in arrays.items():
        if arr.shape != score.shape:
            raise InputError(
                f"{name} has shape {arr.shape} but score has shape {score.shape}. Count the "
                "incidents on the same grid as the score (e.g. riskmap.indicators.count).",
                code="E-EVAL-SHAPE",
            )
    flat = score.ravel()
    finite = np.isfinite(flat)
    if mask is None:
        study = finite
    else:
        m = np.asarray(mask)
        if m.shape != score.shape or m.dtype != bool:
            raise InputError(
                f"mask must be a boolean array of the score's shape {score.shape}, got "
                f"{m.dtype} {m.shape}.",
                code="E-EVAL-MASK",
            )
        study = m.ravel()
        unscored = study & ~finite
        if unscored.any():
            raise InputError(
                f"score is NaN or infinite in {int(unscored.sum())} cells of the mask. Give "
                "every study cell a score, or leave those cells out: mask & np.isfinite(score).",
                code="E-EVAL-MASK",
            )
    cells = _cells_of(study)
    counts: dict[str, np.ndarray] = {}
    for name, arr in arrays.items():
        c = arr.ravel()[cells]
        if not np.isfinite(c).all() or (c < 0).any():
            raise InputError(
                f"{name} must be finite and non-negative in the study area; "
                f"{int((~np.isfinite(c) | (c < 0)).sum())} cells are not.",
                code="E-EVAL-COUNTS",
            )
        counts[name] = c
    return flat, cells, counts["test_counts"], counts


def _curve(flat: np.ndarray, cells: np.ndarray, test: np.ndarray, seed: int
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ranking positions (into ``cells``), cumulative test counts from 0, total."""
    pos = np.empty(flat.size, dtype=np.int64)
    pos[cells] = np.arange(cells.size)
    order = pos[_rank(flat, cells, seed)]
    captured = np.concatenate([[0.0], np.cumsum(test[order])])
    return order, captured, float(test.sum())


def hit_rate_curve(
    score: np.ndarray,
    test_counts: np.ndarray,
    *,
    mask: np.ndarray | None = None,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Hit rate against area share for the top 0, 1, …, ``n_cells`` cells.

    Parameters
    ----------
    score : array_like of float
        Risk score per cell (higher = riskier).
    test_counts : array_like of float
        Test-period incidents per cell, same shape as ``score``, non-negative.
    mask : array_like of bool, optional
        The study area, same shape; default every cell with a finite score. Every masked cell
        needs a finite score. Incidents outside the study area are not counted.
    seed : int, default=0
        Seed of the tie-break between equal scores (see :func:`rank_cells`).

    Returns
    -------
    area_share : ndarray of float, shape ``(n_cells + 1,)``
        ``k / n_cells`` for ``k = 0 … n_cells``.
    hit_rate : ndarray of float, shape ``(n_cells + 1,)``
        Share of the study area's test incidents in the top ``k`` cells; starts at 0, ends at 1.
        NaN (after the leading 0) when the study area has no test incidents.

    Notes
    -----
    The hit rate of the top ``k`` cells is Chainey, Tompson & Uhlig's (2008) hit rate;
    plotted against the area share it is the cumulative "gains" or hit-rate curve also used by
    Bowers, Johnson & Pease (2004).

    Examples
    --------
    >>> import numpy as np
    >>> share, hit = hit_rate_curve(np.array([3.0, 2.0, 1.0, 0.0]), np.array([2, 1, 1, 0]))
    >>> share.tolist(), hit.tolist()
    ([0.0, 0.25, 0.5, 0.75, 1.0], [0.0, 0.5, 0.75, 1.0, 1.0])
    """
    flat, cells, test, _ = _prepare(score, test_counts, mask)
    _, captured, total = _curve(flat, cells, test, seed)
    share = np.arange(cells.size + 1) / cells.size
    if total == 0:
        hit = np.full(cells.size + 1, np.nan)
        hit[0] = 0.0
    else:
        hit = captured / total
    return share, hit


def _key(share: float) -> str:
    """Format a share as a result key: ``0.05 → "0.05"``, ``0.1 → "0.10"``, ``0.005 → "0.005"``."""
    two = f"{share:.2f}"
    return two if abs(float(two) - share) < 1e-12 else f"{share:g}"


def pei_at(
    score: np.ndarray,
    test_counts: np.ndarray,
    *,
    share: float,
    mask: np.ndarray | None = None,
    seed: int = 0,
) -> float:
    """PEI* of the top ``share`` of the cells: ``evaluate(...)[key]["pei"]``, without sorting.

    The same hotspot set as :func:`evaluate` (the same seeded tie-break: the ``k`` best cells
    are the cells above the ``k``-th best score plus, of the cells equal to it, the first in
    the seeded order) found with a partial sort, so choosing the risk settings does not sort
    every cell of the grid for each candidate. NaN when the study area has no test incidents.
    """
    flat, cells, test, _ = _prepare(score, test_counts, mask)
    k = hotspot_size(float(share), cells.size)
    total = float(test.sum())
    if total == 0:
        return float("nan")
    perm = np.random.default_rng(seed).permutation(cells.size)
    s = flat[cells[perm]]
    t = _kth_largest(s, k)
    above = s > t
    ties = np.flatnonzero(s == t)[: k - int(above.sum())]
    n = float(test[perm[above]].sum() + test[perm[ties]].sum())
    positive = np.sort(test[test > 0])  # counts: few cells hold test incidents
    best = float(positive[-k:].sum())
    return n / best


def _kth_largest(v: np.ndarray, k: int) -> float:
    """The ``k``-th largest value of ``v`` (1-based).

    Maps are mostly zeros (and ties): sorting only the positive values is far quicker than a
    partition of everything (numpy's introselect slows down on many equal values).
    """
    pos = v[v > 0]
    if pos.size >= k:
        return float(np.sort(pos)[pos.size - k])
    return float(np.sort(v)[v.size - k])


@dataclass(frozen=True)
class PeiSearch:
    """PEI* of many sparse maps on one study area: what :func:`pei_at` does once per map.

    Choosing the risk settings scores some 170 maps of the same grid, study area, seed and
    test periods, each a kernel density that is 0 in most cells. Everything that depends
    only on those is done once here (:meth:`prepare`): the study cells, their seeded
    tie-break order, the test cells and the best possible capture ``n*`` (:meth:`prepare`
    from count grids, :meth:`from_incidents` from the incidents' cells). :meth:`pei` then
    takes a map as the cells where it may be positive and finds the same hotspot set as
    :func:`pei_at` from them alone.

    Attributes
    ----------
    shape : tuple of int
        The grid's shape.
    code : ndarray of int32
        Per flat cell: -2 outside the study area, -1 in it, ``j >= 0`` for the ``j``-th test
        cell (of any test period).
    rank : ndarray of int32
        Per flat cell: its position in the seeded order of the study cells
        (``default_rng(seed).permutation``, as :func:`pei_at` draws it), -1 outside.
    test_cells : ndarray of int64
        The flat index of each test cell.
    counts : list of ndarray
        Per test period, the test incidents of every test cell (0 where another period's).
    k : int
        Cells in the hotspot set.
    best : list of float
        Per test period, ``n*``: the test incidents in the ``k`` cells that hold the most.

    Examples
    --------
    >>> import numpy as np
    >>> score = np.array([[0.0, 3.0, 0.0], [1.0, 0.0, 0.0]])
    >>> test = np.array([[0, 2, 0], [1, 0, 1]])
    >>> search = PeiSearch.prepare(np.ones((2, 3), dtype=bool), [test], share=0.5)
    >>> search.pei(np.array([1, 3]), np.array([3.0, 1.0])) == pei_at(score, test, share=0.5)
    True
    """

    shape: tuple[int, int]
    code: np.ndarray
    rank: np.ndarray
    test_cells: np.ndarray
    counts: list[np.ndarray]
    k: int
    best: list[float]

    @classmethod
    def prepare(cls, mask: np.ndarray, tests: Sequence[np.ndarray], *, share: float,
                seed: int = 0) -> PeiSearch:
        """Prepare the study area ``mask`` and the test counts per period (arrays of its shape).

        Raises the errors of :func:`pei_at` for a bad mask, an empty study area or bad
        counts. The counts must be whole numbers (incidents per cell): then the captured
        incidents add up exactly in any order, which makes :meth:`pei` equal to
        :func:`pei_at` bit for bit.
        """
        m, cells = _study(mask)
        periods = []
        for test in tests:
            arr = np.asarray(test, dtype=float)
            if arr.shape != m.shape:
                raise InputError(
                    f"test_counts has shape {arr.shape} but the mask has shape {m.shape}. Count "
                    "the incidents on the same grid (e.g. riskmap.indicators.count).",
                    code="E-EVAL-SHAPE",
                )
            c = arr.ravel()[cells]
            if not np.isfinite(c).all() or (c < 0).any() or (c != np.round(c)).any():
                raise InputError("test counts must be whole, finite and non-negative in the "
                                 "study area (incidents per cell).", code="E-EVAL-COUNTS")
            held = np.flatnonzero(c > 0)
            periods.append((cells[held], c[held]))
        return cls._build(m, cells, periods, share, seed)

    @classmethod
    def from_incidents(cls, mask: np.ndarray, tests: Sequence[np.ndarray], *, share: float,
                       seed: int = 0) -> PeiSearch:
        """:meth:`prepare` from the flat cell index of every test incident, per period.

        ``tests[j]`` holds one flat index (into ``mask``) per incident of period ``j``, in any
        order; incidents outside the study area are left out, as :func:`pei_at` leaves them
        out. The same as :meth:`prepare` with the incidents counted per cell, without the
        arrays of the whole grid.
        """
        m, cells = _study(mask)
        periods = []
        for flat in tests:
            flat = np.asarray(flat, dtype=np.int64)
            flat = np.sort(flat[m.ravel()[flat]])
            first = np.concatenate([[True], flat[1:] != flat[:-1]]) if flat.size \
                else np.zeros(0, dtype=bool)
            periods.append((flat[first], np.diff(np.append(np.flatnonzero(first),
                                                           flat.size)).astype(float)))
        return cls._build(m, cells, periods, share, seed)

    @classmethod
    def _build(cls, m: np.ndarray, cells: np.ndarray, periods: list, share: float,
               seed: int) -> PeiSearch:
        """From the study cells and, per period, the test cells (flat, sorted) and counts."""
        ids = np.unique(np.concatenate([c for c, _ in periods])) if periods \
            else np.zeros(0, dtype=np.int64)  # the test cells of every period
        code = np.full(m.size, -2, dtype=np.int32)
        code[cells] = -1
        code[ids] = np.arange(ids.size, dtype=np.int32)
        order = np.empty(cells.size, dtype=np.int32)  # the seeded order of pei_at, inverted
        order[np.random.default_rng(seed).permutation(cells.size)] = np.arange(
            cells.size, dtype=np.int32)
        rank = np.full(m.size, -1, dtype=np.int32)
        rank[cells] = order
        k = hotspot_size(float(share), cells.size)
        counts, best = [], []
        for flat, n in periods:
            c = np.zeros(ids.size)
            c[np.searchsorted(ids, flat)] = n
            counts.append(c)
            # as pei_at: n* sums the k largest of the study cells' positive counts, ascending
            best.append(float(np.sort(n)[-k:].sum()))
        return cls(shape=m.shape, code=code, rank=rank, test_cells=ids, counts=counts, k=k,
                   best=best)

    def pei(self, cells: np.ndarray, values: np.ndarray, *, period: int = 0) -> float:
        """PEI* of the map that is ``values`` at the flat ``cells`` and 0 elsewhere.

        ``cells`` are distinct flat indices into ``shape`` (any may lie outside the study
        area) and ``values`` finite and non-negative: a kernel density or counts, as
        :func:`riskmap.kde.kde_cells` gives them. Equals ``pei_at(score, tests[period],
        share=share, mask=mask, seed=seed)`` for the dense ``score``.

        Notes
        -----
        :func:`pei_at`'s hotspot set: the cells above the ``k``-th largest score ``t``, and
        of the cells equal to ``t`` the first in the seeded order. With ``p`` positive cells
        in the study area, either ``p >= k`` and ``t`` is the ``k``-th largest positive
        score, so ties are between positive cells; or ``p < k``, ``t = 0`` and the set is
        every positive cell plus the first ``k - p`` cells of score 0 in the seeded order —
        a test cell of score 0 is one of those when fewer than ``k - p`` cells of score 0
        come before it, i.e. its rank minus the positive cells ranked before it. Only the
        positive cells and the test cells are looked at.
        """
        return self.peis(cells, np.asarray(values)[None, :], period=period)[0]

    def peis(self, cells: np.ndarray, values: np.ndarray, *, period: int = 0) -> list[float]:
        """:meth:`pei` of several maps on the same ``cells``: ``values`` of shape (B, n)."""
        counts = self.counts[period]
        if float(counts.sum()) == 0:
            return [float("nan")] * values.shape[0]
        code = self.code[cells]  # one look-up for all the maps
        studied = code > -2
        return [self._pei(cells, code, studied & (v > 0), v, counts) / self.best[period]
                for v in values]

    def _pei(self, cells, code, positive, values, counts) -> float:
        """The test incidents in :func:`pei_at`'s hotspot set of one map."""
        value, code = values[positive], code[positive]
        k = self.k
        hit = code >= 0  # positive test cells
        selected = np.zeros(counts.size, dtype=bool)
        if value.size >= k:
            t = _kth_largest_of_many(value, k)
            above = value > t
            selected[code[hit & above]] = True
            tied = np.flatnonzero(value == t)
            q = k - int(above.sum())  # ties to take, first in the seeded order
            ranks = self.rank[cells[positive][tied]]
            cutoff = np.partition(ranks, q - 1)[q - 1] if ranks.size > q else ranks.max()
            taken = tied[ranks <= cutoff]
            selected[code[taken][code[taken] >= 0]] = True
        else:
            selected[code[hit]] = True  # every positive cell
            q = k - value.size  # zero cells to take, first in the seeded order
            zero = np.flatnonzero(~selected & (counts > 0))
            r = self.rank[self.test_cells[zero]]
            # fewer than q zero cells come before a test cell ranked below q; at least q
            # before one ranked k or later (at most p positive cells precede it)
            selected[zero[r < q]] = True
            unsure = (r >= q) & (r < k)
            if unsure.any():
                order = np.argsort(r[unsure])
                r = r[unsure][order]
                before = np.searchsorted(r, self.rank[cells[positive]])
                ahead = np.cumsum(np.bincount(before, minlength=r.size + 1))[:r.size]
                selected[zero[unsure][order[r - ahead < q]]] = True
        return float(counts[selected].sum())


def _cells_of(study: np.ndarray) -> np.ndarray:
    """The flat indices of the study cells; an error when there are none."""
    cells = np.flatnonzero(study)
    if cells.size == 0:
        raise InputError(
            "the study area has no cells (empty mask or no finite score). Check the mask and "
            "the score map.",
            code="E-EVAL-EMPTY",
        )
    return cells


def _study(mask) -> tuple[np.ndarray, np.ndarray]:
    """The boolean study area and its flat cells; the errors of :func:`pei_at`."""
    m = np.asarray(mask)
    if m.dtype != bool:
        raise InputError(f"mask must be a boolean array, got {m.dtype} {m.shape}.",
                         code="E-EVAL-MASK")
    cells = _cells_of(m)
    return m, cells


def _kth_largest_of_many(v: np.ndarray, k: int) -> float:
    """The ``k``-th largest value of ``v`` (1-based, ``k <= v.size``), by a partial sort.

    A value ``τ`` that at least ``k`` values reach is guessed from every 16th value, so that
    only those ``≥ τ`` (about ``k``) need the partition; ``τ`` is checked, never trusted.
    """
    n = v.size
    if n > 65_536 and k < n // 2:
        sample = v[::16]
        j = min(int(sample.size * (k / n) * 1.2) + 16, sample.size - 1)  # from the top
        tau = np.partition(sample, sample.size - 1 - j)[sample.size - 1 - j]
        high = v[v >= tau]
        if high.size >= k:
            return np.partition(high, high.size - k)[high.size - k]
    return np.partition(v, n - k)[n - k]


def evaluate(
    score: np.ndarray,
    test_counts: np.ndarray,
    *,
    mask: np.ndarray | None = None,
    train_counts: np.ndarray | None = None,
    shares: Sequence[float] = (0.01, 0.05, 0.10, 0.20),
    seed: int = 0,
) -> dict:
    """Hit rate, PAI, PEI* (and RRI) of a risk map at given area shares, and the curve's AUC.

    Parameters
    ----------
    score : array_like of float
        Risk score per cell (higher = riskier), made from data before the test period.
    test_counts : array_like of float
        Test-period incidents per cell, same shape, non-negative.
    mask : array_like of bool, optional
        The study area; default every cell with a finite score. Every masked cell needs a
        finite score; incidents outside the study area are not counted.
    train_counts : array_like of float, optional
        Training-period incidents per cell, same shape; adds the RRI.
    shares : sequence of float, default=(0.01, 0.05, 0.10, 0.20)
        Area shares in (0, 1] of the hotspot sets.
    seed : int, default=0
        Seed of the tie-break between equal scores (see :func:`rank_cells`).

    Returns
    -------
    dict
        One entry per share, keyed ``f"{share:.2f}"`` (``"0.01"``, ``"0.05"``, ``"0.10"``,
        ``"0.20"``; a share that is not a whole percentage keeps its digits, ``"0.005"``),
        each a dict with

        - ``"k"``: cells in the hotspot set, ``⌈share · n_cells⌉`` (:func:`hotspot_size`);
        - ``"area_share"``: ``k / n_cells`` (slightly above ``share`` after rounding up);
        - ``"hit_rate"``: ``n / N``;
        - ``"pai"``: ``(n / N) / (k / n_cells)``;
        - ``"pei"``: PEI* ``= n / n*``, ``n*`` the sum of the ``k`` largest test counts;
        - ``"rri"`` (with ``train_counts``): ``(n₂ / n₁) / (N₂ / N₁)``, NaN when the set holds no
          training incidents (``n₁ = 0``);

        and ``"auc"`` (area under the hit-rate curve), ``"n_test"`` (``N``, the test incidents
        in the study area; an int for whole counts) and ``"cells"`` (``n_cells``). When
        ``N = 0`` every metric but ``k`` and ``area_share`` is NaN.

    Raises
    ------
    InputError
        ``E-EVAL-SHAPE`` for arrays of different shapes, ``E-EVAL-MASK`` for a mask that is
        not boolean or covers unscored cells, ``E-EVAL-EMPTY`` for an empty study area,
        ``E-EVAL-COUNTS`` for negative or non-finite counts, ``E-EVAL-SHARE`` for shares
        outside (0, 1] or two shares with the same key.

    Notes
    -----
    Hit rate and the predictive accuracy index (PAI) follow Chainey, Tompson & Uhlig (2008),
    The utility of hotspot mapping for predicting spatial patterns of crime, *Security
    Journal* 21, 4–28. PEI* compares the map with the best possible set of the same number of
    cells (Hunt 2016, *Do crime hot spots move?*, PhD thesis, American University; White,
    Hunt & Green 2023, A discussion of current crime forecasting indices and an improvement to
    the prediction efficiency index, *Security Journal*). The recapture rate index (RRI) is from
    Levine (2008), The "hottest" part of a hotspot: comments on "The utility of hotspot mapping
    for predicting spatial patterns of crime", *Security Journal* 21, 295–302.

    The hotspot set has ``k = ⌈share · n_cells⌉`` cells (the smallest set covering at least
    that share; at least one cell), so PAI uses the area actually covered, ``k / n_cells``.
    AUC is the trapezoid area under the curve of :func:`hit_rate_curve` from (0, 0) to (1, 1):
    1/2 on average for a map that knows nothing, close to 1 for a map that puts all incidents in
    a few top cells.

    Examples
    --------
    >>> import numpy as np
    >>> score = np.array([9, 8, 7, 6, 5, 4, 3, 2, 1, 0], dtype=float)
    >>> test = np.array([5, 0, 3, 1, 0, 2, 0, 0, 1, 0])
    >>> r = evaluate(score, test, shares=(0.1, 0.2))
    >>> r["0.10"]["hit_rate"], r["0.10"]["pai"], r["0.20"]["pei"], r["n_test"]
    (0.4166666666666667, 4.166666666666667, 0.625, 12)
    """
    flat, cells, test, counts = _prepare(score, test_counts, mask, {"train_counts": train_counts})
    shares = tuple(shares)
    problems = [a for a in shares
                if isinstance(a, bool) or not isinstance(a, int | float | np.number)
                or not (0 < a <= 1)]
    if problems or not shares:
        raise InputError(
            f"shares must be area shares in (0, 1], e.g. (0.01, 0.05, 0.10, 0.20); got "
            f"{list(shares)!r}.",
            code="E-EVAL-SHARE",
        )
    keys = [_key(float(a)) for a in shares]
    if len(set(keys)) != len(keys):
        raise InputError(
            f"shares {list(shares)!r} give the same result key twice ({keys}). Pass distinct "
            "shares.",
            code="E-EVAL-SHARE",
        )
    order, captured, total = _curve(flat, cells, test, seed)
    n_cells = cells.size
    best = np.concatenate([[0.0], np.cumsum(np.sort(test)[::-1])])  # n* for every k
    train = counts.get("train_counts")
    if train is not None:
        train_cum = np.concatenate([[0.0], np.cumsum(train[order])])
        train_total = float(train.sum())
    nan = float("nan")
    result: dict = {}
    for key, a in zip(keys, shares, strict=True):
        k = hotspot_size(float(a), n_cells)
        n = float(captured[k])
        entry: dict = {"k": k, "area_share": k / n_cells}
        if total > 0:
            hit = n / total
            entry.update(hit_rate=hit, pai=hit / (k / n_cells), pei=n / float(best[k]))
        else:
            entry.update(hit_rate=nan, pai=nan, pei=nan)
        if train is not None:
            n1 = float(train_cum[k])
            entry["rri"] = (n / n1) / (total / train_total) if n1 > 0 and total > 0 else nan
        result[key] = entry
    if total > 0:
        hit = captured / total
        result["auc"] = float(np.sum(hit[1:] + hit[:-1]) / (2 * n_cells))
    else:
        result["auc"] = nan
    whole = bool(np.all(test == np.round(test)))
    result["n_test"] = int(round(total)) if whole else total
    result["cells"] = int(n_cells)
    return result
