"""`riskmap demo` end to end on real boundaries with synthetic data (two municipalities)."""

from __future__ import annotations

import json
import shutil

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import rasterio
import shapely
from click.testing import CliRunner

from riskmap import datasets
from riskmap.cli import main

CODES = ["GM0050", "GM0339"]  # Zeewolde, Renswoude


def _blank_png() -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGBA", (256, 256), (240, 240, 240, 255)).save(buf, format="PNG")
    return buf.getvalue()


BLANK_TILE = _blank_png()


@pytest.fixture(scope="module")
def demo_out(tmp_path_factory):
    """The whole demo, all 39 municipalities, as `make demo` makes it."""
    out = tmp_path_factory.mktemp("demo")
    result = CliRunner().invoke(main, ["demo", "--out", str(out), "--scale", "0.1",
                                       "--no-progress"])
    assert result.exit_code == 0, result.output
    return out


def test_demo_writes_data_project_and_maps(demo_out):
    assert (demo_out / "project.toml").is_file()
    assert (demo_out / "data" / "gemeenten_2021.geojson").is_file()
    assert "CC BY 4.0" in (demo_out / "data" / "SOURCES.md").read_text()
    assert "synthe" in (demo_out / "data" / "demo" / "SOURCES.md").read_text().lower()
    gm = gpd.read_file(datasets.get_path("gemeenten_2021"))
    folders = sorted(p.name for p in demo_out.iterdir() if p.name.startswith("GM"))
    assert folders == sorted(gm["statcode"]) and len(folders) == 39
    for code in folders:
        assert {p.name for p in (demo_out / code).iterdir()} >= {
            "opportunity.tif", "opportunity.gpkg", "opportunity.png", "risk.tif", "risk.gpkg",
            "overlay.tif", "overlay.gpkg", "overlay.png", "kaart.html"}
    for code in CODES:  # the risk maps the municipalities get: classes only
        cells = gpd.read_file(demo_out / code / "risk.gpkg", layer="cells")
        assert list(cells.columns) == ["cell_id", "statcode", "klasse", "geometry"]
        with rasterio.open(demo_out / code / "risk.tif") as ds:
            assert ds.tags()["RISKMAP_AUDIENCE"] == "partners"
    for code in CODES:  # the combined map, styled for QGIS
        assert (demo_out / code / "overlay.tif").exists()
        zones = gpd.read_file(demo_out / code / "overlay.gpkg", layer="zones")
        assert set(zones["zone_naam"]) <= {"prioriteit", "blinde vlek", "risico"}
    table = pd.read_csv(demo_out / "zones_regio.csv")
    assert set(table["statcode"]) <= set(gm["statcode"])
    for code in folders:  # ranked premises per municipality
        assert (demo_out / code / "ranglijst.xlsx").exists()
    assert (demo_out / "inspectieplan.xlsx").exists()
    inc = pd.read_csv(demo_out / "data" / "demo" / "politie_incidenten.csv")
    assert len(inc) > 1000 and set(inc["soort"]) <= {"hennepkwekerij", "drugslab",
                                                     "drugsafval", "signaal"}
    meta = pyogrio.read_info(demo_out / "data" / "demo" / "bag.gpkg", layer="pand")
    assert meta["layer_metadata"]["RISKMAP_SYNTHETIC"] == "true"


