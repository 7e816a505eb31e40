"""Interactive HTML maps: one safe, small, offline-capable page per municipality.

A page shows raster layers of classes (opportunity, risk as the audience allows, the 3 × 3
bivariate overlay) as PNG images, zones with popups, the municipality outline, Dutch legends
and a provenance footer. Everything goes in as plain data and comes out as an HTML string;
only :func:`write_page` writes a file.

- **Small.** Rasters are warped to Web Mercator (EPSG:3857) with nearest-neighbour
  resampling and embedded as one palette PNG per layer (a ``data:`` URL in a Leaflet
  ``ImageOverlay``), not as one polygon per cell: a municipality of 50 000 cells stays far
  below 1 MB. Vector layers are kept to aggregates (zones, outlines).
- **Safe.** Every text that reaches the page (title, layer names, legend labels, zone values
  and aliases, footer) goes through :func:`escape_text`, which escapes HTML, the characters
  that matter in JavaScript template literals (`` ` `` ``$`` ``\\``) and the braces of
  Jinja, because folium renders the output of its script macros a second time as a Jinja
  template (a value ``{{ 7*7 }}`` would otherwise become ``49`` — and any Python expression
  would run while the page is built). Only the zone columns named in ``zone_fields`` reach
  the page. A Content-Security-Policy ``<meta>`` limits what the page may load.
- **Offline.** With ``offline=True`` Leaflet and the two plugins (fullscreen, measure) are
  inlined from the files vendored in ``riskmap/assets/`` (see its ``README.md``: Leaflet
  1.9.4, leaflet.fullscreen 3.0.0, leaflet-measure 2.1.7, from the npm registry, with their
  licences), their CSS images as ``data:`` URLs. The page then requests nothing but basemap
  tiles, and nothing at all with ``tiles="none"``. jQuery, Bootstrap, Font Awesome and
  awesome-markers, which folium's default page loads, are not used and never linked.
- **Privacy.** :func:`municipality_page` refuses (``E-PRIVACY-LEAK``) a partner or public
  page with a layer, zone field or alias that names incident detail (:data:`FORBIDDEN_WORDS`,
  :data:`FORBIDDEN_FIELDS`). The caller still decides what to pass; this is a guard.

Examples
--------
>>> import numpy as np, geopandas as gpd, shapely
>>> from riskmap.grid import Grid
>>> grid = Grid.from_bounds(150_000, 450_000, 153_000, 452_000, cell_size=100)
>>> classes = np.random.default_rng(0).integers(0, 6, grid.shape)
>>> layer = RasterLayer("Gelegenheid (klasse)", classes, grid,
...                     colors={k: c for k, c in enumerate(KLASSE_COLORS, 1)},
...                     legend={1: "1 (laag)", 2: "2", 3: "3", 4: "4", 5: "5 (hoog)"})
>>> outline = gpd.GeoDataFrame(geometry=[shapely.box(*grid.bounds)], crs=28992)
>>> html = municipality_page(title="Zeewolde", outline=outline, layers=[layer],
...                          footer={"versie": "0.1.0"}, audience="public", offline=True,
...                          tiles="none")
>>> html.count("L.imageOverlay("), "cdn.jsdelivr.net" in html
(1, False)
"""

from __future__ import annotations

import base64
import functools
import hashlib
import html as html_lib
import io
import itertools
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import branca.element as be
import folium
import folium.plugins
import folium.raster_layers
import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio.crs
import shapely
from affine import Affine
from jinja2 import Template
from PIL import Image
from rasterio.warp import Resampling, reproject

from riskmap import styles
from riskmap.crs import transformer
from riskmap.errors import ConfigError, CRSError, InputError, PrivacyError
from riskmap.grid import Grid
from riskmap.io import atomic_path
from riskmap.risk import AUDIENCES

__all__ = [
    "BIVARIATE_COLORS",
    "FORBIDDEN_FIELDS",
    "FORBIDDEN_WORDS",
    "KLASSE_COLORS",
    "RasterLayer",
    "TILES",
    "escape_text",
    "index_page",
    "municipality_page",
    "write_page",
]

#: Five sequential class colours, 1 = laag … 5 = hoog (ColorBrewer YlOrRd; riskmap.styles).
KLASSE_COLORS = tuple(styles.class_colors(5).values())

#: Colours of the 3 × 3 bivariate classes, class = 3 * (risk - 1) + opportunity, shared with
#: the GeoTIFF colour tables and QGIS styles (riskmap.styles).
BIVARIATE_COLORS = styles.BIVARIATE_COLORS

#: Basemaps (PDOK via xyzservices' ``nlmaps``) by the name ``tiles`` takes, with their name
#: in the layer control. ``"none"`` draws no tiles at all.
TILES = {
    "grijs": "Achtergrondkaart grijs (PDOK)",
    "standaard": "Achtergrondkaart (PDOK)",
    "pastel": "Achtergrondkaart pastel (PDOK)",
    "water": "Achtergrondkaart water (PDOK)",
    "luchtfoto": "Luchtfoto (PDOK)",
}
TILE_ATTRIBUTION = "Kaartgegevens &copy; Kadaster"
TILE_HOST = "https://service.pdok.nl"

#: Partners and public: a layer name, zone field or alias containing one of these words
#: (case-insensitive) names incident detail and is refused with ``E-PRIVACY-LEAK``.
FORBIDDEN_WORDS = ("aantal", "count", "incident", "dichtheid", "density", "gi_z", "gi_p",
                   "gi_bin", "z-score", "zscore", "z_score", "melding")
