"""Readers and writers: the only place riskmap touches files.

Readers check what geopandas and pyogrio let through silently (field notes): a missing CRS,
coordinates that do not fit their CRS, a layer name that does not exist (we list the ones
that do), missing columns, an empty result after the filter, null and invalid geometries.
Writers never leave a half-written file: they write to a temporary name in the same folder
and rename it into place.
"""

from __future__ import annotations

import contextlib
import functools
import glob
import json
import logging
import os
import re
import tempfile
import warnings
import zipfile
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import rasterio
import shapely
from pyproj import CRS
from rasterio.enums import Resampling
from rasterio.warp import reproject

from riskmap import clock
from riskmap.crs import check_area_of_use, is_undefined, transformer
from riskmap.errors import ConfigError, CRSError, InputError, RiskmapWarning
from riskmap.grid import Grid

__all__ = [
    "Limits",
    "Points",
    "atomic_path",
    "check_feature_count",
    "check_input",
    "current_limits",
    "geoparquet_crs",
    "is_synthetic",
    "is_temporary",
    "qml_categorized",
    "read_raster_to_grid",
    "read_table",
    "read_vector",
    "remove_temporary",
    "use_limits",
    "vector_fields",
    "write_geotiff",
    "write_gpkg",
]

# What riskmap reads, by suffix (and first bytes): nothing else reaches GDAL.
FORMATS = {
    ".gpkg": "GeoPackage", ".geojson": "GeoJSON", ".json": "GeoJSON",
    ".shp": "Shapefile", ".zip": "zipped Shapefile", ".fgb": "FlatGeobuf",
    ".parquet": "GeoParquet", ".geoparquet": "GeoParquet", ".tif": "GeoTIFF",
    ".tiff": "GeoTIFF", ".csv": "CSV", ".csv.gz": "CSV (gzip)",
    ".xlsx": "Excel workbook",  # only the inspectors' returned plan (riskmap register import)
}
VECTOR_SUFFIXES = {".gpkg", ".geojson", ".json", ".shp", ".zip", ".fgb", ".parquet", ".geoparquet"}
#: Read with pyarrow (geopandas), not GDAL: the GDAL in the pyogrio wheels has no Parquet driver.
PARQUET_SUFFIXES = {".parquet", ".geoparquet"}
RASTER_SUFFIXES = {".tif", ".tiff"}
TABLE_SUFFIXES = {".csv", ".csv.gz"}
INCIDENT_SUFFIXES = TABLE_SUFFIXES | {".gpkg", ".parquet", ".geoparquet"}

# The first bytes each format starts with (a file named .gpkg that holds KML is refused).
_MAGIC: dict[str, tuple[bytes, ...]] = {
    "GeoPackage": (b"SQLite format 3\x00",),
    "Shapefile": (b"\x00\x00\x27\x0a",),
    "zipped Shapefile": (b"PK\x03\x04", b"PK\x05\x06"),
    "FlatGeobuf": (b"fgb\x03",),
    "GeoParquet": (b"PAR1",),
    "GeoTIFF": (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"),
    "CSV (gzip)": (b"\x1f\x8b",),
    "Excel workbook": (b"PK\x03\x04",),
}
_SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx", ".qmd",
                    ".xml", ".txt", ".md", ".pdf", ".html")
_REMOTE = re.compile(r"^(/vsi|[A-Za-z][A-Za-z0-9+.-]*://)")
_MB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Caps on what riskmap reads, and whether it may read from the network.

    The defaults fit a whole-country run on a laptop; each cap can be changed with an
    environment variable (:data:`LIMIT_ENV`) or, in Python, with :func:`use_limits`. Network
    paths (``http(s)://``, ``s3://``, ``/vsicurl/`` and any other GDAL ``/vsi*`` path) are
    refused unless ``allow_network`` (``riskmap --allow-network …`` on the command line).

    Parameters
    ----------
    max_file_mb : float, default=16384
        Largest input file (a Shapefile: .shp + .dbf + .shx; a zip: the archive).
    max_features : int, default=20_000_000
        Most features in a layer, or rows in a CSV.
    max_archive_entries : int, default=1000
        Most entries in a zip archive.
    max_uncompressed_mb : float, default=4096
        Largest total uncompressed size of a zip or gzip archive.
    max_compression_ratio : float, default=500
        Highest ratio of uncompressed to compressed size of one entry: deflate tops out near
        1032, which only runs of one byte reach (a zip bomb); real DBF files stay far below.
    max_raster_cells : int, default=250_000_000
        Most cells (width x height) of a raster band.
    allow_network : bool, default=False
        Read network and virtual paths.
    """

    max_file_mb: float = 16384.0  # the national BAG as a GeoPackage is ~4 GB
    max_features: int = 20_000_000
    max_archive_entries: int = 1000
    max_uncompressed_mb: float = 4096.0
    max_compression_ratio: float = 500.0
    max_raster_cells: int = 250_000_000
    allow_network: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides) -> Limits:
        """The defaults, changed by the ``RISKMAP_MAX_*`` environment variables."""
        environ = os.environ if environ is None else environ
        values: dict[str, float | int] = {}
        for name, var in LIMIT_ENV.items():
            text = environ.get(var, "").strip()
            if not text:
                continue
            kind = type(getattr(cls(), name))
            try:
                value = kind(float(text)) if kind is int else float(text)
            except ValueError:
                value = -1
            if not value > 0:
                raise ConfigError(f"environment variable {var}={text!r} is not a positive "
                                  f"number. Set it to e.g. {getattr(cls(), name):g} or unset "
                                  "it to use the default.", code="E-CONFIG-ENV")
            values[name] = value
        return cls(**{**values, **overrides})


#: The environment variable of each cap (sizes in MB).
LIMIT_ENV = {
    "max_file_mb": "RISKMAP_MAX_FILE_MB",
    "max_features": "RISKMAP_MAX_FEATURES",
    "max_archive_entries": "RISKMAP_MAX_ARCHIVE_ENTRIES",
    "max_uncompressed_mb": "RISKMAP_MAX_UNCOMPRESSED_MB",
    "max_compression_ratio": "RISKMAP_MAX_COMPRESSION_RATIO",
    "max_raster_cells": "RISKMAP_MAX_RASTER_CELLS",
}

_LIMITS: ContextVar[Limits | None] = ContextVar("riskmap_limits", default=None)


def current_limits() -> Limits:
    """The limits in force: those of :func:`use_limits`, else the environment's."""
    return _LIMITS.get() or Limits.from_env()


@contextlib.contextmanager
def use_limits(limits: Limits | None = None, **changes) -> Iterator[Limits]:
    """Read with other limits inside a ``with`` block.

    Examples
    --------
    >>> with use_limits(allow_network=True, max_features=1_000_000) as lim:
    ...     lim.allow_network
    True
    """
    limits = replace(limits or current_limits(), **changes)
    token = _LIMITS.set(limits)
    try:
        yield limits
    finally:
        _LIMITS.reset(token)


def is_remote(path: str | Path) -> bool:
    """True for network and GDAL virtual paths (``https://…``, ``s3://…``, ``/vsicurl/…``)."""
    return bool(_REMOTE.match(str(path)))


def suffix_of(path: str | Path) -> str:
    """The format suffix in lower case: ``.csv.gz`` and ``.shp.zip`` count as one."""
    name = str(path).rsplit("/", 1)[-1].split("?", 1)[0].lower()
    for double in (".csv.gz", ".shp.zip"):
        if name.endswith(double):
            return ".zip" if double == ".shp.zip" else double
    return Path(name).suffix


def _formats(kinds: set[str]) -> str:
    """``GeoJSON (.geojson, .json); GeoPackage (.gpkg); …`` for messages."""
    by_name: dict[str, list[str]] = {}
    for k in sorted(kinds):
        by_name.setdefault(FORMATS[k], []).append(k)
    return "; ".join(f"{n} ({', '.join(s)})" for n, s in sorted(by_name.items()))


def check_input(
    path: str | Path,
    *,
    kinds: set[str],
    what: str,
    limits: Limits | None = None,
) -> str:
    """Check an input before anything opens it; return the path to give GDAL or pandas.

    Every reader of riskmap goes through here. Refused, each with its own code: network and
    virtual paths without ``allow_network`` (``E-INPUT-NETWORK``), a missing file
    (``E-INPUT-NOTFOUND``), a format riskmap does not read or a file whose first bytes do
    not match its suffix (``E-INPUT-FORMAT``), a file larger than the cap
    (``E-INPUT-TOOBIG``), a zip with too many entries, too large an uncompressed size, too
    high a compression ratio, nested archives or no Shapefile (``E-INPUT-ARCHIVE``).

    Parameters
    ----------
    path : str or path
        The file, or a URL when network reading is allowed.
    kinds : set of str
        The suffixes this reader accepts (e.g. :data:`VECTOR_SUFFIXES`).
    what : str
        Who asks (``[[indicator]] #2 (isolatie)``), for messages.
    limits : Limits, optional
        Default: :func:`current_limits`.
    """
    limits = limits or current_limits()
    text = str(path)
    suffix = suffix_of(text)
    if is_remote(text):
        if not limits.allow_network:
            raise InputError(f"{what}: {text} is a network or virtual path; riskmap reads local "
                             "files unless you allow the network. Download the file and point "
                             "the config at the local copy, or run riskmap --allow-network "
                             "<command> … if reading from the network is intended.",
                             code="E-INPUT-NETWORK")
        if suffix not in kinds:
            raise InputError(f"{what}: {text} is not a format riskmap reads here; use "
                             f"{_formats(kinds)}.", code="E-INPUT-FORMAT")
        if text.startswith(("http://", "https://", "ftp://")):
            text = f"/vsicurl/{text}"
        elif text.startswith("s3://"):
            text = f"/vsis3/{text[5:]}"
        return f"/vsizip/{text}" if suffix == ".zip" else text
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{what}: file {path} not found. Check the file name and the folder "
                         "it is relative to (the project's data_dir).",
                         code="E-INPUT-NOTFOUND")
    if suffix not in kinds:
        raise InputError(f"{what}: {path.name} is a format riskmap does not read here "
                         f"({suffix or 'no suffix'}). Convert it (QGIS 'Export', ogr2ogr -f GPKG) "
                         f"to one of: {_formats(kinds)}.", code="E-INPUT-FORMAT")
    name = FORMATS[suffix]
    with open(path, "rb") as f:
        head = f.read(4096)
    magic = _MAGIC.get(name)
    looks_ok = (head.startswith(magic) if magic else
                b"\x00" not in head and (name == "CSV" or head.lstrip(b"\xef\xbb\xbf \t\r\n")
                                           .startswith(b"{")))
    if not looks_ok:
        raise InputError(f"{what}: {path.name} does not look like a {name} file (it starts with "
                         f"{head[:16]!r}). Check that it is the right file and was not renamed; "
                         f"convert it to {name} if needed.", code="E-INPUT-FORMAT")
    size = path.stat().st_size
    if suffix == ".shp":
        size += sum(p.stat().st_size for p in (path.with_suffix(s) for s in (".dbf", ".shx"))
                    if p.is_file())
    if size > limits.max_file_mb * _MB:
        raise InputError(f"{what}: {path.name} is {size / _MB:,.1f} MB, more than the limit of "
                         f"{limits.max_file_mb:,.0f} MB. Clip it to the region first (ogr2ogr "
                         "-spat …), or raise the limit with RISKMAP_MAX_FILE_MB.",
                         code="E-INPUT-TOOBIG")
    if suffix in (".zip", ".xlsx"):
        _check_zip(path, limits=limits, what=what, shapefile=suffix == ".zip")
    if suffix == ".zip":
        return f"/vsizip/{path}"
    if suffix == ".csv.gz":
        _check_gzip(path, size, limits=limits, what=what)
    return str(path)


