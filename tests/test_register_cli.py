"""The register from the command line: plan → locations → outcomes → progress dashboard."""

from __future__ import annotations

import pandas as pd
import pytest
from click.testing import CliRunner

from riskmap.cli import main


def _run(*args):
    res = CliRunner().invoke(main, list(args))
    if res.exception and not isinstance(res.exception, SystemExit):
        raise res.exception
    return res


@pytest.mark.filterwarnings("ignore::riskmap.errors.RiskmapWarning")
def test_plan_to_register_to_dashboard(scoring_project, tmp_path):
    scoring_project.write_text(scoring_project.read_text() + """
[register]
url = "sqlite:///register.sqlite"
targets = { baseline = 5, in_beeld_share = 0.3, aangepakt = 1 }
""")
    out = tmp_path / "plan"
    res = _run("plan", str(scoring_project), "--out", str(out), "--capacity", "6", "--period",
               "2022-Q1", "--no-progress")
    assert res.exit_code == 0, res.output
    res = _run("register", "add-plan", str(scoring_project), str(out / "inspectieplan.csv"),
               "--date", "2022-01-05", "--who", "analist")
    assert res.exit_code == 0 and "6 risk locations added" in res.stdout
    assert (scoring_project.parent / "register.sqlite").exists()
    plan = pd.read_csv(out / "inspectieplan.csv", sep=";", decimal=",", encoding="utf-8-sig",
                       dtype=str)
    returned = plan[["Verblijfsobject", "Soort"]].copy()
    returned["Datum"] = "2022-02-01"
    returned["Uitkomst"] = ["bevestigd", "ontkracht", "geen bevindingen", "bevestigd",
                            "ontkracht", "bevestigd"]
    returned["Team"] = "team 1"
    good = tmp_path / "terug.csv"
    returned.to_csv(good, index=False, sep=";")
    # one bad row: nothing is applied, every problem is named
    bad = returned.copy()
    bad.loc[2, "Uitkomst"] = "misschien"
    bad.loc[4, "Datum"] = "2099-01-01"
    bad_file = tmp_path / "fout.csv"
    bad.to_csv(bad_file, index=False, sep=";")
    res = _run("register", "import", str(scoring_project), str(bad_file), "--today",
               "2022-03-01")
    assert res.exit_code == 2 and "E-REGISTER-IMPORT" in res.stderr
    assert "misschien" in res.stderr and "2099-01-01" in res.stderr
    res = _run("register", "import", str(scoring_project), str(good), "--today", "2022-03-01")
    assert res.exit_code == 0 and "6 outcomes imported" in res.stdout
    dash = tmp_path / "voortgang"
    res = _run("register", "progress", str(scoring_project), "--out", str(dash))
    assert res.exit_code == 0, res.output
    prog = pd.read_csv(dash / "voortgang.csv", sep=";", decimal=",", encoding="utf-8-sig")
    total = prog[(prog["statcode"] == "regio") & (prog["theme"] == "alle")].iloc[0]
    assert total["bevestigd"] == 3 and total["ontkracht"] == 3 and total["total"] == 6
    lead = pd.read_csv(dash / "doorlooptijden.csv", sep=";", decimal=",", encoding="utf-8-sig")
    regio = lead[lead["statcode"] == "regio"].set_index("to_status")
    # signalled 2022-01-05, inspected and decided 2022-02-01: 27 days, by hand
    assert regio.loc["bevestigd", "median_days"] == 27 and regio.loc["bevestigd",
                                                                      "locations"] == 3
    html = (dash / "voortgang.html").read_text()
    assert "data:image/png;base64," in html and "<script" not in html
    goals = pd.read_csv(dash / "doelen.csv", sep=";", decimal=",", encoding="utf-8-sig")
    assert set(goals["target"]) == {"baseline", "in_beeld_share", "aangepakt"}


@pytest.mark.filterwarnings("ignore::riskmap.errors.RiskmapWarning")
def test_register_feeds_scoring_but_not_the_risk_map_unless_asked(scoring_project, tmp_path):
    """Outcomes become labels for the model scorer; they enter the risk map's incidents only
    with [risk] register_outcomes_as_incidents = true (feedback-loop guard)."""
    from riskmap import config, pipeline

    text = scoring_project.read_text().replace('inspections = "data/inspecties.csv"',
                                               'inspections = "register"')
    scoring_project.write_text(text + '\n[register]\nurl = "sqlite:///register.sqlite"\n')
    project = config.load_project(scoring_project)
    with pipeline.open_project_register(project) as reg:
        for i, (x, y) in enumerate([(153_700, 453_000), (150_300, 450_400)]):
            pid = f"9001010000{i:06d}"
            reg.add_location(pid, premise_id=pid, statcode="GM9001", theme="buitengebied",
                             source="test", x=x, y=y, date="2021-01-01", who="t")
            reg.transition(pid, "in_beeld", date="2021-02-01", who="t")
            reg.record_inspection(pid, date="2021-03-01", team="a", findings="hennep")
    labels = pipeline.read_inspections(project)
    assert sorted(labels["premise_id"]) == ["9001010000000000", "9001010000000001"]
    assert (labels["uitkomst"] == "bevestigd").all()
    region = pipeline.load_region(project)
    base = pipeline.read_project_incidents(project, region)
    # default: the confirmed outcomes do not become incidents
    assert (base.type == "bevestigde inspectie").sum() == 0
    assert len(base) == len(pd.read_csv(scoring_project.parent / "data" / "incidenten.csv"))
    text = scoring_project.read_text().replace(
        "k = 5", "k = 5\nregister_outcomes_as_incidents = true")
    scoring_project.write_text(text)
    opted = pipeline.read_project_incidents(config.load_project(scoring_project), region)
    assert len(opted) == len(base) + 2
    assert (opted.type == "bevestigde inspectie").sum() == 2
