"""Scoring: contributions add up, reasons, fairness guard, outputs read back, bad input."""

from __future__ import annotations

import numpy as np
import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import invoke
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from riskmap import scoring
from riskmap.cli import main
from riskmap.errors import ConfigError, RiskmapWarning

FEATURES = [
    {"name": "a", "transform": {"method": "minmax"}, "direction": "higher", "weight": 2.0},
    {"name": "b", "transform": {"method": "rank"}, "direction": "lower", "weight": 1.0},
    {"name": "c", "transform": {"method": "threshold", "value": 0.5}, "direction": "higher",
     "weight": 0.5},
]


@settings(max_examples=60, deadline=None)
@given(a=arrays(np.float64, 30, elements=st.floats(0, 100)),
       b=arrays(np.float64, 30, elements=st.floats(-5, 5)),
       c=arrays(np.float64, 30, elements=st.floats(0, 1)))
def test_contributions_add_up_to_the_score(a, b, c):
    values = pd.DataFrame({"a": a, "b": b, "c": c})
    score, contrib = scoring.score_weighted(values, FEATURES)
    np.testing.assert_allclose(contrib.sum(axis=1).to_numpy(), score, atol=1e-12)
    assert (score >= 0).all() and (score <= 1 + 1e-12).all()
    # by hand: c's contribution is 0.5/3.5 where c >= 0.5
    np.testing.assert_allclose(contrib["c"], np.where(c >= 0.5, 0.5 / 3.5, 0.0))


def test_reasons_are_the_top_three_in_dutch():
    values = pd.DataFrame({"a": [23.0, 0.0], "b": [1.0, 2.0], "c": [1.0, 0.0]})
    contrib = pd.DataFrame({"a": [0.5, 0.0], "b": [0.1, 0.2], "c": [0.3, 0.0]})
    feats = [{"name": "a", "reason": "{waarde} inschrijvingen op dit adres"},
             {"name": "b", "reason": "afgelegen ({waarde} km)"},
             {"name": "c", "reason": "leegstaande schuur"}]
    out = scoring.reasons(values, contrib, feats)
    assert out == ["23 inschrijvingen op dit adres; leegstaande schuur; afgelegen (1 km)",
                   "afgelegen (2 km)"]


@pytest.mark.parametrize("column", ["nationaliteit", "geboorteland_eigenaar", "religie",
                                    "kenteken_land"])
def test_protected_attributes_are_refused(scoring_project, column):
    text = scoring_project.read_text().replace('column = "kvk_inschrijvingen"',
                                               f'column = "{column}"')
    scoring_project.write_text(text)
    from riskmap.config import load_project

    with pytest.raises(ConfigError, match="protected or proxy attributes") as e:
        load_project(scoring_project)
    assert e.value.code == "E-CONFIG-FAIRNESS"


def test_concentration_warning():
    top = pd.DataFrame({"sector": ["4511"] * 8 + ["2511"] * 2, "estate": list("abcdefghij")})
    with pytest.warns(RiskmapWarning, match="8 of the top 10 premises .* sector"):
        scoring.concentration_warnings(top, columns={"sector": "sector (SBI)",
                                                     "estate": "estate"}, max_share=0.5)


def _run(*args):
    return invoke(*args, "--no-progress")


@pytest.mark.filterwarnings("ignore::riskmap.errors.RiskmapWarning")
def test_rank_writes_safe_outputs(scoring_project, tmp_path):
    out = tmp_path / "out"
    res = _run("rank", str(scoring_project), "--out", str(out))
    assert res.exit_code == 0, res.output
    xlsx = out / "GM9001" / "ranglijst.xlsx"
    wb = openpyxl.load_workbook(xlsx)
    ws = wb["Ranglijst"]
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref.startswith("A1:")
    assert all(c.font.bold for c in ws[1])
    for sheet in wb.worksheets:
        for row in sheet.iter_rows():
            assert all(cell.data_type != "f" for cell in row)
    header = [c.value for c in ws[1]]
    assert header[:3] == ["Rang", "Verblijfsobject", "Gemeente"] and "Redenen" in header
    straat = [r[header.index("Straat")].value for r in ws.iter_rows(min_row=2)]
    assert any(str(v).startswith("'=HYPERLINK") for v in straat)
    link = ws.cell(row=2, column=header.index("Verblijfsobject") + 1).hyperlink
    assert link is not None and link.target.startswith("kaart.html#17/")
    assert "Herkomst" in wb.sheetnames
    csv = pd.read_csv(out / "GM9001" / "ranglijst.csv", sep=";", decimal=",",
                      encoding="utf-8-sig", dtype=str)
    assert not csv["Straat"].str.startswith("=").any()
    # partners read "recent politiesignaal", never a count
    assert not csv["Redenen"].str.contains("politiesignalen op dit adres").any()