#: Partners and public: zone fields refused by exact (lower-case) name: coordinates of points,
#: and the police risk score (partners and public see risk classes only).
FORBIDDEN_FIELDS = frozenset({"aantal", "count", "n_incidents", "dichtheid", "gi_z", "gi_p",
                              "gi_bin", "incident_id", "x", "y", "lon", "lat", "score_risico",
                              "risico_score", "risk_score", "trend"})

_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")
_ASSETS_DIR = Path(__file__).parent / "assets"

#: Every script and stylesheet a page may link: folium's name for it -> (kind, the CDN URL
#: of an online page, the vendored file inlined in an offline page). Same versions online
#: and offline.
_ASSETS: dict[str, tuple[str, str, str]] = {
    "leaflet": ("js", "https://cdn.jsdelivr.net/npm/leaflet@1.9.4/dist/leaflet.js",
                "leaflet/leaflet.js"),
    "leaflet_css": ("css", "https://cdn.jsdelivr.net/npm/leaflet@1.9.4/dist/leaflet.css",
                    "leaflet/leaflet.css"),
    "Control.Fullscreen.js": (
        "js", "https://cdn.jsdelivr.net/npm/leaflet.fullscreen@3.0.0/Control.FullScreen.js",
        "leaflet-fullscreen/Control.FullScreen.js"),
    "Control.FullScreen.css": (
        "css", "https://cdn.jsdelivr.net/npm/leaflet.fullscreen@3.0.0/Control.FullScreen.css",
        "leaflet-fullscreen/Control.FullScreen.css"),
    "leaflet_measure_js": (
        "js", "https://cdn.jsdelivr.net/npm/leaflet-measure@2.1.7/dist/leaflet-measure.min.js",
        "leaflet-measure/leaflet-measure.min.js"),
    "leaflet_measure_css": (
        "css", "https://cdn.jsdelivr.net/npm/leaflet-measure@2.1.7/dist/leaflet-measure.css",
        "leaflet-measure/leaflet-measure.css"),
}
_CDN = "https://cdn.jsdelivr.net"


# --------------------------------------------------------------------------------------------
# escaping


def escape_text(s: Any) -> str:
    """Escape any value for HTML, JavaScript template literals and Jinja.

    HTML-escapes ``& < > " '`` and then replaces `` ` ``, ``$``, ``\\``, ``{`` and ``}`` by
    numeric character references. The result is inert wherever riskmap puts text: HTML
    content and attributes, ``innerHTML`` (Leaflet popups, tooltips, the layer control), JSON
    inside a ``<script>``, JavaScript template literals (folium's ``GeoJsonPopup`` builds its
    table in one) and folium's second Jinja pass over rendered scripts. Browsers show the
    original characters.

    Parameters
    ----------
    s : object
        Any value; ``None`` gives ``""``, anything else ``str(s)``.

    Returns
    -------
    str

    Examples
    --------
    >>> escape_text("<b>${x}</b> `a` \\\\ 'b'")
    '&lt;b&gt;&#36;&#123;x&#125;&lt;/b&gt; &#96;a&#96; &#92; &#x27;b&#x27;'
    """
    if s is None:
        return ""
    text = html_lib.escape(str(s), quote=True)
    return (text.replace("`", "&#96;").replace("$", "&#36;").replace("\\", "&#92;")
            .replace("{", "&#123;").replace("}", "&#125;"))


# --------------------------------------------------------------------------------------------
# data


@dataclass
class RasterLayer:
    """A raster of classes drawn as one image layer, with a Dutch name and legend.

    Parameters
    ----------
    name : str
        Dutch name in the layer control, e.g. ``"Gelegenheid (klasse)"``.
    classes : numpy.ndarray
        2-D integer array on ``grid``, 0 = transparent (no data), classes 1..255.
    grid : riskmap.grid.Grid
        The grid of ``classes`` (any projected CRS).
    colors : dict of int to str
        Class -> ``"#rrggbb"``; every class in ``classes`` needs one.
    legend : dict of int to str
        Class -> Dutch label, e.g. ``{1: "1 (laag)", 5: "5 (hoog)"}``; shown in this order.
    show : bool, default=True
        Whether the layer is on when the page opens.
    opacity : float, default=0.7
    """

    name: str
    classes: np.ndarray
    grid: Grid
    colors: dict[int, str]
    legend: dict[int, str]
    show: bool = True
    opacity: float = 0.7


class _Raw(be.Element):
    """Text put into the page as it is, rendered once (never parsed as a Jinja template)."""

    _template = Template("{{ this.text }}")

    def __init__(self, text: str) -> None:
        super().__init__()
        self._name = "Raw"
        self.text = text


