"""The bad-input corpus: every case through the CLI → exit 2, code, what/where/fix, nothing written.

The cases are listed in ``tests/bad_inputs/cases.toml``; small files are committed in
``tests/bad_inputs/files/``, binary ones (zip bombs, truncated files) are made by
``tests/bad_inputs/make.py`` at test time.
"""

from __future__ import annotations

import importlib.util
import os
import shlex
import shutil
import tomllib
from pathlib import Path

import pytest
from conftest import invoke

from riskmap import io
from riskmap.errors import ConfigError, InputError

CORPUS = Path(__file__).parent / "bad_inputs"
CASES = tomllib.loads((CORPUS / "cases.toml").read_text(encoding="utf-8"))["case"]
BASES = {"tiny": "tiny_project", "risk": "risk_project", "scoring": "scoring_project"}
KEYS = {"id", "base", "files", "project", "layers", "env", "command", "code", "words"}


def _make():
    spec = importlib.util.spec_from_file_location("bad_inputs_make", CORPUS / "make.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MAKE = _make()


def _replace(path: Path, pairs: list[list[str]], case_id: str) -> None:
    text = path.read_text(encoding="utf-8")
    for old, new in pairs:
        assert old in text, f"case {case_id}: {old!r} not in {path.name}"
        text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")


def _setup(case: dict, project: Path) -> None:
    base = project.parent
    for dest, source in case.get("files", {}).items():
        target = base / dest
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.startswith("make:"):
            MAKE.MAKERS[source.removeprefix("make:")](target)
        else:
            shutil.copyfile(CORPUS / "files" / source, target)
    _replace(project, case.get("project", []), case["id"])
    _replace(base / "layers" / "test.toml", case.get("layers", []), case["id"])


def test_the_corpus_is_complete():
    assert len(CASES) >= 40
    ids = [c["id"] for c in CASES]
    assert len(ids) == len(set(ids))
    for case in CASES:
        assert set(case) <= KEYS and {"id", "base", "command", "code", "words"} <= set(case), case
        assert case["base"] in BASES and case["code"].startswith("E-") and case["words"]
    committed = {p.name for p in (CORPUS / "files").iterdir()}
    used = {s for c in CASES for s in c.get("files", {}).values()}
    assert {s for s in used if not s.startswith("make:")} <= committed
    assert committed <= used, f"unused corpus files: {committed - used}"
    assert {s.removeprefix("make:") for s in used if s.startswith("make:")} == set(MAKE.MAKERS)
    # nothing big is committed: bombs and truncated files are made at test time
    assert max(p.stat().st_size for p in (CORPUS / "files").iterdir()) < 10_000
    codes = {c["code"] for c in CASES}
    for code in ("E-INPUT-FORMAT", "E-INPUT-NETWORK", "E-INPUT-TOOBIG", "E-INPUT-ARCHIVE",
                 "E-INPUT-PATH", "E-CRS-MISSING", "E-CRS-BOUNDS", "E-CONFIG-TOML"):
        assert code in codes


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_bad_input_is_refused_cleanly(case, request, tmp_path, monkeypatch):
    project = request.getfixturevalue(BASES[case["base"]])
    _setup(case, project)
    for name, value in case.get("env", {}).items():
        monkeypatch.setenv(name, value)
    out = tmp_path / "uitvoer"
    args = [a.format(project=project, out=out) for a in shlex.split(case["command"])]
    result = invoke(*args)
    output = result.stdout + result.stderr
    assert result.exit_code == 2, output
    assert "Traceback" not in output
    assert "riskmap: error E-" in result.stderr, output
    message = result.stderr[result.stderr.index("riskmap: error E-"):]  # after progress bars
    assert case["code"] in message, message
    for word in case["words"]:
        assert word in message, f"{word!r} not in: {message}"
    assert not out.exists() or not any(out.rglob("*")), sorted(out.rglob("*"))


# ----------------------------------------------------------------- network and limits


def test_allow_network_lets_a_url_through_to_the_reader(tmp_path):
    url = "/vsicurl/http://127.0.0.1:9/wegen.gpkg"  # nothing listens on port 9
    with pytest.raises(InputError) as refused:
        io.read_vector(url, crs="EPSG:28992")
    assert refused.value.code == "E-INPUT-NETWORK"
    with io.use_limits(allow_network=True), pytest.raises(InputError) as tried:
        io.read_vector(url, crs="EPSG:28992")
    assert tried.value.code == "E-INPUT-READ"  # GDAL tried, and found nothing there
    assert io.current_limits().allow_network is False  # the setting ends with the block


def test_allow_network_flag_of_the_command(tiny_project, tmp_path):
    layers = tiny_project.parent / "layers" / "test.toml"
    _replace(layers, [["file = \"licht.tif\"", "file = \"/vsicurl/http://127.0.0.1:9/l.tif\""]],
             "flag")
    out = tmp_path / "uitvoer"
    refused = invoke("opportunity", str(tiny_project), "--out", str(out))
    assert refused.exit_code == 2 and "E-INPUT-NETWORK" in refused.stderr
    tried = invoke("--allow-network", "opportunity", str(tiny_project), "--out", str(out))
    assert tried.exit_code == 2 and "E-INPUT-READ" in tried.stderr, tried.stderr
    assert "l.tif" in tried.stderr and not out.exists()


def test_limits_from_the_environment():
    env = {"RISKMAP_MAX_FILE_MB": "10", "RISKMAP_MAX_FEATURES": "1e6",
           "RISKMAP_MAX_ARCHIVE_ENTRIES": "5", "RISKMAP_MAX_UNCOMPRESSED_MB": "20",
           "RISKMAP_MAX_COMPRESSION_RATIO": "50", "RISKMAP_MAX_RASTER_CELLS": "100"}
    lim = io.Limits.from_env(env)
    assert (lim.max_file_mb, lim.max_features, lim.max_archive_entries,
            lim.max_uncompressed_mb, lim.max_compression_ratio, lim.max_raster_cells) == (
        10, 1_000_000, 5, 20, 50, 100)
    assert not lim.allow_network
    assert io.Limits.from_env({}) == io.Limits()
    assert set(io.LIMIT_ENV.values()) == set(env)
    with pytest.raises(ConfigError, match="RISKMAP_MAX_FEATURES='0' is not a positive"):
        io.Limits.from_env({"RISKMAP_MAX_FEATURES": "0"})


def test_a_good_zipped_shapefile_is_read(tmp_path):
    """The archive checks refuse bombs, not ordinary zipped Shapefiles."""
    parts = MAKE._shapefile(tmp_path / "shp")
    import zipfile

    path = tmp_path / "wegen.shp.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for p in parts:
            zf.write(p, p.name)
    gdf = io.read_vector(path, crs="EPSG:28992")
    assert len(gdf) == 1 and gdf.crs.to_epsg() == 28992


def test_every_reader_goes_through_check_input():
    """No module reads a file but io: the readers of pandas, geopandas, pyogrio, rasterio."""
    root = Path(__file__).parents[1] / "riskmap"
    allowed = {"io.py", "datasets.py", "demo.py"}  # demo data riskmap writes itself
    readers = ("read_csv(", "read_excel(", "read_file(", "read_parquet(", "read_dataframe(",
               "rasterio.open(")
    offenders = []
    for path in root.rglob("*.py"):
        if path.name in allowed:
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if any(r in line for r in readers) and "io.read_table" not in line \
                    and not line.lstrip().startswith(("#", ">>>", "...")) \
                    and "``" not in line:
                offenders.append(f"{path.relative_to(root)}:{n}: {line.strip()}")
    assert offenders == [] or all(_checked(o) for o in offenders), offenders


def _checked(offender: str) -> bool:
    """Readers that get a path from io.check_input first (in the lines above them)."""
    return offender.startswith("incidents.py") and ("read_file(src" in offender
                                                    or "read_parquet(src" in offender)


def test_environment_is_clean():
    assert not any(k.startswith("RISKMAP_MAX_") for k in os.environ)
