"""Reproducible runs: the same inputs, settings and SOURCE_DATE_EPOCH give the same bytes."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from conftest import RUN_ALL, riskmap_subprocess

from riskmap import clock, datasets, webmap
from riskmap.errors import ConfigError
from riskmap.grid import Grid

EPOCH_A = 1_700_000_000  # 2023-11-14T22:13:20Z
EPOCH_B = 1_800_000_000  # 2027-01-15T08:00:00Z


def _stamp(epoch: int) -> str:
    """The time stamp text of an epoch as the outputs carry it (ISO 8601, no time zone)."""
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _when(epoch: int) -> tuple[int, ...]:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).timetuple()[:6]


def _run(project: Path, out: Path, *, epoch: int, hashseed: str) -> None:
    # another hash seed per process: set iteration order differs, as between two real runs
    proc = riskmap_subprocess("run", str(project), "--out", str(out), *RUN_ALL,
                              env={"SOURCE_DATE_EPOCH": str(epoch), "PYTHONHASHSEED": hashseed})
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr.decode()[-3000:]


def _files(folder: Path) -> dict[str, Path]:
    return {str(p.relative_to(folder)): p for p in sorted(folder.rglob("*")) if p.is_file()}


def _content(path: Path) -> bytes:
    """What a file holds, in a form where a time stamp is one run of bytes.

    GeoPackage: the SQL dump (SQLite may split a long text over pages). XLSX: the entries
    (zipped, so not comparable byte for byte). MANIFEST.json: without the SHA-256 sums (the
    files themselves are compared) and the sizes of XLSX files. PNG: the pixels and the text
    chunks (the provenance; a chunk's checksum covers the stamp). Others (text, GeoTIFF, whose
    GDAL metadata tag holds the stamp whole): the bytes.
    """
    if path.suffix == ".png":
        from PIL import Image

        with Image.open(path) as im:
            text = json.dumps(dict(sorted(im.text.items())), ensure_ascii=False)
            return im.tobytes() + b"\0" + text.encode()
    if path.suffix == ".gpkg":
        con = sqlite3.connect(path)
        try:
            return "\n".join(con.iterdump()).encode()
        finally:
            con.close()
    if path.suffix == ".xlsx":
        with zipfile.ZipFile(path) as z:
            return b"\0".join(part for info in z.infolist()
                               for part in (info.filename.encode(), z.read(info)))
    if path.name == "MANIFEST.json":
        body = json.loads(path.read_text(encoding="utf-8"))
        for name, entry in body["files"].items():
            entry.pop("sha256")
            if name.endswith(".xlsx"):  # compressed: another stamp may compress to other sizes
                entry.pop("bytes")
        return json.dumps(body, sort_keys=True).encode()
    return path.read_bytes()


def _without_stamp(path: Path, epoch: int) -> bytes:
    stamp = _stamp(epoch).encode()
    return _content(path).replace(stamp, b"#" * len(stamp))


def _zip_dates(path: Path) -> set[tuple[int, ...]]:
    with zipfile.ZipFile(path) as z:
        return {info.date_time for info in z.infolist()}


@pytest.mark.filterwarnings("ignore::riskmap.errors.RiskmapWarning")
def test_run_is_reproducible_and_differs_only_in_the_time_stamp(full_project, tmp_path):
    one, two, later = tmp_path / "one", tmp_path / "two", tmp_path / "later"
    _run(full_project, one, epoch=EPOCH_A, hashseed="1")
    _run(full_project, two, epoch=EPOCH_A, hashseed="2")
    _run(full_project, later, epoch=EPOCH_B, hashseed="3")
    a, b, c = _files(one), _files(two), _files(later)
    kinds = {Path(f).suffix for f in a}
    assert {".tif", ".gpkg", ".png", ".html", ".xlsx", ".csv", ".json"} <= kinds, kinds
    assert set(a) == set(b) == set(c)

    # same SOURCE_DATE_EPOCH: every file byte for byte the same
    differ = [f for f in a if a[f].read_bytes() != b[f].read_bytes()]
    assert not differ, f"{len(differ)} of {len(a)} files differ between two equal runs: {differ}"

    # another SOURCE_DATE_EPOCH: the time stamp, and only the time stamp, changes
    manifest = json.loads((later / "MANIFEST.json").read_text(encoding="utf-8"))
    assert manifest["provenance"]["created"] == f"{_stamp(EPOCH_B)}+00:00"
    stamped = [f for f in a if a[f].read_bytes() != c[f].read_bytes()]
    assert "MANIFEST.json" in stamped and "GM9001/opportunity.gpkg" in stamped
    beyond = [f for f in stamped
              if _without_stamp(a[f], EPOCH_A) != _without_stamp(c[f], EPOCH_B)]
    assert not beyond, f"files that differ in more than the time stamp: {beyond}"
    unstamped = [f for f in stamped if _stamp(EPOCH_B).encode() not in _content(c[f])]
    assert not unstamped, f"files that differ but carry no time stamp: {unstamped}"
    for f in (f for f in a if f.endswith(".xlsx")):  # the zip entries are dated too
        assert _zip_dates(a[f]) == {_when(EPOCH_A)} and _zip_dates(c[f]) == {_when(EPOCH_B)}, f
    for f in (f for f in a if f.endswith(".png")):  # the provenance is the only time in it
        assert _stamp(EPOCH_A).encode() in _content(a[f]), f


def test_demo_data_same_seed_same_files(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(EPOCH_A))
    kw = {"seed": 2021, "scale": 0.02, "municipalities": ["GM0050", "GM0339"]}
    one = datasets.make_demo_data(tmp_path / "one", **kw)
    two = datasets.make_demo_data(tmp_path / "two", **kw)
    other = datasets.make_demo_data(tmp_path / "other", **{**kw, "seed": 7})
    assert sorted(p.name for p in (tmp_path / "one").iterdir()) == sorted(
        p.name for p in (tmp_path / "two").iterdir())
    differ = [k for k in one if one[k].read_bytes() != two[k].read_bytes()]
    assert not differ, f"the same seed gave other bytes in {differ}"
    assert one["bag"].read_bytes() != other["bag"].read_bytes()


def _page(title: str) -> str:
    grid = Grid.from_bounds(150_000, 450_000, 152_000, 452_000, cell_size=100)
    classes = np.random.default_rng(0).integers(0, 6, grid.shape)
    layer = webmap.RasterLayer(name="Gelegenheid", classes=classes, grid=grid,
                               colors=webmap.styles.class_colors(5),
                               legend=webmap.styles.class_labels(5))
    outline = gpd.GeoDataFrame(geometry=[shapely.box(150_000, 450_000, 152_000, 452_000)],
                               crs="EPSG:28992")
    return webmap.municipality_page(title=title, outline=outline, layers=[layer],
                                    footer={"gemaakt": "vandaag"}, audience="partners")


def test_folium_element_ids_are_stable_per_page():
    first, second = _page("Noord"), _page("Noord")
    assert first == second
    assert "map_" in first and _page("Zuid").count("map_") == first.count("map_")


def test_clock_honours_source_date_epoch(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(EPOCH_B))
    assert clock.stamp() == "2027-01-15T08:00:00+00:00"
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "next tuesday")
    with pytest.raises(ConfigError, match="SOURCE_DATE_EPOCH='next tuesday'"):
        clock.now()
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    with clock.fixed() as start:  # one time for the whole block
        assert clock.now() == start and start.microsecond == 0
        assert abs(start - dt.datetime.now(dt.UTC)) < dt.timedelta(seconds=5)