class _Page(be.Figure):
    """A folium figure that links only riskmap's assets, inline when offline.

    ``render`` renders the children first (they register the scripts and stylesheets they
    need), then replaces every link by the vendored file's text (offline) or checks that it
    is one riskmap knows (online), then adds riskmap's own HTML, CSS and the scripts that
    must run after the map's.
    """

    _template = Template(
        "<!DOCTYPE html>\n"
        '<html lang="nl">\n'
        "<head>\n"
        '<meta charset="utf-8">\n'
        '<meta http-equiv="Content-Security-Policy" content="{{ this.csp }}">\n'
        "<title>{{ this.page_title }}</title>\n"
        "{{ this.header.render(**kwargs) }}\n"
        "</head>\n"
        "<body>\n"
        "{{ this.html.render(**kwargs) }}\n"
        "</body>\n"
        "<script>\n"
        "{{ this.script.render(**kwargs) }}\n"
        "</script>\n"
        "</html>\n"
    )

    def __init__(self, *, page_title: str, offline: bool, tiles: bool) -> None:
        super().__init__()
        self.page_title = page_title  # escaped by the caller
        self.offline = offline
        self.csp = _csp(offline=offline, tiles=tiles)
        self.head_css: list[str] = []
        self.body_html: list[str] = []
        self.late_scripts: list[str] = []
        self._rendered: str | None = None

    def render(self, **kwargs: Any) -> str:  # noqa: D102
        if self._rendered is not None:
            return self._rendered
        for child in list(self._children.values()):
            child.render(**kwargs)
        header = self.header._children
        for name, child in list(header.items()):
            if not isinstance(child, be.JavascriptLink | be.CssLink):
                continue
            if name not in _ASSETS or child.url != _ASSETS[name][1]:
                raise RuntimeError(f"webmap: unexpected asset {name!r} ({child.url}); add it "
                                   "to riskmap.webmap._ASSETS and vendor it in riskmap/assets")
            if self.offline:
                inline = _Raw(_inline_asset(name))
                inline._parent = self.header
                header[name] = inline
        for i, css in enumerate(self.head_css):
            self.header.add_child(_Raw(f"<style>{css}</style>"), name=f"riskmap_css_{i}")
        for i, body in enumerate(self.body_html):
            self.html.add_child(_Raw(body), name=f"riskmap_html_{i}")
        for i, js in enumerate(self.late_scripts):
            self.script.add_child(_Raw(js), name=f"riskmap_js_{i}")
        self._rendered = self._template.render(this=self, kwargs=kwargs)
        return self._rendered


def _csp(*, offline: bool, tiles: bool) -> str:
    """The Content-Security-Policy of a page: only inline code, data images and the tiles.

    ``'unsafe-eval'`` is needed by leaflet-measure (underscore templates); the policy's job
    here is to keep the page from loading or sending anything anywhere else.
    """
    code = "'unsafe-inline' 'unsafe-eval'" + ("" if offline else f" {_CDN}")
    img = "data:" + (f" {TILE_HOST}" if tiles else "") + ("" if offline else f" {_CDN}")
    return (f"default-src 'none'; script-src {code}; style-src 'unsafe-inline'"
            f"{'' if offline else ' ' + _CDN}; img-src {img}; connect-src 'none'; "
            "font-src 'none'; object-src 'none'; base-uri 'none'; form-action 'none'")


@cache
def _inline_asset(name: str) -> str:
    """A vendored script or stylesheet as one inline element (CSS images as data URLs)."""
    kind, _, rel = _ASSETS[name]
    path = _ASSETS_DIR / rel
    text = path.read_text(encoding="utf-8")
    if kind == "js":
        if "</script" in text.lower():  # pragma: no cover - checked for the vendored files
            raise RuntimeError(f"{path} contains '</script'")
        # Leaflet's attribution credit links to leafletjs.com: keep the credit, drop the
        # link, so an offline page holds no http(s) href at all (tiles aside)
        text = text.replace('<a href="https://leafletjs.com" title=', "<a title=")
        return f"<script>/* {rel} (riskmap/assets) */\n{text}\n</script>"

    def data_url(match: re.Match[str]) -> str:
        ref = match.group(1).strip("'\"")
        if ref.startswith(("#", "data:")):
            return match.group(0)
        image = path.parent / ref
        mime = {".png": "image/png", ".svg": "image/svg+xml"}[image.suffix]
        return f'url("data:{mime};base64,{base64.b64encode(image.read_bytes()).decode()}")'

    text = re.sub(r"url\(([^)]*)\)", data_url, text)
    if "</style" in text.lower():  # pragma: no cover - checked for the vendored files
        raise RuntimeError(f"{path} contains '</style'")
    return f"<style>/* {rel} (riskmap/assets) */\n{text}\n</style>"


# --------------------------------------------------------------------------------------------
# checks


def _check_privacy(audience: str, layers: Iterable[RasterLayer],
                   zone_fields: Mapping[str, str]) -> None:
    """Refuse a partner/public page whose layers or zone fields name incident detail."""
    if audience not in AUDIENCES:
        raise PrivacyError(f"unknown audience {audience!r}; use one of {', '.join(AUDIENCES)}.",
                           code="E-PRIVACY-AUDIENCE")
    if audience == "police":
        return
    found = []
    for layer in layers:
        words = [w for w in FORBIDDEN_WORDS if w in str(layer.name).lower()]
        if words:
            found.append(f"layer {layer.name!r} ({', '.join(words)})")
    for column, alias in zone_fields.items():
        for what, text in (("zone field", column), ("zone alias", alias)):
            low = str(text).lower()
            words = [w for w in FORBIDDEN_WORDS if w in low]
            if what == "zone field" and low in FORBIDDEN_FIELDS and low not in words:
                words.append(low)
            if words:
                found.append(f"{what} {text!r} ({', '.join(words)})")
    if found:
        raise PrivacyError(
            f"a map for {audience} may not show incident detail, but it has "
            f"{'; '.join(found)}. Pass only classes (klasse) and zone fields without counts, "
            "densities, z-scores, ids or coordinates, or make the page for audience='police'.",
            code="E-PRIVACY-LEAK")


def _to_wgs84(gdf: gpd.GeoDataFrame, *, what: str) -> gpd.GeoDataFrame:
    if gdf.crs is None:
        raise CRSError(f"{what} has no CRS. Set it first, e.g. gdf.set_crs('EPSG:28992') for "
                       "RD New; riskmap never guesses a CRS.", code="E-CRS-MISSING")
    return gdf.to_crs(4326)


