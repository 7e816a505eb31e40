"""Transforms: a raw measure to [0, 1], where 1 is the most opportunity.

All transforms are monotone in the risky direction and map NaN (no data) to 0. ``minmax`` and
``rank`` learn their scale from the cells of one normalisation unit (a municipality or the
region) and then apply it to any cell; ``decay`` and ``threshold`` are absolute.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["apply"]

#: The exponential decay falls to this share of its peak at the influence distance.
EXP_TAIL = 0.05


def _minmax(v: np.ndarray, ref: np.ndarray) -> np.ndarray:
    lo, hi = np.min(ref), np.max(ref)
    if not hi > lo:
        return np.zeros_like(v)
    return np.clip((v - lo) / (hi - lo), 0.0, 1.0)


def _rank(v: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Mid-rank percentile of ``v`` among ``ref``: (rank - 1) / (n - 1), ties averaged."""
    n = ref.size
    if n < 2 or np.min(ref) == np.max(ref):
        return np.zeros_like(v)
    if v.shape == ref.shape and np.array_equal(v, ref):
        left, right = _tie_bounds(ref)  # the cells are their own scale: one sort is enough
    else:
        s = np.sort(ref)
        left = np.searchsorted(s, v, side="left")
        right = np.searchsorted(s, v, side="right")
    return np.clip((left + right - 1) / (2.0 * (n - 1)), 0.0, 1.0)


def _tie_bounds(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each value: how many values are smaller, and how many are not larger.

    What ``searchsorted(sort(v), v, side="left" / "right")`` gives, from one sort.
    """
    order = np.argsort(v, kind="stable")
    s = v[order]
    first = np.concatenate([[True], s[1:] != s[:-1]])
    starts = np.flatnonzero(first)
    ends = np.append(starts[1:], v.size)
    group = np.cumsum(first) - 1
    left = np.empty(v.size, dtype=np.int64)
    right = np.empty(v.size, dtype=np.int64)
    left[order] = starts[group]
    right[order] = ends[group]
    return left, right


def apply(
    values: np.ndarray,
    *,
    method: str,
    direction: str = "higher",
    unit: np.ndarray | None = None,
    influence_m: float | None = None,
    shape: str = "linear",
    value: float | None = None,
) -> np.ndarray:
    """Transform ``values`` to [0, 1] (1 = most opportunity).

    Parameters
    ----------
    values : ndarray
        The raw measure (NaN = no data, transformed to 0).
    method : {"minmax", "rank", "decay", "threshold"}
        ``minmax``: (v - min) / (max - min) over the unit. ``rank``: mid-rank percentile
        (ties share their average rank) over the unit. ``decay``: for distances, 1 at the
        feature falling to 0 at ``influence_m``, linearly or exponentially (to 5 % at
        ``influence_m``, then 0), as Risk Terrain Modeling's spatial influence. ``threshold``:
        1 where the value is at least ``value`` (direction "higher") or at most ``value``
        ("lower"), else 0.
    direction : {"higher", "lower"}
        Which raw values are riskier; for ``minmax`` and ``rank`` "lower" flips the scale.
        A unit without variation gets 0 (it carries no information), in either direction.
    unit : ndarray of bool, optional
        The cells that define the scale for ``minmax`` and ``rank`` (default: all finite).

    Notes
    -----
    Caplan, J. M., & Kennedy, L. W. (2016). *Risk Terrain Modeling: Crime Prediction and Risk
    Reduction*. University of California Press (spatial influence and its operationalisation).

    Examples
    --------
    >>> apply(np.array([0.0, 5.0, 10.0]), method="minmax").tolist()
    [0.0, 0.5, 1.0]
    >>> apply(np.array([0.0, 2500.0, 6000.0]), method="decay", direction="lower",
    ...       influence_m=5000).tolist()
    [1.0, 0.5, 0.0]
    """
    v = np.asarray(values, dtype=float)
    finite = np.isfinite(v)
    out = np.zeros_like(v)
    if method in ("minmax", "rank"):
        sel = finite if unit is None else (finite & unit)
        ref = v[sel]
        if ref.size == 0:
            return out
        sign = -1.0 if direction == "lower" else 1.0
        fn = _minmax if method == "minmax" else _rank
        out[finite] = fn(sign * v[finite], sign * ref)
    elif method == "decay":
        if influence_m is None or not influence_m > 0:
            raise ValueError("decay needs influence_m > 0")
        d = np.maximum(v[finite], 0.0)
        if shape == "linear":
            t = 1.0 - d / influence_m
        elif shape == "exponential":
            t = np.exp(-math.log(1 / EXP_TAIL) * d / influence_m)
        else:
            raise ValueError(f"shape must be linear or exponential, got {shape!r}")
        out[finite] = np.where(d < influence_m, np.clip(t, 0.0, 1.0), 0.0)
    elif method == "threshold":
        if value is None:
            raise ValueError("threshold needs value")
        hit = v[finite] >= value if direction == "higher" else v[finite] <= value
        out[finite] = hit.astype(float)
    else:
        raise ValueError(f"unknown transform {method!r}")
    return out