@pytest.mark.filterwarnings("ignore::riskmap.errors.RiskmapWarning")
def test_every_premise_score_is_the_sum_of_its_contributions(scoring_project):
    from riskmap import config, pipeline

    project = config.load_project(scoring_project)
    _, ranking = pipeline.rank_premises(project, audience="police")
    np.testing.assert_allclose(ranking.contributions.sum(axis=1), ranking.table["score"],
                               atol=1e-6)
    assert (ranking.table["rang"] == np.arange(1, len(ranking.table) + 1)).all()
    assert ranking.table["score"].is_monotonic_decreasing
    # dwellings are no candidates; premises on the estate are scoped so
    assert not ranking.table["premise_id"].isin([f"9001010000{i:06d}" for i in range(5)]).any()
    on_estate = ranking.table[ranking.table["scope"] == "bedrijventerrein"]
    assert (on_estate["bedrijventerrein"] == "De Haven").all() and len(on_estate) > 0
    row = ranking.table[ranking.table["premise_id"] == "9001010000000010"]
    assert "2 politiesignalen op dit adres" in row["redenen"].iloc[0]


def test_public_gets_no_ranking(scoring_project, tmp_path):
    res = CliRunner().invoke(main, ["rank", str(scoring_project), "--out", str(tmp_path / "o"),
                                    "--audience", "public"])
    assert res.exit_code == 2  # click refuses the choice


@pytest.mark.filterwarnings("ignore::riskmap.errors.RiskmapWarning")
def test_plan_honours_capacity(scoring_project, tmp_path):
    out = tmp_path / "plan"
    res = _run("plan", str(scoring_project), "--out", str(out), "--capacity", "8", "--period",
               "2022-Q1")
    assert res.exit_code == 0, res.output
    plan = pd.read_csv(out / "inspectieplan.csv", sep=";", decimal=",", encoding="utf-8-sig")
    assert len(plan) == 8
    assert set(plan["Soort"]) <= {"ranglijst", "verkenning", "minimum gemeente"}
    assert set(plan["Gemeentecode"]) == {"GM9001", "GM9002"}
    wb = openpyxl.load_workbook(out / "inspectieplan.xlsx")
    assert {"Plan", "Werkpakketten", "Herkomst"} <= set(wb.sheetnames)
    # the premise inspected 2021-10-01 is within the 180-day cool-down of 2022-01-01
    assert "9001010000000030" not in plan["Verblijfsobject"].astype(str).str.zfill(16).tolist()


def _dup_ids(project):
    import geopandas as gpd
    from conftest import premises_frame

    prem = premises_frame()
    prem.loc[7, "identificatie"] = prem.loc[6, "identificatie"]
    gpd.GeoDataFrame(prem).to_file(project.parent / "data" / "panden.gpkg",
                                   layer="verblijfsobject")


def _no_geometry(project):
    import pyogrio
    from conftest import premises_frame

    prem = premises_frame()
    prem.loc[8, "geometry"] = None
    pyogrio.write_dataframe(prem, project.parent / "data" / "panden.gpkg",
                            layer="verblijfsobject")


def _bad_outcome(project):
    path = project.parent / "data" / "inspecties.csv"
    df = pd.read_csv(path)
    df.loc[0, "uitkomst"] = "misschien"
    df.to_csv(path, index=False)


