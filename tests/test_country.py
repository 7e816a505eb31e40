"""The benchmark's synthetic country (benchmarks/country.py), made tiny: 20 municipalities."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
from conftest import invoke

ROOT = Path(__file__).resolve().parents[1]
PREMISES = 20_000
N_MUNI = 20


def _country_module():
    spec = importlib.util.spec_from_file_location("country", ROOT / "benchmarks" / "country.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


country = _country_module()


@pytest.fixture(scope="module")
def tiny_country(tmp_path_factory):
    out = tmp_path_factory.mktemp("country")
    project = country.make_country(out, premises=PREMISES, municipalities=N_MUNI, seed=3,
                                   workers=1, incident_cell=1000.0, log=lambda _m: None)
    return out, project


def test_real_counts_per_province_sum_to_342_and_shares_keep_one_each():
    names = list(country.MUNICIPALITIES_2023)
    real = country.municipality_counts(names, 342)
    assert real == country.MUNICIPALITIES_2023 and sum(real.values()) == 342
    small = country.municipality_counts(names, N_MUNI)
    assert sum(small.values()) == N_MUNI and min(small.values()) == 1
    assert small["Noord-Brabant"] > small["Flevoland"]
    with pytest.raises(ValueError, match="one per province"):
        country.municipality_counts(names, 5)


def test_municipalities_partition_the_provinces(tiny_country):
    out, _ = tiny_country
    gm = gpd.read_file(out / "data" / "gemeenten_synthetisch.geojson")
    prov = gpd.read_file(out / "data" / "provincies_2021.geojson")
    assert len(gm) == N_MUNI and gm.crs.equals(prov.crs)
    assert gm["statcode"].is_unique and gm["statcode"].str.fullmatch(r"GM\d{4}").all()
    assert set(gm["provincie"]) == set(prov["statnaam"])
    geoms = gm.geometry.values
    assert shapely.is_valid(geoms).all()
    union = shapely.union_all(geoms)
    land = shapely.union_all(prov.geometry.values)
    assert union.area == pytest.approx(land.area, rel=1e-6)
    assert shapely.symmetric_difference(union, land).area < 1e-6 * land.area
    # no overlaps: the parts' areas add up to the union's, and no pair shares area
    assert shapely.area(geoms).sum() == pytest.approx(union.area, rel=1e-6)
    i, j = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    pairs = i < j
    assert shapely.area(shapely.intersection(geoms[i[pairs]], geoms[j[pairs]])).max() < 1.0


def test_exactly_the_premises_asked_each_inside_its_municipality(tiny_country):
    out, _ = tiny_country
    bag = out / "data" / "country" / "bag.gpkg"
    assert pyogrio.read_info(bag, layer="verblijfsobject")["features"] == PREMISES
    vbo = gpd.read_file(bag, layer="verblijfsobject", columns=["identificatie",
                                                               "pand_identificatie",
                                                               "gemeentecode"])
    assert len(vbo) == PREMISES and vbo["identificatie"].is_unique
    gm = gpd.read_file(out / "data" / "gemeenten_synthetisch.geojson")
    xy = shapely.get_coordinates(vbo.geometry.values)
    inside = np.zeros(len(vbo), bool)
    for code, poly in zip(gm["statcode"], gm.geometry.values, strict=True):
        own = (vbo["gemeentecode"] == code).to_numpy()
        inside[own] = shapely.contains_xy(poly, xy[own, 0], xy[own, 1])
    assert inside.all()
    # every pand has a verblijfsobject (the surplus was trimmed with its empty panden)
    pand = pyogrio.read_dataframe(bag, layer="pand", columns=["identificatie"],
                                  read_geometry=False)
    assert set(pand["identificatie"]) == set(vbo["pand_identificatie"])
    meta = pyogrio.read_info(bag, layer="pand")["layer_metadata"]
    assert meta["RISKMAP_SYNTHETIC"] == "true"
    summary = json.loads((out / "country.json").read_text())
    assert summary["rows"]["verblijfsobject"] == PREMISES and summary["municipalities"] == N_MUNI


def test_every_source_present_and_the_project_validates(tiny_country):
    out, project = tiny_country
    data = out / "data" / "country"
    for name in ("bag.gpkg", "nwb_wegen.gpkg", "ibis_bedrijventerreinen.gpkg", "top10nl.gpkg",
                 "drugsafval_dumpingen.gpkg", "nachtlicht.tif", "politie_incidenten.csv",
                 "politie_signalen.csv", "inspecties.csv", "SOURCES.md"):
        assert (data / name).is_file(), name
    exits = pyogrio.read_dataframe(data / "nwb_wegen.gpkg", layer="wegvakken",
                                   where="BST_CODE IN ('AFR', 'OPR')", read_geometry=False)
    assert len(exits) > 0  # the synthetic motorways have exits across the country
    assert "CC BY 4.0" in (out / "data" / "SOURCES.md").read_text()
    assert "SYNTHETI" in (data / "SOURCES.md").read_text()
    result = invoke("validate", str(project))
    assert result.exit_code == 0, result.output
    assert f"region: {N_MUNI} municipalities" in result.output
    assert "cells of 100 m" in result.output
