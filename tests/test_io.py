"""Readers refuse what geopandas/pyogrio let through silently; writers are atomic."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from conftest import RD, municipalities, sources, write_light_raster

from riskmap import io
from riskmap.crs import RD_NEW
from riskmap.errors import ConfigError, CRSError, InputError
from riskmap.grid import Grid, make_region


@pytest.fixture
def gpkg(tmp_path):
    path = tmp_path / "bronnen.gpkg"
    for layer, gdf in sources().items():
        gdf.to_file(path, layer=layer)
    return path


def test_reads_layer_with_filter_and_bbox(gpkg):
    gdf = io.read_vector(gpkg, crs=RD_NEW, layer="punten", where="soort = 'a'",
                         bbox=(150_000, 447_000, 153_000, 452_000))
    src = sources()["punten"]
    g = src.geometry
    expected = src[(src.soort == "a") & g.x.between(150_000, 153_000)
                   & g.y.between(447_000, 452_000)]
    assert len(gdf) == len(expected) > 0
    assert gdf.crs.equals(RD_NEW)


def test_reprojects_a_known_crs(tmp_path):
    path = tmp_path / "wgs.geojson"
    sources()["punten"].to_crs(4326).to_file(path)
    gdf = io.read_vector(path, crs=RD_NEW)
    np.testing.assert_allclose(gdf.geometry.x.to_numpy(), sources()["punten"].geometry.x, atol=1e-3)


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="not found") as e:
        io.read_vector(tmp_path / "nope.gpkg", crs=RD_NEW)
    assert e.value.code == "E-INPUT-NOTFOUND"


def test_network_paths_are_refused():
    with pytest.raises(InputError, match="network") as e:
        io.read_vector("/vsicurl/https://example.org/a.gpkg", crs=RD_NEW)
    assert e.value.code == "E-INPUT-NETWORK"


def test_missing_layer_lists_the_layers(gpkg):
    expected = "layer 'wegen' not found. Layers in the file: punten, lijnen, vlakken"
    with pytest.raises(InputError, match=expected):
        io.read_vector(gpkg, crs=RD_NEW, layer="wegen")
    with pytest.raises(InputError, match="has 3 layers"):
        io.read_vector(gpkg, crs=RD_NEW)


def test_missing_column_lists_the_columns(gpkg):
    with pytest.raises(InputError, match="'oppervlakte' not found.*soort, waarde") as e:
        io.read_vector(gpkg, crs=RD_NEW, layer="punten", columns=["oppervlakte"])
    assert e.value.code == "E-INPUT-COLUMN"


def test_empty_after_filter(gpkg):
    with pytest.raises(InputError, match="no features left after the filter") as e:
        io.read_vector(gpkg, crs=RD_NEW, layer="punten", where="soort = 'zzz'")
    assert e.value.code == "E-INPUT-EMPTY"


def test_bad_filter_is_a_config_error(gpkg):
    with pytest.raises(ConfigError, match="not valid OGR SQL") as e:
        io.read_vector(gpkg, crs=RD_NEW, layer="punten", where="kleur = 'rood'")
    assert e.value.code == "E-CONFIG-WHERE"


def test_no_crs_is_never_guessed(tmp_path):
    path = tmp_path / "nocrs.shp"
    pts = sources()["punten"]
    pts.geometry.x.to_frame("x").assign(y=pts.geometry.y, soort=pts.soort).to_csv(
        tmp_path / "p.csv", index=False)
    import pyogrio

    df = pyogrio.read_dataframe(tmp_path / "p.csv", X_POSSIBLE_NAMES="x", Y_POSSIBLE_NAMES="y")
    assert df.crs is None
    with pytest.warns(UserWarning, match="'crs' was not provided"):
        pyogrio.write_dataframe(df, path)
    with pytest.raises(CRSError, match="has no CRS") as e:
        io.read_vector(path, crs=RD_NEW)
    assert e.value.code == "E-CRS-MISSING"
    # declaring it in the config is explicit, not a guess
    assert len(io.read_vector(path, crs=RD_NEW, declared_crs=RD)) == 400
    # a GeoJSON without a crs member means WGS84 by the standard: RD numbers do not fit it
    gj = tmp_path / "rd_without_crs.geojson"
    with pytest.warns(UserWarning, match="'crs' was not provided"):
        pyogrio.write_dataframe(df, gj)
    with pytest.raises(CRSError, match="outside the area of use of EPSG:4326"):
        io.read_vector(gj, crs=RD_NEW)


def test_declared_crs_never_overrides_the_file(gpkg):
    with pytest.raises(CRSError, match="declares EPSG:4326") as e:
        io.read_vector(gpkg, crs=RD_NEW, layer="punten", declared_crs="EPSG:4326")
    assert e.value.code == "E-CRS-CONFLICT"


def test_lonlat_numbers_labelled_rd_are_caught(tmp_path):
    path = tmp_path / "wrong.gpkg"
    sources()["punten"].to_crs(4326).set_crs(RD, allow_override=True).to_file(path)
    with pytest.raises(CRSError, match="outside the area of use.*lon/lat degrees") as e:
        io.read_vector(path, crs=RD_NEW)
    assert e.value.code == "E-CRS-BOUNDS"


def test_coordinates_far_away_are_caught(tmp_path):
    path = tmp_path / "far.gpkg"
    gpd.GeoDataFrame(geometry=shapely.points([1e20], [1e20]), crs=RD).to_file(path)
    with pytest.raises(CRSError, match="outside the area of use"):
        io.read_vector(path, crs=RD_NEW)


def test_invalid_geometries_reported_and_repaired_on_request(tmp_path):
    bowtie = shapely.Polygon([(150_000, 450_000), (151_000, 451_000), (151_000, 450_000),
                              (150_000, 451_000)])
    ok = shapely.box(152_000, 450_000, 152_500, 450_500)
    path = tmp_path / "bad.gpkg"
    gpd.GeoDataFrame({"v": [1, 2, 3]}, geometry=[ok, bowtie, bowtie], crs=RD).to_file(path)
    with pytest.raises(InputError, match=r"2 invalid geometries \(FIDs \[2, 3\]; first: "
                       r"Self-intersection") as e:
        io.read_vector(path, crs=RD_NEW)
    assert e.value.code == "E-INPUT-GEOMETRY"
    fixed = io.read_vector(path, crs=RD_NEW, repair=True)
    assert fixed.is_valid.all() and fixed.geometry.area.iloc[1] == pytest.approx(500_000)


def test_empty_layer(tmp_path):
    path = tmp_path / "empty.gpkg"
    gpd.GeoDataFrame({"v": []}, geometry=[], crs=RD).to_file(path)
    with pytest.raises(InputError, match="is empty") as e:
        io.read_vector(path, crs=RD_NEW)
    assert e.value.code == "E-INPUT-EMPTY"


def test_corrupt_file(tmp_path):
    path = tmp_path / "corrupt.gpkg"
    path.write_bytes(b"SQLite format 3\x00" + b"\x00" * 100)
    with pytest.raises(InputError, match="cannot be read") as e:
        io.read_vector(path, crs=RD_NEW)
    assert e.value.code == "E-INPUT-READ"


def test_raster_resampled_onto_grid_in_rd(tmp_path):
    path = tmp_path / "licht.tif"
    write_light_raster(path)
    region = make_region(municipalities(), cell_size=100)
    arr = io.read_raster_to_grid(path, region.grid, resampling="nearest")
    # independent: sample the source raster at each cell centre's lon/lat
    from pyproj import Transformer

    xs, ys = region.grid.centres()
    X, Y = np.meshgrid(xs, ys)
    lon, lat = Transformer.from_crs(28992, 4326, always_xy=True).transform(X, Y)
    with rasterio.open(path) as ds:
        expected = np.array(list(ds.sample(zip(lon.ravel(), lat.ravel(), strict=True))))[:, 0]
    diff = np.abs(arr.ravel() - expected)
    # GDAL and pyproj may pick slightly different RD transformations: a centre within metres
    # of a pixel edge can land in the neighbouring pixel (one step = 0.2 north, 0.1 east)
    assert (diff > 1e-5).mean() < 0.01
    assert diff.max() <= 0.3 + 1e-5


def test_raster_without_crs(tmp_path):
    path = tmp_path / "nocrs.tif"
    with rasterio.open(path, "w", driver="GTiff", width=4, height=4, count=1, dtype="float32",
                       transform=rasterio.transform.Affine(100, 0, 150_000, 0, -100, 450_000)
                       ) as ds:
        ds.write(np.ones((1, 4, 4), dtype="float32"))
    grid = Grid.from_bounds(150_000, 449_600, 150_400, 450_000)
    with pytest.raises(CRSError, match="no CRS"):
        io.read_raster_to_grid(path, grid)


def test_atomic_path_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out" / "x.gpkg"
    with pytest.raises(RuntimeError), io.atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("boom")
    assert not target.exists()
    assert list(target.parent.iterdir()) == []


def test_atomic_path_temporary_names_and_side_files(tmp_path):
    target = tmp_path / "opportunity.gpkg"
    with io.atomic_path(target) as tmp:
        assert tmp.parent == tmp_path and tmp.suffix == ".gpkg" and io.is_temporary(tmp)
        tmp.write_text("new")
        (tmp.parent / (tmp.name + "-journal")).write_text("sqlite")  # a driver's side file
    assert [p.name for p in tmp_path.iterdir()] == ["opportunity.gpkg"]
    assert not io.is_temporary(target) and not io.is_temporary("MANIFEST.previous.json")
    # what a killed writer leaves is recognised and cleared, outputs stay
    (tmp_path / "GM1").mkdir()
    left = [tmp_path / "GM1" / ".kaart.html.riskmap-tmp-ab12cd34.html",
            tmp_path / ".opportunity.gpkg.riskmap-tmp-x9y8z7w6.gpkg-journal"]
    for p in left:
        p.write_text("half")
    assert sorted(io.remove_temporary(tmp_path)) == sorted(left)
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["GM1", "opportunity.gpkg"]


def test_replacing_a_listed_file_withdraws_the_manifest(tmp_path):
    manifest = tmp_path / io.MANIFEST
    manifest.write_text('{"complete": true, "files": {"GM1/risk.tif": {}}}')
    with io.atomic_path(tmp_path / "GM1" / "other.csv") as tmp:  # not listed: stays
        tmp.write_text("x")
    assert manifest.exists()
    with io.atomic_path(tmp_path / "GM1" / "risk.tif") as tmp:
        tmp.write_text("x")
        assert manifest.exists()  # withdrawn just before the file is replaced
    assert not manifest.exists()
    assert "GM1/risk.tif" in (tmp_path / io.PREVIOUS_MANIFEST).read_text()


def test_geotiff_writer(tmp_path):
    grid = Grid.from_bounds(150_000, 450_000, 150_500, 450_300)
    band = np.full(grid.shape, 0.5)
    band[0, 0] = np.nan
    p = io.write_geotiff(tmp_path / "a.tif", band, grid, tags={"RISKMAP_X": "1"})
    with rasterio.open(p) as ds:
        assert ds.nodata == -9999 and ds.crs.to_epsg() == 28992
        assert ds.transform.c % 100 == 0 and ds.transform.f % 100 == 0
        data = ds.read(1, masked=True)
        assert data.mask[0, 0] and data[1, 1] == 0.5
        assert ds.tags()["RISKMAP_X"] == "1"
        assert ds.profile["compress"] == "deflate" and ds.profile["tiled"]


def test_filter_matching_only_outside_the_region_warns_and_returns_nothing(gpkg):
    from riskmap.errors import RiskmapWarning

    far_bbox = (100_000, 400_000, 101_000, 401_000)  # no source features here
    with pytest.warns(RiskmapWarning, match="no features matching \"soort = 'a'\" within"):
        gdf = io.read_vector(gpkg, crs=RD_NEW, layer="punten", where="soort = 'a'",
                             bbox=far_bbox)
    assert len(gdf) == 0 and gdf.crs.equals(RD_NEW)
