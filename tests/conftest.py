"""Small synthetic fixtures in EPSG:28992, built fresh for each test that asks."""

from __future__ import annotations

import textwrap
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin

RD = "EPSG:28992"

# Two neighbouring municipalities with edges off the 100 m lattice.
NOORD = shapely.Polygon([(150_030, 450_020), (153_970, 450_020), (154_480, 453_310),
                         (151_210, 454_040), (150_030, 452_950)])
ZUID = shapely.Polygon([(150_030, 450_020), (153_970, 450_020), (153_650, 447_130),
                        (150_480, 446_660)])

LAYERS_TOML = """\
title = "Test"

[[indicator]]
name = "afstand_weg"
label = "Afstand tot weg"
source = { file = "bronnen.gpkg", layer = "lijnen" }
measure = "distance"
transform = { method = "decay", influence_m = 2000 }
direction = "lower"
weight = 2
rationale = "test"

[[indicator]]
name = "dichtheid"
label = "Punten binnen 300 m"
source = { file = "bronnen.gpkg", layer = "punten", where = "soort = 'a'" }
measure = "density"
radius_m = 300
transform = "minmax"
direction = "higher"
weight = 1
rationale = "test"

[[indicator]]
name = "bos"
label = "Bosdekking"
source = { file = "bronnen.gpkg", layer = "vlakken" }
measure = "coverage"
transform = "rank"
direction = "higher"
weight = 1
rationale = "test"

[[indicator]]
name = "aantal"
label = "Punten per cel"
source = { file = "bronnen.gpkg", layer = "punten" }
measure = "count"
transform = { method = "threshold", value = 1 }
direction = "higher"
weight = 0.5
rationale = "test"

[[indicator]]
name = "klasse"
label = "Klasse van het vlak"
source = { file = "bronnen.gpkg", layer = "vlakken" }
measure = "attribute"
field = "klasse"
fill = 0
transform = "minmax"
direction = "higher"
weight = 0.5
rationale = "test"

[[indicator]]
name = "licht"
label = "Nachtlicht"
source = { file = "licht.tif" }
measure = "raster"
transform = "rank"
direction = "lower"
weight = 1
rationale = "test"
"""

PROJECT_TOML = """\
[region]
municipalities = "data/gemeenten.gpkg"
id_column = "statcode"
name_column = "statnaam"
cell_size = 100
halo_m = 500

[opportunity]
layers = ["layers/test.toml"]
data_dir = "data"
normalise = "municipality"
classes = 5
"""


def municipalities() -> gpd.GeoDataFrame:
    """The two test municipalities."""
    return gpd.GeoDataFrame({"statcode": ["GM9001", "GM9002"], "statnaam": ["Noord", "Zuid"]},
                            geometry=[NOORD, ZUID], crs=RD)


def sources(seed: int = 1) -> dict[str, gpd.GeoDataFrame]:
    """Points, lines and polygons in and around the test region."""
    rng = np.random.default_rng(seed)
    n = 400
    x = rng.uniform(149_000, 155_500, n)
    y = rng.uniform(445_500, 455_000, n)
    punten = gpd.GeoDataFrame({"soort": rng.choice(["a", "b"], n),
                               "waarde": rng.integers(0, 30, n)},
                              geometry=shapely.points(x, y), crs=RD)
    lijnen = gpd.GeoDataFrame({"naam": ["A", "B"]}, geometry=[
        shapely.LineString([(149_000, 451_333), (155_500, 452_777)]),
        shapely.LineString([(156_200, 445_000), (156_300, 455_000)]),  # just outside the region
    ], crs=RD)
    centres = shapely.points(rng.uniform(150_000, 154_000, 12), rng.uniform(447_000, 453_500, 12))
    vlakken = gpd.GeoDataFrame({"klasse": rng.integers(1, 6, 12).astype(float)},
                               geometry=shapely.buffer(centres, rng.uniform(150, 700, 12)),
                               crs=RD)
    return {"punten": punten, "lijnen": lijnen, "vlakken": vlakken}


def write_light_raster(path: Path) -> None:
    """A lon/lat raster (EPSG:4326) covering the test region: bright in the north-east."""
    west, north, res = 5.28, 52.10, 0.002
    w, h = 70, 70
    lon = west + (np.arange(w) + 0.5) * res
    lat = north - (np.arange(h) + 0.5) * res
    data = (np.add.outer((lat - lat.min()) * 100, (lon - lon.min()) * 50)).astype("float32")
    with rasterio.open(path, "w", driver="GTiff", width=w, height=h, count=1, dtype="float32",
                       crs="EPSG:4326", transform=from_origin(west, north, res, res),
                       nodata=-9999) as ds:
        ds.write(data, 1)


@pytest.fixture
def tiny_project(tmp_path: Path) -> Path:
    """A complete project (2 municipalities, 6 indicators of every measure) in tmp_path."""
    data = tmp_path / "data"
    data.mkdir()
    municipalities().to_file(data / "gemeenten.gpkg", layer="gemeenten")
    for layer, gdf in sources().items():
        gdf.to_file(data / "bronnen.gpkg", layer=layer)
    write_light_raster(data / "licht.tif")
    (tmp_path / "layers").mkdir()
    (tmp_path / "layers" / "test.toml").write_text(LAYERS_TOML, encoding="utf-8")
    project = tmp_path / "project.toml"
    project.write_text(PROJECT_TOML, encoding="utf-8")
    return project


def write(path: Path, text: str) -> Path:
    """Write dedented text to ``path`` and return it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


RISK_TOML = """
[risk]
incidents = "data/incidenten.csv"
date_column = "datum"
x_column = "x"
y_column = "y"
crs = "EPSG:28992"
type_column = "soort"
k = 5
"""


def incidents_frame(seed=0, n=400):
    """Clustered incidents in the test region, 2020-2021, plus a few isolated ones."""
    rng = np.random.default_rng(seed)
    centres = np.array([[151_500, 451_500], [153_000, 448_500], [150_800, 448_000]])
    which = rng.integers(0, 3, n)
    x = centres[which, 0] + rng.normal(0, 200, n)
    y = centres[which, 1] + rng.normal(0, 200, n)
    # three isolated incidents far from the clusters and from each other
    x = np.concatenate([x, [153_700, 150_300, 152_600]])
    y = np.concatenate([y, [453_000, 450_400, 447_300]])
    dates = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 730, x.size), "D")
    return pd.DataFrame({"datum": dates.strftime("%Y-%m-%d"), "x": x.round(1), "y": y.round(1),
                         "soort": rng.choice(["drugslab", "hennep"], x.size)})


@pytest.fixture
def risk_project(tiny_project):
    df = incidents_frame()
    df.to_csv(tiny_project.parent / "data" / "incidenten.csv", index=False)
    tiny_project.write_text(tiny_project.read_text() + RISK_TOML)
    return tiny_project
