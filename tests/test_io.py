"""Readers refuse what geopandas/pyogrio let through silently; writers are atomic."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from conftest import RD, municipalities, sources, write_light_raster
from hypothesis import given, settings
from hypothesis import strategies as st

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


def test_class_geotiff_with_palette_overviews_logs_nothing(tmp_path, caplog):
    """A class raster with a colour table gets MODE overviews (the most frequent class) and
    its palette, without GDAL's note about palettes on stderr; the note is left out only
    while the overviews are built."""
    import logging

    grid = Grid.from_bounds(150_000, 450_000, 153_200, 453_200)  # 32 × 32 cells
    classes = np.tile(np.repeat([1.0, 2.0, 3.0, 4.0], 8), (32, 1))
    with caplog.at_level(logging.WARNING, logger="rasterio._env"):
        p = io.write_geotiff(tmp_path / "k.tif", classes, grid, dtype="uint8", nodata=0,
                             colormap={1: "#ff0000", 2: "#00ff00", 3: "#0000ff", 4: "#ffffff"})
    assert [r.getMessage() for r in caplog.records] == []
    assert logging.getLogger("rasterio._env").filters == []
    with rasterio.open(p) as ds:
        assert ds.overviews(1) == [2, 4, 8, 16]
        assert ds.colormap(1)[2][:3] == (0, 255, 0)
        # 2 × 2 overview pixels of 16 × 16 cells: mode of columns 0-15 (classes 1, 2)
        ovr = ds.read(1, out_shape=(2, 2))
        assert set(np.unique(ovr)) <= {1, 2, 3, 4}
    logger = logging.getLogger("rasterio._env")
    with caplog.at_level(logging.WARNING, logger="rasterio._env"):
        logger.warning(io._PALETTE_OVERVIEW_NOTE)  # other times it is still heard
    assert len(caplog.records) == 1


def test_filter_matching_only_outside_the_region_warns_and_returns_nothing(gpkg):
    from riskmap.errors import RiskmapWarning

    far_bbox = (100_000, 400_000, 101_000, 401_000)  # no source features here
    with pytest.warns(RiskmapWarning, match="no features matching \"soort = 'a'\" within"):
        gdf = io.read_vector(gpkg, crs=RD_NEW, layer="punten", where="soort = 'a'",
                             bbox=far_bbox)
    assert len(gdf) == 0 and gdf.crs.equals(RD_NEW)


# ----------------------------------------------------------------------------- GeoParquet
# The GDAL in the pyogrio wheels has no Parquet driver: riskmap reads GeoParquet with pyarrow
# and must give what the GDAL path gives for the same data.


def _same_frame(parquet: gpd.GeoDataFrame, gpkg: gpd.GeoDataFrame) -> None:
    """Same rows, columns, dtypes and geometries; GeoPackage FIDs count from 1, rows from 0."""
    assert parquet.crs.equals(gpkg.crs)
    assert list(parquet.columns) == list(gpkg.columns)
    expected = gpkg.sort_index()
    expected.index = expected.index - 1
    assert parquet.index.tolist() == expected.index.tolist() and parquet.index.name == "fid"
    for col in gpkg.columns.drop("geometry"):
        assert parquet[col].dtype == expected[col].dtype, col
        assert parquet[col].tolist() == expected[col].tolist(), col
    assert shapely.equals_exact(parquet.geometry.values, expected.geometry.values,
                                tolerance=1e-6).all()


@pytest.mark.parametrize("suffix", [".parquet", ".geoparquet"])
@pytest.mark.parametrize("covering", [False, True])
def test_geoparquet_bbox_read_equals_the_geopackage(gpkg, tmp_path, suffix, covering):
    bbox = (150_000, 447_000, 153_000, 452_000)
    for layer, gdf in sources().items():
        path = tmp_path / f"{layer}{suffix}"
        gdf.to_parquet(path, write_covering_bbox=covering)
        got = io.read_vector(path, crs=RD_NEW, bbox=bbox)
        _same_frame(got, io.read_vector(gpkg, crs=RD_NEW, layer=layer, bbox=bbox))
        assert len(got) > 0
        # only the columns asked for, and a whole-file read as well
        only = io.read_vector(path, crs=RD_NEW, columns=list(gdf.columns[:1]))
        _same_frame(only, io.read_vector(gpkg, crs=RD_NEW, layer=layer,
                                         columns=list(gdf.columns[:1])))


def test_geoparquet_is_reprojected_and_keeps_its_row_numbers(tmp_path):
    path = tmp_path / "wgs.parquet"
    src = sources()["punten"]
    src.to_crs(4326).rename_geometry("geom").to_parquet(path)
    gdf = io.read_vector(path, crs=RD_NEW, bbox=(150_000, 447_000, 153_000, 452_000))
    assert gdf.crs.equals(RD_NEW) and gdf.geometry.name == "geometry"
    np.testing.assert_allclose(gdf.geometry.x, src.geometry.x[gdf.index], atol=1e-3)
    assert (gdf.soort == src.soort[gdf.index]).all()


def test_geoparquet_without_crs_is_refused(tmp_path):
    path = tmp_path / "nocrs.parquet"
    sources()["punten"].set_crs(None, allow_override=True).to_parquet(path)
    with pytest.raises(CRSError, match="nocrs.parquet has no CRS.*never guesses") as e:
        io.read_vector(path, crs=RD_NEW)
    assert e.value.code == "E-CRS-MISSING"
    # no 'crs' key at all: the standard's lon/lat default is not taken on trust either
    import json

    import pyarrow.parquet as pq

    table = pq.read_table(path)
    geo = json.loads(table.schema.metadata[b"geo"])
    del geo["columns"]["geometry"]["crs"]
    absent = tmp_path / "absent.parquet"
    pq.write_table(table.replace_schema_metadata({b"geo": json.dumps(geo)}), absent)
    with pytest.raises(CRSError, match="has no CRS") as e:
        io.read_vector(absent, crs=RD_NEW)
    assert e.value.code == "E-CRS-MISSING"
    # declaring it is explicit; a declaration against a stated CRS is a conflict
    assert len(io.read_vector(absent, crs=RD_NEW, declared_crs=RD)) == 400
    stated = tmp_path / "stated.parquet"
    sources()["punten"].to_parquet(stated)
    with pytest.raises(CRSError, match="declares EPSG:4326") as e:
        io.read_vector(stated, crs=RD_NEW, declared_crs="EPSG:4326")
    assert e.value.code == "E-CRS-CONFLICT"
    wrong = tmp_path / "lonlat_as_rd.parquet"
    sources()["punten"].to_crs(4326).set_crs(RD, allow_override=True).to_parquet(wrong)
    with pytest.raises(CRSError, match="outside the area of use") as e:
        io.read_vector(wrong, crs=RD_NEW)
    assert e.value.code == "E-CRS-BOUNDS"


def test_geoparquet_refusals_name_the_fix(tmp_path):
    path = tmp_path / "punten.parquet"
    sources()["punten"].to_parquet(path)
    with pytest.raises(InputError, match="'oppervlakte' not found.*: soort, waarde\\.$") as e:
        io.read_vector(path, crs=RD_NEW, columns=["oppervlakte"])
    assert e.value.code == "E-INPUT-COLUMN"
    with pytest.raises(InputError, match="one layer; remove layer = 'punten'") as e:
        io.read_vector(path, crs=RD_NEW, layer="punten")
    assert e.value.code == "E-INPUT-LAYER"
    with pytest.raises(ConfigError, match="not supported for GeoParquet.*Filter the file") as e:
        io.read_vector(path, crs=RD_NEW, where="soort = 'a'")
    assert e.value.code == "E-CONFIG-WHERE"
    with io.use_limits(max_features=100), pytest.raises(InputError, match="400 features") as e:
        io.read_vector(path, crs=RD_NEW)
    assert e.value.code == "E-INPUT-TOOBIG"
    empty = tmp_path / "leeg.parquet"
    sources()["punten"].iloc[:0].to_parquet(empty)
    with pytest.raises(InputError, match="is empty") as e:
        io.read_vector(empty, crs=RD_NEW)
    assert e.value.code == "E-INPUT-EMPTY"
    plain = tmp_path / "plain.parquet"
    sources()["punten"].drop(columns="geometry").to_parquet(plain)
    with pytest.raises(InputError, match="without GeoParquet metadata") as e:
        io.read_vector(plain, crs=RD_NEW)
    assert e.value.code == "E-INPUT-READ"
    cut = tmp_path / "cut.parquet"
    cut.write_bytes(path.read_bytes()[:2000])
    with pytest.raises(InputError, match="cannot be read as a GeoParquet") as e:
        io.read_vector(cut, crs=RD_NEW)
    assert e.value.code == "E-INPUT-READ"


def test_geoparquet_geometry_problems_name_rows(tmp_path):
    bowtie = shapely.Polygon([(150_000, 450_000), (151_000, 451_000), (151_000, 450_000),
                              (150_000, 451_000)])
    ok = shapely.box(152_000, 450_000, 152_500, 450_500)
    path = tmp_path / "bad.parquet"
    gpd.GeoDataFrame({"v": [1, 2, 3, 4]}, geometry=[ok, bowtie, None, bowtie],
                     crs=RD).to_parquet(path)
    with pytest.raises(InputError, match=r"1 null or empty geometries \(FIDs \[2\]\); 2 invalid "
                       r"geometries \(FIDs \[1, 3\]; first: Self-intersection") as e:
        io.read_vector(path, crs=RD_NEW)
    assert e.value.code == "E-INPUT-GEOMETRY"
    # a bbox read cannot return the null geometry; it is reported all the same
    with pytest.raises(InputError, match=r"null or empty geometries \(FIDs \[2\]\)"):
        io.read_vector(path, crs=RD_NEW, bbox=(151_900, 449_900, 152_600, 450_600))
    fixed = io.read_vector(path, crs=RD_NEW, repair=True)
    assert fixed.index.tolist() == [0, 1, 3] and fixed.is_valid.all()
    # nothing in the extent: a warning (or, for a partition, a normal answer)
    far = (100_000, 400_000, 101_000, 401_000)
    from riskmap.errors import RiskmapWarning

    with pytest.warns(RiskmapWarning, match="no features within the region's extent"):
        assert len(io.read_vector(path, crs=RD_NEW, bbox=far, repair=True)) == 0
    assert len(io.read_vector(path, crs=RD_NEW, bbox=far, repair=True, empty_ok=True)) == 0


def test_geoparquet_synthetic_mark(tmp_path):
    import pyarrow.parquet as pq

    path = tmp_path / "demo.parquet"
    sources()["lijnen"].to_parquet(path)
    assert not io.is_synthetic(path)
    table = pq.read_table(path)
    pq.write_table(table.replace_schema_metadata(
        {**table.schema.metadata, b"RISKMAP_SYNTHETIC": b"true"}), path)
    assert io.is_synthetic(path)
    assert io.vector_fields(path) == ["naam"]


def test_opportunity_run_with_a_geoparquet_source_equals_the_geopackage_run(tiny_project):
    from riskmap import config, pipeline

    project = config.load_project(tiny_project)
    _, before = pipeline.opportunity_maps(project)
    data = tiny_project.parent / "data"
    sources()["vlakken"].to_parquet(data / "vlakken.parquet")
    sources()["punten"].to_parquet(data / "punten.geoparquet")
    layers = tiny_project.parent / "layers" / "test.toml"
    text = layers.read_text(encoding="utf-8")
    text = text.replace('{ file = "bronnen.gpkg", layer = "vlakken" }',
                        '{ file = "vlakken.parquet" }')
    text = text.replace('source = { file = "bronnen.gpkg", layer = "punten" }\nmeasure = "count"',
                        'source = { file = "punten.geoparquet" }\nmeasure = "count"')
    assert text.count(".parquet") == 2 and text.count(".geoparquet") == 1
    layers.write_text(text, encoding="utf-8")
    project = config.load_project(tiny_project)
    _, after = pipeline.opportunity_maps(project)
    assert [m.code for m in after] == [m.code for m in before]
    for a, b in zip(after, before, strict=True):
        np.testing.assert_array_equal(a.score, b.score)
        assert a.contributions.keys() == b.contributions.keys()
        for name in a.contributions:
            np.testing.assert_array_equal(a.contributions[name], b.contributions[name])


def test_geoparquet_incidents_without_a_stated_crs_are_refused(tmp_path):
    """Incidents in GeoParquet follow the same rule: no CRS84 default for a missing crs."""
    import json

    import pyarrow.parquet as pq
    from conftest import incidents_frame

    from riskmap.incidents import read_incidents

    df = incidents_frame()
    gdf = gpd.GeoDataFrame(df.drop(columns=["x", "y"]), geometry=shapely.points(df.x, df.y),
                           crs=RD)
    path = tmp_path / "incidenten.parquet"
    gdf.to_parquet(path)
    assert len(read_incidents(path, date_col="datum", target_crs=RD_NEW)) == len(df)
    table = pq.read_table(path)
    geo = json.loads(table.schema.metadata[b"geo"])
    del geo["columns"]["geometry"]["crs"]
    pq.write_table(table.replace_schema_metadata({b"geo": json.dumps(geo)}), path)
    with pytest.raises(CRSError, match="has no CRS") as e:
        read_incidents(path, date_col="datum", target_crs=RD_NEW)
    assert e.value.code == "E-CRS-MISSING"


# --------------------------------------------------------------------------- fast point reads


_WKB_GEOMS = st.one_of(
    st.builds(lambda x, y: shapely.Point(x, y), st.floats(-1e7, 1e7), st.floats(-1e7, 1e7)),
    st.builds(lambda x, y, z: shapely.Point(x, y, z), st.floats(-1e6, 1e6),
              st.floats(-1e6, 1e6), st.floats(-1e3, 1e3)),
    st.just(shapely.Point()),
    st.just(shapely.box(0, 0, 1, 1)),
    st.just(shapely.MultiPoint([(1, 2), (3, 4)])),
    st.none(),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(_WKB_GEOMS, st.booleans()), max_size=30))
def test_wkb_decoding_equals_shapely(items):
    """Points decoded with numpy equal shapely's reading of the same WKB, whatever the mix."""
    import pyarrow as pa

    geoms = [g for g, _ in items]
    wkb = [None if g is None else shapely.to_wkb(g, byte_order=int(big is False))
           for g, big in items]  # byte_order 0: big-endian (not the fast path)
    got = io.geometries_from_wkb(pa.array(wkb, type=pa.binary()))
    want = shapely.from_wkb(np.array(wkb, dtype=object))
    assert len(got) == len(geoms)
    for g, w in zip(got, want, strict=True):
        assert (g is None and w is None) or shapely.equals_exact(g, w, 0) or (
            shapely.is_empty(g) and shapely.is_empty(w))


