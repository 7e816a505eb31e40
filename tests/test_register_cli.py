"""The register from the command line: plan → locations → outcomes → progress dashboard."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import invoke


def _run(*args):
    return invoke(*args)


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
    exp = tmp_path / "export"
    res = _run("register", "export", str(scoring_project), "--out", str(exp))
    assert res.exit_code == 0, res.output
    import geopandas as gpd
    import openpyxl

    wb = openpyxl.load_workbook(exp / "register.xlsx")
    assert {"Locaties", "Overgangen", "Inspecties", "Herkomst"} <= set(wb.sheetnames)
    assert wb["Locaties"].max_row == 7  # header + 6 locations
    pts = gpd.read_file(exp / "register.gpkg", layer="risicolocaties")
    assert len(pts) == 6 and pts.crs.to_epsg() == 28992
    np.testing.assert_allclose(sorted(pts.geometry.x),
                               sorted(plan["x (RD)"].str.replace(",", ".").astype(float)))


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


CHILD = r"""
import sys, time
from pathlib import Path
import pandas as pd
from riskmap import register as R

url, marker = sys.argv[1], Path(sys.argv[2])
reg = R.open_register(url)
original = R.Register._move
calls = {"n": 0}

def slow_move(self, *args, **kwargs):
    original(self, *args, **kwargs)
    calls["n"] += 1
    if calls["n"] == 5:        # half-way through the import, inside its transaction
        marker.write_text("half")
        time.sleep(60)          # the parent kills us here

R.Register._move = slow_move
rows = pd.DataFrame({"premise_id": [f"P{i}" for i in range(20)], "datum": "2022-02-01",
                     "uitkomst": "bevestigd", "team": "t", "verkenning": "nee"})
reg.import_outcomes(rows, today="2022-03-01")
"""


def test_killing_an_import_leaves_the_register_as_before(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    from riskmap.register import open_register

    url = f"sqlite:///{tmp_path / 'register.sqlite'}"
    with open_register(url) as reg:
        for i in range(20):
            reg.add_location(f"L{i}", premise_id=f"P{i}", statcode="GM9001",
                             theme="buitengebied", source="t", x=150_000.0, y=450_000.0,
                             date="2022-01-03", who="t")
        before = (reg.locations()[["location_id", "status"]].sort_values("location_id")
                  .reset_index(drop=True), len(reg.transitions()), len(reg.inspections()))
    marker = tmp_path / "half"
    child = tmp_path / "child.py"
    child.write_text(CHILD)
    proc = subprocess.Popen([sys.executable, str(child), url, str(marker)])
    try:
        for _ in range(300):
            if marker.exists() or proc.poll() is not None:
                break
            time.sleep(0.1)
        assert marker.exists(), "the import never reached half-way"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    with open_register(url) as reg:
        after = (reg.locations()[["location_id", "status"]].sort_values("location_id")
                 .reset_index(drop=True), len(reg.transitions()), len(reg.inspections()))
    pd.testing.assert_frame_equal(after[0], before[0])
    assert after[1:] == before[1:]
