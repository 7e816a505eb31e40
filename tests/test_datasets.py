"""Bundled real data and the synthetic demo-data generator (riskmap.datasets).

The generator runs a few times on small municipalities at a small scale; every check below
recomputes what it tests from the written files and the bundled boundaries.
"""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import rasterio
import shapely
from geopandas.testing import assert_geodataframe_equal
from pyproj import Transformer

from riskmap import datasets
from riskmap.errors import InputError

CODES = ["GM0050", "GM0339", "GM0344"]          # Zeewolde, Renswoude, Utrecht
SCALE = 0.02

LAYERS = {
    ("bag", "pand"): ("Polygon", {"identificatie": "str", "bouwjaar": "int", "status": "str"}),
    ("bag", "verblijfsobject"): ("Point", {
        "identificatie": "str", "pand_identificatie": "str", "gebruiksdoel": "str",
        "oppervlakte": "int", "status": "str", "openbare_ruimte": "str", "huisnummer": "int",
        "postcode": "str", "woonplaats": "str", "gemeentecode": "str",
        "kvk_inschrijvingen": "int", "agrarisch": "bool"}),
    ("ibis", "bedrijventerreinen"): ("Polygon", {
        "RIN_NUMMER": "str", "PLAN_NAAM": "str", "GEM_NAAM": "str", "GEMEENTECODE": "str",
        "BRUTO_OPP_HA": "float", "JAAR_UITGIFTE": "int", "stadsrand": "int"}),
    ("nwb", "wegvakken"): ("LineString", {
        "WVK_ID": "int", "WEGNUMMER": "str", "WEGBEHSRT": "str", "BST_CODE": "str",
        "STT_NAAM": "str"}),
    ("top10nl", "terrein"): ("Polygon", {"typelandgebruik": "str"}),
    ("top10nl", "waterdeel"): ("Polygon", {"typewater": "str"}),
    ("dumpingen", "dumpingen"): ("Point", {"datum": "str", "soort": "str",
                                           "gemeentecode": "str"}),
}
FILES = {"bag": "bag.gpkg", "nwb": "nwb_wegen.gpkg", "ibis": "ibis_bedrijventerreinen.gpkg",
         "top10nl": "top10nl.gpkg", "dumpingen": "drugsafval_dumpingen.gpkg",
         "nachtlicht": "nachtlicht.tif", "sources": "SOURCES.md"}
KIND = {"str": pd.api.types.is_string_dtype, "int": pd.api.types.is_integer_dtype,
        "float": pd.api.types.is_float_dtype, "bool": pd.api.types.is_bool_dtype}

PAND_STATUS = {"Pand in gebruik", "Pand buiten gebruik", "Pand in gebruik (niet ingemeten)",
               "Sloopvergunning verleend", "Verbouwing pand"}
VBO_STATUS = {"Verblijfsobject in gebruik", "Verblijfsobject buiten gebruik",
              "Verblijfsobject in gebruik (niet ingemeten)", "Verbouwing verblijfsobject"}
DOELEN = {"woonfunctie", "industriefunctie", "kantoorfunctie", "winkelfunctie",
          "bijeenkomstfunctie", "logiesfunctie", "overige gebruiksfunctie"}
BUSINESS = {"industriefunctie", "kantoorfunctie", "winkelfunctie"}


@pytest.fixture(scope="module")
def gm() -> gpd.GeoDataFrame:
    return gpd.read_file(datasets.get_path("gemeenten_2021")).set_index("statcode")


@pytest.fixture(scope="module")
def region(gm):
    return shapely.union_all(gm.loc[CODES].geometry.values)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    return datasets.make_demo_data(out, seed=2021, scale=SCALE, municipalities=CODES)


def read(paths, key, layer):
    return gpd.read_file(paths[key], layer=layer)


@pytest.fixture(scope="module")
def pand(demo):
    return read(demo, "bag", "pand")


@pytest.fixture(scope="module")
def vbo(demo):
    return read(demo, "bag", "verblijfsobject")


@pytest.fixture(scope="module")
def estates(demo):
    return read(demo, "ibis", "bedrijventerreinen")


# -- bundled real data --------------------------------------------------------------------------