def _check_layer(layer: RasterLayer) -> np.ndarray:
    classes = np.asarray(layer.classes)
    if classes.shape != layer.grid.shape:
        raise ValueError(f"layer {layer.name!r}: classes have shape {classes.shape}, the grid "
                         f"{layer.grid.shape}.")
    if not np.issubdtype(classes.dtype, np.integer):
        raise ValueError(f"layer {layer.name!r}: classes must be integers, got {classes.dtype}.")
    if classes.size and (classes.min() < 0 or classes.max() > 255):
        raise ValueError(f"layer {layer.name!r}: classes must be 0..255 (0 = no data).")
    present = {int(c) for c in np.unique(classes)} - {0}
    missing = sorted(present - {int(k) for k in layer.colors})
    if missing:
        raise ValueError(f"layer {layer.name!r}: no colour for class(es) {missing}.")
    for k, color in layer.colors.items():
        if not isinstance(color, str) or not _HEX.match(color):
            raise ValueError(f"layer {layer.name!r}: colour of class {k} must be '#rrggbb', "
                             f"got {color!r}.")
    if not 0.0 <= float(layer.opacity) <= 1.0:
        raise ValueError(f"layer {layer.name!r}: opacity must be in [0, 1].")
    return classes.astype(np.uint8)


# --------------------------------------------------------------------------------------------
# rasters


def _warp_to_mercator(classes: np.ndarray, grid: Grid, *, max_pixels: int = 4_000_000
                      ) -> tuple[np.ndarray, list[list[float]]]:
    """Warp a class raster to EPSG:3857 (nearest) and return it with its lat/lon bounds.

    The output pixel is half the default (area-preserving) resolution, so cell edges stay
    sharp after nearest-neighbour resampling, unless that would exceed ``max_pixels``.
    The layers of a page share a grid: GDAL warps the grid's cell numbers once
    (:func:`_warped_cells`) and every layer takes its classes from them (the same pixels
    as warping each layer with nearest: the nearest cell does not depend on the values).
    """
    cells, bounds = _warped_cells(grid, max_pixels)
    flat = np.zeros(classes.size + 1, dtype=np.uint8)
    flat[1:] = np.asarray(classes).ravel()
    return flat[cells], [list(corner) for corner in bounds]


@functools.lru_cache(maxsize=8)
def _warped_cells(grid: Grid, max_pixels: int) -> tuple[np.ndarray, list[list[float]]]:
    """The grid's cell numbers + 1 warped to EPSG:3857 (nearest; 0 outside the grid), and
    the lat/lon bounds of the warped image."""
    src_crs = rasterio.crs.CRS.from_wkt(grid.crs.to_wkt())
    base, width, height = mercator_transform(grid.crs, grid.bounds, grid.width, grid.height)
    oversample = 2 if 4 * width * height <= max_pixels else 1
    res = base.a / oversample
    width, height = width * oversample, height * oversample
    transform = Affine(res, 0.0, base.c, 0.0, -res, base.f)
    numbers = np.arange(1, grid.width * grid.height + 1, dtype=np.int32).reshape(grid.shape)
    out = np.zeros((height, width), dtype=np.int32)
    reproject(source=numbers, destination=out, src_transform=grid.transform, src_crs=src_crs,
              src_nodata=0, dst_transform=transform, dst_crs="EPSG:3857", dst_nodata=0,
              resampling=Resampling.nearest)
    out.flags.writeable = False  # shared by the layers of a page (cached)
    xmin, ymax = base.c, base.f
    xmax, ymin = xmin + width * res, ymax - height * res
    to_ll = transformer(3857, 4326)
    (lon0, lon1), (lat0, lat1) = to_ll.transform([xmin, xmax], [ymin, ymax])
    return out, [[float(lat0), float(lon0)], [float(lat1), float(lon1)]]


@functools.lru_cache(maxsize=32)
def mercator_transform(crs, bounds: tuple, width: int, height: int
                       ) -> tuple[Affine, int, int]:
    """The EPSG:3857 grid a grid of ``width`` × ``height`` cells within ``bounds`` (in
    ``crs``) warps to: the extent of the grid's outline (21 points per side) in EPSG:3857,
    and square pixels that keep the number of pixels along the diagonal (the classic rule of
    GDAL's ``GDALSuggestedWarpOutput``; GDAL now refines the pixel size, by 0.5–2 %).
    Computed with a cached transformer: asking GDAL (``rasterio.warp.
    calculate_default_transform``) costs ~27 ms a page, for setting up its transformer. The
    layers of one page share a grid."""
    left, bottom, right, top = bounds
    n = 21
    xs, ys = np.linspace(left, right, n), np.linspace(bottom, top, n)
    x, y = transformer(crs, 3857).transform(
        np.concatenate([xs, np.full(n, right), xs[::-1], np.full(n, left)]),
        np.concatenate([np.full(n, bottom), ys, np.full(n, top), ys[::-1]]))
    xmin, xmax, ymin, ymax = float(x.min()), float(x.max()), float(y.min()), float(y.max())
    res = math.hypot(xmax - xmin, ymax - ymin) / math.hypot(width, height)
    return (Affine(res, 0.0, xmin, 0.0, -res, ymax), int((xmax - xmin) / res + 0.5),
            int((ymax - ymin) / res + 0.5))


