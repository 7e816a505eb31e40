"""Opportunity maps (gelegenheidskaarten): indicators → weighted score → classes per municipality.

Each layer set is a *theme* (``buitengebied``, ``bedrijventerreinen``). Within a theme, every
indicator is transformed to [0, 1] and weighted; its contribution to a cell is
``weight / Σ weights × transformed value``, so the contributions of a cell add up exactly to
its theme score in [0, 1]. When a project lists several themes, the opportunity score of a
cell is the highest theme score (the lens that fits the place: an estate or the countryside),
and the cell records which theme that was; the contributions of that theme add up to it.
Classes (1 = laag … k = hoog) are quantiles within each municipality (mapclassify), or fixed
breaks for maps that are published and compared over time.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from riskmap import transforms
from riskmap.config import IndicatorSpec, LayerSet
from riskmap.grid import Grid, Region

__all__ = ["OpportunityMap", "build", "classify", "score_theme", "with_weights"]


@dataclass
class OpportunityMap:
    """The opportunity map of one municipality, on its cut-out of the region grid.

    Arrays share ``grid``'s shape; outside ``mask`` the score is NaN and the class 0.
    ``contributions`` maps ``"<theme>_<indicator>"`` to that indicator's share of its theme
    score; ``labels`` gives the Dutch label of every contribution column.
    """

    code: str
    name: str
    grid: Grid
    mask: np.ndarray
    score: np.ndarray
    klasse: np.ndarray
    theme: np.ndarray
    themes: tuple[str, ...]
    theme_scores: dict[str, np.ndarray]
    contributions: dict[str, np.ndarray]
    labels: dict[str, str] = field(default_factory=dict)
    breaks: list[float] = field(default_factory=list)


def with_weights(layer_set: LayerSet, weights: dict[str, float]) -> LayerSet:
    """A copy of ``layer_set`` with some indicator weights changed (for what-if analysis).

    Examples
    --------
    >>> from riskmap.config import load_layer_set
    >>> ls = load_layer_set("layers/buitengebied.toml")            # doctest: +SKIP
    >>> ls2 = with_weights(ls, {"afstand_afrit": 0.0})             # doctest: +SKIP
    """
    names = {i.name for i in layer_set.indicator}
    unknown = sorted(set(weights) - names)
    if unknown:
        raise KeyError(f"no indicator {unknown} in theme {layer_set.theme}; "
                       f"indicators: {sorted(names)}")
    data = layer_set.model_dump(exclude_unset=True)
    for ind in data["indicator"]:
        if ind["name"] in weights:
            ind["weight"] = float(weights[ind["name"]])
    return LayerSet.model_validate(data)


def score_theme(
    measures: dict[str, np.ndarray],
    layer_set: LayerSet,
    *,
    unit: np.ndarray | None = None,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Score of one theme and the contribution of each indicator, on any arrays.

    Parameters
    ----------
    measures : dict of str to ndarray
        The raw measure of every indicator of ``layer_set``, by indicator name.
    layer_set : LayerSet
        The indicators with their transforms, directions and weights.
    unit : ndarray of bool, optional
        Cells whose values set the scale of ``minmax`` and ``rank`` transforms.

    Returns
    -------
    score : ndarray
        Weighted mean of the transformed indicators, in [0, 1].
    contributions : dict of str to ndarray
        ``weight / Σ weights × transformed value`` per indicator; they add up to ``score``.
    """
    total_w = sum(i.weight for i in layer_set.indicator)
    contributions: dict[str, np.ndarray] = {}
    for ind in layer_set.indicator:
        t = _transform(measures[ind.name], ind, unit)
        contributions[ind.name] = (ind.weight / total_w) * t
    score = np.sum(list(contributions.values()), axis=0)
    return np.clip(score, 0.0, 1.0), contributions


def _transform(values: np.ndarray, ind: IndicatorSpec, unit: np.ndarray | None) -> np.ndarray:
    tr = ind.transform
    return transforms.apply(values, method=tr.method, direction=ind.direction, unit=unit,
                            influence_m=tr.influence_m, shape=tr.shape, value=tr.value)


