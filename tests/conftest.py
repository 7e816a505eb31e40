"""Small synthetic fixtures in EPSG:28992, built fresh for each test that asks."""

from __future__ import annotations

import os
import shutil
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


# ----------------------------------------------------------------- headless Chromium

CHROMIUM = os.environ.get("RISKMAP_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LOCAL = ("file:", "data:", "about:", "blob:")


@pytest.fixture(scope="session")
def browser(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}. Install Debian's chromium: "
                    "apt-get update && apt-get install -y chromium chromium-driver "
                    "(.ci/run does this), or set RISKMAP_CHROMIUM to its path.")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - playwright is in the dev extras
        pytest.fail("playwright is not installed: pip install -e '.[dev]'")
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, headless=True, args=ARGS,
            viewport={"width": 1200, "height": 800}, offline=True)
        yield context
        context.close()


class Session:
    """One page with everything it logs, requests and pops up."""

    def __init__(self, context, tmp_path: Path) -> None:
        self.page = context.new_page()
        self.page.set_default_timeout(10_000)
        self.tmp_path = tmp_path
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error"
                     else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("dialog", self._dialog)

    def _dialog(self, dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def open(self, html: str, name: str = "kaart.html") -> None:
        from riskmap.webmap import write_page

        path = write_page(self.tmp_path / name, html)
        self.page.goto(path.as_uri())
        self.page.wait_for_load_state("load")

    def screenshot(self, name: str) -> Path:
        shot = self.tmp_path / name
        self.page.screenshot(path=str(shot))
        artifacts = Path(os.environ.get("RISKMAP_ARTIFACTS", "test-artifacts"))
        artifacts.mkdir(parents=True, exist_ok=True)
        shutil.copy2(shot, artifacts / name)
        return shot

    def remote_requests(self) -> list[str]:
        return [u for u in self.requests if not u.startswith(LOCAL)]

    def map_name(self) -> str:
        return self.page.eval_on_selector(".folium-map", "e => e.id")

    def point_of(self, lat: float, lon: float, *, interactive: bool = True) -> list[float]:
        """Page coordinates of (lat, lon) once the map has settled (fitBounds may animate)."""
        handle = self.page.wait_for_function(
            "([name, lat, lon, interactive]) => { const m = window[name];"
            " if (!m || m._animatingZoom) return false;"
            " const p = m.latLngToContainerPoint([lat, lon]);"
            " const r = m.getContainer().getBoundingClientRect();"
            " const x = r.left + p.x, y = r.top + p.y;"
            " const e = document.elementFromPoint(x, y);"
            " if (interactive && !(e && e.classList.contains('leaflet-interactive'))) return false;"
            " return [x, y]; }", arg=[self.map_name(), lat, lon, interactive])
        return handle.json_value()

    def click_latlon(self, lat: float, lon: float) -> None:
        self.page.mouse.click(*self.point_of(lat, lon))

    def close(self) -> None:
        self.page.close()




SCORING_TOML = """
[scoring]
premises = "data/panden.gpkg"
layer = "verblijfsobject"
id_column = "identificatie"
where = "gebruiksdoel <> 'woonfunctie'"
address_columns = ["openbare_ruimte", "huisnummer"]
sector_column = "sbi"
estates = "data/terreinen.gpkg"
estates_id_column = "RIN_NUMMER"
estates_name_column = "PLAN_NAAM"
builtup_max_addresses = 1000
signals = "data/signalen.csv"
inspections = "data/inspecties.csv"
top_k = 10

[[scoring.feature]]
name = "inschrijvingen"
label = "Inschrijvingen op het adres"
reason = "{waarde} inschrijvingen op dit adres"
kind = "column"
column = "kvk_inschrijvingen"
transform = "minmax"
weight = 2

[[scoring.feature]]
name = "leegstand"
label = "Leegstaand pand"
reason = "leegstaand pand"
kind = "column"
column = "status"
equals = "Verblijfsobject buiten gebruik"
transform = { method = "threshold", value = 1 }
weight = 1

[[scoring.feature]]
name = "zone"
label = "In een prioriteitszone"
reason = "ligt in een prioriteitszone"
kind = "map"
map = "prioriteitszone"
transform = { method = "threshold", value = 1 }
weight = 1

[[scoring.feature]]
name = "signalen"
label = "Politiesignalen"
reason = "{waarde} politiesignalen op dit adres"
kind = "signals"
window_days = 365
transform = { method = "threshold", value = 1 }
weight = 1
"""


def premises_frame(seed=3, n=60):
    """Non-residential premises in the test region, with attributes and a few dwellings."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(150_500, 153_500, n)
    y = rng.uniform(447_500, 453_000, n)
    return gpd.GeoDataFrame({
        "identificatie": [f"9001010000{i:06d}" for i in range(n)],
        "gebruiksdoel": np.where(np.arange(n) < 5, "woonfunctie", "industriefunctie"),
        "status": np.where(rng.uniform(size=n) < 0.2, "Verblijfsobject buiten gebruik",
                           "Verblijfsobject in gebruik"),
        "kvk_inschrijvingen": rng.integers(0, 30, n),
        "openbare_ruimte": np.where(np.arange(n) % 4 == 1, "=HYPERLINK('http://x')",
                                    "Industrieweg"),
        "huisnummer": np.arange(1, n + 1),
        "sbi": rng.choice(["4511", "2511", "4941"], n),
    }, geometry=shapely.points(x, y), crs="EPSG:28992")


@pytest.fixture
def scoring_project(risk_project):
    data = risk_project.parent / "data"
    prem = premises_frame()
    prem.to_file(data / "panden.gpkg", layer="verblijfsobject")
    gpd.GeoDataFrame({"RIN_NUMMER": ["T1"], "PLAN_NAAM": ["De Haven"]},
                     geometry=[shapely.box(150_000, 447_000, 152_000, 450_000)],
                     crs="EPSG:28992").to_file(data / "terreinen.gpkg")
    ids = prem["identificatie"].tolist()
    pd.DataFrame({"premise_id": [ids[10], ids[10], ids[20]],
                  "datum": ["2021-06-01", "2021-07-01", "2021-08-01"]}).to_csv(
        data / "signalen.csv", index=False)
    pd.DataFrame({"premise_id": [ids[30], ids[31]], "datum": ["2021-10-01", "2020-01-01"],
                  "uitkomst": ["bevestigd", "ontkracht"], "verkenning": ["nee", "ja"]}).to_csv(
        data / "inspecties.csv", index=False)
    risk_project.write_text(risk_project.read_text() + SCORING_TOML)
    return risk_project


REGISTER_TOML = """
[register]
url = "sqlite:///register.sqlite"

[register.targets]
baseline = 10
in_beeld_share = 0.3
"""

#: `riskmap run` options that make it write every kind of file (the plan too).
RUN_ALL = ("--capacity", "6", "--period", "2022-Q1", "--no-progress")


@pytest.fixture
def full_project(scoring_project):
    """Opportunity, risk, scoring and a register: `riskmap run` writes every kind of file
    (GeoTIFF, GeoPackage, PNG, HTML, XLSX, CSV, MANIFEST.json) in a few seconds."""
    scoring_project.write_text(scoring_project.read_text() + REGISTER_TOML)
    return scoring_project


def riskmap_subprocess(*args: str, env: dict[str, str] | None = None, **kwargs):
    """Start ``python -m riskmap ARGS`` in a new process that imports this riskmap."""
    import subprocess
    import sys

    import riskmap

    env = {**os.environ, **(env or {})}
    root = str(Path(riskmap.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    kwargs.setdefault("stdout", subprocess.PIPE)
    kwargs.setdefault("stderr", subprocess.PIPE)
    return subprocess.Popen([sys.executable, "-m", "riskmap", *args], env=env, **kwargs)



def invoke(*args: str):
    """Run the CLI in-process; re-raise anything but SystemExit (that would be a bug)."""
    from click.testing import CliRunner

    from riskmap.cli import main

    result = CliRunner().invoke(main, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result