def test_available_lists_the_bundled_files():
    assert datasets.available() == ["buurten_2021", "gemeenten_2021"]
    for name in datasets.available():
        path = datasets.get_path(name)
        assert path.is_file() and path.parent == datasets.DATA_DIR


def test_bundled_municipalities_are_the_39_of_the_region(gm):
    assert len(gm) == 39 and gm.crs.to_epsg() == 28992
    assert {"GM0050", "GM0339", "GM0344"} <= set(gm.index)


def test_get_path_unknown_name_lists_the_available_ones():
    with pytest.raises(InputError, match="gemeenten_2021") as info:
        datasets.get_path("nope")
    assert info.value.code == "E-DATA-UNKNOWN"
    assert "buurten_2021" in str(info.value)
    assert isinstance(info.value, ValueError)


# -- files, layers, schemas ---------------------------------------------------------------------


def test_returns_every_file(demo):
    assert set(demo) == set(FILES)
    for key, name in FILES.items():
        assert demo[key].name == name and demo[key].is_file()


@pytest.mark.parametrize(("key", "layer"), list(LAYERS))
def test_layer_schema_crs_and_validity(demo, key, layer):
    geom_type, columns = LAYERS[(key, layer)]
    assert layer in pyogrio.list_layers(demo[key])[:, 0]
    df = read(demo, key, layer)
    assert list(df.columns.drop("geometry")) == list(columns)
    for col, kind in columns.items():
        assert KIND[kind](df[col]), f"{layer}.{col} is {df[col].dtype}, expected {kind}"
    assert df.crs.to_epsg() == 28992
    assert len(df) > 0 or layer == "waterdeel"
    assert set(df.geom_type) <= {geom_type}
    assert df.is_valid.all() and not df.geometry.is_empty.any()


@pytest.mark.parametrize(("key", "layer"), list(LAYERS))
def test_layer_metadata_says_synthetic(demo, key, layer):
    meta = pyogrio.read_info(demo[key], layer=layer)["layer_metadata"]
    assert meta["RISKMAP_SYNTHETIC"] == "true"
    assert meta["DESCRIPTION"].startswith("SYNTHETISCH")


def test_sources_md_says_synthetic_and_attributes_the_boundaries(demo):
    text = demo["sources"].read_text(encoding="utf-8")
    assert "SYNTHETIC" in text and "SYNTHETISCH" in text and "seed=2021" in text
    for source in ("BAG", "PDOK", "NWB", "Rijkswaterstaat", "IBIS", "TOP10NL", "VIIRS", "KvK"):
        assert source in text
    assert ("Bron: Centraal Bureau voor de Statistiek (CBS), CBS gebiedsindelingen 2021, "
            "via PDOK; vereenvoudigd door cartomap/nl.") in text
    assert all(code in text for code in CODES)


# -- BAG ----------------------------------------------------------------------------------------


def test_bag_identifiers_are_unique_and_well_formed(pand, vbo):
    assert pand["identificatie"].is_unique and vbo["identificatie"].is_unique
    gem4 = vbo["gemeentecode"].str[2:]
    assert (vbo["identificatie"].str.fullmatch(r"\d{16}")).all()
    assert (vbo["identificatie"].str[:4] == gem4).all()
    assert (vbo["identificatie"].str[4:6] == "01").all()
    assert (pand["identificatie"].str.fullmatch(r"\d{4}10\d{10}")).all()
    assert set(pand["identificatie"].str[:4]) == {c[2:] for c in CODES}
    assert vbo["pand_identificatie"].isin(pand["identificatie"]).all()
    assert pand["identificatie"].isin(vbo["pand_identificatie"]).all()


def test_bag_attribute_values_are_real_bag_values(pand, vbo):
    assert set(pand["status"]) <= PAND_STATUS
    assert set(vbo["status"]) <= VBO_STATUS
    assert set(vbo["gebruiksdoel"]) <= DOELEN
    assert vbo["postcode"].str.fullmatch(r"\d{4}[A-EGHJ-NPRSTVWXZ]{2}").all()
    assert (vbo["huisnummer"] >= 1).all() and (vbo["oppervlakte"] > 0).all()
    assert pand["bouwjaar"].between(1600, 2021).all()
    assert set(vbo["gemeentecode"]) == set(CODES)
    assert (vbo["openbare_ruimte"].str.len() > 0).all()
    assert (vbo["kvk_inschrijvingen"] >= 0).all()
    # Zeewolde was polder until 1968: nothing there is older
    zeewolde = pand["identificatie"].str.startswith("0050")
    assert pand.loc[zeewolde, "bouwjaar"].min() >= 1968