def _points_file(tmp_path, *, crs=RD, n=500, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(150_000, 160_000, n)
    y = rng.uniform(440_000, 450_000, n)
    gdf = gpd.GeoDataFrame({"soort": rng.choice(["a", "b"], n), "opp": rng.integers(1, 900, n),
                            "naam": [f"adres {i}" for i in range(n)]},
                           geometry=shapely.points(x, y), crs=RD).to_crs(crs)
    path = tmp_path / "punten.gpkg"
    gdf.to_file(path, layer="vbo")
    return path


@pytest.mark.parametrize("crs", [RD, "EPSG:4326"])
def test_points_as_arrays_equal_the_geodataframe(tmp_path, crs):
    path = _points_file(tmp_path, crs=crs)
    kw = {"crs": RD_NEW, "layer": "vbo", "where": "soort = 'a'", "columns": ["opp", "naam"],
          "bbox": (151_000, 441_000, 158_000, 449_000)}
    gdf = io.read_vector(path, **kw)
    pts = io.read_vector(path, **kw, as_points=True)
    assert isinstance(pts, io.Points) and len(pts) == len(gdf) > 0
    np.testing.assert_array_equal(pts.x, gdf.geometry.x.to_numpy())
    np.testing.assert_array_equal(pts.y, gdf.geometry.y.to_numpy())
    assert pts.data.equals(pd.DataFrame(gdf.drop(columns="geometry")))
    assert pts.data.index.name == "fid"


@pytest.mark.parametrize("as_points", [False, True])
@pytest.mark.parametrize("geometry", ["points", "polygons"])
def test_numeric_columns_read_with_the_geometries_are_typed_as_pyogrio_types_them(
        tmp_path, as_points, geometry):
    """Integer and real columns come from the same Arrow read as the geometries: values,
    nulls and dtypes equal pyogrio's own ``read_dataframe`` (an integer column with nulls is
    float64 with NaN there, an int32 stays int32)."""
    import pyogrio

    n = 40
    rng = np.random.default_rng(3)
    x, y = rng.uniform(150_000, 151_000, n), rng.uniform(450_000, 451_000, n)
    geoms = shapely.points(x, y) if geometry == "points" else shapely.box(x, y, x + 5, y + 7)
    gdf = gpd.GeoDataFrame({
        "met_gaten": pd.array([None if i % 7 == 0 else i for i in range(n)], dtype="Int64"),
        "klein": np.arange(n, dtype="int32"), "groot": np.arange(n, dtype="int64") * 10**10,
        "reeel": np.where(np.arange(n) % 5 == 0, np.nan, rng.normal(size=n)),
        "tekst": [f"t{i}" for i in range(n)]}, geometry=geoms, crs=RD)
    path = tmp_path / "getallen.gpkg"
    gdf.to_file(path, layer="v")
    cols = ["met_gaten", "klein", "groot", "reeel"]
    kw = {"layer": "v", "where": "klein <> 3", "bbox": (150_000, 450_000, 150_800, 450_900)}
    want = pyogrio.read_dataframe(path, columns=cols, read_geometry=False, fid_as_index=True,
                                  **kw)
    assert want["met_gaten"].dtype == "float64" and want["klein"].dtype == "int32"
    got = io.read_vector(path, crs=RD_NEW, columns=cols, as_points=as_points, **kw)
    attrs = got.data if as_points else pd.DataFrame(got.drop(columns="geometry"))
    pd.testing.assert_frame_equal(attrs, want)
    for mixed in (["klein", "tekst"], ["tekst"]):  # text: read as pyogrio reads it, still equal
        got = io.read_vector(path, crs=RD_NEW, columns=mixed, as_points=as_points, **kw)
        attrs = got.data if as_points else pd.DataFrame(got.drop(columns="geometry"))
        pd.testing.assert_frame_equal(attrs, pyogrio.read_dataframe(
            path, columns=mixed, read_geometry=False, fid_as_index=True, **kw))


def test_points_as_arrays_keep_the_geometry_checks(tmp_path):
    """A null or empty point is refused (or dropped with repair) exactly as without arrays."""
    path = tmp_path / "gaten.gpkg"
    gpd.GeoDataFrame({"v": [1, 2, 3, 4]},
                     geometry=[shapely.Point(150_000, 450_000), None, shapely.Point(),
                               shapely.Point(151_000, 451_000)], crs=RD).to_file(path)
    for bbox in (None, (149_000, 449_000, 152_000, 452_000)):
        with pytest.raises(InputError, match="null or empty geometries") as e:
            io.read_vector(path, crs=RD_NEW, bbox=bbox, as_points=True)
        assert e.value.code == "E-INPUT-GEOMETRY"
        pts = io.read_vector(path, crs=RD_NEW, bbox=bbox, repair=True, as_points=True)
        assert pts.x.tolist() == [150_000, 151_000] and pts.data["v"].tolist() == [1, 4]


def test_polygons_as_points_are_their_centroids(tmp_path):
    path = tmp_path / "vlakken.gpkg"
    boxes = [shapely.box(150_000, 450_000, 150_100, 450_300),
             shapely.box(151_000, 451_000, 151_400, 451_100)]
    gpd.GeoDataFrame({"v": [1, 2]}, geometry=boxes, crs=RD).to_file(path)
    pts = io.read_vector(path, crs=RD_NEW, as_points=True)
    assert pts.x.tolist() == [150_050, 151_200] and pts.y.tolist() == [450_150, 451_050]


@pytest.mark.parametrize("spatial_index", [True, False])
def test_null_geometries_found_with_or_without_an_rtree(tmp_path, spatial_index):
    """A bbox read finds no null geometry itself; the R-tree count (or, without an R-tree,
    the scan) must still see the one that matches the filter, and not the one that does not."""
    import pyogrio

    path = tmp_path / "rtree.gpkg"
    gdf = gpd.GeoDataFrame({"soort": ["a", "a", "b"]},
                           geometry=[shapely.Point(150_000, 450_000), None,
                                     shapely.Point(150_500, 450_500)], crs=RD)
    pyogrio.write_dataframe(gdf, path, layer="vbo", SPATIAL_INDEX="YES" if spatial_index
                            else "NO")
    bbox = (149_000, 449_000, 152_000, 452_000)
    with pytest.raises(InputError, match="null or empty geometries"):
        io.read_vector(path, crs=RD_NEW, layer="vbo", where="soort = 'a'", bbox=bbox)
    ok = io.read_vector(path, crs=RD_NEW, layer="vbo", where="soort = 'b'", bbox=bbox)
    assert len(ok) == 1
    clean = tmp_path / "schoon.gpkg"
    pyogrio.write_dataframe(gdf.iloc[[0, 2]], clean, layer="vbo")
    assert io._gpkg_all_indexed(str(clean), None, "vbo", "geom") is True
    assert io._gpkg_all_indexed(str(path), None, "vbo", "geom") is False


def _layers_for_gpkg():
    """A cells layer (text, small ints, float32, nulls, datetimes) and a zones layer of
    polygons and multipolygons, in RD New."""
    import pandas as pd

    grid = Grid.from_bounds(150_000, 450_000, 150_600, 450_400)
    rows, cols = np.nonzero(np.ones(grid.shape, dtype=bool))
    cells = gpd.GeoDataFrame({
        "cell_id": grid.cell_ids(rows, cols), "statcode": np.full(rows.size, "GM0001"),
        "klasse": (1 + rows % 5).astype("int16"), "score": np.linspace(0, 1, rows.size,
                                                                       dtype="float32"),
        "naam": pd.array(["één", None] * (rows.size // 2), dtype="string"),
        "datum": pd.to_datetime(["2021-06-01 12:00:00", None] * (rows.size // 2)),
    }, geometry=grid.cell_polygons(rows, cols), crs=RD)
    zones = gpd.GeoDataFrame(
        {"zone": np.array([1, 2], dtype="int16"), "oppervlakte_ha": [4.0, 8.0]},
        geometry=[shapely.box(150_000, 450_000, 150_200, 450_200),
                  shapely.MultiPolygon([shapely.box(150_300, 450_000, 150_400, 450_100),
                                        shapely.box(150_500, 450_300, 150_600, 450_400)])],
        crs=RD)
    return {"cells": cells, "zones": zones}


def test_gpkg_writer_layers_styles_metadata_and_spatial_index(tmp_path, monkeypatch):
    import sqlite3

    import pyogrio

    from riskmap import clock

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1622548800")  # 2021-06-01 12:00 UTC
    layers = _layers_for_gpkg()
    meta = {"RISKMAP_CREATED": "2021-06-01T12:00:00+00:00", "RISKMAP_X": "één"}
    qml = {"cells": "<qgis>cells</qgis>", "zones": "<qgis>zones</qgis>"}
    with clock.fixed():
        path = io.write_gpkg(tmp_path / "a.gpkg", layers, metadata=meta, styles=qml)
        again = io.write_gpkg(tmp_path / "b.gpkg", layers, metadata=meta, styles=qml)
        by_row = io.write_gpkg(tmp_path / "c.gpkg", layers, metadata=meta, styles=qml,
                               use_arrow=False)
    assert path.read_bytes() == again.read_bytes() == by_row.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.gpkg", "b.gpkg", "c.gpkg"]

    assert [n for n, _ in pyogrio.list_layers(path)] == ["cells", "zones", "layer_styles"]
    for name, frame in layers.items():
        back = gpd.read_file(path, layer=name)
        assert back.crs.to_epsg() == 28992
        assert list(back.columns) == list(frame.columns)
        for col in frame.columns.drop("geometry"):
            want, got = frame[col], back[col]
            if col == "datum":
                want = want.dt.tz_localize(None)
                got = pd_to_naive(got)
            assert want.isna().tolist() == got.isna().tolist(), col
            assert [str(v) for v in want.dropna()] == [str(v) for v in got.dropna()], col
        assert shapely.equals(back.geometry.values, frame.geometry.values).all()
        info = pyogrio.read_info(path, layer=name)
        assert info["layer_metadata"] == meta
        assert dict(zip(info["fields"], info["dtypes"], strict=True))["zone" if name == "zones"
                                                                     else "klasse"] == "int16"
    assert pyogrio.read_info(path, layer="zones")["geometry_type"] == "MultiPolygon"
    con = sqlite3.connect(path)
    try:
        styles = con.execute("SELECT f_table_name, f_geometry_column, styleQML, useAsDefault, "
                             "update_time FROM layer_styles ORDER BY id").fetchall()
        rtree = con.execute("SELECT table_name, column_name FROM gpkg_extensions WHERE "
                            "extension_name = 'gpkg_rtree_index' ORDER BY table_name").fetchall()
        counts = [con.execute(f"SELECT COUNT(*) FROM rtree_{t}_{c}").fetchone()[0]
                  for t, c in rtree]
        changed = {r[0] for r in con.execute("SELECT last_change FROM gpkg_contents")}
        journal = con.execute("PRAGMA journal_mode").fetchone()[0]
        page = con.execute("PRAGMA page_size").fetchone()[0]
        intact = con.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        con.close()
    assert styles == [("cells", "geometry", "<qgis>cells</qgis>", 1, meta["RISKMAP_CREATED"]),
                      ("zones", "geometry", "<qgis>zones</qgis>", 1, meta["RISKMAP_CREATED"])]
    assert rtree == [("cells", "geom"), ("zones", "geom")] and counts == [24, 2]
    assert changed == {"2021-06-01T12:00:00.000Z"}
    assert journal == "delete"  # the in-memory journal of the writer is not kept in the file
    assert page == 16384 and intact == "ok"


def pd_to_naive(series):
    import pandas as pd

    values = pd.to_datetime(series)
    return values.dt.tz_localize(None) if values.dt.tz is not None else values


@pytest.mark.parametrize(("size", "block"), [(30, 128), (512, 128), (513, 256)])
def test_geotiff_tiles_fit_the_raster(tmp_path, size, block):
    grid = Grid.from_bounds(150_000, 450_000, 150_000 + size * 10, 450_000 + 40, cell_size=10)
    p = io.write_geotiff(tmp_path / "a.tif", np.full(grid.shape, 0.25), grid)
    with rasterio.open(p) as ds:
        assert ds.block_shapes == [(block, block)] and ds.profile["tiled"]
        assert ds.overviews(1) or min(ds.shape) < 4
        assert (ds.read(1) == np.float32(0.25)).all()