def _unmask(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``values`` of the ``mask`` cells back on the mask's shape (NaN elsewhere)."""
    out = np.full(mask.shape, np.nan)
    out[mask] = values
    return out


def classify(values: np.ndarray, *, k: int = 5, breaks: list[float] | None = None
             ) -> tuple[np.ndarray, list[float]]:
    """Classes 1..k of ``values``: quantiles (default) or fixed upper ``breaks``.

    Returns the classes and the upper bounds of the classes (mapclassify ``bins``).
    With many equal values quantiles can yield fewer than ``k`` distinct classes.
    """
    import mapclassify  # here: it imports scipy.stats, scikit-learn and pyplot (~1.3 s)

    values = np.asarray(values, dtype=float)
    if values.size == 0:
        return np.zeros(0, dtype=np.int8), []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # mapclassify warns on ties; we report bins instead
        if breaks is not None:
            clf = mapclassify.UserDefined(values, bins=[*breaks, 1.0])
            yb, bins = clf.yb, clf.bins
        else:  # mapclassify.Quantiles's bins and classes, without its fit statistics
            bins = mapclassify.classifiers.quantile(values, k=k)
            yb, _ = mapclassify.classifiers.bin1d(values, bins)
    return (np.asarray(yb) + 1).astype(np.int8), [float(b) for b in bins]


def build(
    region: Region,
    layer_sets: list[LayerSet] | tuple[LayerSet, ...],
    measures: dict[str, dict[str, np.ndarray]],
    *,
    codes: list[str] | None = None,
    normalise: str = "municipality",
    classes: int = 5,
    breaks: list[float] | None = None,
) -> list[OpportunityMap]:
    """Opportunity map per municipality from raw measures on the region grid.

    Parameters
    ----------
    region : Region
        The region grid and municipalities.
    layer_sets : list of LayerSet
        One per theme.
    measures : dict
        ``measures[theme][indicator]``: raw measure arrays on ``region.grid``.
    codes : list of str, optional
        Municipality codes to build (default: all).
    normalise : {"municipality", "region"}
        Where ``minmax`` and ``rank`` take their scale: each municipality on its own (a map
        that ranks places within the municipality) or the region as a whole (comparable
        between municipalities).
    classes : int, default=5
        Number of quantile classes per municipality.
    breaks : list of float, optional
        Fixed class upper bounds in (0, 1) instead of quantiles.

    Examples
    --------
    See ``notebooks/01_gelegenheidskaart.ipynb`` and :func:`riskmap.pipeline.opportunity_maps`.
    """
    themes = tuple(ls.theme for ls in layer_sets)
    region_scores: dict[str, tuple[np.ndarray, dict[str, np.ndarray]]] = {}
    if normalise == "region":
        unit = region.labels >= 0
        for ls in layer_sets:
            region_scores[ls.theme] = score_theme(measures[ls.theme], ls, unit=unit)
    elif normalise != "municipality":
        raise ValueError(f"normalise must be 'municipality' or 'region', got {normalise!r}")
    maps = []
    for code in codes or region.codes:
        rows, cols = region.window(code)
        mask = region.mask(code)
        theme_scores: dict[str, np.ndarray] = {}
        contributions: dict[str, np.ndarray] = {}
        labels: dict[str, str] = {}
        for ls in layer_sets:
            if normalise == "region":
                score, contrib = region_scores[ls.theme]
                score = score[rows, cols]
                contrib = {k: v[rows, cols] for k, v in contrib.items()}
            else:  # the municipality's cells only: they are the scale and all that is kept
                cut = {k: v[rows, cols][mask] for k, v in measures[ls.theme].items()}
                score, contrib = score_theme(cut, ls)
                score = _unmask(score, mask)
                contrib = {k: _unmask(v, mask) for k, v in contrib.items()}
            theme_scores[ls.theme] = np.where(mask, score, np.nan)
            for ind in ls.indicator:
                col = f"{ls.theme}_{ind.name}"
                contributions[col] = np.where(mask, contrib[ind.name], np.nan)
                labels[col] = ind.label
        stack = np.stack([np.where(mask, theme_scores[t], -1.0) for t in themes])
        winner = np.argmax(stack, axis=0).astype(np.int8)
        score = np.where(mask, np.max(stack, axis=0), np.nan)
        klasse = np.zeros(mask.shape, dtype=np.int8)
        kl, bins = classify(score[mask], k=classes, breaks=breaks)
        klasse[mask] = kl
        maps.append(OpportunityMap(
            code=code, name=region.name(code), grid=region.grid.subgrid(rows, cols), mask=mask,
            score=score, klasse=klasse, theme=np.where(mask, winner, -1).astype(np.int8),
            themes=themes, theme_scores=theme_scores, contributions=contributions,
            labels=labels, breaks=bins,
        ))
    return maps
