"""Overlay: bivariate classes, zones on a hand-built grid, same-grid check, QGIS deliverables."""

from __future__ import annotations

import sqlite3

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely

from riskmap import overlay
from riskmap.errors import GridError
from riskmap.grid import Grid

G = Grid.from_bounds(0, 300_000, 600, 300_600, cell_size=100)  # 6 x 6 cells
BREAKS = [1 / 3, 2 / 3]
L, M, H = 0.1, 0.5, 0.9  # low, middle, high scores


def _cell(row, col):
    return shapely.box(col * 100, 300_600 - (row + 1) * 100, (col + 1) * 100,
                       300_600 - row * 100)


def _hand_maps():
    opp = np.full((6, 6), M)
    risk = np.full((6, 6), M)
    # prioriteit: a 2 x 2 block at rows 0-1, cols 0-1
    opp[0:2, 0:2] = H
    risk[0:2, 0:2] = H
    # blinde vlek: an L of three cells (4,0), (5,0), (5,1)
    for r, c in [(4, 0), (5, 0), (5, 1)]:
        opp[r, c], risk[r, c] = H, L
    # risico: two cells touching only at a corner -> two polygons
    for r, c in [(2, 4), (3, 5)]:
        opp[r, c], risk[r, c] = L, H
    return opp, risk


def test_zones_on_a_hand_built_grid():
    opp, risk = _hand_maps()
    mask = np.ones((6, 6), dtype=bool)
    contrib = {"a": opp * 0.25, "b": opp * 0.75}
    ov = overlay.combine(opp, risk, grid=G, mask=mask, code="GM9999", contributions=contrib,
                         opportunity_breaks=BREAKS, risk_breaks=BREAKS)
    # bivariate class = 3 * (risk - 1) + opportunity
    assert ov.bivariate[0, 0] == 9 and ov.bivariate[5, 0] == 3 and ov.bivariate[2, 4] == 7
    assert ov.bivariate[3, 3] == 5
    np.testing.assert_allclose(ov.combined[0, 0], np.sqrt(H * H))
    z = ov.zones.sort_values(["zone", "centroid_y"], ascending=[True, False])
    assert z["zone_naam"].tolist() == ["prioriteit", "blinde vlek", "risico", "risico"]
    expected = [shapely.union_all([_cell(0, 0), _cell(0, 1), _cell(1, 0), _cell(1, 1)]),
                shapely.union_all([_cell(4, 0), _cell(5, 0), _cell(5, 1)]),
                _cell(2, 4), _cell(3, 5)]
    for got, exp in zip(z.geometry, expected, strict=True):
        assert got.symmetric_difference(exp).area == pytest.approx(0, abs=1e-6)
    assert z["cellen"].tolist() == [4, 3, 1, 1]
    np.testing.assert_allclose(z["oppervlakte_ha"], [4, 3, 1, 1])
    np.testing.assert_allclose(z["aandeel_gemeente"], np.array([4, 3, 1, 1]) / 36)
    np.testing.assert_allclose(z["centroid_x"].iloc[0], 100)
    np.testing.assert_allclose(z["centroid_y"].iloc[0], 300_500)
    np.testing.assert_allclose(z["gem_b"].iloc[0], 0.75 * H)
    np.testing.assert_allclose(z["gem_a"].iloc[3], 0.25 * L)
    assert (z["statcode"] == "GM9999").all()


def test_cells_outside_the_mask_are_no_zone():
    opp, risk = _hand_maps()
    mask = np.ones((6, 6), dtype=bool)
    mask[0, 0] = False
    ov = overlay.combine(opp, risk, grid=G, mask=mask, opportunity_breaks=BREAKS,
                         risk_breaks=BREAKS)
    assert ov.bivariate[0, 0] == 0 and ov.zone[0, 0] == 0
    prio = ov.zones[ov.zones["zone"] == 1]
    assert prio["cellen"].tolist() == [3]


def test_terciles_within_the_municipality():
    rng = np.random.default_rng(0)
    v = rng.uniform(0, 1, (30, 30))
    mask = rng.uniform(size=(30, 30)) < 0.8
    cls, b = overlay.terciles(v, mask)
    np.testing.assert_allclose(b, np.quantile(v[mask], [1 / 3, 2 / 3]))
    counts = np.bincount(cls[mask])[1:]
    assert abs(counts.max() - counts.min()) <= 2 and (cls[~mask] == 0).all()
    # cells without a score (0) do not pull the breaks down when positive_only
    w = np.where(rng.uniform(size=v.shape) < 0.5, 0.0, v)
    cls2, b2 = overlay.terciles(w, mask, positive_only=True)
    np.testing.assert_allclose(b2, np.quantile(w[mask & (w > 0)], [1 / 3, 2 / 3]))
    assert (cls2[mask & (w == 0)] == 1).all()


def test_different_grids_are_refused_naming_both():
    other = Grid.from_bounds(0, 300_000, 600, 300_600, cell_size=100, crs="EPSG:32631")
    opp, risk = _hand_maps()
    with pytest.raises(GridError, match="EPSG:28992.*EPSG:32631") as e:
        overlay.combine(opp, risk, grid=G, risk_grid=other, mask=np.ones((6, 6), bool))
    assert e.value.code == "E-GRID-MISMATCH"
    shifted = Grid(G.x0 + 50, G.y1, 6, 6, 100.0)
    with pytest.raises(GridError, match=r"from \(50, 300600\)"):
        overlay.combine(opp, risk, grid=G, risk_grid=shifted, mask=np.ones((6, 6), bool))


def test_overlay_cli_writes_styled_deliverables(risk_project, tmp_path):
    from click.testing import CliRunner

    from riskmap.cli import main

    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["overlay", str(risk_project), "--out", str(out),
                                    "--audience", "partners", "--no-progress"])
    assert res.exit_code == 0, res.output
    gp = out / "GM9001" / "overlay.gpkg"
    cells = gpd.read_file(gp, layer="cells")
    zones = gpd.read_file(gp, layer="zones")
    assert "gecombineerd" not in cells.columns  # risk-derived score: police only
    assert set(cells["bivariaat"]) <= set(range(1, 10))
    assert (cells["bivariaat"] == 3 * (cells["risico"] - 1) + cells["gelegenheid"]).all()
    assert set(zones["zone_naam"]) <= {"prioriteit", "blinde vlek", "risico"}
    con = sqlite3.connect(gp)
    rows = con.execute("SELECT f_table_name, useAsDefault, styleQML FROM layer_styles").fetchall()
    con.close()
    assert {r[0] for r in rows} == {"cells", "zones"} and all(r[1] == 1 for r in rows)
    assert all("categorizedSymbol" in r[2] for r in rows)
    with rasterio.open(out / "GM9001" / "overlay.tif") as ds:
        assert ds.dtypes[0] == "uint8" and ds.nodata == 0
        cmap = ds.colormap(1)
        assert cmap[9][:3] == (0x3B, 0x49, 0x94)
        assert ds.overviews(1)
    assert (out / "zones_regio.csv").exists() and (out / "GM9001" / "overlay.png").exists()