def test_vacant_pand_has_vacant_verblijfsobjecten(pand, vbo):
    status = vbo.merge(pand[["identificatie", "status"]], left_on="pand_identificatie",
                       right_on="identificatie", suffixes=("", "_pand"))
    vacant = status["status_pand"] == "Pand buiten gebruik"
    assert (status.loc[vacant, "status"] == "Verblijfsobject buiten gebruik").all()
    assert (status.loc[vacant, "kvk_inschrijvingen"] <= 2).all()


def test_every_verblijfsobject_lies_in_its_pand(pand, vbo):
    joined = vbo.merge(pand[["identificatie", "geometry"]].rename(
        columns={"identificatie": "pand_identificatie", "geometry": "pand_geom"}),
        on="pand_identificatie", how="left")
    assert joined["pand_geom"].notna().all()
    assert shapely.contains_properly(joined["pand_geom"].values, joined.geometry.values).all()


def test_everything_lies_in_its_municipality(gm, region, pand, vbo, estates, demo):
    assert shapely.covered_by(pand.geometry.values, region).all()
    assert shapely.covered_by(estates.geometry.values, region).all()
    for frame, column in ((vbo, "gemeentecode"), (read(demo, "dumpingen", "dumpingen"),
                                                  "gemeentecode")):
        for code in CODES:
            sel = frame[frame[column] == code]
            assert shapely.contains(gm.geometry[code], sel.geometry.values).all()
    for code, geom in zip(estates["GEMEENTECODE"], estates.geometry, strict=True):
        assert shapely.covered_by(geom, gm.geometry[code])


def test_panden_do_not_overlap(pand):
    geoms = pand.geometry.values
    i, j = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    pairs = i < j
    overlap = shapely.area(shapely.intersection(geoms[i[pairs]], geoms[j[pairs]]))
    assert (overlap < 1e-6).all()


def test_pand_sizes_are_realistic(pand, vbo):
    area = pand.area
    assert area.min() > 30 and area.max() <= 5000 * 1.001
    farm = pand["identificatie"].isin(vbo.loc[vbo["agrarisch"], "pand_identificatie"])
    assert farm.any()


def test_estate_premises_lie_inside_the_estates(estates, pand, vbo):
    union = shapely.union_all(estates.geometry.values)
    on_estate = shapely.contains_xy(union, vbo.geometry.x, vbo.geometry.y)
    premises = vbo[on_estate]
    assert len(premises) >= len(estates)                       # at least one per estate
    assert set(premises["gebruiksdoel"]) <= BUSINESS
    assert premises["oppervlakte"].between(200, 5000).all()
    assert not premises["agrarisch"].any()
    footprints = pand.set_index("identificatie").geometry[premises["pand_identificatie"]]
    assert shapely.covered_by(footprints.values, union).all()
    # every estate holds premises, and no dwelling stands on an estate
    for geom in estates.geometry:
        assert shapely.contains_xy(geom, premises.geometry.x, premises.geometry.y).any()
    assert not (vbo.loc[on_estate, "gebruiksdoel"] == "woonfunctie").any()


def test_farm_objects(vbo):
    farm = vbo[vbo["agrarisch"]]
    barns = farm[farm["gebruiksdoel"] != "woonfunctie"]
    assert (farm["gebruiksdoel"] == "woonfunctie").any() and len(barns)
    assert set(barns["gebruiksdoel"]) <= {"overige gebruiksfunctie", "industriefunctie"}
    assert barns["oppervlakte"].between(250, 4000).all()


# -- IBIS, NWB, TOP10NL, dumpings ---------------------------------------------------------------


