"""The ``model`` scorer: a classifier trained on past inspection outcomes.

Where the ``weighted`` scorer (:mod:`riskmap.scoring`) adds transparent weights that people
chose, :class:`OutcomeModel` learns the chance that an inspection finds something
(``bevestigd``) from the features of premises that were inspected before. Outcomes exist only
where someone looked, and most past inspections followed police attention, so a model fitted
naively on all outcomes learns where the police looked, not where something is to be found.
The model therefore trains either on the random *exploration* inspections only (an unbiased
sample) or on all inspections with inverse-propensity weights; see :class:`OutcomeModel`.

:func:`labels_from_outcomes` turns the inspections table (``uitkomst``, ``verkenning``) into
the ``label``/``exploration`` frame that :meth:`OutcomeModel.fit` takes.
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.inspection import permutation_importance
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from riskmap.errors import ConfigError, InputError
from riskmap.scoring import check_fairness_config

__all__ = ["OUTCOME_LABELS", "OutcomeModel", "labels_from_outcomes"]

#: Dutch inspection outcomes and their label: 1 = something found.
OUTCOME_LABELS = {"bevestigd": 1, "ontkracht": 0, "geen bevindingen": 0}

#: Propensities are clipped to this range before weighting (weights at most 50).
PROPENSITY_CLIP = (0.02, 1.0)

#: From this many training labels on, calibration is isotonic instead of sigmoid (Platt).
ISOTONIC_MIN_LABELS = 1000

_TRUE = {"ja", "j", "true", "1", "yes", "y", "waar"}


def labels_from_outcomes(df: pd.DataFrame) -> pd.DataFrame:
    """Map Dutch inspection outcomes to labels: ``bevestigd`` → 1, the others → 0.

    Parameters
    ----------
    df : DataFrame
        Past inspections with column ``uitkomst`` (``bevestigd``, ``ontkracht`` or
        ``geen bevindingen``; case and surrounding spaces are ignored) and optionally
        ``verkenning`` (exploration slot: bool or ``ja``/``nee``), ``premise_id`` and
        ``datum``.

    Returns
    -------
    DataFrame
        Columns ``label`` (int 0/1) and ``exploration`` (bool, False when ``verkenning`` is
        absent), indexed by ``premise_id`` when that column exists (else by ``df.index``).
        A premise inspected more than once keeps its most recent *exploration* inspection
        when it has one, else its most recent inspection (by ``datum`` when present, else
        the last row): the unbiased label of a randomly chosen visit is not overwritten by a
        later visit that the ranking chose (the feedback-loop guard trains on exploration).

    Raises
    ------
    InputError
        ``E-SCORING-OUTCOME`` when an outcome is not one of the allowed values; the message
        lists the allowed values and the first offending row.

    Examples
    --------
    >>> df = pd.DataFrame({"premise_id": ["a", "b", "c"],
    ...                    "uitkomst": ["bevestigd", "ontkracht", "geen bevindingen"],
    ...                    "verkenning": ["ja", "nee", "nee"]})
    >>> out = labels_from_outcomes(df)
    >>> out["label"].to_dict()
    {'a': 1, 'b': 0, 'c': 0}
    >>> out["exploration"].tolist()
    [True, False, False]
    >>> again = pd.DataFrame({"premise_id": ["a", "a"], "uitkomst": ["bevestigd", "ontkracht"],
    ...                       "verkenning": ["ja", "nee"], "datum": ["2022-01-01", "2022-06-01"]})
    >>> labels_from_outcomes(again)["label"].to_dict()  # the exploration visit is kept
    {'a': 1}
    """
    if "uitkomst" not in df.columns:
        raise InputError(f"inspections: column 'uitkomst' not found; columns: "
                         f"{', '.join(map(str, df.columns))}.", code="E-INPUT-COLUMN")
    norm = df["uitkomst"].astype("string").str.strip().str.lower()
    label = norm.map(OUTCOME_LABELS)
    bad = label.isna().to_numpy()
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        where = (f"premise_id {df['premise_id'].iloc[first]!r}" if "premise_id" in df.columns
                 else f"index {df.index[first]!r}")
        raise InputError(
            f"inspections: {int(bad.sum())} outcome(s) are not one of "
            f"{', '.join(repr(o) for o in OUTCOME_LABELS)} (first at row {first} ({where}): "
            f"{df['uitkomst'].iloc[first]!r}). Use one of these values in 'uitkomst'.",
            code="E-SCORING-OUTCOME")
    if "verkenning" in df.columns:
        v = df["verkenning"]
        explo = (v.fillna(False).astype(bool) if v.dtype == bool
                 else v.astype("string").str.strip().str.lower().isin(_TRUE).fillna(False))
    else:
        explo = pd.Series(False, index=df.index)
    out = pd.DataFrame({"label": label.astype(int).to_numpy(),
                        "exploration": explo.astype(bool).to_numpy()}, index=df.index)
    # last in this order wins: exploration after ranked, then by date (else row order)
    when = (pd.to_datetime(df["datum"]).to_numpy() if "datum" in df.columns
            else np.arange(len(df)))
    order = np.lexsort((when, out["exploration"].to_numpy()))
    ids = df["premise_id"].iloc[order] if "premise_id" in df.columns else None
    kept = np.sort(order[~pd.Index(ids if ids is not None else out.index[order]).duplicated(
        keep="last")])  # the chosen rows, back in their order by date (else row order)
    kept = kept[np.argsort(when[kept], kind="stable")]
    out = out.iloc[kept]
    ids = df["premise_id"].iloc[kept] if ids is not None else None
    if ids is not None:
        out.index = pd.Index(ids.to_numpy(), name="premise_id")
    return out


def _precision_at_k(y: np.ndarray, p: np.ndarray, w: np.ndarray, k: int) -> float:
    """(Weighted) share of positives among the ``k`` highest ``p`` (k capped at len(y))."""
    top = np.argsort(-p, kind="stable")[: min(k, len(y))]
    return float(np.sum(w[top] * y[top]) / np.sum(w[top]))


class OutcomeModel(BaseEstimator):
    """Calibrated P(something found) per premise, learned from past inspection outcomes.

    Parameters
    ----------
    method : {"logistic", "gradient_boosting"}, default="logistic"
        ``"logistic"``: median imputation + :class:`~sklearn.preprocessing.StandardScaler` +
        :class:`~sklearn.linear_model.LogisticRegression` (explainable per premise).
        ``"gradient_boosting"``: median imputation +
        :class:`~sklearn.ensemble.HistGradientBoostingClassifier`.
    training : {"exploration", "ipw"}, default="exploration"
        ``"exploration"``: fit only on the inspections flagged as exploration (``verkenning``):
        premises picked at random, so an unbiased sample of the candidates.
        ``"ipw"``: fit on all labelled inspections, each weighted by 1 / P(inspected | X),
        the propensity estimated by a logistic regression of inspected (1) against all other
        candidates (0) on the same features and clipped to [0.02, 1].
    min_labels : int, default=30
        Refuse to fit with fewer usable training labels.
    min_positives : int, default=5
        Refuse to fit with fewer than this many labels of either class (at least 3).
    cv : int, default=5
        Folds of the cross-validation (:attr:`cv_report_`) and of the calibration; capped at
        the size of the smaller class.
    k : tuple of int, default=(10, 20)
        List lengths for precision@k and lift@k in :attr:`cv_report_`.
    random_state : int, RandomState or None, default=0
        Seed of the fold shuffles, the gradient boosting and the permutation importance.

    Attributes
    ----------
    model_ : Pipeline
        Imputer (+ scaler) and the :class:`~sklearn.calibration.CalibratedClassifierCV`.
    calibration_ : str
        ``"sigmoid"``, or ``"isotonic"`` from 1000 training labels on.
    feature_names_in_ : ndarray of str
        The columns of ``X`` at fit, in order; later ``X`` must have them (extra columns are
        ignored).
    coef_ : Series
        (logistic only) Coefficient per standardised feature, averaged over the calibration
        folds.
    feature_importances_ : Series
        Permutation importance (drop in ROC AUC on the training labels) per feature.
    propensity_ : Series
        (ipw only) Clipped P(inspected | X) per candidate premise of ``X`` at fit.
    cv_report_ : dict
        Cross-validated quality on the training labels: ``auc``, ``auc_std``,
        ``precision_at_k`` {k: float}, ``lift_at_k`` {k: precision@k / base rate},
        ``base_rate``, ``n_labels``, ``n_positive``, ``n_folds``, ``training``, ``method``,
        ``calibration``, ``weighted`` and ``n_unmatched`` (labelled premises not in ``X``,
        ignored); with ``ipw`` also ``ipw_effective_n`` and ``ipw_max_weight``.

    Notes
    -----
    **Why not fit on all outcomes.** Inspections that followed police attention are a
    selected sample: a model fitted on them predicts where the police look, and a ranking
    based on it sends inspectors back to the same places, whose findings then confirm the
    model — a runaway feedback loop (Lum & Isaac 2016; Ensign et al. 2018). Two remedies:

    * ``training="exploration"`` uses only the random exploration inspections. Unbiased, but
      often few labels; the model refuses to fit below ``min_labels``/``min_positives``.
    * ``training="ipw"`` uses all inspections, weighting each by the inverse of its estimated
      probability of being inspected (Horvitz & Thompson 1952; for missing-label problems see
      Lakkaraju et al. 2017). This corrects selection only on the features in ``X``
      ("selection on observables"): when police attention followed things that are not in
      ``X``, the bias remains. Clipping the propensity at 0.02 caps a weight at 50, trading
      some bias for variance; ``ipw_effective_n`` = (Σw)² / Σw² shows how many labels the
      weighted sample is worth.

    With ``ipw`` the cross-validated metrics are weighted too (estimates for the candidate
    population under the propensity model); with ``exploration`` they are plain.

    Probabilities are calibrated with :class:`~sklearn.calibration.CalibratedClassifierCV`
    (Platt's sigmoid; isotonic from 1000 labels on, where it no longer overfits). The
    cross-validation refits the whole procedure per fold (:class:`StratifiedKFold`, shuffled)
    and computes precision@k on each held-out fold's top k, k capped at the fold size.

    ``predict_proba`` returns a 1-D array of P(found), and ``score(X)`` the same for the
    ranking: unlike scikit-learn classifiers, ``score`` is not a metric of ``(X, y)``.

    References
    ----------
    K. Lum and W. Isaac (2016). To predict and serve? *Significance* 13(5), 14–19.
    D. Ensign, S. A. Friedler, S. Neville, C. Scheidegger and S. Venkatasubramanian (2018).
    Runaway feedback loops in predictive policing. Conference on Fairness, Accountability
    and Transparency (FAT* 2018), PMLR 81, 160–171.
    D. G. Horvitz and D. J. Thompson (1952). A generalization of sampling without replacement
    from a finite universe. *JASA* 47(260), 663–685.
    H. Lakkaraju et al. (2017). The selective labels problem. *KDD 2017*.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame(rng.normal(size=(600, 2)), columns=["f1", "f2"],
    ...                  index=pd.Index([f"p{i}" for i in range(600)], name="premise_id"))
    >>> y = (rng.uniform(size=600) < 1 / (1 + np.exp(2 - 2 * X["f1"]))).astype(int)
    >>> inspected = pd.DataFrame({"label": y, "exploration": True}, index=X.index)[::3]
    >>> model = OutcomeModel().fit(X, inspected)
    >>> model.cv_report_["auc"] > 0.7
    True
    >>> model.explain(X.loc[["p0"]])  # doctest: +SKIP
    [[('f1', 0.52)]]
    """

    def __init__(self, *, method: str = "logistic", training: str = "exploration",
                 min_labels: int = 30, min_positives: int = 5, cv: int = 5,
                 k: tuple[int, ...] = (10, 20), random_state=0) -> None:
        self.method = method
        self.training = training
        self.min_labels = min_labels
        self.min_positives = min_positives
        self.cv = cv
        self.k = k
        self.random_state = random_state

    # ------------------------------------------------------------------ validation

    def _check_params(self) -> None:
        bad = []
        if self.method not in ("logistic", "gradient_boosting"):
            bad.append(f"method={self.method!r} (use 'logistic' or 'gradient_boosting')")
        if self.training not in ("exploration", "ipw"):
            bad.append(f"training={self.training!r} (use 'exploration' or 'ipw')")
        for name, low in (("min_labels", 2), ("min_positives", 3), ("cv", 2)):
            v = getattr(self, name)
            if not isinstance(v, numbers.Integral) or isinstance(v, bool) or v < low:
                bad.append(f"{name}={v!r} (an integer of at least {low})")
        ks = self.k if isinstance(self.k, tuple | list) else (self.k,)
        if not ks or not all(isinstance(x, numbers.Integral) and not isinstance(x, bool)
                             and x >= 1 for x in ks):
            bad.append(f"k={self.k!r} (positive integers, e.g. (10, 20))")
        if bad:
            raise ConfigError(f"OutcomeModel: invalid parameter(s): {'; '.join(bad)}.",
                              code="E-CONFIG-MODEL")

    def _check_features(self, X, *, fit: bool) -> pd.DataFrame:
        if not isinstance(X, pd.DataFrame):
            raise InputError(f"OutcomeModel: X must be a DataFrame of features indexed by "
                             f"premise_id, got {type(X).__name__}.", code="E-MODEL-FEATURES")
        if fit:
            cols = list(X.columns)
            check_fairness_config({f"feature column #{i + 1}": str(c) for i, c in
                                   enumerate(cols)}, where="OutcomeModel.fit X")
            if not cols or len(X) == 0:
                raise InputError("OutcomeModel: X has no columns or no rows.",
                                 code="E-MODEL-FEATURES")
        else:
            cols = list(self.feature_names_in_)
            missing = [c for c in cols if c not in X.columns]
            if missing:
                raise InputError(f"OutcomeModel: X lacks the feature column(s) {missing} the "
                                 f"model was fitted on ({', '.join(cols)}).",
                                 code="E-MODEL-FEATURES")
        X = X[cols]
        nonnum = [c for c in cols if not pd.api.types.is_numeric_dtype(X[c])]
        if nonnum:
            raise InputError(f"OutcomeModel: feature column(s) {nonnum} are not numeric; "
                             "encode them as numbers first.", code="E-MODEL-FEATURES")
        return X

    # ------------------------------------------------------------------ building blocks

    def _prep(self) -> Pipeline:
        steps = [("impute", SimpleImputer(strategy="median", keep_empty_features=True))]
        if self.method == "logistic":
            steps.append(("scale", StandardScaler()))
        return Pipeline(steps)

    def _base(self):
        if self.method == "logistic":
            return LogisticRegression(max_iter=1000)
        return HistGradientBoostingClassifier(random_state=self.random_state)

    def _fit_one(self, X: np.ndarray, y: np.ndarray, w: np.ndarray, calibration: str):
        """Fit preprocessing + calibrated classifier; return them."""
        prep = self._prep().fit(X)
        n_min = int(min(np.sum(y == 1), np.sum(y == 0)))
        inner = StratifiedKFold(n_splits=max(2, min(self.cv, n_min)), shuffle=True,
                                random_state=self.random_state)
        clf = CalibratedClassifierCV(self._base(), method=calibration, cv=inner)
        clf.fit(prep.transform(X), y, sample_weight=w)
        return prep, clf

    # ------------------------------------------------------------------ API

    def fit(self, X: pd.DataFrame, inspected: pd.DataFrame) -> OutcomeModel:
        """Fit on the labelled premises of ``X``; cross-validate into :attr:`cv_report_`.

        Parameters
        ----------
        X : DataFrame
            Numeric features of ALL candidate premises, indexed by premise_id; NaN is imputed
            with the column median.
        inspected : DataFrame
            Indexed by premise_id (unique), with ``label`` (0/1; NaN = no outcome, ignored)
            and ``exploration`` (bool; required for ``training="exploration"``), e.g. from
            :func:`labels_from_outcomes`. Premises not in ``X`` are ignored (counted in
            ``cv_report_["n_unmatched"]``).

        Returns
        -------
        self : OutcomeModel

        Raises
        ------
        InputError
            ``E-MODEL-LABELS`` with too few usable labels, or too few of either class;
            ``E-MODEL-INSPECTED`` when ``inspected`` is malformed; ``E-MODEL-FEATURES`` when
            ``X`` is not a numeric DataFrame.
        ConfigError
            ``E-CONFIG-MODEL`` for invalid parameters; ``E-CONFIG-FAIRNESS`` when a column of
            ``X`` is a protected or proxy attribute.
        """
        self._check_params()
        # Label sets are small (hundreds to a few thousand rows): OpenMP threads in the
        # gradient boosting cost more to start than they save (seconds per fit on busy hosts).
        with threadpool_limits(limits=1, user_api="openmp"):
            return self._fit(X, inspected)

    def _fit(self, X: pd.DataFrame, inspected: pd.DataFrame) -> OutcomeModel:
        X = self._check_features(X, fit=True)
        inspected = self._check_inspected(inspected)
        if X.index.has_duplicates:
            raise InputError("OutcomeModel: X has duplicate premise_ids in its index, e.g. "
                             f"{X.index[X.index.duplicated()][0]!r}.", code="E-MODEL-FEATURES")

        labelled = inspected[inspected["label"].notna()]
        matched = labelled.index.isin(X.index)
        n_unmatched = int((~matched).sum())
        labelled = labelled[matched]
        train = labelled[labelled["exploration"]] if self.training == "exploration" else labelled
        y = train["label"].to_numpy(dtype=int)
        n, n_pos = len(y), int(y.sum())
        n_neg = n - n_pos
        if n < self.min_labels or min(n_pos, n_neg) < self.min_positives:
            which = "exploration inspections" if self.training == "exploration" else \
                "inspections"
            raise InputError(
                f"OutcomeModel(training={self.training!r}) has {n} usable labels from "
                f"{which} ({n_pos} found, {n_neg} not found); it needs at least "
                f"{self.min_labels} labels and at least {self.min_positives} of each class. "
                "Collect more outcomes (exploration inspections), use training='ipw' to use "
                "all inspections, or use the weighted scorer.", code="E-MODEL-LABELS")

        Xa = X.to_numpy(dtype=float)
        rows = X.index.get_indexer(train.index)
        Xt = Xa[rows]
        report_extra: dict = {}
        if self.training == "ipw":
            inspected_mask = X.index.isin(labelled.index)
            prop = np.ones(len(X))
            if not inspected_mask.all():
                pm = Pipeline([("impute", SimpleImputer(strategy="median",
                                                        keep_empty_features=True)),
                               ("scale", StandardScaler()),
                               ("clf", LogisticRegression(max_iter=1000))])
                pm.fit(Xa, inspected_mask.astype(int))
                prop = pm.predict_proba(Xa)[:, 1]
                self.propensity_model_ = pm
            prop = np.clip(prop, *PROPENSITY_CLIP)
            self.propensity_ = pd.Series(prop, index=X.index, name="propensity")
            w = 1.0 / prop[rows]
            w = w / w.mean()
            report_extra = {"ipw_effective_n": float(w.sum() ** 2 / np.sum(w ** 2)),
                            "ipw_max_weight": float(w.max())}
        else:
            w = np.ones(n)

        self.calibration_ = "isotonic" if n >= ISOTONIC_MIN_LABELS else "sigmoid"
        self.feature_names_in_ = np.asarray([str(c) for c in X.columns], dtype=object)
        self.n_features_in_ = X.shape[1]

        # cross-validation of the whole procedure
        ks = tuple(int(x) for x in (self.k if isinstance(self.k, tuple | list) else (self.k,)))
        n_folds = max(2, min(self.cv, n_pos, n_neg))
        outer = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=self.random_state)
        aucs, precs = [], {kk: [] for kk in ks}
        for tr, te in outer.split(Xt, y):
            prep, clf = self._fit_one(Xt[tr], y[tr], w[tr], self.calibration_)
            p = clf.predict_proba(prep.transform(Xt[te]))[:, 1]
            aucs.append(roc_auc_score(y[te], p, sample_weight=w[te]))
            for kk in ks:
                precs[kk].append(_precision_at_k(y[te], p, w[te], kk))
        base_rate = float(np.sum(w * y) / np.sum(w))
        prec = {kk: float(np.mean(v)) for kk, v in precs.items()}
        self.cv_report_ = {
            "auc": float(np.mean(aucs)), "auc_std": float(np.std(aucs)),
            "precision_at_k": prec, "lift_at_k": {kk: v / base_rate for kk, v in prec.items()},
            "base_rate": base_rate, "n_labels": n, "n_positive": n_pos, "n_folds": n_folds,
            "training": self.training, "method": self.method, "calibration": self.calibration_,
            "weighted": self.training == "ipw", "n_unmatched": n_unmatched, **report_extra,
        }

        # the final model on all training labels
        prep, clf = self._fit_one(Xt, y, w, self.calibration_)
        self.model_ = Pipeline([*prep.steps, ("clf", clf)])
        names = list(self.feature_names_in_)
        if self.method == "logistic":
            coef = np.mean([c.estimator.coef_[0] for c in clf.calibrated_classifiers_], axis=0)
            self.coef_ = pd.Series(coef, index=names, name="coef")
        imp = permutation_importance(self.model_, Xt, y, scoring="roc_auc", n_repeats=5,
                                     random_state=self.random_state, sample_weight=w)
        self.feature_importances_ = pd.Series(imp.importances_mean, index=names,
                                              name="importance")
        return self

    def _check_inspected(self, inspected) -> pd.DataFrame:
        if not isinstance(inspected, pd.DataFrame) or "label" not in inspected.columns:
            raise InputError("OutcomeModel: inspected must be a DataFrame indexed by "
                             "premise_id with column 'label' (0/1) and 'exploration' (bool); "
                             "make it with riskmap.model.labels_from_outcomes().",
                             code="E-MODEL-INSPECTED")
        if "exploration" not in inspected.columns:
            if self.training == "exploration":
                raise InputError("OutcomeModel(training='exploration'): inspected has no "
                                 "'exploration' column, so no inspection counts as random. "
                                 "Add it (verkenning), or use training='ipw'.",
                                 code="E-MODEL-INSPECTED")
            inspected = inspected.assign(exploration=False)
        if inspected.index.has_duplicates:
            dup = inspected.index[inspected.index.duplicated()][0]
            raise InputError(f"OutcomeModel: inspected has several rows for premise {dup!r}; "
                             "keep one outcome per premise (labels_from_outcomes keeps the "
                             "latest).", code="E-MODEL-INSPECTED")
        lab = pd.to_numeric(inspected["label"], errors="coerce")
        bad = ~(lab.isin([0, 1]) | inspected["label"].isna())
        if bad.any():
            raise InputError(f"OutcomeModel: {int(bad.sum())} labels are not 0 or 1 (first: "
                             f"premise {inspected.index[bad.to_numpy()][0]!r}: "
                             f"{inspected['label'][bad].iloc[0]!r}).", code="E-MODEL-INSPECTED")
        return pd.DataFrame({"label": lab,
                             "exploration": inspected["exploration"].fillna(False).astype(bool)},
                            index=inspected.index)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Calibrated P(something found) per row of ``X``.

        Parameters
        ----------
        X : DataFrame
            With at least the columns the model was fitted on.

        Returns
        -------
        ndarray of shape (n_rows,)
            Probabilities in [0, 1], aligned with the rows of ``X``.
        """
        check_is_fitted(self, "model_")
        X = self._check_features(X, fit=False)
        return self.model_.predict_proba(X.to_numpy(dtype=float))[:, 1]

    def score(self, X: pd.DataFrame) -> np.ndarray:
        """Return the ranking score, the same as :meth:`predict_proba` (not a metric of (X, y))."""
        return self.predict_proba(X)

    def explain(self, X: pd.DataFrame, top: int = 3) -> list[list[tuple[str, float]]]:
        """List the features that push each premise up, largest first.

        Parameters
        ----------
        X : DataFrame
            With at least the columns the model was fitted on.
        top : int, default=3
            At most this many features per row.

        Returns
        -------
        list of list of (str, float)
            ``"logistic"``: per row the features with the largest positive coefficient ×
            standardised value (the row's contribution to the log-odds, relative to an average
            premise). ``"gradient_boosting"``: the model has no per-row decomposition here, so
            every row gets the globally most important features (permutation importance > 0)
            whose value is present (not NaN) in that row, with their importance.
        """
        check_is_fitted(self, "model_")
        X = self._check_features(X, fit=False)
        names = list(self.feature_names_in_)
        if self.method == "logistic":
            z = self.model_[:-1].transform(X.to_numpy(dtype=float))
            contrib = z * self.coef_.to_numpy()
            order = np.argsort(-contrib, axis=1, kind="stable")[:, :top]
            return [[(names[j], float(contrib[i, j])) for j in idx if contrib[i, j] > 0]
                    for i, idx in enumerate(order)]
        imp = self.feature_importances_.sort_values(ascending=False, kind="stable")
        imp = imp[imp > 0]
        present = X.notna().to_numpy()
        col = {c: j for j, c in enumerate(names)}
        return [[(c, float(v)) for c, v in imp.items() if present[i, col[c]]][:top]
                for i in range(len(X))]
