"""`riskmap run`: every stage in one go, equal to the separate commands, MANIFEST last."""

from __future__ import annotations

import hashlib
import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from conftest import invoke


def _run(*args):
    return invoke(*args, "--no-progress")


@pytest.mark.filterwarnings("ignore::riskmap.errors.RiskmapWarning")
def test_run_matches_the_separate_commands(scoring_project, tmp_path):
    one = tmp_path / "run"
    res = _run("run", str(scoring_project), "--out", str(one), "--capacity", "6", "--period",
               "2022-Q1")
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout[: res.stdout.rindex("}") + 1])
    assert summary["municipalities"] == 2 and summary["premises"] > 0
    sep = tmp_path / "separate"
    for cmd in (["opportunity"], ["risk", "--audience", "partners"],
                ["overlay", "--audience", "partners"], ["rank"],
                ["plan", "--capacity", "6", "--period", "2022-Q1"]):
        r = _run(cmd[0], str(scoring_project), "--out", str(sep), *cmd[1:])
        assert r.exit_code == 0, (cmd, r.output)
    for code in ("GM9001", "GM9002"):
        for name in ("opportunity.tif", "risk.tif", "overlay.tif"):
            with rasterio.open(one / code / name) as a, rasterio.open(sep / code / name) as b:
                np.testing.assert_array_equal(a.read(), b.read())
                assert a.transform == b.transform
        for name, layer in (("opportunity.gpkg", "cells"), ("risk.gpkg", "cells"),
                            ("overlay.gpkg", "zones"), ("ranglijst.gpkg", "ranglijst")):
            a = gpd.read_file(one / code / name, layer=layer)
            b = gpd.read_file(sep / code / name, layer=layer)
            pd.testing.assert_frame_equal(a, b)
        assert (one / code / "kaart.html").exists()
    pa = pd.read_csv(one / "inspectieplan.csv", sep=";", encoding="utf-8-sig")
    pb = pd.read_csv(sep / "inspectieplan.csv", sep=";", encoding="utf-8-sig")
    pd.testing.assert_frame_equal(pa, pb)
    # the manifest is written last and describes what is on disk
    manifest = json.loads((one / "MANIFEST.json").read_text())
    assert manifest["complete"] is True
    newest = max(p.stat().st_mtime_ns for p in one.rglob("*") if p.is_file())
    assert (one / "MANIFEST.json").stat().st_mtime_ns == newest
    on_disk = {str(p.relative_to(one)) for p in one.rglob("*")
               if p.is_file() and p.name != "MANIFEST.json"}
    assert set(manifest["files"]) == on_disk
    for rel, entry in manifest["files"].items():
        assert hashlib.sha256((one / rel).read_bytes()).hexdigest() == entry["sha256"]


@pytest.mark.filterwarnings("ignore::riskmap.errors.RiskmapWarning")
def test_resume_keeps_intact_municipalities(scoring_project, tmp_path):
    out = tmp_path / "run"
    assert _run("run", str(scoring_project), "--out", str(out)).exit_code == 0
    tif = out / "GM9001" / "opportunity.tif"
    other = out / "GM9002" / "opportunity.tif"
    before = (tif.stat().st_mtime_ns, other.read_bytes())
    # damage one municipality's file: only that municipality is made again
    other.write_bytes(b"broken")
    res = _run("run", str(scoring_project), "--out", str(out), "--resume")
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout[: res.stdout.rindex("}") + 1])
    assert summary["reused"] == ["GM9001"]
    assert tif.stat().st_mtime_ns == before[0]          # kept, not rewritten
    with rasterio.open(other) as ds:                    # rewritten and readable again
        assert ds.count >= 1
    manifest = json.loads((out / "MANIFEST.json").read_text())
    assert "GM9001/opportunity.tif" in manifest["files"]
    # another configuration: nothing is reused
    scoring_project.write_text(scoring_project.read_text().replace("classes = 5", "classes = 4",
                                                                   1))
    res = _run("run", str(scoring_project), "--out", str(out), "--resume", "--overwrite")
    assert res.exit_code == 0 and "reused" not in res.stdout


@pytest.mark.parametrize(("cell_size", "setting", "polygons"), [
    (100, "auto", True), (50, "auto", True), (25, "auto", False), (25, "always", True),
    (100, "never", False)])
def test_cell_polygons_setting(cell_size, setting, polygons):
    from riskmap.config import RegionSpec

    spec = RegionSpec(municipalities="m.gpkg", cell_size=cell_size, cell_polygons=setting)
    assert spec.writes_cell_polygons() is polygons


@pytest.mark.filterwarnings("ignore::riskmap.errors.RiskmapWarning")
def test_run_without_cell_polygons(scoring_project, tmp_path):
    """No cells layers: no opportunity/risk GeoPackages (an old one is removed on overwrite),
    overlay.gpkg with the zones only, the rasters unchanged, and --resume still reuses."""
    with_cells = tmp_path / "met"
    assert _run("run", str(scoring_project), "--out", str(with_cells)).exit_code == 0
    text = scoring_project.read_text().replace("[region]\n", '[region]\ncell_polygons = "never"\n')
    scoring_project.write_text(text)
    out = tmp_path / "zonder"
    (out / "GM9001").mkdir(parents=True)
    (out / "GM9001" / "risk.gpkg").write_bytes(b"stale")
    res = _run("run", str(scoring_project), "--out", str(out), "--overwrite")
    assert res.exit_code == 0, res.output
    import pyogrio

    for code in ("GM9001", "GM9002"):
        assert not (out / code / "opportunity.gpkg").exists()
        assert not (out / code / "risk.gpkg").exists()
        assert [n for n, _ in pyogrio.list_layers(out / code / "overlay.gpkg")
                if n != "layer_styles"] == ["zones"]
        zones = gpd.read_file(out / code / "overlay.gpkg", layer="zones")
        pd.testing.assert_frame_equal(
            zones, gpd.read_file(with_cells / code / "overlay.gpkg", layer="zones"))
        for name in ("opportunity.tif", "risk.tif", "overlay.tif"):
            with rasterio.open(out / code / name) as a, \
                    rasterio.open(with_cells / code / name) as b:
                np.testing.assert_array_equal(a.read(), b.read())
    listed = json.loads((out / "MANIFEST.json").read_text())["files"]
    assert not any(k.endswith(("opportunity.gpkg", "risk.gpkg")) for k in listed)
    res = _run("run", str(scoring_project), "--out", str(out), "--resume")
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout[: res.stdout.rindex("}") + 1])
    assert summary["reused"] == ["GM9001", "GM9002"]
