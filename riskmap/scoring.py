"""Scoring of candidate premises: ranked risk locations with their reasons in Dutch.

Candidates are premises in the BAG shape (verblijfsobjecten), scoped to ``bedrijventerrein``
(inside an industrial-estate polygon) and ``buitengebied`` (outside built-up areas: few
addresses around). Each premise gets features — its map context (opportunity, risk, zone of
its cell, distance to the nearest priority zone), object attributes (registrations per
address, vacancy, size, age), police signals within a window (sensitive) and inspection
history — and the ``weighted`` scorer adds transparent weights × transformed features: the
contributions of a premise add up exactly to its score. The three largest contributions
become its reasons, in plain Dutch.

A fairness guard refuses protected or proxy attributes (nationality, ethnicity, country of
birth, licence-plate country, religion …) and warns when the top of the list piles up in one
sector or one estate (the Ekkersrijt lesson: eight car businesses inspected on weak
indicators, nothing found).
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from riskmap import transforms
from riskmap.errors import ConfigError, RiskmapWarning

__all__ = [
    "DENYLIST",
    "Ranking",
    "check_fairness_config",
    "concentration_warnings",
    "reasons",
    "score_weighted",
]

#: Attributes (and proxies) a risk score may never use; matched on words in names/columns.
DENYLIST = ("nationaliteit", "nationality", "etniciteit", "ethnicity", "etnisch", "afkomst",
            "herkomst", "origin", "geboorteland", "country_of_birth", "birth_country",
            "geboorteplaats", "kenteken_land", "landcode_kenteken", "plate_country",
            "licence_plate_country", "license_plate_country", "religie", "religion", "geloof",
            "moskee", "kerk", "ras", "race", "huidskleur", "taal", "language", "migratie",
            "migration", "achternaam", "surname", "voornaam", "first_name")


def _words(text: str) -> set[str]:
    t = text.lower()
    return set(re.split(r"[^a-z0-9]+", t)) | {t}


def check_fairness_config(names: dict[str, str], *, where: str) -> None:
    """Refuse features whose name, label or column is a protected or proxy attribute.

    ``names`` maps a description (``[[scoring.feature]] #2 (…) column``) to the text.
    """
    bad = []
    for desc, text in names.items():
        if text is None:
            continue
        w = _words(str(text))
        hit = [d for d in DENYLIST if d in w or "_".join(d.split()) in str(text).lower()]
        if hit:
            bad.append(f"{desc} = {text!r} ({hit[0]})")
    if bad:
        raise ConfigError(
            f"{where}: protected or proxy attributes may not be used for scoring: "
            f"{'; '.join(bad)}. Remove these features: nationality, ethnicity, country of "
            "birth, licence-plate country, religion and their proxies are never a reason to "
            "inspect (AVG art. 9, Algemene wet gelijke behandeling).",
            code="E-CONFIG-FAIRNESS")


@dataclass
class Ranking:
    """A ranked list: ``table`` has one row per premise, best first."""

    table: pd.DataFrame
    contributions: pd.DataFrame
    features: dict[str, dict]
    model_report: dict | None = None


def score_weighted(values: pd.DataFrame, features: list[dict]) -> tuple[np.ndarray, pd.DataFrame]:
    """Score = Σ contributions; contribution = weight / Σ weights × transformed feature.

    Parameters
    ----------
    values : DataFrame
        One column per feature ``name`` with the raw value (NaN = unknown → 0).
    features : list of dict
        Each with ``name``, ``transform`` (dict with ``method`` and its parameters, as for
        indicators), ``direction`` and ``weight``.

    Returns
    -------
    score : ndarray
        In [0, 1].
    contributions : DataFrame
        One column per feature; rows add up to ``score`` exactly (up to float rounding).
    """
    total = sum(float(f["weight"]) for f in features)
    if not total > 0:
        raise ConfigError("the scoring weights are all zero: give at least one feature a "
                          "weight above 0.", code="E-CONFIG-WEIGHT")
    contrib = {}
    for f in features:
        tr = dict(f["transform"])
        t = transforms.apply(values[f["name"]].to_numpy(dtype=float), method=tr.pop("method"),
                             direction=f["direction"], **tr)
        contrib[f["name"]] = float(f["weight"]) / total * t
    frame = pd.DataFrame(contrib, index=values.index)
    return frame.sum(axis=1).to_numpy(), frame


def _fmt(value: float) -> str:
    """Dutch text of a number: 23 -> "23", 0.64 -> "0,6", NaN -> "onbekend"."""
    if not np.isfinite(value):
        return "onbekend"
    if float(value).is_integer():
        return f"{int(value):,}".replace(",", ".")
    return f"{value:,.1f}".replace(",", "X").replace(".", ",").replace("X", ".")


def reasons(values: pd.DataFrame, contributions: pd.DataFrame, features: list[dict], *,
            top: int = 3) -> list[str]:
    """The ``top`` largest positive contributions of each premise as Dutch sentences.

    A feature's ``reason`` template fills ``{waarde}`` with the premise's raw value, e.g.
    ``"{waarde} inschrijvingen op dit adres"`` or ``"ligt in een prioriteitszone"``.
    Sentences are formatted once per distinct value and gathered with array indexing, so
    1.5 M premises take seconds.
    """
    names = list(contributions.columns)
    n = len(contributions)
    if not n:
        return []
    templates = {f["name"]: f.get("reason") or f.get("label") or f["name"] for f in features}
    texts = np.empty((len(names), n), dtype=object)  # every feature's sentence per premise
    for k, name in enumerate(names):  # a loop over features, not premises
        template = templates[name]
        if "{waarde}" in template:
            codes, uniq = pd.factorize(values[name].to_numpy(dtype=float), use_na_sentinel=False)
            sentences = np.array([template.replace("{waarde}", _fmt(u)) for u in uniq],
                                 dtype=object)
            texts[k] = sentences[codes]
        else:
            texts[k] = template
    c = contributions.to_numpy()
    order = np.argsort(-c, axis=1, kind="stable")[:, :top]
    rows = np.arange(n)
    out = np.full(n, "", dtype=object)
    for p in range(order.shape[1]):  # top positions, not premises
        j = order[:, p]
        keep = c[rows, j] > 0
        part = np.where(keep, texts[j, rows], "")
        glue = np.where(keep & (out != ""), "; ", "")
        out = out + glue + part
    return out.tolist()


def concentration_warnings(top: pd.DataFrame, *, columns: dict[str, str],
                           max_share: float = 0.5) -> list[str]:
    """Warn when more than ``max_share`` of the top-k falls in one sector or one estate."""
    msgs = []
    n = len(top)
    if n < 4:
        return msgs
    for col, what in columns.items():
        if col not in top.columns:
            continue
        counts = top[col].dropna().astype(str)
        counts = counts[counts != ""].value_counts()
        if len(counts) and counts.iloc[0] / n > max_share:
            msgs.append(f"{counts.iloc[0]} of the top {n} premises ({counts.iloc[0] / n:.0%}) "
                        f"share one {what} ({counts.index[0]}). A list that piles up in one "
                        "sector or estate may follow weak indicators (Ekkersrijt: eight car "
                        "businesses inspected, nothing found): check the weights.")
    for m in msgs:
        warnings.warn(m, RiskmapWarning, stacklevel=2)
    return msgs