@pytest.mark.parametrize("code", CODES)
def test_demo_maps_are_aligned_scored_and_cover_the_municipality(demo_out, code):
    gm = gpd.read_file(datasets.get_path("gemeenten_2021")).set_index("statcode")
    poly = gm.loc[code, "geometry"]
    with rasterio.open(demo_out / code / "opportunity.tif") as ds:
        assert ds.crs.to_epsg() == 28992
        assert ds.transform.c % 100 == 0 and ds.transform.f % 100 == 0
        assert ds.transform.a == 100 and ds.transform.e == -100
        band = ds.read(1, masked=True)
        assert band.min() >= 0 and band.max() <= 1 and band.max() > band.min()
        assert ds.nodata == -9999 and band.mask.any()
        synthetic = json.loads(ds.tags()["RISKMAP_SYNTHETIC_INPUTS"])
        assert "bag.gpkg" in synthetic and "nachtlicht.tif" in synthetic
        assert "gemeenten_2021.geojson" not in synthetic  # the boundaries are real
    cells = gpd.read_file(demo_out / code / "opportunity.gpkg", layer="cells")
    assert (cells["statcode"] == code).all()
    # the cells cover the municipality; every cell touches it
    assert poly.difference(shapely.union_all(cells.geometry.values)).area < 1e-6
    assert shapely.intersects(cells.geometry.values, poly).all()
    # ids are the CBS ids of the lower-left corners
    ll = shapely.get_coordinates(cells.geometry.values)[0::5]
    expected = [f"E{int(x // 100):04d}N{int(y // 100):04d}" for x, y in
                shapely.bounds(cells.geometry.values)[:, :2]]
    assert cells["cell_id"].tolist() == expected
    assert len(ll) == len(cells)
    contrib = cells.filter(regex="^(buitengebied|bedrijventerreinen)_")
    assert contrib.shape[1] == 13
    winner = cells["thema"].to_numpy()
    total = np.where(winner == "buitengebied",
                     contrib.filter(regex="^buitengebied_").sum(axis=1),
                     contrib.filter(regex="^bedrijventerreinen_").sum(axis=1))
    np.testing.assert_allclose(total, cells["score"], atol=1e-5)


def test_demo_project_is_relocatable(demo_out, tmp_path):
    moved = tmp_path / "moved"
    shutil.copytree(demo_out, moved, ignore=shutil.ignore_patterns("GM*"))
    result = CliRunner().invoke(main, ["opportunity", str(moved / "project.toml"), "--out",
                                       str(moved / "maps"), "-m", "Renswoude", "--no-progress"])
    assert result.exit_code == 0, result.output
    with rasterio.open(moved / "maps" / "GM0339" / "opportunity.tif") as a, \
            rasterio.open(demo_out / "GM0339" / "opportunity.tif") as b:
        np.testing.assert_array_equal(a.read(), b.read())


def test_demo_html_maps_small_offline_and_clean_in_chromium(demo_out, browser, tmp_path):
    """Every municipality's page: < 5 MB, no remote assets, opens without console errors,
    shows the map and the legend; the index links all 39."""
    import re

    from conftest import Session

    index = (demo_out / "index.html").read_text()
    pages = sorted(demo_out.glob("GM*/kaart.html"))
    assert len(pages) == 39
    for page in pages:
        assert page.parent.name + "/kaart.html" in index
        html = page.read_text()
        assert page.stat().st_size < 5_000_000
        remote = re.findall(r'(?:src|href)\s*=\s*["\'](https?://[^"\']+)', html)
        assert all(u.startswith("https://service.pdok.nl") for u in remote), remote
        # no incident data: the incidents file is named only in the provenance (its hash)
        outside = re.sub(r'<details class="rm-provenance".*?</details>', "", html, flags=re.S)
        assert "politie_incidenten" not in outside and "SYN-0" not in html
        s = Session(browser, tmp_path)
        # no internet here: PDOK tiles are served as a blank tile, everything else must be
        # in the page itself (the Session records every request)
        s.page.route("https://service.pdok.nl/**",
                     lambda route: route.fulfill(body=BLANK_TILE, content_type="image/png"))
        try:
            s.page.goto(page.as_uri())
            s.page.wait_for_load_state("load")
            s.page.wait_for_selector(".folium-map", state="visible")
            s.page.wait_for_selector("#rm-legend-bivariate", state="visible")
            assert s.page.locator("#rm-legend-0").is_visible()
            assert s.errors == [], (page, s.errors)
            others = [u for u in s.remote_requests() if not u.startswith(
                "https://service.pdok.nl/")]
            assert others == [], others
            if page.parent.name in CODES:
                s.screenshot(f"demo_{page.parent.name}.png")
        finally:
            s.close()