@pytest.mark.parametrize("breaker, code, text", [
    (_dup_ids, "E-INPUT-DUPLICATE", "occur more than once"),
    (_no_geometry, "E-INPUT-GEOMETRY", "null or empty geometries"),
    (_bad_outcome, "E-SCORING-OUTCOME", "'misschien'"),
])
def test_bad_scoring_input_exit_2_nothing_written(scoring_project, tmp_path, breaker, code,
                                                  text):
    breaker(scoring_project)
    out = tmp_path / "out"
    res = _run("rank", str(scoring_project), "--out", str(out))
    assert res.exit_code == 2, res.output
    assert code in res.stderr and text in res.stderr and "Traceback" not in res.stderr
    assert not out.exists()


def test_model_scorer_refuses_too_few_labels(scoring_project, tmp_path):
    text = scoring_project.read_text().replace("top_k = 10", 'top_k = 10\nscorer = "model"')
    scoring_project.write_text(text)
    out = tmp_path / "out"
    res = _run("rank", str(scoring_project), "--out", str(out))
    assert res.exit_code == 2
    assert "E-MODEL-LABELS" in res.stderr and "needs at least 30" in res.stderr
    assert not out.exists()


@pytest.mark.filterwarnings("ignore::riskmap.errors.RiskmapWarning")
def test_days_since_inspection_feature(scoring_project):
    from riskmap import config, pipeline

    text = scoring_project.read_text() + """
[[scoring.feature]]
name = "dagen"
label = "Dagen sinds de laatste inspectie"
reason = "{waarde} dagen sinds de laatste inspectie"
kind = "history"
history = "dagen_sinds_inspectie"
transform = "minmax"
weight = 1
"""
    scoring_project.write_text(text)
    project = config.load_project(scoring_project)
    region, ranking = pipeline.rank_premises(project, audience="police")
    t = ranking.table.set_index("premise_id")
    # reference date: the day after the last incident; inspections 2021-10-01 and 2020-01-01
    ref = pd.Timestamp(pd.read_csv(scoring_project.parent / "data" / "incidenten.csv")[
        "datum"].max()) + pd.Timedelta(days=1)
    contrib = ranking.contributions.set_axis(ranking.table["premise_id"])
    older, newer = "9001010000000031", "9001010000000030"
    if older in t.index and newer in t.index:
        assert contrib.loc[older, "dagen"] > contrib.loc[newer, "dagen"]
    assert (ref - pd.Timestamp("2020-01-01")).days > 600
    never = contrib.drop(index=[i for i in (older, newer) if i in contrib.index])
    assert (never["dagen"] == 0).all()  # never inspected: unknown, no contribution


@pytest.mark.filterwarnings("ignore::riskmap.errors.RiskmapWarning")
def test_indicator_feature_reads_the_opportunity_indicator(scoring_project):
    from riskmap import config, pipeline

    text = scoring_project.read_text() + """
[[scoring.feature]]
name = "bos"
label = "Bos in de cel"
reason = "bos in de buurt"
kind = "map"
map = "indicator"
indicator = "test_bos"
transform = { method = "threshold", value = 1e-9 }
weight = 1
"""
    scoring_project.write_text(text)
    project = config.load_project(scoring_project)
    region, ranking = pipeline.rank_premises(project, audience="police")
    region2, maps = pipeline.opportunity_maps(project, region=region)
    # independently: the premise's cell in its municipality's map
    t = ranking.table
    m = {mm.code: mm for mm in maps}
    for i, row in t.iterrows():
        mm = m[row["statcode"]]
        r, c, _inside = mm.grid.rowcol(np.array([row["x"]]), np.array([row["y"]]))
        expected = mm.contributions["test_bos"][r[0], c[0]]
        assert (expected > 0) == (ranking.contributions.loc[i, "bos"] > 0)
    bad = scoring_project.read_text().replace('indicator = "test_bos"', 'indicator = "bos"')
    scoring_project.write_text(bad)
    with pytest.raises(ConfigError, match="not in the opportunity map; use one of"):
        pipeline.rank_premises(config.load_project(scoring_project), audience="police")


def test_validate_checks_the_scoring_sources(scoring_project):
    res = CliRunner().invoke(main, ["validate", str(scoring_project)])
    assert res.exit_code == 0, res.output
    assert "scoring: 55 premises readable, 4 features" in res.stdout
    _bad_outcome(scoring_project)
    res = CliRunner().invoke(main, ["validate", str(scoring_project)])
    assert res.exit_code == 2 and "E-SCORING-OUTCOME" in res.stderr
