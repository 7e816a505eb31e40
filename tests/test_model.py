"""OutcomeModel: learns the truth despite a biased selector, calibrated, refuses thin data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.metrics import roc_auc_score

from riskmap.errors import ConfigError, InputError
from riskmap.model import OutcomeModel, labels_from_outcomes

N, N_POLICE, N_EXPLORE = 3000, 850, 150  # 15 % of the inspections are exploration


def make_world(seed: int = 0):
    """3000 candidates; truth logit = -3 + 2 f1 + 1.5 f2; police attention follows f3 only."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(N, 4)), columns=["f1", "f2", "f3", "f4"],
                     index=pd.Index([f"vbo{i:05d}" for i in range(N)], name="premise_id"))
    p = 1 / (1 + np.exp(-(-3 + 2 * X["f1"].to_numpy() + 1.5 * X["f2"].to_numpy())))
    truth = (rng.uniform(size=N) < p).astype(int)
    attention = np.exp(1.5 * X["f3"].to_numpy())
    police = rng.choice(N, N_POLICE, replace=False, p=attention / attention.sum())
    explored = rng.choice(np.setdiff1d(np.arange(N), police), N_EXPLORE, replace=False)
    chosen = np.concatenate([police, explored])
    inspected = pd.DataFrame({"label": truth[chosen],
                              "exploration": np.arange(chosen.size) >= N_POLICE},
                             index=X.index[chosen])
    X.iloc[rng.integers(0, N, 40), 3] = np.nan  # some unknowns: imputed with the median
    return X, truth, inspected


@pytest.fixture(scope="module")
def world():
    return make_world(0)


@pytest.fixture(scope="module")
def fitted(world):
    X, _, inspected = world
    return {t: OutcomeModel(training=t).fit(X, inspected) for t in ("exploration", "ipw")}


@pytest.mark.parametrize("training", ["exploration", "ipw"])
def test_ranks_the_candidates_better_than_random(world, fitted, training):
    X, truth, _ = world
    s = fitted[training].score(X)
    assert s.shape == (N,)
    assert roc_auc_score(truth, s) > 0.75
    top = np.argsort(-s, kind="stable")[:100]
    assert truth[top].mean() > 2 * truth.mean()


@pytest.mark.parametrize("training", ["exploration", "ipw"])
def test_cv_report(world, fitted, training):
    _, _, inspected = world
    r = fitted[training].cv_report_
    assert {"auc", "auc_std", "precision_at_k", "lift_at_k", "n_labels", "n_positive",
            "training", "method", "calibration", "base_rate", "n_folds"} <= set(r)
    assert 0.75 < r["auc"] <= 1 and 0 <= r["auc_std"] < 0.2
    assert set(r["precision_at_k"]) == set(r["lift_at_k"]) == {10, 20}
    for k in (10, 20):
        assert 0 <= r["precision_at_k"][k] <= 1
        assert r["lift_at_k"][k] > 1
        assert r["lift_at_k"][k] == pytest.approx(r["precision_at_k"][k] / r["base_rate"])
    train = inspected[inspected["exploration"]] if training == "exploration" else inspected
    assert r["n_labels"] == len(train) and r["n_positive"] == int(train["label"].sum())
    assert r["training"] == training and r["method"] == "logistic"
    # Platt scaling for the 150 exploration labels, isotonic from 1000 labels on
    assert r["calibration"] == ("isotonic" if len(train) >= 1000 else "sigmoid")
    assert r["n_unmatched"] == 0
    assert r["weighted"] is (training == "ipw")
    if training == "ipw":
        assert 0 < r["ipw_effective_n"] < r["n_labels"] and r["ipw_max_weight"] > 1


def test_ipw_propensity_follows_the_biased_selector(world, fitted):
    X, _, _ = world
    prop = fitted["ipw"].propensity_
    assert prop.index.equals(X.index)
    assert prop.min() >= 0.02 and prop.max() <= 1
    assert np.corrcoef(prop, X["f3"])[0, 1] > 0.5  # police attention: f3
    assert abs(np.corrcoef(prop, X["f1"])[0, 1]) < 0.2


def test_calibrated_on_the_training_labels(world, fitted):
    X, _, inspected = world
    train = inspected[inspected["exploration"]]
    p = fitted["exploration"].predict_proba(X.loc[train.index])
    assert ((p >= 0) & (p <= 1)).all()
    assert abs(p.mean() - train["label"].mean()) < 0.05


def test_refuses_too_few_labels(world):
    X, _, inspected = world
    pos = inspected[inspected["label"] == 1].index[:6]
    neg = inspected[inspected["label"] == 0].index[:6]
    few = inspected.loc[pos.append(neg)].assign(exploration=True)
    with pytest.raises(InputError, match=r"has 12 usable labels .*6 found, 6 not found.*"
                                         r"needs at least 30 labels") as e:
        OutcomeModel().fit(X, few)
    assert e.value.code == "E-MODEL-LABELS"


def test_refuses_too_few_of_one_class(world):
    X, _, inspected = world
    pos = inspected[inspected["label"] == 1].index[:3]
    neg = inspected[inspected["label"] == 0].index[:60]
    thin = inspected.loc[pos.append(neg)]
    with pytest.raises(InputError, match=r"63 usable labels .*3 found.*at least 5 of each"):
        OutcomeModel(training="ipw").fit(X, thin)


