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
    html = (dash / "voortgang.html").read_text()
    assert "data:image/png;base64," in html and "<script" not in html
    goals = pd.read_csv(dash / "doelen.csv", sep=";", decimal=",", encoding="utf-8-sig")
    assert set(goals["target"]) == {"baseline", "in_beeld_share", "aangepakt"}
