"""Every output of a whole project run carries its provenance, read back with its own library.

Expected values are computed here, independently of riskmap: the SHA-256 of the inputs with
hashlib, their dates from ``os.stat``, the config hash from the bytes of the project and
layer files, the weights from the layer file in ``conftest``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
from html.parser import HTMLParser
from importlib.metadata import version
from pathlib import Path

import openpyxl
import pyogrio
import pytest
import rasterio
from conftest import invoke
from PIL import Image

from riskmap import config, pipeline

LEGAL = "Art. 172 Gemeentewet & art. 20 Wpg <RIEC-convenant 2024>"
WEIGHTS = {"test": {"afstand_weg": 2, "dichtheid": 1, "bos": 1, "aantal": 0.5, "klasse": 0.5,
                    "licht": 1}}
SCORING_WEIGHTS = {"inschrijvingen": 2, "leegstand": 1, "zone": 1, "signalen": 1}
INPUTS = ("gemeenten.gpkg", "bronnen.gpkg", "licht.tif", "incidenten.csv", "panden.gpkg",
          "terreinen.gpkg", "signalen.csv", "inspecties.csv")
#: Keys of incident detail that may never reach partners or the public.
POLICE_ONLY = ("n_incidents", "candidates", "counts", "emerging")


def _expected(project_file: Path) -> dict:
    data = project_file.parent / "data"
    inputs = {}
    for name in INPUTS:
        path = data / name
        inputs[name] = {
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "modified": dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).isoformat(
                timespec="seconds")}
    config_hash = hashlib.sha256(project_file.read_bytes()
                                 + (project_file.parent / "layers" / "test.toml").read_bytes())
    return {"version": version("riskmap"), "config": config_hash.hexdigest(), "inputs": inputs}


def _check(prov: dict, exp: dict, audience: str, where: str) -> None:
    """The machine-readable provenance (dict) of one file."""
    assert prov["riskmap_version"] == exp["version"], where
    assert prov["config_sha256"] == exp["config"], where
    assert prov["audience"] == audience, where
    assert prov["k"] == 5, where
    assert prov["legal_basis"] == LEGAL, where
    assert prov["weights"] == WEIGHTS, where
    assert prov["scoring_weights"] == SCORING_WEIGHTS, where
    got = {k: {"sha256": v["sha256"], "modified": v["modified"]}
           for k, v in prov["inputs"].items()}
    assert got == exp["inputs"], where
    if audience != "police":
        text = json.dumps(prov)
        leaked = [k for k in POLICE_ONLY if f'"{k}"' in text]
        assert not leaked, (where, leaked)


def _from_flat(tags: dict[str, str]) -> dict:
    """``RISKMAP_*`` tags (GeoTIFF, GeoPackage, PNG) back into a provenance dict."""
    out = {}
    for key, value in tags.items():
        if not key.startswith("RISKMAP_"):
            continue
        name = key.removeprefix("RISKMAP_").lower()
        try:
            out[name] = json.loads(value)
        except ValueError:
            out[name] = value
    for name in ("riskmap_version", "config_sha256", "audience", "legal_basis"):
        out[name] = tags[f"RISKMAP_{name.upper()}"]  # strings stay strings
    return out


class _Details(HTMLParser):
    """The ``<details id="rm-provenance">`` list of a page: {dt text: dd text}."""

    def __init__(self) -> None:
        super().__init__()
        self.inside = False
        self.tag = None
        self.key = ""
        self.items: dict[str, str] = {}
        self.count = 0

    def handle_starttag(self, tag, attrs):
        if tag == "details" and ("id", "rm-provenance") in attrs:
            self.inside = True
            self.count += 1
        elif self.inside and tag in ("dt", "dd"):
            self.tag = tag

    def handle_endtag(self, tag):
        if tag == "details":
            self.inside = False
        self.tag = None

    def handle_data(self, data):
        if self.tag == "dt":
            self.key = data
        elif self.tag == "dd":
            self.items[self.key] = data


def _check_html(text: str, exp: dict, audience: str, where: str) -> None:
    parser = _Details()
    parser.feed(text)
    assert parser.count == 1, where
    items = parser.items
    assert items["riskmap-versie"] == exp["version"], where
    assert items["configuratie (SHA-256)"] == exp["config"], where
    assert items["doelgroep"] == audience, where
    assert items["k (minimaal aantal incidenten)"] == "5", where
    assert items["wettelijke grondslag"] == LEGAL, where  # escaped in the page, intact here
    assert "<RIEC" not in text  # the legal basis is escaped, not markup
    weights = items["gewichten test"]
    for name, w in WEIGHTS["test"].items():
        assert f"{name} = {w:g}" in weights, where
    for name, w in SCORING_WEIGHTS.items():
        assert f"{name} = {w:g}" in items["gewichten scoring"], where
    for name, v in exp["inputs"].items():
        line = items[f"bron {name}"]
        assert v["sha256"] in line and v["modified"] in line, (where, name)
    if audience != "police":
        assert not any(k in text for k in ("n_incidents", "aantal incidenten:")), where


def _gpkg_layers(path: Path) -> list[str]:
    with sqlite3.connect(path) as con:
        return [r[0] for r in con.execute(
            "SELECT table_name FROM gpkg_contents WHERE data_type = 'features'")]


@pytest.mark.filterwarnings("ignore::riskmap.errors.RiskmapWarning")
def test_every_output_carries_provenance(scoring_project, tmp_path):
    scoring_project.write_text(scoring_project.read_text(encoding="utf-8")
                               + f'\n[project]\nname = "Proef"\nlegal_basis = "{LEGAL}"\n'
                               + '\n[register]\nurl = "sqlite:///register.sqlite"\n',
                               encoding="utf-8")
    project = config.load_project(scoring_project)
    exp = _expected(scoring_project)
    assert project.digest == exp["config"]
    out = tmp_path / "uit"
    written, _ = pipeline.run_project(project, out, audience="partners", capacity=6,
                                      period="2022-Q1")
    # the register: fill it from the plan, then export it
    res = invoke("register", "add-plan", str(scoring_project), str(out / "inspectieplan.csv"),
                 "--date", "2022-01-05", "--who", "analist")
    assert res.exit_code == 0, res.output
    written += pipeline.export_register(project, out / "register")
    files = sorted(p for p in out.rglob("*") if p.is_file())
    assert set(files) == set(written)

    seen: dict[str, int] = {}
    for path in files:
        rel = str(path.relative_to(out))
        # opportunity maps hold no police information: made for everyone
        audience = "public" if path.name.startswith("opportunity.") else "partners"
        suffix = "".join(path.suffixes[-2:]) if path.name.endswith(
            pipeline.SIDECAR_SUFFIX) else path.suffix
        seen[suffix] = seen.get(suffix, 0) + 1
        if suffix == ".tif":
            with rasterio.open(path) as ds:
                _check(_from_flat(ds.tags()), exp, audience, rel)
        elif suffix == ".gpkg":
            layers = _gpkg_layers(path)
            assert layers, rel
            for layer in layers:
                meta = pyogrio.read_info(path, layer=layer)["layer_metadata"]
                _check(_from_flat(meta), exp, audience, f"{rel}:{layer}")
        elif suffix == ".png":
            with Image.open(path) as im:
                _check(_from_flat(dict(im.text)), exp, audience, rel)
        elif suffix == ".xlsx":
            wb = openpyxl.load_workbook(path, read_only=True)
            assert wb.sheetnames[-1] == "Herkomst", rel
            rows = dict(list(wb["Herkomst"].iter_rows(min_row=2, values_only=True)))
            wb.close()
            _check({k: json.loads(v) if k in ("k", "weights", "scoring_weights", "inputs")
                    else v for k, v in rows.items()}, exp, audience, rel)
        elif suffix == ".html":
            _check_html(path.read_text(encoding="utf-8"), exp, audience, rel)
        elif suffix == ".json" and path.name == "MANIFEST.json":
            _check(json.loads(path.read_text())["provenance"], exp, audience, rel)
        elif suffix == pipeline.SIDECAR_SUFFIX:
            body = json.loads(path.read_text(encoding="utf-8"))
            target = path.with_name(body["file"])
            assert target.suffix == ".csv" and target.exists(), rel
            _check(body["provenance"], exp, audience, rel)
        elif suffix == ".csv":
            assert path.with_name(path.stem + pipeline.SIDECAR_SUFFIX).exists(), rel
        else:
            pytest.fail(f"{rel}: an output without a provenance check")
    # every kind of output was there to check (two municipalities)
    assert seen[".tif"] == 3 * 2 and seen[".gpkg"] == 4 * 2 + 1 and seen[".png"] == 4, seen
    assert seen[".xlsx"] == 2 + 1 + 1 and seen[".html"] == 3 + 1, seen
    assert seen[".csv"] == seen[pipeline.SIDECAR_SUFFIX] == 2 + 1 + 1 + 2 + 1, seen


def test_backtest_json_names_its_inputs(tmp_path):
    from conftest import incidents_frame

    csv = tmp_path / "inc.csv"
    incidents_frame().to_csv(csv, index=False)
    result = pipeline.run_backtest(csv, date_col="datum", x_col="x", y_col="y",
                                   crs="EPSG:28992", split="2021-07-01", cell_size=200.0)
    path, png = pipeline.write_backtest(result, tmp_path / "bt.json")
    prov = json.loads(path.read_text())["provenance"]
    with Image.open(png) as im:
        assert json.loads(im.text["RISKMAP_INPUTS"]) == prov["inputs"]
    assert prov["riskmap_version"] == version("riskmap")
    assert prov["audience"] == "police"
    assert prov["inputs"] == {"inc.csv": {
        "sha256": hashlib.sha256(csv.read_bytes()).hexdigest(),
        "modified": dt.datetime.fromtimestamp(csv.stat().st_mtime, dt.UTC).isoformat(
            timespec="seconds")}}


def _previous_run(out: Path, prov: dict) -> None:
    """A previous run's manifest for GM9001 whose files are all there and intact."""
    files = {}
    for name in (*pipeline.OPPORTUNITY_FILES, *pipeline.RISK_FILES, *pipeline.OVERLAY_FILES):
        path = out / "GM9001" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(name.encode())
        files[f"GM9001/{name}"] = {"sha256": hashlib.sha256(name.encode()).hexdigest()}
    (out / "MANIFEST.json").write_text(json.dumps({"complete": True, "provenance": prov,
                                                   "files": files}), encoding="utf-8")