def _png_data_url(image: np.ndarray, colors: Mapping[int, str]) -> str:
    """A palette PNG (index 0 transparent) as a ``data:`` URL."""
    palette = np.zeros((256, 3), dtype=np.uint8)
    for k, color in colors.items():
        if 0 < int(k) < 256:
            palette[int(k)] = [int(color[i:i + 2], 16) for i in (1, 3, 5)]
    img = Image.frombytes("P", (image.shape[1], image.shape[0]),
                          np.ascontiguousarray(image).tobytes())
    img.putpalette(palette.ravel().tolist())
    buf = io.BytesIO()
    img.save(buf, format="PNG", transparency=0)  # optimize=True: 2 % smaller, 7× slower
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _image_overlay(layer: RasterLayer) -> tuple[folium.raster_layers.ImageOverlay, list]:
    classes = _check_layer(layer)
    image, bounds = _warp_to_mercator(classes, layer.grid)
    overlay = folium.raster_layers.ImageOverlay(
        image=_png_data_url(image, layer.colors), bounds=bounds, opacity=float(layer.opacity),
        name=escape_text(layer.name), show=bool(layer.show), pixelated=True,
        interactive=False, alt=escape_text(layer.name))
    return overlay, bounds


# --------------------------------------------------------------------------------------------
# vectors


