"""Readers and writers: the only place riskmap touches files.

Readers check what geopandas and pyogrio let through silently (field notes): a missing CRS,
coordinates that do not fit their CRS, a layer name that does not exist (we list the ones
that do), missing columns, an empty result after the filter, null and invalid geometries.
Writers never leave a half-written file: they write to a temporary name in the same folder
and rename it into place.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import rasterio
import shapely
from pyproj import CRS, Transformer
from rasterio.enums import Resampling
from rasterio.warp import reproject

from riskmap import clock
from riskmap.crs import check_area_of_use, is_undefined
from riskmap.errors import ConfigError, CRSError, InputError, RiskmapWarning
from riskmap.grid import Grid

__all__ = [
    "atomic_path",
    "is_synthetic",
    "is_temporary",
    "qml_categorized",
    "read_raster_to_grid",
    "read_vector",
    "remove_temporary",
    "write_geotiff",
    "write_gpkg",
]

VECTOR_SUFFIXES = {".gpkg", ".geojson", ".json", ".shp", ".zip", ".fgb", ".parquet"}
RASTER_SUFFIXES = {".tif", ".tiff"}


def _check_path(path: Path, *, kinds: set[str], what: str) -> Path:
    text = str(path)
    if text.startswith(("/vsi", "http://", "https://", "ftp://")):
        raise InputError(f"{what}: {text} is a network or virtual path; riskmap reads local "
                         "files only. Download the file and point the config at it.",
                         code="E-INPUT-NETWORK")
    if not path.exists():
        raise InputError(f"{what}: file {path} not found. Check the file name and the folder "
                         "it is relative to (the project's data_dir).",
                         code="E-INPUT-NOTFOUND")
    if path.suffix.lower() not in kinds:
        raise InputError(f"{what}: {path.name} is not a supported format; use one of "
                         f"{', '.join(sorted(kinds))}.", code="E-INPUT-FORMAT")
    return path


def _gdal_path(path: Path) -> str:
    return f"/vsizip/{path}" if path.suffix.lower() == ".zip" else str(path)


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
) -> gpd.GeoDataFrame:
    """Read a vector layer into ``crs``, refusing what cannot be trusted.

    Parameters
    ----------
    path : path
        GeoPackage, GeoJSON, Shapefile (zipped or not), FlatGeobuf or GeoParquet.
    crs : pyproj.CRS
        The working CRS the result is reprojected to.
    layer : str, optional
        Layer name; required when the file has several layers.
    where : str, optional
        OGR SQL filter, e.g. ``"gebruiksdoel = 'woonfunctie'"``.
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

    Returns
    -------
    GeoDataFrame
        Indexed by the file's feature id (FID), so messages can name rows.
    """
    path = _check_path(Path(path), kinds=VECTOR_SUFFIXES, what=what)
    src = _gdal_path(path)
    where_txt = f"{what}: {path.name}"
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
        info = pyogrio.read_info(src, layer=layer, force_total_bounds=True)
    except Exception as exc:
        raise InputError(f"{where_txt}: cannot read the layer ({exc}).",
                         code="E-INPUT-READ") from None
    fields = list(info["fields"])
    missing = [c for c in (columns or []) if c not in fields]
    if missing:
        raise InputError(f"{where_txt}: column(s) {', '.join(map(repr, missing))} not found. "
                         f"Columns in the layer: {', '.join(fields) or '(none)'}.",
                         code="E-INPUT-COLUMN")
    file_crs = CRS.from_user_input(info["crs"]) if info["crs"] else None
    if is_undefined(file_crs):
        file_crs = None
    if file_crs is None and declared_crs is None:
        raise CRSError(f"{where_txt} has no CRS. Fix the file, or declare it in the source: "
                       'crs = "EPSG:28992" (RD New) or crs = "EPSG:4326" (GPS lon/lat). '
                       "riskmap never guesses a CRS.", code="E-CRS-MISSING")
    if file_crs is not None and declared_crs is not None and not file_crs.equals(
            CRS.from_user_input(declared_crs)):
        raise CRSError(f"{where_txt}: the file says {file_crs.to_string()} but the config "
                       f"declares {declared_crs}. Remove crs from the source (the file's CRS "
                       "wins) or fix the file.", code="E-CRS-CONFLICT")
    src_crs = file_crs or CRS.from_user_input(declared_crs)
    if info["features"] == 0:
        raise InputError(f"{where_txt} is empty (0 features). Point the source at a layer with "
                         "data.", code="E-INPUT-EMPTY")
    tb = info.get("total_bounds")
    if tb is not None:
        check_area_of_use(*tb, src_crs, where=where_txt)
    read_bbox = None
    if bbox is not None:
        tr = Transformer.from_crs(crs, src_crs, always_xy=True)
        read_bbox = tuple(tr.transform_bounds(*bbox))
    try:
        gdf = pyogrio.read_dataframe(src, layer=layer, where=where, bbox=read_bbox,
                                     columns=columns, fid_as_index=True,
                                     on_invalid="ignore")
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
        if read_bbox is not None and _count(src, layer, where) > 0:
            # the filter selects features, just none near this region: a real "none here"
            warnings.warn(f"{where_txt}: no features{f' matching {where!r}' if where else ''} "
                          "within the region's extent; the indicator is computed as if there "
                          "are none.", RiskmapWarning, stacklevel=2)
            return gdf.to_crs(crs) if gdf.crs is not None else gdf.set_crs(crs)
        if where:
            raise InputError(f"{where_txt}: no features left after the filter where = {where!r}."
                             " Check the filter values (text is case-sensitive) against the "
                             "data.", code="E-INPUT-EMPTY")
        raise InputError(f"{where_txt}: no features within the region's extent. Check that the "
                         "file covers the region and that its CRS is right.",
                         code="E-INPUT-EMPTY")
    geoms = gdf.geometry.values
    null = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    invalid = ~null & ~shapely.is_valid(geoms)
    if null.any() or invalid.any():
        if not repair:
            parts = []
            if null.any():
                parts.append(f"{int(null.sum())} null or empty geometries (FIDs "
                             f"{gdf.index[null][:5].tolist()})")
            if invalid.any():
                first = shapely.point_on_surface(geoms[invalid][0])
                reason = shapely.is_valid_reason(geoms[invalid][0])
                parts.append(f"{int(invalid.sum())} invalid geometries (FIDs "
                             f"{gdf.index[invalid][:5].tolist()}; first: {reason} near "
                             f"{first.x:.0f}, {first.y:.0f})")
            raise InputError(f"{where_txt}: {'; '.join(parts)}. Repair the file (QGIS 'Fix "
                             "geometries', ogr2ogr -makevalid) or set repair = true in the "
                             "source to drop null and repair invalid geometries.",
                             code="E-INPUT-GEOMETRY")
        gdf = gdf.loc[~null].copy()
        gdf.geometry = shapely.make_valid(gdf.geometry.values)
    if not gdf.crs.equals(crs):
        gdf = gdf.to_crs(crs)
    return gdf


def _count(src: str, layer: str | None, where: str | None) -> int:
    """Number of features matching ``where`` in the whole layer."""
    fids = pyogrio.read_dataframe(src, layer=layer, where=where, read_geometry=False,
                                  columns=[], fid_as_index=True)
    return len(fids)


def is_synthetic(path: str | Path) -> bool:
    """True when a file's metadata marks it synthetic (``RISKMAP_SYNTHETIC = "true"``)."""
    path = Path(path)
    try:
        if path.suffix.lower() in RASTER_SUFFIXES:
            with rasterio.open(path) as ds:
                return ds.tags().get("RISKMAP_SYNTHETIC") == "true"
        src = _gdal_path(path)
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
) -> np.ndarray:
    """Resample band ``band`` of a GeoTIFF onto ``grid``; NaN where the raster has no data."""
    path = _check_path(Path(path), kinds=RASTER_SUFFIXES, what=what)
    where_txt = f"{what}: {path.name}"
    try:
        with rasterio.open(path) as ds:
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
    except rasterio.errors.RasterioIOError as exc:
        raise InputError(f"{where_txt}: cannot be read as a GeoTIFF ({exc}). Check that the file "
                         "is complete and not corrupt.", code="E-INPUT-READ") from None
    return out


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
    ``nodata=0``).
    """
    bands = bands if bands.ndim == 3 else bands[np.newaxis]
    data = np.where(np.isnan(bands), nodata, bands).astype(dtype)
    is_float = np.dtype(dtype).kind == "f"
    profile = {
        "driver": "GTiff", "dtype": dtype, "count": data.shape[0],
        "height": grid.height, "width": grid.width, "crs": grid.crs.to_wkt(),
        "transform": grid.transform, "nodata": nodata, "compress": "deflate",
        "predictor": 3 if is_float else 2, "tiled": True, "blockxsize": 256,
        "blockysize": 256,
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
            ds.build_overviews(factors, method)
            ds.update_tags(ns="rio_overview", resampling=method.name)
    return Path(path)


def write_gpkg(
    path: str | Path,
    gdf: gpd.GeoDataFrame | dict[str, gpd.GeoDataFrame],
    *,
    layer: str | None = None,
    metadata: dict[str, str] | None = None,
    styles: dict[str, str] | None = None,
    use_arrow: bool = False,
) -> Path:
    """Write layers to a new GeoPackage, atomically, with layer metadata and QGIS styles.

    ``gdf`` is one frame (named ``layer``) or a dict of layer name → frame. ``styles`` maps a
    layer name to a QGIS QML document, stored as that layer's default style in the
    GeoPackage's ``layer_styles`` table, so QGIS opens the layer styled. The file's dates
    (``gpkg_contents.last_change``) are the run's time (:mod:`riskmap.clock`), so the same
    frames give the same bytes. ``use_arrow`` writes large frames faster (pyogrio).
    """
    layers = gdf if isinstance(gdf, dict) else {layer: gdf}
    # GDAL stamps gpkg_contents.last_change (and the metadata) with the current time; the
    # run's time instead keeps the file reproducible (riskmap.clock)
    when = clock.now().strftime("%Y-%m-%dT%H:%M:%S.000Z")
    with atomic_path(path) as tmp, _gdal_config(OGR_CURRENT_DATE=when):
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