def test_exploration_needs_the_flag_and_ignores_unknown_premises(world):
    X, _, inspected = world
    with pytest.raises(InputError, match="no 'exploration' column") as e:
        OutcomeModel().fit(X, inspected[["label"]])
    assert e.value.code == "E-MODEL-INSPECTED"
    extra = pd.DataFrame({"label": [1, 0], "exploration": [True, True]},
                         index=["gesloopt1", "gesloopt2"])
    m = OutcomeModel(cv=3).fit(X, pd.concat([inspected, extra]))
    assert m.cv_report_["n_unmatched"] == 2
    assert m.cv_report_["n_labels"] == N_EXPLORE


def test_estimator_contract(world, fitted):
    X, _, inspected = world
    model = OutcomeModel(training="ipw", k=(5,), random_state=3)
    assert model.get_params()["k"] == (5,)
    twin = clone(model)
    assert twin.get_params() == model.get_params() and not hasattr(twin, "model_")
    with pytest.raises(NotFittedError):
        twin.predict_proba(X)
    a = model.fit(X, inspected)
    assert a is model
    b = clone(model).fit(X, inspected)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert a.cv_report_ == b.cv_report_
    np.testing.assert_array_equal(a.score(X), a.predict_proba(X))
    # columns are taken by name; extra columns are ignored, missing ones refused
    shuffled = X[["f4", "f3", "f2", "f1"]].assign(extra=1.0)
    np.testing.assert_allclose(a.predict_proba(shuffled), a.predict_proba(X))
    with pytest.raises(InputError, match=r"lacks the feature column\(s\) \['f2'\]"):
        a.predict_proba(X.drop(columns="f2"))


def test_invalid_parameters_and_protected_features(world):
    X, _, inspected = world
    with pytest.raises(ConfigError, match=r"method='forest'.*training='all'") as e:
        OutcomeModel(method="forest", training="all").fit(X, inspected)
    assert e.value.code == "E-CONFIG-MODEL"
    with pytest.raises(ConfigError, match="protected or proxy attributes"):
        OutcomeModel().fit(X.rename(columns={"f4": "nationaliteit"}), inspected)


def test_explain_logistic_names_the_true_drivers(world, fitted):
    X, _, _ = world
    model = fitted["exploration"]
    assert model.coef_["f1"] > model.coef_["f3"] and model.coef_["f2"] > model.coef_["f4"]
    rows = X.iloc[:50]
    out = model.explain(rows, top=2)
    assert len(out) == 50
    for reasons in out:
        assert len(reasons) <= 2
        values = [v for _, v in reasons]
        assert all(v > 0 for v in values) and values == sorted(values, reverse=True)
    hot = pd.DataFrame({"f1": [3.0], "f2": [0.0], "f3": [0.0], "f4": [0.0]}, index=["x"])
    assert model.explain(hot)[0][0][0] == "f1"


def test_gradient_boosting_with_global_explanations(world):
    X, truth, inspected = world
    model = OutcomeModel(method="gradient_boosting", cv=3).fit(X, inspected)
    assert roc_auc_score(truth, model.score(X)) > 0.75
    imp = model.feature_importances_
    assert set(imp.sort_values(ascending=False).index[:2]) == {"f1", "f2"}
    rows = X.iloc[:3].copy()
    rows.iloc[0, 0] = np.nan  # f1 unknown for the first row: not offered as a reason
    out = model.explain(rows, top=2)
    assert [name for name, _ in out[1]] == list(imp.sort_values(ascending=False).index[:2])
    assert "f1" not in [name for name, _ in out[0]]
    assert not hasattr(model, "coef_")


def test_labels_from_outcomes():
    df = pd.DataFrame({
        "premise_id": ["a", "b", "c", "a"],
        "datum": ["2021-05-01", "2020-01-01", "2022-03-03", "2019-02-02"],
        "uitkomst": ["Bevestigd", "ontkracht", " geen bevindingen", "ontkracht"],
        "verkenning": ["ja", "nee", "Ja", "nee"],
    })
    out = labels_from_outcomes(df)
    assert out.index.name == "premise_id"
    assert out.sort_index().to_dict("index") == {
        "a": {"label": 1, "exploration": True},  # the latest of a's two inspections
        "b": {"label": 0, "exploration": False},
        "c": {"label": 0, "exploration": True},
    }
    plain = labels_from_outcomes(pd.DataFrame({"uitkomst": ["bevestigd", "ontkracht"]}))
    assert plain["label"].tolist() == [1, 0] and not plain["exploration"].any()


def test_labels_from_outcomes_refuses_unknown_outcomes():
    df = pd.DataFrame({"premise_id": ["a", "b", "c"],
                       "uitkomst": ["bevestigd", "onbekend", "misschien"]})
    with pytest.raises(InputError, match=r"2 outcome\(s\) are not one of 'bevestigd', "
                                         r"'ontkracht', 'geen bevindingen' \(first at row 1 "
                                         r"\(premise_id 'b'\): 'onbekend'\)") as e:
        labels_from_outcomes(df)
    assert e.value.code == "E-SCORING-OUTCOME"