def _format_value(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA or v is pd.NaT:
        return "–"
    if isinstance(v, bool | np.bool_):
        return "ja" if v else "nee"
    if isinstance(v, int | np.integer):
        return str(int(v))
    if isinstance(v, float | np.floating):
        return f"{float(v):.4g}".replace(".", ",")
    return str(v)


def _feature_collection(gdf: gpd.GeoDataFrame, properties: list[dict[str, str]] | None
                        ) -> dict[str, Any]:
    """GeoJSON of ``gdf`` (already EPSG:4326) with only the given properties, 6 decimals."""
    geoms = shapely.transform(np.asarray(gdf.geometry.values, dtype=object),
                              lambda xy: np.round(xy, 6))
    features = []
    for i, geom in enumerate(geoms):
        if geom is None or geom.is_empty:
            continue
        features.append({"type": "Feature",
                         "properties": properties[i] if properties is not None else {},
                         "geometry": shapely.geometry.mapping(geom)})
    return {"type": "FeatureCollection", "features": features}


def _outline_layer(gdf: gpd.GeoDataFrame, *, name: str, color: str, weight: float,
                   dash: str | None = None) -> folium.GeoJson:
    style = {"color": color, "weight": weight, "fill": False, "opacity": 0.9}
    if dash:
        style["dashArray"] = dash
    return folium.GeoJson(_feature_collection(gdf, None), name=name,
                          style_function=lambda _f: style, interactive=False)


def _popup_properties(gdf: gpd.GeoDataFrame, fields: Mapping[str, str], *, what: str
                      ) -> tuple[list[str], list[dict[str, str]] | None, list[str]]:
    """Whitelisted, escaped feature properties under neutral keys f0, f1, … and the aliases.

    Only the ``fields`` columns reach the page, and their names never do.
    """
    missing = [c for c in fields if c not in gdf.columns]
    if missing:
        raise InputError(
            f"{what} have no column(s) {', '.join(map(repr, missing))}. Columns: "
            f"{', '.join(str(c) for c in gdf.columns if c != gdf.geometry.name)}.",
            code="E-INPUT-COLUMN")
    keys = [f"f{i}" for i in range(len(fields))]
    columns = list(fields)
    properties = [
        {key: escape_text(_format_value(row[col])) for key, col in zip(keys, columns, strict=True)}
        for _, row in gdf[columns].iterrows()
    ] if columns else None
    return keys, properties, [escape_text(a) for a in fields.values()]


def _zones_layer(zones: gpd.GeoDataFrame, zone_fields: Mapping[str, str]) -> folium.GeoJson:
    keys, properties, aliases = _popup_properties(zones, zone_fields, what="zones")
    style = {"color": "#6a3d9a", "weight": 2, "fillColor": "#6a3d9a", "fillOpacity": 0.08}
    layer = folium.GeoJson(
        _feature_collection(zones, properties), name="Zones",
        style_function=lambda _f: style,
        highlight_function=lambda _f: {"weight": 4, "fillOpacity": 0.2})
    if keys:
        folium.GeoJsonPopup(fields=keys, aliases=aliases, labels=True,
                            class_name="rm-popup").add_to(layer)
        folium.GeoJsonTooltip(fields=keys[:1], aliases=aliases[:1], labels=True).add_to(layer)
    return layer


def _premises_layer(points: gpd.GeoDataFrame, fields: Mapping[str, str]) -> folium.GeoJson:
    """Ranked premises as circle markers (no icon fonts: works offline) with popups."""
    keys, properties, aliases = _popup_properties(points, fields, what="premises")
    layer = folium.GeoJson(
        _feature_collection(points, properties), name="Risicolocaties (ranglijst)",
        marker=folium.CircleMarker(radius=6, weight=1.5, color="#000000", fill=True,
                                   fill_color="#e31a1c", fill_opacity=0.9))
    folium.GeoJsonPopup(fields=keys, aliases=aliases, labels=True,
                        class_name="rm-popup").add_to(layer)
    folium.GeoJsonTooltip(fields=keys[:2], aliases=aliases[:2], labels=True).add_to(layer)
    return layer


# --------------------------------------------------------------------------------------------
# page furniture

_CSS = """
.rm-title{position:absolute;top:10px;left:50%;transform:translateX(-50%);z-index:1000;
 background:rgba(255,255,255,.92);padding:6px 14px;border-radius:4px;
 font:600 16px/1.3 system-ui,sans-serif;box-shadow:0 1px 4px rgba(0,0,0,.3);max-width:50%;
 text-align:center;pointer-events:none}
.rm-legends{position:absolute;bottom:40px;right:10px;z-index:1000;max-height:60%;
 overflow:auto;background:rgba(255,255,255,.92);padding:8px 10px;border-radius:4px;
 font:12px/1.35 system-ui,sans-serif;box-shadow:0 1px 4px rgba(0,0,0,.3);max-width:260px}
.rm-legend h4{margin:4px 0;font-size:12px}
.rm-legend ul{list-style:none;margin:0 0 6px;padding:0}
.rm-legend li{display:flex;align-items:center;gap:6px}
.rm-swatch{display:inline-block;width:14px;height:14px;border:1px solid #777;flex:none}
.rm-bivar{display:grid;grid-template-columns:16px repeat(3,22px);grid-template-rows:
 repeat(3,22px) auto;gap:1px;margin:4px 0 2px}
.rm-bivar .rm-cell{width:22px;height:22px}
.rm-bivar .rm-y{grid-column:1;grid-row:1/4;writing-mode:vertical-rl;transform:rotate(180deg);
 font-size:11px;white-space:nowrap;text-align:center}
.rm-bivar .rm-x{grid-column:2/5;grid-row:4;font-size:11px;white-space:nowrap}
.rm-note{font-size:10px;color:#555;margin:0 0 4px}
.rm-footer{position:absolute;bottom:0;left:50%;transform:translateX(-50%);z-index:1000;
 background:rgba(255,255,255,.9);padding:3px 10px;font:11px/1.4 system-ui,sans-serif;
 border-radius:4px 4px 0 0;max-width:60%;text-align:center}
.rm-footer b{font-weight:600}
.rm-provenance{text-align:left;max-height:40vh;overflow:auto}
.rm-provenance dt{font-weight:600}.rm-provenance dd{margin:0 0 2px 1em;word-break:break-all}
"""


def _legend_html(layer: RasterLayer, element_id: str) -> str:
    items = "".join(
        f'<li><span class="rm-swatch" style="background:{layer.colors.get(k, "#ffffff")}">'
        f"</span>{escape_text(label)}</li>"
        for k, label in layer.legend.items())
    return (f'<section class="rm-legend" id="{element_id}"><h4>{escape_text(layer.name)}</h4>'
            f"<ul>{items}</ul></section>")


def _bivariate_legend_html(layer: RasterLayer, element_id: str) -> str:
    cells = []
    for risk in (3, 2, 1):  # top row: risico hoog
        for opp in (1, 2, 3):
            k = 3 * (risk - 1) + opp
            label = escape_text(layer.legend.get(k, f"risico {risk}, gelegenheid {opp}"))
            color = layer.colors.get(k, "#ffffff")
            cells.append(f'<span class="rm-cell" data-klasse="{k}" title="{label}" '
                         f'style="grid-row:{4 - risk};grid-column:{opp + 1};'
                         f'background:{color}"></span>')
    return (f'<section class="rm-legend rm-legend-bivariate" id="{element_id}">'
            f"<h4>{escape_text(layer.name)}</h4>"
            '<div class="rm-bivar" role="img" aria-label="3 x 3 legenda: gelegenheid '
            'horizontaal, risico verticaal"><span class="rm-y">Risico &rarr;</span>'
            + "".join(cells) + '<span class="rm-x">Gelegenheid &rarr;</span></div>'
            '<p class="rm-note">links onder: beide laag, rechts boven: beide hoog</p>'
            "</section>")


def _provenance_html(provenance: Mapping[str, str] | None) -> str:
    """The full provenance as a folded list (escaped): ``<details id="rm-provenance">``."""
    if not provenance:
        return ""
    rows = "".join(f"<dt>{escape_text(k)}</dt><dd>{escape_text(v)}</dd>"
                   for k, v in provenance.items())
    return (f'<details class="rm-provenance" id="rm-provenance"><summary>Verantwoording'
            f"</summary><dl>{rows}</dl></details>")


def _footer_html(footer: Mapping[str, str], audience: str,
                 provenance: Mapping[str, str] | None = None) -> str:
    items = [f"<span><b>{escape_text(k)}</b>: {escape_text(v)}</span>"
             for k, v in footer.items()]
    if not any(str(k).lower() in ("doelgroep", "audience") for k in footer):
        items.append(f"<span><b>Doelgroep</b>: {escape_text(audience)}</span>")
    return (f'<footer class="rm-footer" id="rm-footer">{" &middot; ".join(items)}'
            f"{_provenance_html(provenance)}</footer>")


def _late_script(map_name: str, legends: list[tuple[str, str]]) -> str:
    pairs = ", ".join(f'[{var}, "{eid}"]' for var, eid in legends)
    return f"""
(function () {{
  var map = {map_name};
  L.control.zoom({{position: "topleft", zoomInTitle: "Inzoomen",
                  zoomOutTitle: "Uitzoomen"}}).addTo(map);
  L.control.scale({{position: "bottomleft", imperial: false}}).addTo(map);
  var pairs = [{pairs}];
  function sync() {{
    pairs.forEach(function (p) {{
      var el = document.getElementById(p[1]);
      if (el) {{ el.style.display = map.hasLayer(p[0]) ? "" : "none"; }}
    }});
  }}
  map.on("overlayadd overlayremove", sync);
  sync();
  // #zoom/lat/lon (links from the ranked list in Excel) opens the map at that place
  function goto() {{
    var m = /^#(\\d{{1,2}})\\/(-?\\d+(?:\\.\\d+)?)\\/(-?\\d+(?:\\.\\d+)?)$/.exec(location.hash);
    if (m) {{ map.setView([parseFloat(m[2]), parseFloat(m[3])], parseInt(m[1], 10)); }}
  }}
  window.addEventListener("hashchange", goto);
  setTimeout(goto, 400);  // after the page has fitted the municipality
}})();
"""


def _use_assets(element: Any, js: list[str], css: list[str]) -> None:
    """Make a folium element link only riskmap's assets (by folium's names for them)."""
    element.default_js = [(name, _ASSETS[name][1]) for name in js]
    element.default_css = [(name, _ASSETS[name][1]) for name in css]


# --------------------------------------------------------------------------------------------
# pages


def _stable_ids(build: Callable[..., str]) -> Callable[..., str]:
    """Number the folium/branca elements of a page instead of giving them random ids.

    branca names every element (``map_<id>``, ``tile_layer_<id>``, …) with 16 random bytes,
    so the same map would give another page each time. While ``build`` runs, ids are a hash
    of the page title and a counter: the same map gives the same bytes (reproducible runs).
    """
    @functools.wraps(build)
    def wrapper(*args: Any, **kwargs: Any) -> str:
        salt = str(kwargs.get("title", ""))
        counter = itertools.count()

        def generate_id(cls: type) -> str:
            return hashlib.sha256(f"{salt}\0{next(counter)}".encode()).hexdigest()[:32]

        original = be.Element.__dict__["_generate_id"]
        be.Element._generate_id = classmethod(generate_id)
        try:
            return build(*args, **kwargs)
        finally:
            be.Element._generate_id = original

    return wrapper


@_stable_ids
def municipality_page(
    *,
    title: str,
    outline: gpd.GeoDataFrame,
    layers: list[RasterLayer],
    zones: gpd.GeoDataFrame | None = None,
    zone_fields: dict[str, str] | None = None,
    bivariate: RasterLayer | None = None,
    buurten: gpd.GeoDataFrame | None = None,
    footer: dict[str, str],
    audience: str,
    offline: bool = False,
    tiles: str = "grijs",
    premises: gpd.GeoDataFrame | None = None,
    premise_fields: dict[str, str] | None = None,
    provenance: dict[str, str] | None = None,
) -> str:
    """One municipality's interactive map as a self-contained HTML page.

    Parameters
    ----------
    title : str
        Shown at the top of the map and as the page title.
    outline : geopandas.GeoDataFrame
        The municipality boundary, any CRS (reprojected to EPSG:4326 here); drawn as a line.
    layers : list of RasterLayer
        Class rasters (opportunity, risk, …), drawn in this order, each with a legend.
    zones : geopandas.GeoDataFrame, optional
        Polygons with a popup of ``zone_fields``; any CRS.
    zone_fields : dict of str to str, optional
        Whitelist of zone columns -> Dutch alias, in popup order (the first is also the
        tooltip). No other column reaches the page. Without it zones are drawn bare.
    bivariate : RasterLayer, optional
        The 3 × 3 overlay, classes ``3 * (risk - 1) + opportunity`` (1..9), drawn on top with
        a 3 × 3 legend (x: gelegenheid laag → hoog, y: risico laag → hoog); its ``legend``
        labels become the cells' tooltips.
    buurten : geopandas.GeoDataFrame, optional
        Neighbourhood outlines (geometry only reaches the page).
    footer : dict of str to str
        Provenance shown at the bottom (version, date, settings, …); the audience is added
        when no ``doelgroep`` item is given.
    audience : {"police", "partners", "public"}
        For partners and public, layer names, zone fields and aliases may not name incident
        detail (:data:`FORBIDDEN_WORDS`, :data:`FORBIDDEN_FIELDS`).
    offline : bool, default=False
        Inline Leaflet and the plugins; the page then requests only basemap tiles.
    tiles : str, default="grijs"
        A PDOK basemap (:data:`TILES`), with the aerial photo (or grey map) as alternative,
        or ``"none"`` for no tiles and no tile requests at all.
    premises : geopandas.GeoDataFrame, optional
        Ranked premises (points), drawn as circle markers with a popup of
        ``premise_fields`` (whitelist column -> Dutch alias, escaped like the zones).
    provenance : dict of str to str, optional
        The full provenance in words (config hash, input files with SHA-256 and dates,
        weights, legal basis, …), escaped into a folded ``Verantwoording`` list in the footer.

    Returns
    -------
    str
        The HTML page.

    Raises
    ------
    riskmap.PrivacyError
        ``E-PRIVACY-LEAK`` (incident detail for partners/public) or ``E-PRIVACY-AUDIENCE``.
    riskmap.CRSError
        ``E-CRS-MISSING`` for a frame without CRS.
    riskmap.InputError
        ``E-INPUT-COLUMN`` for a zone field that is not a column.
    riskmap.ConfigError
        ``E-CONFIG-VALUE`` for an unknown ``tiles``.
    """
    zone_fields = dict(zone_fields or {})
    all_layers = [*layers, *([bivariate] if bivariate is not None else [])]
    _check_privacy(audience, all_layers, {**(zone_fields or {}), **(premise_fields or {})})
    if tiles != "none" and tiles not in TILES:
        raise ConfigError(f"unknown tiles {tiles!r}; use one of {', '.join(TILES)} or 'none'.",
                          code="E-CONFIG-VALUE")
    names = [str(layer.name) for layer in all_layers]
    if len(set(names)) != len(names):
        raise ValueError(f"layer names must be unique, got {names}.")

    outline_ll = _to_wgs84(outline, what="the municipality outline")
    xmin, ymin, xmax, ymax = outline_ll.total_bounds
    if not np.all(np.isfinite([xmin, ymin, xmax, ymax])):
        raise InputError("the municipality outline is empty.", code="E-INPUT-EMPTY")

    page = _Page(page_title=escape_text(title), offline=offline, tiles=tiles != "none")
    m = folium.Map(location=[(ymin + ymax) / 2, (xmin + xmax) / 2], zoom_start=12, tiles=None,
                   zoom_control=False, control_scale=False)
    _use_assets(m, ["leaflet"], ["leaflet_css"])
    page.add_child(m)

    if tiles != "none":
        import xyzservices.providers as xyz

        choices = [tiles, "luchtfoto" if tiles != "luchtfoto" else "grijs"]
        for i, key in enumerate(choices):
            provider = xyz.nlmaps[key]
            folium.TileLayer(tiles=provider.build_url(), attr=TILE_ATTRIBUTION, name=TILES[key],
                             min_zoom=6, max_zoom=19, max_native_zoom=provider.get("max_zoom"),
                             overlay=False, control=True, show=i == 0).add_to(m)

    legends: list[tuple[str, str]] = []
    legend_html: list[str] = []
    for i, layer in enumerate(layers):
        overlay, _ = _image_overlay(layer)
        overlay.add_to(m)
        eid = f"rm-legend-{i}"
        legends.append((overlay.get_name(), eid))
        legend_html.append(_legend_html(layer, eid))
    if bivariate is not None:
        overlay, _ = _image_overlay(bivariate)
        overlay.add_to(m)
        legends.append((overlay.get_name(), "rm-legend-bivariate"))
        legend_html.append(_bivariate_legend_html(bivariate, "rm-legend-bivariate"))

    if buurten is not None:
        _outline_layer(_to_wgs84(buurten, what="buurten"), name="Buurtgrenzen",
                       color="#555555", weight=1, dash="4 3").add_to(m)
    if zones is not None:
        _zones_layer(_to_wgs84(zones, what="zones"), zone_fields).add_to(m)
    if premises is not None and len(premises):
        _premises_layer(_to_wgs84(premises, what="premises"), premise_fields or {}).add_to(m)
    _outline_layer(outline_ll, name="Gemeentegrens", color="#222222", weight=2.5).add_to(m)

    fullscreen = folium.plugins.Fullscreen(position="topleft", title="Volledig scherm",
                                           title_cancel="Volledig scherm sluiten")
    _use_assets(fullscreen, ["Control.Fullscreen.js"], ["Control.FullScreen.css"])
    fullscreen.add_to(m)
    measure = folium.plugins.MeasureControl(
        position="topleft", primary_length_unit="meters", secondary_length_unit="kilometers",
        primary_area_unit="hectares", secondary_area_unit="sqmeters", localization="nl",
        decimal_point=",", thousands_sep=".")
    _use_assets(measure, ["leaflet_measure_js"], ["leaflet_measure_css"])
    measure.add_to(m)
    folium.LayerControl(position="topright", collapsed=False).add_to(m)
    m.fit_bounds([[float(ymin), float(xmin)], [float(ymax), float(xmax)]])

    page.head_css.append(_CSS)
    page.body_html.append(f'<div class="rm-title" id="rm-title">{escape_text(title)}</div>')
    if legend_html:
        page.body_html.append(
            f'<div class="rm-legends" id="rm-legends">{"".join(legend_html)}</div>')
    page.body_html.append(_footer_html(footer, audience, provenance))
    page.late_scripts.append(_late_script(m.get_name(), legends))
    return page.render()


_INDEX_CSS = """
body{font:15px/1.5 system-ui,sans-serif;margin:2rem auto;max-width:46rem;padding:0 1rem;
 color:#222}
h1{font-size:1.5rem}
ul{padding-left:1.2rem}
code{color:#555}
footer{margin-top:2rem;font-size:12px;color:#555}
"""


def index_page(*, title: str, entries: list[tuple[str, str, str]], footer: dict[str, str],
               offline: bool = False, provenance: dict[str, str] | None = None) -> str:
    """A plain HTML list of the municipality pages (no map, no scripts, no remote assets).

    Parameters
    ----------
    title : str
    entries : list of (statcode, name, href)
        ``href`` must be relative (e.g. ``"GM0050/kaart.html"``); a scheme such as
        ``javascript:`` or ``https:`` or a leading ``//`` is refused.
    footer : dict of str to str
    offline : bool, default=False
        Accepted for symmetry with :func:`municipality_page`; the index is always
        self-contained.
    provenance : dict of str to str, optional
        The full provenance in words, escaped into a folded ``Verantwoording`` list.

    Examples
    --------
    >>> html = index_page(title="Kaarten", entries=[("GM0050", "Zeewolde", "GM0050/kaart.html")],
    ...                   footer={"versie": "0.1.0"})
    >>> '<a href="GM0050/kaart.html">' in html
    True
    """
    del offline  # nothing to inline
    items = []
    for statcode, name, href in entries:
        parts = urlsplit(str(href))
        if parts.scheme or parts.netloc or str(href).strip().startswith(("/", "\\")):
            raise ValueError(f"index entry {statcode!r}: href must be a relative path, got "
                             f"{href!r}.")
        items.append(f'<li><a href="{escape_text(href)}">{escape_text(name)}</a> '
                     f"<code>{escape_text(statcode)}</code></li>")
    foot = " &middot; ".join(f"<b>{escape_text(k)}</b>: {escape_text(v)}"
                             for k, v in footer.items())
    csp = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
           "form-action 'none'")
    return ("<!DOCTYPE html>\n<html lang=\"nl\">\n<head>\n<meta charset=\"utf-8\">\n"
            f'<meta http-equiv="Content-Security-Policy" content="{csp}">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{escape_text(title)}</title>\n<style>{_INDEX_CSS}</style>\n</head>\n"
            f"<body>\n<h1>{escape_text(title)}</h1>\n<ul>\n" + "\n".join(items)
            + f"\n</ul>\n<footer>{foot}{_provenance_html(provenance)}</footer>\n</body>\n"
            "</html>\n")


def write_page(path: str | Path, html: str) -> Path:
    """Write a page atomically (UTF-8): the file appears whole or not at all."""
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(html, encoding="utf-8")
    return path

