"""Binary bad inputs, made at test time (too big, or binary, to commit).

Each ``make_<name>(path)`` writes one file; ``cases.toml`` refers to it as ``make:<name>``.
Run ``python tests/bad_inputs/make.py DIR`` to write them all into DIR for a look.
"""

from __future__ import annotations

import gzip
import struct
import sys
import warnings
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import rasterio
import shapely
from rasterio.transform import from_origin

RD = "EPSG:28992"
LINE = shapely.LineString([(149_000, 451_333), (155_500, 452_777)])


def _lines(crs: str | None = RD) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"naam": ["A"]}, geometry=[LINE], crs=crs)


def _shapefile(folder: Path, crs: str | None = RD) -> list[Path]:
    """A one-line Shapefile ``wegen.*`` in ``folder``; returns its parts."""
    folder.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "'crs' was not provided"
        pyogrio.write_dataframe(_lines(crs), folder / "wegen.shp")
    return sorted(folder.glob("wegen.*"))


def make_shp_without_prj(path: Path) -> None:
    """A Shapefile without .prj: no CRS at all."""
    _shapefile(path.parent, crs=None)
    assert not path.with_suffix(".prj").exists()


def make_gpkg_undefined_srs(path: Path) -> None:
    """Municipalities in a GeoPackage whose SRS is GeoPackage's 'Undefined Cartesian SRS'."""
    from conftest import municipalities

    gm = municipalities()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        pyogrio.write_dataframe(gm.set_crs(None, allow_override=True), path, layer="gemeenten")


def make_parquet_without_crs(path: Path) -> None:
    """GeoParquet lines whose metadata states no CRS (``"crs": null``)."""
    _lines(None).to_parquet(path)


def make_parquet_points(path: Path) -> None:
    """The test points as GeoParquet (RD New): a good file, for a filter it cannot take."""
    from conftest import sources

    sources()["punten"].to_parquet(path)


def make_gpkg_nan_coords(path: Path) -> None:
    """Lines of which one ends at NaN, NaN."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        nan_line = shapely.LineString([(151_000, 450_000), (np.nan, np.nan)])
        gpd.GeoDataFrame({"naam": ["A", "B"]}, geometry=[LINE, nan_line], crs=RD).to_file(
            path, layer="wegen")


def make_gpkg_empty_point(path: Path) -> None:
    """Points of which one is empty (what shapely makes of NaN, NaN)."""
    pts = shapely.points([151_000, np.nan, 152_000], [450_000, np.nan, 451_000])
    gpd.GeoDataFrame({"soort": ["a", "a", "b"]}, geometry=pts, crs=RD).to_file(path)


def make_gpkg_empty_layer(path: Path) -> None:
    """A GeoPackage with one layer and no features."""
    gpd.GeoDataFrame({"naam": []}, geometry=gpd.GeoSeries([], crs=RD), crs=RD).to_file(
        path, layer="wegen")


def make_gpkg_truncated(path: Path) -> None:
    """A real GeoPackage cut off after 8 KB (an interrupted download)."""
    full = path.with_name("full_" + path.name)
    _lines().to_file(full, layer="wegen")
    path.write_bytes(full.read_bytes()[:8192])
    full.unlink()


def make_premises_duplicate_ids(path: Path) -> None:
    """The scoring fixture's premises with two premises sharing an id."""
    from conftest import premises_frame

    prem = premises_frame()
    prem.loc[7, "identificatie"] = prem.loc[6, "identificatie"]
    prem.to_file(path, layer="verblijfsobject")


def make_premises_text_feature(path: Path) -> None:
    """The scoring fixture's premises with registrations as text ('veel')."""
    from conftest import premises_frame

    prem = premises_frame()
    prem["kvk_inschrijvingen"] = np.where(np.arange(len(prem)) % 3 == 0, "veel", "2")
    prem.to_file(path, layer="verblijfsobject")


def _write_tif(path: Path, crs: str | None) -> None:
    data = np.arange(70 * 70, dtype="float32").reshape(70, 70)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NotGeoreferencedWarning
        with rasterio.open(path, "w", driver="GTiff", width=70, height=70, count=1,
                           dtype="float32", crs=crs, nodata=-9999,
                           transform=from_origin(5.28, 52.10, 0.002, 0.002)) as ds:
            ds.write(data, 1)


