"""The command line end to end: outputs, provenance, and bad input → exit 2, no traceback."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import rasterio
import shapely
from conftest import NOORD, ZUID, invoke


def run(*args: str) -> tuple[int, str, str]:
    result = invoke(*args)
    return result.exit_code, result.stdout, result.stderr


def test_opportunity_writes_aligned_outputs(tiny_project, tmp_path):
    out = tmp_path / "out"
    code, stdout, stderr = run("opportunity", str(tiny_project), "--out", str(out),
                               "--no-progress")
    assert code == 0, stderr
    listed = [Path(p) for p in stdout.split()]
    assert {p.name for p in listed} == {"opportunity.tif", "opportunity.gpkg", "opportunity.png"}
    for code_, poly in (("GM9001", NOORD), ("GM9002", ZUID)):
        tif = out / code_ / "opportunity.tif"
        with rasterio.open(tif) as ds:
            t = ds.transform
            assert ds.crs.to_epsg() == 28992 and t.a == 100 and t.e == -100
            assert t.c % 100 == 0 and t.f % 100 == 0
            band = ds.read(1, masked=True)
            assert band.min() >= 0 and band.max() <= 1
            tags = ds.tags()
            assert tags["RISKMAP_AUDIENCE"] == "public"
            assert "bronnen.gpkg" in json.loads(tags["RISKMAP_INPUTS"])
            assert len(tags["RISKMAP_CONFIG_SHA256"]) == 64
            assert json.loads(tags["RISKMAP_SYNTHETIC_INPUTS"]) == []
            assert ds.overviews(1) or min(ds.shape) < 4
            # nodata exactly outside the cells that touch the municipality
            rows, cols = np.indices(ds.shape)
            xs, ys = rasterio.transform.xy(t, rows.ravel(), cols.ravel())
            cells = shapely.buffer(shapely.points(xs, ys), 50, cap_style="square")
            touches = shapely.intersects(cells, poly).reshape(ds.shape)
            interior = shapely.contains_properly(poly, cells).reshape(ds.shape)
            assert (~band.mask)[interior].all()          # whole cells inside: scored
            assert band.mask[~touches].all()             # cells away from it: nodata
        cells = gpd.read_file(out / code_ / "opportunity.gpkg", layer="cells")
        assert list(cells.columns[:5]) == ["cell_id", "statcode", "score", "klasse", "thema"]
        assert {"test_afstand_weg", "test_licht"} <= set(cells.columns)
        contrib = cells[[c for c in cells.columns if c.startswith("test_")]].sum(axis=1)
        np.testing.assert_allclose(contrib, cells["score"], atol=1e-5)
        assert shapely.union_all(cells.geometry.values).covers(poly)
        assert cells["cell_id"].str.fullmatch(r"E\d{4}N\d{4}").all()
        assert cells["klasse"].between(1, 5).all()
        meta = pyogrio.read_info(out / code_ / "opportunity.gpkg", layer="cells")
        assert meta["layer_metadata"]["RISKMAP_AUDIENCE"] == "public"
        assert (out / code_ / "opportunity.png").read_bytes()[:4] == b"\x89PNG"


def test_select_municipality_by_name_and_refuse_overwrite(tiny_project, tmp_path):
    out = tmp_path / "out"
    code, stdout, _ = run("opportunity", str(tiny_project), "--out", str(out), "-m", "Zuid",
                          "--no-progress")
    assert code == 0 and sorted(p.name for p in out.iterdir()) == ["GM9002"]
    code, _, stderr = run("opportunity", str(tiny_project), "--out", str(out), "-m", "GM9002",
                          "--no-progress")
    assert code == 2 and "E-OUTPUT-EXISTS" in stderr and "--overwrite" in stderr
    code, _, _ = run("opportunity", str(tiny_project), "--out", str(out), "-m", "GM9002",
                     "--overwrite", "--no-progress")
    assert code == 0


def test_validate_ok(tiny_project):
    code, stdout, _ = run("validate", str(tiny_project))
    assert code == 0 and "valid" in stdout and "6 indicators" in stdout


def _break_source(project: Path, layer: str, gdf: gpd.GeoDataFrame | None = None,
                  **kwargs) -> None:
    path = project.parent / "data" / "bronnen.gpkg"
    if gdf is not None:
        pyogrio.write_dataframe(gdf, path, layer=layer, **kwargs)


def _source(project: Path, layer: str) -> gpd.GeoDataFrame:
    return gpd.read_file(project.parent / "data" / "bronnen.gpkg", layer=layer)


def _edit(project: Path, old: str, new: str, file: str = "layers/test.toml") -> None:
    p = project.parent / file
    text = p.read_text()
    assert old in text
    p.write_text(text.replace(old, new, 1))


def _no_crs(project, srs_id=0):
    # a GeoPackage layer with GDAL's "Undefined geographic SRS" (0) or "Cartesian" (-1)
    path = project.parent / "data" / "bronnen.gpkg"
    con = sqlite3.connect(path)
    for table in ("gpkg_geometry_columns", "gpkg_contents"):
        con.execute(f"UPDATE {table} SET srs_id = {srs_id} WHERE table_name = 'lijnen'")
    con.commit()
    con.close()


def _lonlat_as_rd(project):
    g = _source(project, "vlakken").to_crs(4326).set_crs(28992, allow_override=True)
    _break_source(project, "vlakken", g)


def _invalid(project):
    g = _source(project, "vlakken")
    bow = shapely.Polygon([(150_000, 450_000), (151_000, 451_000), (151_000, 450_000),
                           (150_000, 451_000)])
    g.loc[3, "geometry"] = bow
    _break_source(project, "vlakken", g)


BAD = {
    "no-crs": (_no_crs, "E-CRS-MISSING", "has no CRS"),
    "no-crs-cartesian": (lambda p: _no_crs(p, -1), "E-CRS-MISSING", "has no CRS"),
    "outside-nl": (_lonlat_as_rd, "E-CRS-BOUNDS", "outside the area of use"),
    "missing-file": (lambda p: _edit(p, 'file = "licht.tif"', 'file = "donker.tif"'),
                     "E-INPUT-NOTFOUND", "donker.tif not found"),
    "missing-layer": (lambda p: _edit(p, 'layer = "lijnen"', 'layer = "wegen"'),
                      "E-INPUT-LAYER", "Layers in the file: punten, lijnen, vlakken"),
    "missing-column": (lambda p: _edit(p, 'field = "klasse"', 'field = "categorie"'),
                       "E-INPUT-COLUMN", "'categorie' not found"),
    "empty-after-filter": (lambda p: _edit(p, "soort = 'a'", "soort = 'x'"),
                           "E-INPUT-EMPTY", "no features left after the filter"),
    "invalid-geometry": (_invalid, "E-INPUT-GEOMETRY", "1 invalid geometries"),
    "unknown-key": (lambda p: _edit(p, "weight = 2", "gewicht = 2"),
                    "E-CONFIG-KEY", "unknown key 'gewicht'"),
    "unknown-measure": (lambda p: _edit(p, 'measure = "coverage"', 'measure = "dekking"'),
                        "E-CONFIG-MEASURE", "dekking"),
    "negative-weight": (lambda p: _edit(p, "weight = 2", "weight = -2"),
                        "E-CONFIG-WEIGHT", "weight must be 0 or more"),
    "all-zero-weights": (lambda p: (p.parent / "layers/test.toml").write_text(
        (p.parent / "layers/test.toml").read_text().replace("weight = 2", "weight = 0")
        .replace("weight = 1", "weight = 0").replace("weight = 0.5", "weight = 0")),
        "E-CONFIG-WEIGHT", "weights are all zero"),
    "toml-syntax": (lambda p: _edit(p, 'cell_size = 100', 'cell_size = 100 m', "project.toml"),
                    "E-CONFIG-TOML", "TOML syntax error"),
    "cell-size-zero": (lambda p: _edit(p, 'cell_size = 100', 'cell_size = 0', "project.toml"),
                       "E-CONFIG", "cell_size"),
}


@pytest.mark.parametrize("case", sorted(BAD))
@pytest.mark.parametrize("command", ["opportunity", "validate"])
def test_bad_input_exit_2_message_no_output(tiny_project, tmp_path, case, command):
    breaker, code, text = BAD[case]
    breaker(tiny_project)
    out = tmp_path / "out"
    args = [command, str(tiny_project)]
    if command == "opportunity":
        args += ["--out", str(out), "--no-progress"]
    exit_code, _, stderr = run(*args)  # run() re-raises anything but SystemExit: a bug
    assert exit_code == 2, stderr
    assert code in stderr and text in stderr
    assert not out.exists() or not any(out.rglob("*.*"))


def test_user_error_in_a_real_process_has_no_traceback(tiny_project, tmp_path):
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "riskmap", "opportunity", str(tiny_project),
                           "--out", str(out), "-m", "Atlantis", "--no-progress"],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "E-REGION-MUNICIPALITY" in proc.stderr and "GM9001 (Noord)" in proc.stderr
    assert "Traceback" not in proc.stderr and not out.exists()


def test_where_and_fix_are_named(tiny_project):
    _edit(tiny_project, 'field = "klasse"', 'field = "categorie"')
    code, _, stderr = run("validate", str(tiny_project))
    assert code == 2
    assert "test.toml [[indicator]] #5 (klasse)" in stderr
    assert "Columns in the layer: klasse" in stderr


def test_several_problems_are_reported_at_once(tiny_project):
    _edit(tiny_project, 'field = "klasse"', 'field = "categorie"')
    _edit(tiny_project, 'layer = "lijnen"', 'layer = "wegen"')
    code, _, stderr = run("validate", str(tiny_project))
    assert code == 2 and "2 problem(s)" in stderr
    assert "E-INPUT-COLUMN" in stderr and "E-INPUT-LAYER" in stderr


def test_help_is_fast_and_lists_commands():
    code, stdout, _ = run("--help")
    assert code == 0 and "opportunity" in stdout and "demo" in stdout and "validate" in stdout


def test_region_in_another_metric_crs(tiny_project, tmp_path):
    """The same engine maps a region in UTM (a back-test city abroad) without change."""
    _edit(tiny_project, "cell_size = 100", 'cell_size = 100\ncrs = "EPSG:32631"', "project.toml")
    out = tmp_path / "out"
    code, _, stderr = run("opportunity", str(tiny_project), "--out", str(out), "--no-progress")
    assert code == 0, stderr
    with rasterio.open(out / "GM9001" / "opportunity.tif") as ds:
        assert ds.crs.to_epsg() == 32631
        assert ds.transform.c % 100 == 0 and ds.transform.f % 100 == 0
        band = ds.read(1, masked=True)
        assert band.min() >= 0 and band.max() <= 1
    cells = gpd.read_file(out / "GM9001" / "opportunity.gpkg", layer="cells")
    assert cells.crs.to_epsg() == 32631
    assert cells["cell_id"].str.fullmatch(r"E\d{4}N\d{5}").all()  # UTM northings: 5 digits


def test_grid_crs_in_degrees_is_refused(tiny_project):
    _edit(tiny_project, "cell_size = 100", 'cell_size = 100\ncrs = "EPSG:4326"', "project.toml")
    code, _, stderr = run("validate", str(tiny_project))
    assert code == 2 and "E-GRID-CRS" in stderr and "not a projected CRS in metres" in stderr
