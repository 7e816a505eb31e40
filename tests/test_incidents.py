"""Incident files: formats, date styles, and every problem collected with where and fix."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import CRS

from riskmap.errors import CRSError, InputError, RiskmapWarning
from riskmap.incidents import read_incidents

RD = CRS.from_epsg(28992)


def _csv(tmp_path, rows, name="inc.csv"):
    path = tmp_path / name
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def _rows(n=20, seed=0):
    rng = np.random.default_rng(seed)
    return {"id": [f"P{i}" for i in range(n)],
            "datum": list(pd.date_range("2021-01-01", periods=n, freq="7D").strftime("%Y-%m-%d")),
            "x": rng.uniform(150_000, 152_000, n).round(1),
            "y": rng.uniform(450_000, 452_000, n).round(1),
            "soort": rng.choice(["drugslab", "hennep"], n)}


def test_xy_with_declared_crs(tmp_path):
    rows = _rows()
    inc = read_incidents(_csv(tmp_path, rows), date_col="datum", x_col="x", y_col="y",
                         crs="EPSG:28992", type_col="soort", id_col="id", target_crs=RD)
    assert len(inc) == 20
    np.testing.assert_allclose(inc.x, rows["x"])
    assert inc.date[0] == np.datetime64("2021-01-01")
    assert set(inc.select(types=["hennep"]).type) == {"hennep"}
    assert len(inc.select(start="2021-02-01", end="2021-03-01")) == 4


def test_lonlat_reprojected_and_dutch_dates(tmp_path):
    rows = _rows()
    from pyproj import Transformer

    lon, lat = Transformer.from_crs(RD, 4326, always_xy=True).transform(rows["x"], rows["y"])
    rows = {"datum": [f"{d[8:10]}-{d[5:7]}-{d[:4]} 13:30" for d in rows["datum"]],
            "lon": lon, "lat": lat}
    inc = read_incidents(_csv(tmp_path, rows), date_col="datum", lon_col="lon", lat_col="lat",
                         target_crs=RD)
    np.testing.assert_allclose(inc.x, _rows()["x"], atol=0.01)
    assert inc.date[1] == np.datetime64("2021-01-08T13:30")


def test_year_month_day_columns(tmp_path):
    rows = {"Y": [2020, 2020], "M": [1, 12], "D": [31, 1], "x": [150_000, 150_100],
            "y": [450_000, 450_100]}
    inc = read_incidents(_csv(tmp_path, rows), date_col=["Y", "M", "D"], x_col="x", y_col="y",
                         crs="EPSG:28992", target_crs=RD)
    assert list(inc.date) == [np.datetime64("2020-01-31"), np.datetime64("2020-12-01")]


def test_geopackage_points(tmp_path):
    rows = _rows()
    gdf = gpd.GeoDataFrame({"datum": rows["datum"]},
                           geometry=shapely.points(rows["x"], rows["y"]), crs=RD)
    gdf.to_file(tmp_path / "inc.gpkg")
    inc = read_incidents(tmp_path / "inc.gpkg", date_col="datum", target_crs=RD)
    np.testing.assert_allclose(inc.y, rows["y"])


def test_xy_without_crs_is_refused(tmp_path):
    with pytest.raises(CRSError, match="without a CRS") as e:
        read_incidents(_csv(tmp_path, _rows()), date_col="datum", x_col="x", y_col="y",
                       target_crs=RD)
    assert e.value.code == "E-CRS-MISSING"


def test_swapped_lonlat_is_caught(tmp_path):
    rows = _rows()
    from pyproj import Transformer

    lon, lat = Transformer.from_crs(RD, 4326, always_xy=True).transform(rows["x"], rows["y"])
    path = _csv(tmp_path, {"datum": rows["datum"], "lon": lat, "lat": lon})  # swapped
    area = shapely.box(149_000, 449_000, 153_000, 453_000)
    with pytest.raises(InputError, match="fall outside the study area. Are longitude and "
                       "latitude swapped") as e:
        read_incidents(path, date_col="datum", lon_col="lon", lat_col="lat", target_crs=RD,
                       area=area)
    assert e.value.code == "E-INCIDENTS-OUTSIDE"


def test_rd_numbers_declared_as_wrong_crs(tmp_path):
    # RD numbers declared as Swiss LV95 (x ~ 2.6 M there)
    with pytest.raises(CRSError, match="outside the area of use of EPSG:2056") as e:
        read_incidents(_csv(tmp_path, _rows()), date_col="datum", x_col="x", y_col="y",
                       crs="EPSG:2056", target_crs=RD)
    assert e.value.code == "E-CRS-BOUNDS"


def test_all_problems_collected(tmp_path):
    rows = _rows(8)
    rows["datum"][2] = "gisteren"
    rows["datum"][5] = "2021-13-45"
    rows["x"] = rows["x"].astype(object)
    rows["x"][3] = "15O000"  # letter O
    rows["id"][7] = rows["id"][0]
    with pytest.raises(InputError) as e:
        read_incidents(_csv(tmp_path, rows), date_col="datum", x_col="x", y_col="y",
                       crs="EPSG:28992", id_col="id", target_crs=RD)
    msg = str(e.value)
    assert "3 problem(s)" in msg
    assert "2 of 8 dates are not parseable (line 4: 'gisteren', line 7: '2021-13-45')" in msg
    assert "1 coordinates are not numbers (line 5: '15O000')" in msg
    assert "1 ids occur more than once (e.g. 'P0')" in msg


def test_missing_coordinates_and_duplicates_are_dropped_with_warning(tmp_path):
    rows = pd.DataFrame(_rows(6))
    rows.loc[2, "x"] = np.nan
    rows = pd.concat([rows, rows.iloc[[4]]])
    path = tmp_path / "inc.csv"
    rows.to_csv(path, index=False)
    with pytest.warns(RiskmapWarning) as rec:
        inc = read_incidents(path, date_col="datum", x_col="x", y_col="y", crs="EPSG:28992",
                             target_crs=RD)
    texts = " ".join(str(r.message) for r in rec)
    assert "1 of 7 incidents have no coordinates" in texts
    assert "1 rows are exact duplicates" in texts
    assert len(inc) == 5


def test_missing_column_lists_columns(tmp_path):
    with pytest.raises(InputError, match="'date' not found. Columns in the file: id, datum"):
        read_incidents(_csv(tmp_path, _rows()), date_col="date", x_col="x", y_col="y",
                       crs="EPSG:28992", target_crs=RD)