def make_tif_without_crs(path: Path) -> None:
    """The light raster without a CRS."""
    _write_tif(path, None)


def make_tif_truncated(path: Path) -> None:
    """The light raster cut off half-way (header intact, pixel data missing)."""
    full = path.with_name("full_" + path.name)
    _write_tif(full, "EPSG:4326")
    data = full.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    full.unlink()


def _zip(path: Path, members: dict[str, bytes], *, method=zipfile.ZIP_DEFLATED) -> None:
    with zipfile.ZipFile(path, "w", compression=method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def _shapefile_members(path: Path) -> dict[str, bytes]:
    parts = _shapefile(path.parent / "_shp")
    members = {p.name: p.read_bytes() for p in parts}
    for p in parts:
        p.unlink()
    (path.parent / "_shp").rmdir()
    return members


def make_zip_many_entries(path: Path) -> None:
    """A zipped Shapefile plus 10 000 tiny entries."""
    members = _shapefile_members(path)
    members.update({f"x/{i:05d}.txt": b"" for i in range(10_000)})
    _zip(path, members, method=zipfile.ZIP_STORED)


def make_zip_bomb(path: Path) -> None:
    """A zipped Shapefile with a 20 MB entry of zeros (compressed about 1000 times)."""
    members = _shapefile_members(path)
    members["wegen.dbf"] = members["wegen.dbf"] + bytes(20 * 1024 * 1024)
    _zip(path, members)


def make_zip_declares_8gb(path: Path) -> None:
    """A zip whose directory declares two entries of 4 GiB each (a bomb's own numbers).

    Made small: the uncompressed sizes in the central directory are patched, which is all
    an archive reader can see before it starts to unpack.
    """
    members = _shapefile_members(path)
    members["a.dbf"] = b"\x00" * 100
    members["b.dbf"] = b"\x00" * 100
    _zip(path, members)
    data = bytearray(path.read_bytes())
    start = 0
    while (start := data.find(b"PK\x01\x02", start)) >= 0:
        name_len = struct.unpack_from("<H", data, start + 28)[0]
        name = bytes(data[start + 46:start + 46 + name_len])
        if name in (b"a.dbf", b"b.dbf"):
            struct.pack_into("<I", data, start + 24, 0xFFFF_FFF0)  # uncompressed size
        start += 4
    path.write_bytes(bytes(data))


def make_zip_large_uncompressed(path: Path) -> None:
    """A zipped Shapefile with 2 MB of incompressible bytes (for a 1 MB cap)."""
    members = _shapefile_members(path)
    members["wegen.dbf"] = members["wegen.dbf"] + np.random.default_rng(0).bytes(2 * 1024 * 1024)
    _zip(path, members)


def make_zip_nested(path: Path) -> None:
    """A zipped Shapefile that also holds another zip."""
    members = _shapefile_members(path)
    inner = path.with_name("inner.zip")
    _zip(inner, {"a.txt": b"a"})
    members["inner.zip"] = inner.read_bytes()
    inner.unlink()
    _zip(path, members)


def make_zip_kml(path: Path) -> None:
    """A zip that holds a KML file, not a Shapefile."""
    kml = (Path(__file__).parent / "files" / "wegen.kml").read_bytes()
    _zip(path, {"wegen.kml": kml})


def make_csv_gz_bomb(path: Path) -> None:
    """Incidents as .csv.gz that unpacks to 50 MB of blank lines."""
    path.write_bytes(gzip.compress(b"datum,x,y,soort\n" + b"\n" * (50 * 1024 * 1024), 9))


MAKERS = {name.removeprefix("make_"): fn for name, fn in list(globals().items())
          if name.startswith("make_") and callable(fn)}


if __name__ == "__main__":  # pragma: no cover - a convenience for looking at the files
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "bad_inputs_made")
    for name, fn in MAKERS.items():
        target = out / name / f"{name}.bin"
        target.parent.mkdir(parents=True, exist_ok=True)
        fn(target)
        print(target.parent)