def test_demo_plan_beats_random_inspection(demo_out):
    """The plan's precision against the demo's hidden truth beats random inspection."""
    report = json.loads((demo_out / "demo_verslag.json").read_text())
    plan = pd.read_csv(demo_out / "inspectieplan.csv", sep=";", decimal=",",
                       encoding="utf-8-sig", dtype=str)
    truth = set(pd.read_csv(demo_out / "data" / "demo" / "grondwaarheid.csv",
                            dtype=str)["premise_id"])
    # recomputed here from the files, not taken from the report
    precision = plan["Verblijfsobject"].isin(truth).mean()
    assert len(plan) == report["capacity"] == 100
    assert precision == pytest.approx(report["plan_precision"])
    assert precision > report["random_precision_p95"] > report["random_precision_expected"]
    assert (plan["Soort"] == "verkenning").sum() == 15


@pytest.mark.filterwarnings("ignore::riskmap.errors.RiskmapWarning")
def test_model_scorer_on_the_demo_history(demo_out):
    """The outcome-trained scorer learns from the demo's 160 past inspections (IPW)."""
    from riskmap import config, pipeline

    project = config.load_project(demo_out / "project.toml")
    spec = project.scoring.model_copy(update={"scorer": "model", "model_training": "ipw"})
    project = project.model_copy(update={"scoring": spec})
    _, ranking = pipeline.rank_premises(project, audience="police")
    report = ranking.model_report
    assert report["training"] == "ipw" and report["n_labels"] >= 100
    assert 0.5 < report["auc"] <= 1
    truth = set(pd.read_csv(demo_out / "data" / "demo" / "grondwaarheid.csv",
                            dtype=str)["premise_id"])
    top = ranking.table.head(100)["premise_id"].isin(truth).mean()
    base = ranking.table["premise_id"].isin(truth).mean()
    assert top > 2 * base
    assert ranking.table["score"].is_monotonic_decreasing


def test_demo_register_and_dashboard(demo_out):
    """The demo fills its register from the plan and writes the progress dashboard."""
    from riskmap import config, pipeline

    project = config.load_project(demo_out / "project.toml")
    with pipeline.open_project_register(project) as reg:
        locs = reg.locations()
        hits = reg.hit_rates()
    plan = pd.read_csv(demo_out / "inspectieplan.csv", sep=";", decimal=",",
                       encoding="utf-8-sig", dtype=str)
    assert set(locs["location_id"]) == set(plan["Verblijfsobject"])
    assert set(locs["status"]) <= {"bevestigd", "ontkracht", "aangepakt"}
    truth = set(pd.read_csv(demo_out / "data" / "demo" / "grondwaarheid.csv",
                            dtype=str)["premise_id"])
    found = locs["location_id"].isin(truth)
    assert (locs.loc[~found, "status"] == "ontkracht").all()
    assert hits["all"]["bevestigd"] == int(found.sum())
    prog = pd.read_csv(demo_out / "voortgang" / "voortgang.csv", sep=";", decimal=",",
                       encoding="utf-8-sig")
    total = prog[(prog["statcode"] == "regio") & (prog["theme"] == "alle")].iloc[0]
    assert total["total"] == len(plan)
    assert "<script" not in (demo_out / "voortgang" / "voortgang.html").read_text()


@pytest.mark.filterwarnings("ignore::riskmap.errors.RiskmapWarning")
def test_riskmap_run_on_the_demo_equals_the_demo_stages(demo_out, tmp_path):
    """`riskmap run` on the region demo matches the stage-by-stage demo output for output."""
    from outputs import assert_same_outputs

    from riskmap.demo import DEMO_CAPACITY

    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["run", str(demo_out / "project.toml"), "--out",
                                       str(out), "--capacity", str(DEMO_CAPACITY), "--period",
                                       "2022-Q1", "--no-progress"])
    assert result.exit_code == 0, result.output
    names = ("opportunity.tif", "opportunity.gpkg", "opportunity.png", "risk.tif", "risk.gpkg",
             "overlay.tif", "overlay.gpkg", "overlay.png", "kaart.html", "ranglijst.csv",
             "ranglijst.xlsx", "ranglijst.gpkg")
    files = [p.relative_to(demo_out) for name in names for p in demo_out.glob(f"GM*/{name}")]
    files += [p.relative_to(demo_out) for p in (demo_out / "inspectieplan.xlsx",
                                                demo_out / "inspectieplan.csv",
                                                demo_out / "zones_regio.csv")]
    assert len(files) > 39 * 8
    assert_same_outputs(demo_out, out, files)