def test_estate_attributes(gm, estates):
    assert np.allclose(estates["BRUTO_OPP_HA"], estates.area / 1e4, atol=0.006)
    assert estates["BRUTO_OPP_HA"].between(5, 150).all()
    assert estates["JAAR_UITGIFTE"].between(1950, 2015).all()
    assert set(estates["stadsrand"]) <= {0, 1}
    assert estates["RIN_NUMMER"].is_unique
    assert (estates["GEM_NAAM"] == gm["statnaam"][estates["GEMEENTECODE"]].to_numpy()).all()
    per_municipality = estates["GEMEENTECODE"].value_counts()
    assert per_municipality.between(1, 4).all() and set(per_municipality.index) == set(CODES)


def test_road_network(demo, region):
    roads = read(demo, "nwb", "wegvakken")
    assert roads["WVK_ID"].is_unique
    assert set(roads["WEGBEHSRT"]) == {"R", "P", "G"}
    assert set(roads["BST_CODE"]) <= {"HR", "AFR", "OPR", "PST", ""}
    assert roads["WEGNUMMER"].str.fullmatch(r"(A\d{1,2}|N\d{3})?").all()
    motorway = roads[roads["WEGBEHSRT"] == "R"]
    assert (motorway["WEGNUMMER"].str.startswith("A")).all()
    assert {"A2", "A12", "A27"} <= set(motorway["WEGNUMMER"])        # around Utrecht
    ramps = motorway[motorway["BST_CODE"].isin(["AFR", "OPR"])]
    assert len(ramps) >= 4 and ramps.length.max() <= 600
    assert ramps.length.median() >= 250
    hr = motorway[motorway["BST_CODE"] == "HR"].length
    assert hr.max() <= 2000 + 1 and hr.median() > 900
    assert (roads.loc[roads["WEGBEHSRT"] == "G", "WEGNUMMER"] == "").all()
    assert shapely.covered_by(roads.geometry.values, region.buffer(2001)).all()


def test_terrain_and_water(demo, region):
    terrein = read(demo, "top10nl", "terrein")
    water = read(demo, "top10nl", "waterdeel")
    assert set(terrein["typelandgebruik"]) <= {"loofbos", "naaldbos", "gemengd bos", "heide",
                                              "grasland", "akkerland"}
    assert {"loofbos", "akkerland", "grasland"} <= set(terrein["typelandgebruik"])
    assert set(water["typewater"]) <= {"meer, plas", "waterloop"}
    for frame in (terrein, water):
        assert shapely.covered_by(frame.geometry.values, region.buffer(2001)).all()


def test_dumpings(demo):
    d = read(demo, "dumpingen", "dumpingen")
    dates = pd.to_datetime(d["datum"], format="%Y-%m-%d")
    assert dates.min() >= pd.Timestamp("2017-01-01")
    assert dates.max() <= pd.Timestamp("2021-12-31")
    assert set(d["soort"]) <= {"vaten", "jerrycans", "afvalzakken", "bestelbus"}
    assert set(d["gemeentecode"]) <= set(CODES)


def test_night_lights_raster(demo, region):
    with rasterio.open(demo["nachtlicht"]) as src:
        assert src.crs.to_epsg() == 4326
        assert src.dtypes == ("float32",) and src.nodata == -9999
        assert src.res == pytest.approx((0.004, 0.004))
        assert src.compression.name == "deflate" and src.block_shapes[0] == (256, 256)
        assert src.tags()["RISKMAP_SYNTHETIC"] == "true"
        data = src.read(1, masked=True)
        bounds = src.bounds
        rows, cols = np.indices(data.shape)
        lon_c, lat_c = rasterio.transform.xy(src.transform, rows.ravel(), cols.ravel())
    to_ll = Transformer.from_crs("EPSG:28992", "EPSG:4326", always_xy=True)
    lon, lat = to_ll.transform(*shapely.get_coordinates(shapely.segmentize(region, 200)).T)
    assert bounds.left <= lon.min() and bounds.right >= lon.max()
    assert bounds.bottom <= lat.min() and bounds.top >= lat.max()
    # every pixel whose centre lies in the region has a value
    x, y = Transformer.from_crs("EPSG:4326", "EPSG:28992", always_xy=True).transform(lon_c, lat_c)
    inside = shapely.contains_xy(region, x, y).reshape(data.shape)
    assert inside.sum() > 100 and not data.mask[inside].any()
    assert 0 < data.min() < 1 and 10 < data.max() <= 70