def test_a_network_input_is_recorded_by_its_url_not_hashed(risk_project, tmp_path):
    """``--allow-network``: provenance names the URL, hashes nothing, and resume reuses nothing.

    No network is used: only the provenance of a project with a URL as one source is asked.
    """
    from riskmap import explain, io

    # control: with local inputs only, the previous run's files are reused
    out = tmp_path / "uit"
    project = config.load_project(risk_project)
    _previous_run(out, pipeline.provenance(project, audience="police"))
    assert pipeline._reusable(out, project, "police", ["GM9001"]) == ["GM9001"]

    url = "https://example.org/data/wegen.gpkg"
    layers = risk_project.parent / "layers" / "test.toml"
    layers.write_text(layers.read_text(encoding="utf-8").replace(
        '{ file = "bronnen.gpkg", layer = "lijnen" }', f'{{ file = "{url}" }}'),
        encoding="utf-8")
    project = config.load_project(risk_project)
    assert url in pipeline.input_files(project)
    with io.use_limits(allow_network=True):
        prov = pipeline.provenance(project, audience="police")
        text = pipeline.provenance_text(prov)
        sources = "\n".join(explain._sources(project))
    entry = prov["inputs"][url]
    assert entry["url"] == url and entry["remote"] is True and entry["hashed"] is False
    assert "not hashed" in entry["note"] and "sha256" not in entry and "modified" not in entry
    local = prov["inputs"]["bronnen.gpkg"]  # the other layers still come from the local file
    assert local["sha256"] == hashlib.sha256(
        (risk_project.parent / "data" / "bronnen.gpkg").read_bytes()).hexdigest()
    assert "niet gehasht" in text[f"bron {url}"]
    assert url in sources and "netwerkbron, niet gehasht" in sources
    json.dumps(prov)  # goes into every output as it is
    # resume: a remote input is never taken as unchanged, even by a manifest that matches
    assert pipeline._sha256(url) is None and pipeline._sha256(f"/vsicurl/{url}") is None
    _previous_run(out, prov)
    assert pipeline._reusable(out, project, "police", ["GM9001"]) == []


def test_synthetic_mark_follows_the_file_when_it_is_rewritten(tmp_path):
    """The provenance remembers what it read of a file (hash, synthetic mark) per path, date
    and size: a file written again without the mark is no longer called synthetic."""
    import os

    import geopandas as gpd
    import shapely

    path = tmp_path / "bron.gpkg"
    frame = gpd.GeoDataFrame({"v": [1]}, geometry=[shapely.Point(150_000, 450_000)],
                             crs="EPSG:28992")
    pyogrio.write_dataframe(frame, path, layer="b",
                            layer_metadata={"RISKMAP_SYNTHETIC": "true"})
    name, entry = pipeline.input_entry(path)
    assert name == "bron.gpkg" and entry["synthetic"] is True
    assert pipeline.input_entry(path)[1]["synthetic"] is True  # asked again: the same
    before = path.stat().st_mtime_ns
    path.unlink()
    pyogrio.write_dataframe(frame, path, layer="b")
    os.utime(path, ns=(before + 10**9, before + 10**9))  # another date, whatever the clock
    entry = pipeline.input_entry(path)[1]
    assert "synthetic" not in entry
    assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