def _archive_error(what: str, path: Path, problem: str, fix: str) -> InputError:
    return InputError(f"{what}: {path.name}: {problem}. {fix}", code="E-INPUT-ARCHIVE")


def _check_zip(path: Path, *, limits: Limits, what: str, shapefile: bool = True) -> None:
    """Refuse zip archives that are bombs, crowded, or (``shapefile``) nested or no Shapefile."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(f"{what}: {path.name} cannot be read as a zip archive ({exc}). Check "
                         "that the download is complete.", code="E-INPUT-READ") from None
    fix = "Unzip it, check the contents and point the config at the .shp file"
    if len(infos) > limits.max_archive_entries:
        raise _archive_error(what, path, f"{len(infos):,} entries, more than the limit of "
                             f"{limits.max_archive_entries:,}",
                             f"{fix} (or raise RISKMAP_MAX_ARCHIVE_ENTRIES).")
    sizes = np.array([i.file_size for i in infos], dtype=float)
    packed = np.array([i.compress_size for i in infos], dtype=float)
    total = sizes.sum()
    if total > limits.max_uncompressed_mb * _MB:
        raise _archive_error(what, path, f"it unpacks to {total / _MB:,.0f} MB, more than the "
                             f"limit of {limits.max_uncompressed_mb:,.0f} MB",
                             f"{fix} (or raise RISKMAP_MAX_UNCOMPRESSED_MB).")
    ratio = sizes / np.maximum(packed, 1.0)
    if len(infos) and ratio.max() > limits.max_compression_ratio:
        worst = int(np.argmax(ratio))
        raise _archive_error(what, path, f"entry {infos[worst].filename!r} is compressed "
                             f"{ratio[worst]:,.0f} times (limit {limits.max_compression_ratio:g}); "
                             "that is a zip bomb, not a Shapefile",
                             "Do not use this file; ask the supplier for the data again (or "
                             "raise RISKMAP_MAX_COMPRESSION_RATIO if you trust it).")
    if not shapefile:
        return
    names = [i.filename for i in infos if not i.is_dir()]
    lower = [n.lower() for n in names]
    nested = [n for n, lo in zip(names, lower, strict=True)
              if lo.endswith((".zip", ".gz", ".7z", ".rar", ".tar", ".tgz"))]
    if nested:
        raise _archive_error(what, path, f"it holds another archive ({nested[0]})",
                             f"{fix}; riskmap does not open archives inside archives.")
    if not any(lo.endswith(".shp") for lo in lower):
        raise InputError(f"{what}: {path.name} holds no Shapefile (.shp); riskmap reads a zip "
                         f"only as a zipped Shapefile. Entries: {', '.join(names[:5]) or 'none'}"
                         f"{' …' if len(names) > 5 else ''}. Unzip it and point the config at "
                         f"a file of one of: {_formats(VECTOR_SUFFIXES)}.",
                         code="E-INPUT-FORMAT")
    other = [n for n, lo in zip(names, lower, strict=True)
             if not lo.endswith(_SHAPEFILE_PARTS) and "__macosx" not in lo]
    if other:
        raise _archive_error(what, path, f"besides the Shapefile it holds {other[0]!r}",
                             f"{fix}; a zipped Shapefile holds only .shp, .shx, .dbf, .prj, "
                             ".cpg and the like.")


def _check_gzip(path: Path, size: int, *, limits: Limits, what: str) -> None:
    """Refuse a gzip file whose (stored) uncompressed size is too large or too compressed."""
    with open(path, "rb") as f:
        f.seek(-4, os.SEEK_END)
        isize = int.from_bytes(f.read(4), "little")  # modulo 4 GiB: a floor, not the size
    if isize > limits.max_uncompressed_mb * _MB or isize / max(size, 1) > \
            limits.max_compression_ratio:
        raise _archive_error(what, path, f"it unpacks to at least {isize / _MB:,.0f} MB "
                             f"({isize / max(size, 1):,.0f} times its size)",
                             "Unpack it and check the contents (or raise "
                             "RISKMAP_MAX_UNCOMPRESSED_MB / RISKMAP_MAX_COMPRESSION_RATIO).")


def check_feature_count(n: int, *, what: str, limits: Limits | None = None) -> None:
    """Refuse a layer or table with more features or rows than ``max_features``."""
    limits = limits or current_limits()
    if n > limits.max_features:
        raise InputError(f"{what}: {n:,} features or rows, more than the limit of "
                         f"{limits.max_features:,}. Clip or filter the data to the region "
                         "first (ogr2ogr -spat … -where …), or raise RISKMAP_MAX_FEATURES.",
                         code="E-INPUT-TOOBIG")


@dataclass(frozen=True)
class Points:
    """Points as arrays: what :func:`read_vector` gives with ``as_points=True``.

    ``x`` and ``y`` are in the working CRS (the centroids for lines and polygons, as
    :func:`riskmap.indicators.points_of` makes them); ``data`` holds the attribute columns
    asked for, indexed by the file's feature id like the GeoDataFrame would be.
    """

    x: np.ndarray
    y: np.ndarray
    data: pd.DataFrame

    def __len__(self) -> int:
        return len(self.x)


def read_vector(
    path: str | Path,
    *,
    crs: CRS,
    layer: str | None = None,
    where: str | None = None,
    declared_crs: str | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    columns: list[str] | None = None,
    repair: bool = False,
    what: str = "source",
    limits: Limits | None = None,
    empty_ok: bool = False,
    as_points: bool = False,
) -> gpd.GeoDataFrame | Points:
    """Read a vector layer into ``crs``, refusing what cannot be trusted.

    Parameters
    ----------
    path : path
        GeoPackage, GeoJSON, Shapefile (zipped or not), FlatGeobuf or GeoParquet (read with
        pyarrow, local files only: the GDAL in the pyogrio wheels has no Parquet driver).
    crs : pyproj.CRS
        The working CRS the result is reprojected to.
    layer : str, optional
        Layer name; required when the file has several layers (never for GeoParquet).
    where : str, optional
        OGR SQL filter, e.g. ``"gebruiksdoel = 'woonfunctie'"`` (refused for GeoParquet:
        ``E-CONFIG-WHERE``).
    declared_crs : str, optional
        The CRS of a file that stores none (never overrides a stored CRS).
    bbox : tuple, optional
        ``(xmin, ymin, xmax, ymax)`` in ``crs``: only features intersecting it are read.
    columns : list of str, optional
        Attribute columns that must exist and are the only ones read (default: all).
    repair : bool, default=False
        Make invalid geometries valid and drop null ones instead of refusing the file.
    what : str
        Who asks (``[[indicator]] #2 (isolatie)``), for messages.
    empty_ok : bool, default=False
        With ``bbox``: no features in it is a normal answer (a municipality's partition), not
        a warning or an error.
    limits : Limits, optional
        Caps and network permission (default: :func:`current_limits`); see
        :func:`check_input`.
    as_points : bool, default=False
        Return :class:`Points` (coordinates as arrays) instead of a GeoDataFrame: what the
        point measures need. A layer of plain 2-D points is then read without making a
        shapely geometry per feature (seconds for a million addresses); the checks are the
        same.

    Returns
    -------
    GeoDataFrame or Points
        Indexed by the file's feature id (FID; for GeoParquet the row number from 0), so
        messages can name rows.
    """
    result = _read_vector(path, crs=crs, layer=layer, where=where, declared_crs=declared_crs,
                          bbox=bbox, columns=columns, repair=repair, what=what, limits=limits,
                          empty_ok=empty_ok, as_points=as_points)
    if as_points and not isinstance(result, Points):
        from riskmap.indicators import points_of

        x, y = points_of(result.geometry.values)
        return Points(x=x, y=y, data=pd.DataFrame(result.drop(columns=result.geometry.name)))
    return result


def _read_vector(path, *, crs, layer, where, declared_crs, bbox, columns, repair, what,
                 limits, empty_ok, as_points):
    limits = limits or current_limits()
    src = check_input(path, kinds=VECTOR_SUFFIXES, what=what, limits=limits)
    parquet = suffix_of(path) in PARQUET_SUFFIXES
    path = Path(str(path).rstrip("/").rsplit("/", 1)[-1])  # only its name is used below
    where_txt = f"{what}: {path.name}"
    if parquet:
        gdf, read_bbox, null_fids = _read_geoparquet(
            src, crs=crs, layer=layer, where=where, declared_crs=declared_crs, bbox=bbox,
            columns=columns, repair=repair, where_txt=where_txt, limits=limits)
        if len(gdf) == 0:  # only a bbox read: the file has features, none here
            if not empty_ok:
                _warn_none_here(where_txt, None)
            return gdf.to_crs(crs)
        return _checked_geometries(gdf, crs=crs, null_fids=null_fids, repair=repair,
                                   where_txt=where_txt)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # GDAL's notes on broken files
            layers = [str(n) for n in pyogrio.list_layers(src)[:, 0]]
    except Exception as exc:  # corrupt or unreadable file
        raise InputError(f"{where_txt}: cannot be read as a vector file ({exc}). Check that the "
                         "file is complete and not corrupt.", code="E-INPUT-READ") from None
    if layer is None and len(layers) > 1:
        raise InputError(f"{where_txt} has {len(layers)} layers ({', '.join(layers)}); name one "
                         'with layer = "…" in the source.', code="E-INPUT-LAYER")
    if layer is not None and layer not in layers:
        raise InputError(f"{where_txt}: layer {layer!r} not found. Layers in the file: "
                         f"{', '.join(layers)}.", code="E-INPUT-LAYER")
    layer_txt = f"{path.name}, layer {layer or layers[0]}"
    where_txt = f"{what}: {layer_txt}"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            info = pyogrio.read_info(src, layer=layer, force_feature_count=True,
                                     force_total_bounds=True)
    except Exception as exc:
        raise InputError(f"{where_txt}: cannot read the layer ({exc}). Check that the file is "
                         "complete and not corrupt.", code="E-INPUT-READ") from None
    check_feature_count(int(info["features"]), what=where_txt, limits=limits)
    fields = list(info["fields"])
    missing = [c for c in (columns or []) if c not in fields]
    if missing:
        raise InputError(f"{where_txt}: column(s) {', '.join(map(repr, missing))} not found. "
                         f"Columns in the layer: {', '.join(fields) or '(none)'}.",
                         code="E-INPUT-COLUMN")
    file_crs = CRS.from_user_input(info["crs"]) if info["crs"] else None
    if is_undefined(file_crs):
        file_crs = None
    src_crs = _source_crs(file_crs, declared_crs, where_txt=where_txt)
    if info["features"] == 0:
        raise InputError(f"{where_txt} is empty (0 features). Point the source at a layer with "
                         "data.", code="E-INPUT-EMPTY")
    tb = info.get("total_bounds")
    if tb is not None:
        check_area_of_use(*tb, src_crs, where=where_txt)
    read_bbox = None
    if bbox is not None:
        tr = transformer(crs, src_crs)
        read_bbox = tuple(tr.transform_bounds(*bbox))
    # a bbox read never returns features without geometry: they are looked for separately
    plain = as_points and info.get("geometry_type") == "Point" and (
        read_bbox is None or repair or not _null_fids(src, layer, where, info))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            numeric = _numeric_fields(info, columns)
            pts = _read_ogr_xy(src, layer=layer, where=where, bbox=read_bbox,
                               columns=columns, numeric=numeric) if plain else None
            if pts is not None:
                x, y, attrs = pts
                if not src_crs.equals(crs):
                    x, y = transformer(src_crs, crs).transform(x, y)
                return Points(x=np.asarray(x, dtype=float), y=np.asarray(y, dtype=float),
                              data=attrs)
            gdf = _read_ogr(src, layer=layer, where=where, bbox=read_bbox, columns=columns,
                            numeric=numeric)
    except Exception as exc:
        if where:
            raise ConfigError(f"{where_txt}: the filter where = {where!r} is not valid OGR SQL "
                              f"({exc}). Quote text values ('woonfunctie') and use column names "
                              f"from: {', '.join(fields)}.", code="E-CONFIG-WHERE") from None
        raise InputError(f"{where_txt}: cannot read the features ({exc}).",
                         code="E-INPUT-READ") from None
    if gdf.crs is None or not gdf.crs.equals(src_crs):
        gdf = gdf.set_crs(src_crs, allow_override=True)
    if len(gdf) == 0:
        if read_bbox is not None and empty_ok:  # a partition of the region: nothing here
            return gdf.to_crs(crs) if gdf.crs is not None else gdf.set_crs(crs)
        if read_bbox is not None and _count(src, layer, where) > 0:
            # the filter selects features, just none near this region: a real "none here"
            _warn_none_here(where_txt, where)
            return gdf.to_crs(crs) if gdf.crs is not None else gdf.set_crs(crs)
        if where:
            raise InputError(f"{where_txt}: no features left after the filter where = {where!r}."
                             " Check the filter values (text is case-sensitive) against the "
                             "data.", code="E-INPUT-EMPTY")
        raise InputError(f"{where_txt}: no features within the region's extent. Check that the "
                         "file covers the region and that its CRS is right.",
                         code="E-INPUT-EMPTY")
    null_fids = [] if read_bbox is None or repair else _null_fids(src, layer, where, info)
    return _checked_geometries(gdf, crs=crs, null_fids=null_fids, repair=repair,
                               where_txt=where_txt)


def _numeric_fields(info: dict, columns: list[str] | None) -> bool:
    """Whether ``columns`` are named and all integer or real fields (per pyogrio's
    ``read_info``): such columns come out of GDAL's Arrow stream with the types
    ``read_dataframe`` gives them, so they are read with the geometries."""
    dtypes = dict(zip(info["fields"], info["dtypes"], strict=True))
    return bool(columns) and all(np.dtype(dtypes[c]).kind in "iuf" for c in columns)


def _read_ogr(src: str, *, layer: str | None, where: str | None, bbox: tuple | None,
              columns: list[str] | None, numeric: bool = False) -> gpd.GeoDataFrame:
    """``pyogrio.read_dataframe(…, fid_as_index=True, on_invalid="ignore")``, faster.

    The geometries come from GDAL's Arrow stream as WKB and 2-D points are decoded with numpy
    (:func:`geometries_from_wkb`): making a million shapely points from WKB bytes objects
    takes seconds, the bytes objects themselves as long again. ``numeric`` attribute columns
    (:func:`_numeric_fields`) come from the same stream; other columns (if any are asked
    for) are read as pyogrio reads them, without geometries, so their types are those of
    ``read_dataframe``. No CRS is set; the caller sets the source's.
    """
    index, wkb, attrs = _read_wkb(src, layer=layer, where=where, bbox=bbox,
                                  columns=columns if numeric else None)
    geoms = geometries_from_wkb(wkb)
    if attrs is None:
        attrs = _attributes(src, index, layer=layer, where=where, bbox=bbox, columns=columns)
    return gpd.GeoDataFrame(attrs, geometry=geoms)


def _read_ogr_xy(src: str, *, layer: str | None, where: str | None, bbox: tuple | None,
                 columns: list[str] | None, numeric: bool = False
                 ) -> tuple[np.ndarray, np.ndarray, pd.DataFrame] | None:
    """x, y (in the file's CRS) and attributes of a layer of plain 2-D points, else None.

    None when no feature matches or any feature is not a finite little-endian 2-D point
    (null, empty, 3-D, …): :func:`_read_ogr` and the geometry checks then take over.
    """
    index, wkb, attrs = _read_wkb(src, layer=layer, where=where, bbox=bbox,
                                  columns=columns if numeric else None)
    if len(index) == 0 or wkb.null_count:
        return None
    xy, plain = _plain_points(wkb)
    if not plain.all():
        return None
    if attrs is None:
        attrs = _attributes(src, index, layer=layer, where=where, bbox=bbox, columns=columns)
    return xy[:, 0].copy(), xy[:, 1].copy(), attrs


def _read_wkb(src: str, *, layer: str | None, where: str | None, bbox: tuple | None,
              columns: list[str] | None = None):
    """The FIDs (as the index pyogrio's ``fid_as_index`` gives), the WKB Arrow array and,
    when ``columns`` are named, those attribute columns as a DataFrame (else None)."""
    import pyarrow as pa

    meta, table = pyogrio.read_arrow(src, layer=layer, where=where, bbox=bbox,
                                     columns=columns or [], return_fids=True)
    index = pd.Index(table.column(meta["fid_column"]).to_numpy(), name="fid")
    wkb = table.column(meta["geometry_name"] or "wkb_geometry").combine_chunks()
    if pa.types.is_large_binary(wkb.type):
        wkb = wkb.cast(pa.binary())
    attrs = None
    if columns:
        attrs = table.select(columns).to_pandas()
        attrs.index = index
    return index, wkb, attrs


def _attributes(src: str, index: pd.Index, *, layer: str | None, where: str | None,
                bbox: tuple | None, columns: list[str] | None) -> pd.DataFrame:
    """The attribute columns of the features of ``index``, typed as pyogrio types them."""
    if columns == []:
        return pd.DataFrame(index=index)
    attrs = pyogrio.read_dataframe(src, layer=layer, where=where, bbox=bbox, columns=columns,
                                   read_geometry=False, fid_as_index=True)
    if not attrs.index.equals(index):  # the same query: the same rows, in the same order
        attrs = attrs.reindex(index)
    return attrs


#: A little-endian 2-D WKB point: byte order, geometry type, x, y (21 bytes, unaligned).
_WKB_POINT = np.dtype([("order", "u1"), ("kind", "<u4"), ("x", "<f8"), ("y", "<f8")])


def _plain_points(arr) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates of the WKB values that are finite little-endian 2-D points, and which are.

    Such a point is 21 bytes: byte order 1, geometry type 1 (uint32), x and y (float64).
    Rows that are not get NaN coordinates and False.
    """
    n = len(arr)
    xy = np.full((n, 2), np.nan)
    plain = np.zeros(n, dtype=bool)
    if n == 0 or arr.buffers()[2] is None:
        return xy, plain
    valid = arr.is_valid().to_numpy(zero_copy_only=False)
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)[arr.offset:arr.offset + n + 1]
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8)
    if valid.all() and offsets[-1] - offsets[0] == 21 * n and (np.diff(offsets) == 21).all():
        # every value a 21-byte record, back to back: read them in place
        rec = np.frombuffer(data[offsets[0]:offsets[-1]], dtype=_WKB_POINT)
        xy = np.column_stack([rec["x"], rec["y"]])
        plain = (rec["order"] == 1) & (rec["kind"] == 1) & np.isfinite(xy).all(axis=1)
        xy[~plain] = np.nan
        return xy, plain
    rows = np.flatnonzero(valid & (np.diff(offsets) == 21))
    if rows.size:
        rec = data[offsets[rows, None] + np.arange(21)]
        kind = rec[:, 1:5].copy().view("<u4").ravel()
        coords = rec[:, 5:21].copy().view("<f8")
        ok = (rec[:, 0] == 1) & (kind == 1) & np.isfinite(coords).all(axis=1)
        xy[rows[ok]] = coords[ok]
        plain[rows[ok]] = True
    return xy, plain


def geometries_from_wkb(column) -> np.ndarray:
    """Shapely geometries of an Arrow column of WKB (None for nulls and unreadable WKB).

    Little-endian 2-D points with finite coordinates (21 bytes: byte order, type 1, x, y),
    which is what GDAL writes for point layers, are decoded with numpy and made with
    ``shapely.points``; everything else goes through ``shapely.from_wkb``.
    """
    import pyarrow as pa

    arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if pa.types.is_large_binary(arr.type):
        arr = arr.cast(pa.binary())
    xy, plain = _plain_points(arr)
    if plain.all():
        return shapely.points(xy)
    out = np.full(len(arr), None, dtype=object)
    out[plain] = shapely.points(xy[plain])
    rest = np.flatnonzero(arr.is_valid().to_numpy(zero_copy_only=False) & ~plain)
    if rest.size:
        wkb = arr.take(pa.array(rest)).to_numpy(zero_copy_only=False)
        out[rest] = shapely.from_wkb(wkb, on_invalid="ignore")
    return out


def _warn_none_here(where_txt: str, where: str | None) -> None:
    warnings.warn(f"{where_txt}: no features{f' matching {where!r}' if where else ''} "
                  "within the region's extent; the indicator is computed as if there "
                  "are none.", RiskmapWarning, stacklevel=3)


def _checked_geometries(gdf: gpd.GeoDataFrame, *, crs: CRS, null_fids: list[int], repair: bool,
                        where_txt: str) -> gpd.GeoDataFrame:
    """Refuse (or, with ``repair``, drop and repair) null, NaN and invalid geometries."""
    geoms = gdf.geometry.values
    null = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    coords, owner = shapely.get_coordinates(geoms, return_index=True)
    nonfinite = np.bincount(owner[~np.isfinite(coords).all(axis=1)], minlength=len(geoms)) > 0
    invalid = ~null & ~nonfinite & ~shapely.is_valid(geoms)
    if null.any() or invalid.any() or nonfinite.any() or null_fids:
        if not repair:
            parts = []
            if null.any() or null_fids:
                fids = sorted({*gdf.index[null].tolist(), *null_fids})
                parts.append(f"{len(fids)} null or empty geometries (FIDs {fids[:5]})")
            if nonfinite.any():
                parts.append(f"{int(nonfinite.sum())} geometries with NaN or infinite "
                             f"coordinates (FIDs {gdf.index[nonfinite][:5].tolist()})")
            if invalid.any():
                first = shapely.point_on_surface(geoms[invalid][0])
                reason = shapely.is_valid_reason(geoms[invalid][0])
                parts.append(f"{int(invalid.sum())} invalid geometries (FIDs "
                             f"{gdf.index[invalid][:5].tolist()}; first: {reason} near "
                             f"{first.x:.0f}, {first.y:.0f})")
            raise InputError(f"{where_txt}: {'; '.join(parts)}. Repair the file (QGIS 'Fix "
                             "geometries', ogr2ogr -makevalid) or set repair = true in the "
                             "source to drop null (and NaN) and repair invalid geometries.",
                             code="E-INPUT-GEOMETRY")
        gdf = gdf.loc[~null & ~nonfinite].copy()
        gdf.geometry = shapely.make_valid(gdf.geometry.values)
    if not gdf.crs.equals(crs):
        gdf = gdf.to_crs(crs)
    return gdf


def _geoparquet_meta(src: str, *, where_txt: str) -> tuple[object, dict]:
    """The Parquet metadata of a local GeoParquet file and its ``geo`` metadata (decoded)."""
    import pyarrow.parquet as pq

    if is_remote(src):  # pyarrow reads no /vsicurl/ paths, and GDAL here has no Parquet driver
        raise InputError(f"{where_txt}: riskmap reads GeoParquet from local files only. "
                         "Download the file and point the config at the local copy.",
                         code="E-INPUT-NETWORK")
    try:
        meta = pq.ParquetFile(src).metadata
        geo = json.loads((meta.metadata or {})[b"geo"])
    except KeyError:
        raise InputError(f"{where_txt} is a Parquet file without GeoParquet metadata (no 'geo' "
                         "key), so riskmap cannot tell its geometry column or CRS. Write it "
                         "as GeoParquet (geopandas to_parquet, ogr2ogr -f Parquet) or convert "
                         "it to GeoPackage.", code="E-INPUT-READ") from None
    except Exception as exc:  # corrupt, truncated, bad JSON
        raise InputError(f"{where_txt}: cannot be read as a GeoParquet file ({exc}). Check "
                         "that the file is complete and not corrupt.",
                         code="E-INPUT-READ") from None
    primary = geo.get("primary_column") if isinstance(geo, dict) else None
    if not isinstance(geo.get("columns"), dict) or primary not in geo["columns"]:
        raise InputError(f"{where_txt}: the GeoParquet metadata names no primary geometry "
                         "column. Write the file again with geopandas or ogr2ogr.",
                         code="E-INPUT-READ")
    return meta, geo


def _geoparquet_fields(meta, geo: dict) -> list[str]:
    """Attribute columns: not a geometry, not a bbox covering, not a stored pandas index."""
    column = geo["columns"][geo["primary_column"]]
    covering = (column.get("covering") or {}).get("bbox", {}) if isinstance(column, dict) else {}
    skip = {*geo["columns"], *(str(v[0]) for v in covering.values() if isinstance(v, list) and v)}
    names = [meta.schema.column(i).path.split(".", 1)[0] for i in range(meta.num_columns)]
    return [n for n in dict.fromkeys(names)
            if n not in skip and not n.startswith("__index_level_")]


def _geoparquet_crs(column: dict, *, where_txt: str) -> CRS | None:
    """The CRS a GeoParquet geometry column states, or None when it states none.

    The GeoParquet standard reads a column without ``crs`` as OGC:CRS84 (lon/lat); riskmap
    does not take a missing CRS on trust (a writer that dropped it is the usual cause), so
    both a missing and a null ``crs`` count as no CRS.
    """
    stated = column.get("crs")
    if stated is None:
        return None
    try:
        found = CRS.from_json_dict(stated) if isinstance(stated, dict) else \
            CRS.from_user_input(stated)
    except Exception as exc:
        raise CRSError(f"{where_txt}: the CRS in the GeoParquet metadata cannot be read ({exc})."
                       " Fix the file (write it again with its CRS).",
                       code="E-CRS-MISSING") from None
    return None if is_undefined(found) else found


def geoparquet_crs(path: str | Path, *, what: str = "source") -> CRS | None:
    """The CRS a local GeoParquet file states for its primary geometry, or None.

    None also when the ``crs`` key is missing: the GeoParquet standard reads that as
    OGC:CRS84, but riskmap does not guess (see :func:`read_vector`).
    """
    where_txt = f"{what}: {str(path).rstrip('/').rsplit('/', 1)[-1]}"
    _, geo = _geoparquet_meta(str(path), where_txt=where_txt)
    column = geo["columns"][geo["primary_column"]]
    return _geoparquet_crs(column if isinstance(column, dict) else {}, where_txt=where_txt)


def _read_geoparquet(
    src: str,
    *,
    crs: CRS,
    layer: str | None,
    where: str | None,
    declared_crs: str | None,
    bbox: tuple[float, float, float, float] | None,
    columns: list[str] | None,
    repair: bool,
    where_txt: str,
    limits: Limits,
) -> tuple[gpd.GeoDataFrame, tuple | None, list[int]]:
    """Read a GeoParquet file with pyarrow as :func:`read_vector` reads the others with GDAL.

    Returns the frame (in the file's CRS, index = row number, geometry column ``geometry``,
    only the rows that intersect ``bbox``), the bbox in the file's CRS, and the row numbers of
    null or empty geometries in the whole file (for a bbox read, which cannot return them).
    """
    if layer is not None:
        raise InputError(f"{where_txt}: a GeoParquet file has one layer; remove "
                         f"layer = {layer!r} from the source.", code="E-INPUT-LAYER")
    if where:
        raise ConfigError(f"{where_txt}: filters (where = {where!r}) are not supported for "
                          "GeoParquet: riskmap has no SQL engine for Parquet and never "
                          "evaluates the text itself. Filter the file first (e.g. ogr2ogr "
                          "-where … or geopandas) and remove where from the source, or "
                          "convert it to GeoPackage.", code="E-CONFIG-WHERE")
    meta, geo = _geoparquet_meta(src, where_txt=where_txt)
    primary = geo["primary_column"]
    column = geo["columns"][primary] if isinstance(geo["columns"][primary], dict) else {}
    check_feature_count(int(meta.num_rows), what=where_txt, limits=limits)
    fields = _geoparquet_fields(meta, geo)
    missing = [c for c in (columns or []) if c not in fields]
    if missing:
        raise InputError(f"{where_txt}: column(s) {', '.join(map(repr, missing))} not found. "
                         f"Columns in the layer: {', '.join(fields) or '(none)'}.",
                         code="E-INPUT-COLUMN")
    src_crs = _source_crs(_geoparquet_crs(column, where_txt=where_txt), declared_crs,
                          where_txt=where_txt, note=" (not even the GeoParquet default of "
                          "lon/lat for a file that states none)")
    if meta.num_rows == 0:
        raise InputError(f"{where_txt} is empty (0 features). Point the source at a layer with "
                         "data.", code="E-INPUT-EMPTY")
    wanted = fields if columns is None else list(dict.fromkeys(columns))
    try:
        gdf = gpd.read_parquet(src, columns=[*wanted, primary],
                               to_pandas_kwargs={"ignore_metadata": True})  # index: row number
    except Exception as exc:
        raise InputError(f"{where_txt}: cannot read the features ({exc}).",
                         code="E-INPUT-READ") from None
    if gdf.geometry.name != "geometry" and "geometry" not in gdf.columns:
        gdf = gdf.rename_geometry("geometry")  # as GDAL names it
    gdf = gdf.set_crs(src_crs, allow_override=True)
    gdf.index = _fid_index(len(gdf))
    geoms = gdf.geometry.values
    null = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    coords, owner = shapely.get_coordinates(geoms, return_index=True)
    finite = np.bincount(owner[~np.isfinite(coords).all(axis=1)], minlength=len(geoms)) == 0
    if (finite & ~null).any():  # what GDAL reports as the layer's extent
        check_area_of_use(*shapely.total_bounds(geoms[finite & ~null]), src_crs,
                          where=where_txt)
    if bbox is None:
        return gdf, None, []
    read_bbox = tuple(transformer(crs, src_crs).transform_bounds(*bbox))
    null_fids = [] if repair else gdf.index[null].tolist()
    keep = shapely.intersects(geoms, shapely.box(*read_bbox))
    return gdf.loc[keep], read_bbox, null_fids


def _fid_index(n: int):
    """Row numbers 0 … n-1 as an index named ``fid`` (what pyogrio's ``fid_as_index`` gives)."""

    return pd.RangeIndex(n, name="fid")


def _source_crs(file_crs: CRS | None, declared_crs: str | None, *, where_txt: str,
                note: str = "") -> CRS:
    """The CRS of a source: the file's, or the declared one; never a guess, never a conflict."""
    if file_crs is None and declared_crs is None:
        raise CRSError(f"{where_txt} has no CRS. Fix the file, or declare it in the source: "
                       'crs = "EPSG:28992" (RD New) or crs = "EPSG:4326" (GPS lon/lat). '
                       f"riskmap never guesses a CRS{note}.", code="E-CRS-MISSING")
    if file_crs is not None and declared_crs is not None and not file_crs.equals(
            CRS.from_user_input(declared_crs)):
        raise CRSError(f"{where_txt}: the file says {file_crs.to_string()} but the config "
                       f"declares {declared_crs}. Remove crs from the source (the file's CRS "
                       "wins) or fix the file.", code="E-CRS-CONFLICT")
    return file_crs or CRS.from_user_input(declared_crs)


def _null_fids(src: str, layer: str | None, where: str | None, info: dict) -> list[int]:
    """FIDs of the features without geometry (that match ``where``), at most a few.

    The scan reads the whole layer, so its answer is kept per file version: the partitions of
    a run (:mod:`riskmap.engine`) read the same source many times with other extents.
    """
    try:
        st = os.stat(src)
        version = (st.st_mtime_ns, st.st_size)
    except OSError:
        version = None
    return list(_null_fids_cached(src, version, layer, where, info.get("driver"),
                                  info.get("geometry_name")))


@functools.lru_cache(maxsize=256)
def _null_fids_cached(src: str, version, layer: str | None, where: str | None,
                      driver: str | None, geometry_name: str | None) -> tuple[int, ...]:
    if driver == "GPKG" and _gpkg_all_indexed(src, version, layer, geometry_name):
        return ()
    if driver == "GPKG":
        geom = f'"{geometry_name or "geom"}"'
        test = f"({geom} IS NULL OR ST_IsEmpty({geom}))"
    else:
        test = "OGR_GEOMETRY IS NULL"  # OGR SQL's special field: the geometry type
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            found = pyogrio.read_dataframe(src, layer=layer, columns=[], fid_as_index=True,
                                           where=f"({where}) AND {test}" if where else test,
                                           max_features=5)
    except Exception:  # a driver without the test: the read itself reports real problems
        return ()
    return tuple(found.index.tolist())


@functools.lru_cache(maxsize=64)
def _gpkg_all_indexed(src: str, version, layer: str | None, geometry_name: str | None) -> bool:
    """Whether every feature of a GeoPackage layer is in its R-tree, which holds no null and
    no empty geometry (GeoPackage 1.3, the R-tree triggers): then the layer has none, for
    any filter. One count of the R-tree per file version instead of a scan per filter."""
    import sqlite3

    if layer is None or not geometry_name or not Path(src).is_file():
        return False
    try:
        con = sqlite3.connect(f"{Path(src).resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return False
    try:
        n = con.execute(f'SELECT COUNT(*) FROM "{layer}"').fetchone()[0]  # noqa: S608
        indexed = con.execute(
            f'SELECT COUNT(*) FROM "rtree_{layer}_{geometry_name}"').fetchone()[0]  # noqa: S608
        return n == indexed
    except sqlite3.Error:  # no spatial index, or not readable: scan as before
        return False
    finally:
        con.close()


def _count(src: str, layer: str | None, where: str | None) -> int:
    """Number of features matching ``where`` in the whole layer."""
    fids = pyogrio.read_dataframe(src, layer=layer, where=where, read_geometry=False,
                                  columns=[], fid_as_index=True)
    return len(fids)


def vector_fields(path: str | Path, *, layer: str | None = None, what: str = "source",
                  limits: Limits | None = None) -> list[str]:
    """The attribute columns of a vector layer (after :func:`check_input`), without reading it.

    Raises :class:`InputError` when the file cannot be read; :func:`read_vector` says more.
    """
    src = check_input(path, kinds=VECTOR_SUFFIXES, what=what, limits=limits)
    where_txt = f"{what}: {str(path).rstrip('/').rsplit('/', 1)[-1]}"
    if suffix_of(path) in PARQUET_SUFFIXES:
        meta, geo = _geoparquet_meta(src, where_txt=where_txt)
        return _geoparquet_fields(meta, geo)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return [str(f) for f in pyogrio.read_info(src, layer=layer)["fields"]]
    except Exception as exc:
        raise InputError(f"{where_txt}: cannot read the layer ({exc}).",
                         code="E-INPUT-READ") from None


def is_synthetic(path: str | Path) -> bool:
    """True when a file's metadata marks it synthetic (``RISKMAP_SYNTHETIC = "true"``)."""
    path = Path(path)
    try:
        if path.suffix.lower() in RASTER_SUFFIXES:
            with rasterio.open(path) as ds:
                return ds.tags().get("RISKMAP_SYNTHETIC") == "true"
        if suffix_of(path) in PARQUET_SUFFIXES:  # the file's key-value metadata
            import pyarrow.parquet as pq

            meta = pq.ParquetFile(path).metadata.metadata or {}
            return meta.get(b"RISKMAP_SYNTHETIC") == b"true"
        src = f"/vsizip/{path}" if suffix_of(path) == ".zip" else str(path)
        for name in pyogrio.list_layers(src)[:, 0]:
            meta = pyogrio.read_info(src, layer=name).get("layer_metadata") or {}
            if meta.get("RISKMAP_SYNTHETIC") == "true":
                return True
    except Exception:  # unreadable files were reported by the readers already
        return False
    return False


def read_raster_to_grid(
    path: str | Path,
    grid: Grid,
    *,
    resampling: str = "average",
    band: int = 1,
    declared_crs: str | None = None,
    what: str = "source",
    limits: Limits | None = None,
) -> np.ndarray:
    """Resample band ``band`` of a GeoTIFF onto ``grid``; NaN where the raster has no data.

    The file goes through :func:`check_input` first; rasters with more than
    ``limits.max_raster_cells`` cells are refused before they are read.
    """
    limits = limits or current_limits()
    src = check_input(path, kinds=RASTER_SUFFIXES, what=what, limits=limits)
    path = Path(str(path).rstrip("/").rsplit("/", 1)[-1])
    where_txt = f"{what}: {path.name}"
    try:
        with rasterio.open(src, driver="GTiff") as ds:
            if ds.width * ds.height > limits.max_raster_cells:
                raise InputError(f"{where_txt} has {ds.width:,} x {ds.height:,} cells, more than "
                                 f"the limit of {limits.max_raster_cells:,}. Clip it to the "
                                 "region first (gdalwarp -te …), or raise "
                                 "RISKMAP_MAX_RASTER_CELLS.", code="E-INPUT-TOOBIG")
            src_crs = None if ds.crs is None or is_undefined(CRS.from_user_input(ds.crs)) \
                else ds.crs
            if src_crs is None and declared_crs is None:
                raise CRSError(f"{where_txt} has no CRS. Fix the file (gdal_edit.py -a_srs …) or "
                               'declare crs = "EPSG:…" in the source.', code="E-CRS-MISSING")
            src_crs = CRS.from_user_input(src_crs or declared_crs)
            check_area_of_use(*ds.bounds, src_crs, where=where_txt)
            if band > ds.count:
                raise InputError(f"{where_txt} has {ds.count} band(s), not {band}.",
                                 code="E-INPUT-BAND")
            data = ds.read(band, masked=True).astype("float64").filled(np.nan)
            out = np.full(grid.shape, np.nan)
            reproject(data, out, src_transform=ds.transform, src_crs=src_crs,
                      src_nodata=np.nan, dst_transform=grid.transform, dst_crs=grid.crs,
                      dst_nodata=np.nan, resampling=Resampling[resampling])
    except (rasterio.errors.RasterioIOError, rasterio.errors.RasterioError) as exc:
        raise InputError(f"{where_txt}: cannot be read as a GeoTIFF ({exc}). Check that the file "
                         "is complete and not corrupt.", code="E-INPUT-READ") from None
    return out


def read_table(
    path: str | Path,
    *,
    what: str,
    kinds: set[str] = TABLE_SUFFIXES,
    limits: Limits | None = None,
    **kwargs,
):
    """Read a CSV (or, where ``kinds`` allows, an Excel sheet) after :func:`check_input`.

    At most ``limits.max_features`` rows are read; one more is an error. ``kwargs`` go to
    :func:`pandas.read_csv` (or :func:`pandas.read_excel` for ``.xlsx``).
    """

    limits = limits or current_limits()
    src = check_input(path, kinds=kinds, what=what, limits=limits)
    if is_remote(path):
        src = str(path)  # allowed by then; pandas reads URLs itself, not /vsicurl/
    name = str(path).rstrip("/").rsplit("/", 1)[-1]
    try:
        if suffix_of(path) == ".xlsx":
            df = pd.read_excel(src, nrows=limits.max_features + 1, **kwargs)
        else:
            df = pd.read_csv(src, nrows=limits.max_features + 1, **kwargs)
    except Exception as exc:
        raise InputError(f"{what}: {name} cannot be read as a table ({exc}). Save it as CSV "
                         "(UTF-8, a header line, one record per line).",
                         code="E-INPUT-READ") from None
    check_feature_count(len(df), what=f"{what}: {name}", limits=limits)
    return df


# ----------------------------------------------------------------------------- writing


#: Marks the temporary name of a file being written: ``.kaart.html.riskmap-tmp-x1y2z3a4.html``
#: (hidden, the real suffix last for the drivers). A killed process can leave such files
#: (and GDAL/SQLite side files such as ``…gpkg-journal``); :func:`remove_temporary` clears them.
TEMP_MARK = ".riskmap-tmp-"
#: The list of a complete run (:func:`riskmap.pipeline.write_manifest`), and the name it gets
#: as soon as a file it lists is about to be replaced (the folder is then no complete run).
MANIFEST = "MANIFEST.json"
PREVIOUS_MANIFEST = "MANIFEST.previous.json"


def is_temporary(path: str | Path) -> bool:
    """True for a file that a writer had not finished (:data:`TEMP_MARK`): never an output."""
    name = Path(path).name
    return name.startswith(".") and TEMP_MARK in name


def remove_temporary(folder: str | Path) -> list[Path]:
    """Delete what interrupted writers left in ``folder`` and below; return those files."""
    folder = Path(folder)
    gone = [p for p in folder.rglob(f".*{TEMP_MARK}*") if is_temporary(p) and p.is_file()] \
        if folder.is_dir() else []
    for p in gone:
        with contextlib.suppress(FileNotFoundError):
            p.unlink()
    return gone


def _withdraw_manifest(path: Path) -> None:
    """Rename a ``MANIFEST.json`` that lists ``path`` to ``MANIFEST.previous.json``.

    Called before ``path`` is replaced: a complete manifest is never paired with a set of
    files that is being replaced. Only the folder of ``path`` and the one above are looked at
    (outputs sit in ``OUT/`` and ``OUT/<statcode>/``).
    """
    if path.name in (MANIFEST, PREVIOUS_MANIFEST):
        return
    for folder in (path.parent, path.parent.parent):
        manifest = folder / MANIFEST
        if not manifest.is_file():
            continue
        rel = path.resolve().relative_to(folder.resolve()).as_posix()
        try:
            listed = rel in json.loads(manifest.read_text(encoding="utf-8")).get("files", {})
        except (OSError, ValueError, AttributeError):
            listed = True  # unreadable: it cannot vouch for anything any more
        if listed:
            with contextlib.suppress(FileNotFoundError):
                os.replace(manifest, folder / PREVIOUS_MANIFEST)


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it into place only on success.

    A reader sees the old file or the new one, never a part: the file is written under a
    temporary name in the same folder (:data:`TEMP_MARK`) and renamed over ``path``. A
    ``MANIFEST.json`` that lists ``path`` is withdrawn first (:data:`PREVIOUS_MANIFEST`).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}{TEMP_MARK}", suffix=path.suffix,
                               dir=path.parent)
    os.close(fd)
    os.unlink(tmp)  # drivers want to create the file themselves
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        _withdraw_manifest(path)
        os.replace(tmp_path, path)
    finally:  # the temporary file after a failure, and side files (…-journal, ….aux.xml)
        for leftover in tmp_path.parent.glob(glob.escape(tmp_path.name) + "*"):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()


def write_geotiff(
    path: str | Path,
    bands: np.ndarray,
    grid: Grid,
    *,
    nodata: float = -9999.0,
    tags: dict[str, str] | None = None,
    descriptions: list[str] | None = None,
    dtype: str = "float32",
    colormap: dict[int, str] | None = None,
) -> Path:
    """Write bands (NaN = nodata) as a tiled, deflated GeoTIFF with overviews.

    ``dtype`` "float32" (scores) or an integer type such as "uint8" (classes, with e.g.
    ``nodata=0``). Tiles are 128 px for rasters up to 512 px (a municipality at 100 m),
    256 px above: a small raster in one 256 px tile per band and overview level is mostly
    padding, which GDAL still predicts and deflates (256 → 128 px: ~40 % less time for a
    municipality of ~100 × 100 cells).
    """
    bands = bands if bands.ndim == 3 else bands[np.newaxis]
    data = np.where(np.isnan(bands), nodata, bands).astype(dtype)
    is_float = np.dtype(dtype).kind == "f"
    block = 128 if max(grid.shape) <= 512 else 256
    profile = {
        "driver": "GTiff", "dtype": dtype, "count": data.shape[0],
        "height": grid.height, "width": grid.width, "crs": grid.crs.to_wkt(),
        "transform": grid.transform, "nodata": nodata, "compress": "deflate",
        "predictor": 3 if is_float else 2, "tiled": True, "blockxsize": block,
        "blockysize": block,
    }
    with atomic_path(path) as tmp, rasterio.open(tmp, "w", **profile) as ds:
        ds.write(data)
        if tags:
            ds.update_tags(**tags)
        for i, d in enumerate(descriptions or [], start=1):
            ds.set_band_description(i, d)
        if colormap:
            ds.write_colormap(1, {k: tuple(int(c[j:j + 2], 16) for j in (1, 3, 5)) + (255,)
                                  for k, c in colormap.items()})
        factors = [f for f in (2, 4, 8, 16) if min(grid.shape) // f >= 2]
        if factors:
            method = Resampling.average if is_float else Resampling.mode
            with _without_gdal_message(_PALETTE_OVERVIEW_NOTE):
                ds.build_overviews(factors, method)
            ds.update_tags(ns="rio_overview", resampling=method.name)
    return Path(path)


#: What GDAL (3.10) says when it builds MODE overviews of a band with a colour table, the
#: table being there: the most frequent class per overview pixel is what the classes need.
_PALETTE_OVERVIEW_NOTE = "Computing overviews on palette index raster bands without a palette"


class _Without(logging.Filter):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def filter(self, record: logging.LogRecord) -> bool:
        return self.text not in record.getMessage()


@contextlib.contextmanager
def _without_gdal_message(text: str) -> Iterator[None]:
    """Leave out one message that GDAL sends through rasterio's logger, for the block."""
    logger = logging.getLogger("rasterio._env")
    drop = _Without(text)
    logger.addFilter(drop)
    try:
        yield
    finally:
        logger.removeFilter(drop)


def write_gpkg(
    path: str | Path,
    gdf: gpd.GeoDataFrame | dict[str, gpd.GeoDataFrame],
    *,
    layer: str | None = None,
    metadata: dict[str, str] | None = None,
    styles: dict[str, str] | None = None,
    use_arrow: bool = True,
) -> Path:
    """Write layers to a new GeoPackage, atomically, with layer metadata and QGIS styles.

    ``gdf`` is one frame (named ``layer``) or a dict of layer name → frame. ``styles`` maps a
    layer name to a QGIS QML document, stored as that layer's default style in the
    GeoPackage's ``layer_styles`` table, so QGIS opens the layer styled. The file's dates
    (``gpkg_contents.last_change``) are the run's time (:mod:`riskmap.clock`), so the same
    frames give the same bytes. The frames go to GDAL through Arrow (``use_arrow``, pyogrio):
    the same file, byte for byte, as the row-by-row path, in about 2/3 of the time (the
    region benchmark's opportunity.gpkg, ~8,600 cells: median 48 → 34 ms,
    ``benchmarks/bench_write.py``).
    """
    layers = gdf if isinstance(gdf, dict) else {layer: gdf}
    # GDAL stamps gpkg_contents.last_change (and the metadata) with the current time; the
    # run's time instead keeps the file reproducible (riskmap.clock). No fsync per SQLite
    # commit: the file is a temporary one that atomic_path renames when complete, so a killed
    # process never leaves a half-written GeoPackage either way; the fsyncs cost ~50 ms per
    # file (~10 s of a region run at 100 m, BENCHMARKS.md). What they bought: content on disk
    # before the rename; after a crash of the machine (not the process) just after a run a
    # file can be damaged, which MANIFEST.json's SHA-256 reveals (--resume rewrites it).
    # For the same reason the rollback journal is kept in memory, not in a side file that
    # SQLite creates and deletes for every transaction (the journal mode is not stored in
    # the file: the bytes are the same). Pages of 16 KiB instead of SQLite's 4 KiB: ~11 %
    # less time for a layer of cells (fewer B-tree and R-tree pages), files ~1 % larger.
    when = clock.now().strftime("%Y-%m-%dT%H:%M:%S.000Z")
    with atomic_path(path) as tmp, _gdal_config(OGR_CURRENT_DATE=when,
                                                OGR_SQLITE_SYNCHRONOUS="OFF",
                                                OGR_SQLITE_JOURNAL="MEMORY",
                                                OGR_SQLITE_PRAGMA="page_size=16384"):
        for name, frame in layers.items():
            pyogrio.write_dataframe(frame, tmp, layer=name, driver="GPKG", append=tmp.exists(),
                                    layer_metadata=metadata or None, use_arrow=use_arrow)
        if styles:
            _write_styles(tmp, styles, {n: f.geometry.name for n, f in layers.items()},
                          stamp=(metadata or {}).get("RISKMAP_CREATED", ""), when=when)
    return Path(path)


@contextlib.contextmanager
def _gdal_config(**options: str) -> Iterator[None]:
    """Set GDAL configuration options for the block, then restore the previous values."""
    before = {k: pyogrio.get_gdal_config_option(k) for k in options}
    pyogrio.set_gdal_config_options(options)
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options(before)


def _write_styles(path: Path, styles: dict[str, str], geometry_columns: dict[str, str], *,
                  stamp: str, when: str) -> None:
    import sqlite3

    con = sqlite3.connect(path)
    try:
        con.execute("PRAGMA synchronous = OFF")  # a temporary file, see write_gpkg
        con.execute("PRAGMA journal_mode = MEMORY")
        con.execute(
            "CREATE TABLE IF NOT EXISTS layer_styles (id INTEGER PRIMARY KEY AUTOINCREMENT, "
            "f_table_catalog TEXT(256), f_table_schema TEXT(256), f_table_name TEXT(256), "
            "f_geometry_column TEXT(256), styleName TEXT(30), styleQML TEXT, styleSLD TEXT, "
            "useAsDefault BOOLEAN, description TEXT, owner TEXT(30), ui TEXT(30), "
            "update_time DATETIME)")
        con.execute("INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, "
                    "last_change) VALUES ('layer_styles', 'attributes', 'layer_styles', ?)",
                    (when,))
        for name, qml in styles.items():
            con.execute(
                "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, "
                "f_geometry_column, styleName, styleQML, styleSLD, useAsDefault, description, "
                "owner, ui, update_time) VALUES ('', '', ?, ?, ?, ?, '', 1, ?, 'riskmap', '', ?)",
                (name, geometry_columns.get(name, "geometry"), f"riskmap {name}", qml,
                 "riskmap default style", stamp))
        con.commit()
    finally:
        con.close()


def qml_categorized(field: str, categories: list[tuple[int | str, str, str]], *,
                    alpha: float = 0.8, outline: bool = False) -> str:
    """A QGIS QML document: polygons coloured by the categories ``(value, label, #rrggbb)``."""
    from xml.sax.saxutils import quoteattr

    cats, syms = [], []
    for i, (value, label, color) in enumerate(categories):
        r, g, b = (int(color[k:k + 2], 16) for k in (1, 3, 5))
        cats.append(f'<category value={quoteattr(str(value))} label={quoteattr(label)} '
                    f'symbol="{i}" render="true"/>')
        edge = "35,35,35,255" if outline else f"{r},{g},{b},255"
        syms.append(
            f'<symbol type="fill" name="{i}" alpha="{alpha}" clip_to_extent="1" force_rhr="0">'
            '<layer class="SimpleFill" enabled="1" pass="0" locked="0"><Option type="Map">'
            f'<Option name="color" type="QString" value="{r},{g},{b},255"/>'
            f'<Option name="outline_color" type="QString" value="{edge}"/>'
            '<Option name="outline_width" type="QString" value="0.2"/>'
            '<Option name="style" type="QString" value="solid"/>'
            '</Option></layer></symbol>')
    return ("<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
            '<qgis version="3.28.0" styleCategories="Symbology">'
            f'<renderer-v2 type="categorizedSymbol" attr={quoteattr(field)} symbollevels="0" '
            'enableorderby="0" forceraster="0">'
            f'<categories>{"".join(cats)}</categories><symbols>{"".join(syms)}</symbols>'
            "</renderer-v2></qgis>\n")