# -- determinism, arguments -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def same_and_other_seed(tmp_path_factory):
    same = datasets.make_demo_data(tmp_path_factory.mktemp("same"), seed=2021, scale=SCALE,
                                   municipalities=CODES)
    other = datasets.make_demo_data(tmp_path_factory.mktemp("other"), seed=7, scale=SCALE,
                                    municipalities=CODES)
    return same, other


@pytest.mark.parametrize(("key", "layer"), list(LAYERS))
def test_same_seed_gives_the_same_data(demo, same_and_other_seed, key, layer):
    same, _ = same_and_other_seed
    assert_geodataframe_equal(read(demo, key, layer), read(same, key, layer))


def test_same_seed_gives_the_same_raster(demo, same_and_other_seed):
    same, other = same_and_other_seed
    with rasterio.open(demo["nachtlicht"]) as a, rasterio.open(same["nachtlicht"]) as b, \
            rasterio.open(other["nachtlicht"]) as c:
        assert np.array_equal(a.read(), b.read())
        assert not np.array_equal(a.read(), c.read())


@pytest.mark.parametrize("layer", ["pand", "verblijfsobject"])
def test_other_seed_gives_other_data(demo, same_and_other_seed, layer):
    _, other = same_and_other_seed
    a, b = read(demo, "bag", layer), read(other, "bag", layer)
    assert len(a) != len(b) or not a.geom_equals(b).all()
    assert set(a["identificatie"]) != set(b["identificatie"])


def test_scale_sets_the_number_of_addresses(tmp_path, vbo):
    double = datasets.make_demo_data(tmp_path, scale=2 * SCALE, municipalities=CODES)
    n = pyogrio.read_info(double["bag"], layer="verblijfsobject")["features"]
    assert 1.7 < n / len(vbo) < 2.3


def test_shares_of_vacancy_and_letterboxes(tmp_path):
    # Noordoostpolder: many farms and four estates, enough objects for stable shares
    paths = datasets.make_demo_data(tmp_path, scale=0.5, municipalities=["Noordoostpolder"])
    vbo = read(paths, "bag", "verblijfsobject")
    estates = read(paths, "ibis", "bedrijventerreinen")
    assert set(vbo["gemeentecode"]) == {"GM0171"}
    vacant = vbo["status"] == "Verblijfsobject buiten gebruik"
    barns = vbo["agrarisch"] & (vbo["gebruiksdoel"] != "woonfunctie")
    assert barns.sum() > 300
    assert 0.04 < vacant[barns].mean() < 0.14
    on_estate = shapely.contains_xy(shapely.union_all(estates.geometry.values),
                                    vbo.geometry.x, vbo.geometry.y)
    assert on_estate.sum() > 50
    assert 0.03 < vacant[on_estate].mean() < 0.25
    dwellings = vbo["gebruiksdoel"] == "woonfunctie"
    assert (vbo.loc[dwellings, "kvk_inschrijvingen"] == 0).mean() > 0.7
    assert vbo.loc[dwellings, "kvk_inschrijvingen"].max() < 10


def test_unknown_municipality_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match=r"'GM9999'.*GM0050") as info:
        datasets.make_demo_data(tmp_path, municipalities=["GM0050", "GM9999"])
    assert info.value.code == "E-DATA-MUNICIPALITY"
    assert not any(tmp_path.iterdir())
    with pytest.raises(InputError, match="empty"):
        datasets.make_demo_data(tmp_path, municipalities=[])


@pytest.mark.parametrize("scale", [0, -1, 3, "0.1", True])
def test_bad_scale_is_an_input_error(tmp_path, scale):
    with pytest.raises(InputError, match="scale") as info:
        datasets.make_demo_data(tmp_path, scale=scale)
    assert info.value.code == "E-DATA-ARGUMENT"


def test_municipality_names_are_accepted(tmp_path):
    paths = datasets.make_demo_data(tmp_path / "out", scale=0.01, municipalities="renswoude")
    vbo = read(paths, "bag", "verblijfsobject")
    assert set(vbo["gemeentecode"]) == {"GM0339"}
    assert re.search(r"\bGM0339\b", paths["sources"].read_text(encoding="utf-8"))
