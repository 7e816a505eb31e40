"""riskmap.webmap: content, escaping, whitelist, privacy guard, offline assets, size.

All pages are built from hand-made grids and frames in EPSG:28992 and checked on the HTML
text; ``tests/test_browser.py`` opens them in a real browser.
"""

from __future__ import annotations

import base64
import io
import json
import re
from html.parser import HTMLParser

import geopandas as gpd
import numpy as np
import pytest
import shapely
from PIL import Image
from pyproj import Transformer

from riskmap import webmap
from riskmap.errors import ConfigError, CRSError, InputError, PrivacyError
from riskmap.grid import Grid
from riskmap.webmap import (
    BIVARIATE_COLORS,
    KLASSE_COLORS,
    RasterLayer,
    escape_text,
    index_page,
    municipality_page,
    write_page,
)

RD = "EPSG:28992"
KLASSE = dict(enumerate(KLASSE_COLORS, 1))
KLASSE_LEGEND = {1: "1 (laag)", 2: "2", 3: "3", 4: "4", 5: "5 (hoog)"}
BIV_LEGEND = {3 * (r - 1) + o: f"risico {r}, gelegenheid {o}" for r in (1, 2, 3) for o in (1, 2, 3)}
IMAGE_URL = re.compile(r'L\.imageOverlay\(\s*"(data:image/png;base64,[A-Za-z0-9+/=]+)",\s*'
                       r"(\[\[[^\]]+\],\s*\[[^\]]+\]\])")


def make_grid() -> Grid:
    return Grid.from_bounds(150_000, 450_000, 153_000, 452_000, cell_size=100)


def make_inputs(seed: int = 0, *, names=("Gelegenheid (klasse)", "Risico (klasse)",
                                        "Gelegenheid × risico")):
    grid = make_grid()
    rng = np.random.default_rng(seed)
    opp = RasterLayer(names[0], rng.integers(0, 6, grid.shape), grid, KLASSE, KLASSE_LEGEND)
    risk = RasterLayer(names[1], rng.integers(0, 6, grid.shape), grid, KLASSE, KLASSE_LEGEND,
                       show=False, opacity=0.6)
    biv = RasterLayer(names[2], rng.integers(0, 10, grid.shape), grid, BIVARIATE_COLORS,
                      BIV_LEGEND)
    outline = gpd.GeoDataFrame(
        {"statnaam": ["Testdorp"]},
        geometry=[shapely.Polygon([(150_050, 450_050), (152_950, 450_120), (152_800, 451_950),
                                   (150_100, 451_900)])], crs=RD)
    zones = gpd.GeoDataFrame(
        {"naam": ["Bedrijventerrein De Vaart", "Buitengebied Noord"],
         "klasse": [5, 3], "oppervlak_ha": [12.5, 230.25],
         "geheim": ["GEHEIM-123", "GEHEIM-123"]},
        geometry=[shapely.box(150_300, 450_300, 151_100, 451_100),
                  shapely.box(151_600, 450_600, 152_600, 451_600)], crs=RD)
    buurten = gpd.GeoDataFrame(
        {"buurtnaam": ["BUURTNAAM-WEG", "b"]},
        geometry=[shapely.box(150_050, 450_050, 151_500, 451_950),
                  shapely.box(151_500, 450_050, 152_950, 451_950)], crs=RD)
    return grid, opp, risk, biv, outline, zones, buurten


def build(**overrides) -> str:
    _, opp, risk, biv, outline, zones, buurten = make_inputs()
    kwargs = {"title": "Gelegenheids- en risicokaart Testdorp", "outline": outline,
              "layers": [opp, risk], "zones": zones,
              "zone_fields": {"naam": "Naam", "klasse": "Klasse",
                              "oppervlak_ha": "Oppervlak (ha)"},
              "bivariate": biv, "buurten": buurten,
              "footer": {"versie": "riskmap 0.1.0", "datum": "2024-05-01",
                         "instellingen": "bandbreedte 250 m"},
              "audience": "partners", "offline": True, "tiles": "none"}
    kwargs.update(overrides)
    return municipality_page(**kwargs)


def decode_png(url: str) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))


# -------------------------------------------------------------------------------------------
# content


def test_page_has_title_layers_legends_footer():
    html = build()
    assert "<title>Gelegenheids- en risicokaart Testdorp</title>" in html
    assert 'id="rm-title">Gelegenheids- en risicokaart Testdorp<' in html
    assert '<html lang="nl">' in html
    for name in ("Gelegenheid (klasse)", "Risico (klasse)", "Gelegenheid × risico", "Zones",
                 "Buurtgrenzen", "Gemeentegrens"):
        assert json.dumps(name) in html, name  # a key of the layer control (JSON, ASCII)
    for label in KLASSE_LEGEND.values():
        assert f"</span>{label}</li>" in html
    # one legend per raster layer, the bivariate one as a 3 x 3 grid
    assert html.count('<section class="rm-legend"') == 2
    assert html.count('class="rm-legend rm-legend-bivariate"') == 1
    cells = re.findall(r'<span class="rm-cell" data-klasse="(\d)" title="([^"]*)" '
                       r'style="grid-row:(\d);grid-column:(\d);background:(#[0-9a-f]{6})"', html)
    assert len(cells) == 9
    for klasse, title, row, col, color in cells:
        k = int(klasse)
        risk, opp = (k - 1) // 3 + 1, (k - 1) % 3 + 1
        assert title == f"risico {risk}, gelegenheid {opp}"
        assert int(row) == 4 - risk  # risico hoog on top
        assert int(col) == opp + 1  # gelegenheid hoog on the right (column 1 = the axis label)
        assert color == BIVARIATE_COLORS[k]
    assert "Risico &rarr;" in html and "Gelegenheid &rarr;" in html
    # footer, with the audience added
    footer = re.search(r'<footer class="rm-footer" id="rm-footer">(.*?)</footer>', html).group(1)
    for text in ("<b>versie</b>: riskmap 0.1.0", "<b>datum</b>: 2024-05-01",
                 "<b>instellingen</b>: bandbreedte 250 m", "<b>Doelgroep</b>: partners"):
        assert text in footer
    # controls, Dutch
    assert "L.control.fullscreen(" in html and '"Volledig scherm"' in html
    assert "new L.Control.Measure(" in html and '"localization": "nl"' in html
    assert "L.control.scale(" in html and "imperial: false" in html
    assert "L.control.layers(" in html
    # the risk layer starts hidden, the others shown
    assert html.count("L.imageOverlay(") == 3


def test_image_overlays_are_pngs_with_the_grid_bounds_in_lat_lon():
    html = build()
    grid = make_grid()
    lon0, lat0, lon1, lat1 = Transformer.from_crs(RD, 4326, always_xy=True).transform_bounds(
        *grid.bounds)
    found = IMAGE_URL.findall(html)
    assert len(found) == 3
    for url, bounds in found:
        (south, west), (north, east) = eval(bounds)  # noqa: S307 - two lists of floats
        tol = 0.002  # about one 100 m cell in degrees
        assert south == pytest.approx(lat0, abs=tol)
        assert north == pytest.approx(lat1, abs=tol)
        assert west == pytest.approx(lon0, abs=tol)
        assert east == pytest.approx(lon1, abs=tol)
        img = decode_png(url)
        assert img.format == "PNG" and img.mode == "P"
        assert img.info.get("transparency") == 0


def test_warped_png_shows_the_right_class_at_every_cell():
    """Sample the PNG at pixel centres, map back to RD and compare with the grid's class."""
    html = build()
    _, opp, *_ = make_inputs()
    url, bounds = IMAGE_URL.findall(html)[0]
    (south, west), (north, east) = eval(bounds)  # noqa: S307
    img = np.asarray(decode_png(url))
    h, w = img.shape
    to_merc = Transformer.from_crs(4326, 3857, always_xy=True)
    (xmin, xmax), (ymin, ymax) = to_merc.transform([west, east], [south, north])
    cols, rows = np.meshgrid(np.arange(w), np.arange(h))
    mx = xmin + (cols + 0.5) * (xmax - xmin) / w
    my = ymax - (rows + 0.5) * (ymax - ymin) / h
    x, y = Transformer.from_crs(3857, RD, always_xy=True).transform(mx, my)
    grid = opp.grid
    fc = (x - grid.x0) / grid.cell_size
    fr = (grid.y1 - y) / grid.cell_size
    inside = (fc > 0) & (fc < grid.width) & (fr > 0) & (fr < grid.height)
    # away from cell edges (5 m), where nearest neighbour cannot be ambiguous
    clear = inside & (np.abs(fc - np.round(fc)) > 0.05) & (np.abs(fr - np.round(fr)) > 0.05)
    expected = np.asarray(opp.classes)[fr[clear].astype(int), fc[clear].astype(int)]
    assert clear.sum() > 0.7 * grid.width * grid.height
    np.testing.assert_array_equal(img[clear], expected)
    assert (img[~inside] == 0).all()  # transparent outside the grid
    # the palette carries the class colours
    palette = np.asarray(decode_png(url).getpalette()[:18]).reshape(6, 3)
    for k, color in KLASSE.items():
        assert "#{:02x}{:02x}{:02x}".format(*tuple(palette[k])) == color


@pytest.mark.parametrize(("bounds", "width", "height"), [
    ((120_000, 440_000, 135_000, 455_000), 150, 150),
    ((100_000, 430_000, 180_000, 470_000), 800, 400),
    ((140_000, 450_000, 142_500, 461_000), 25, 110),
    ((13_000, 306_000, 278_000, 620_000), 265, 314)])  # the whole of the Netherlands
def test_mercator_grid_covers_the_grid_like_gdals(bounds, width, height):
    """The page grid: its extent holds every cell corner of the grid (projected with pyproj,
    independently; to 1 % of a pixel: the outline is sampled at 21 points per side, as GDAL
    does), its origin is GDAL's, and its pixel size and shape are within 2 % of GDAL's
    ``calculate_default_transform`` (which refines the classic rule)."""
    import rasterio.crs
    from rasterio.warp import calculate_default_transform

    from riskmap.crs import RD_NEW

    tr, w, h = webmap.mercator_transform(RD_NEW, bounds, width, height)
    assert tr.a == -tr.e > 0 and tr.b == tr.d == 0
    left, bottom, right, top = bounds
    cx, cy = np.meshgrid(np.linspace(left, right, width + 1), np.linspace(bottom, top, height + 1))
    mx, my = Transformer.from_crs(RD, 3857, always_xy=True).transform(cx, cy)
    slack = 0.01 * tr.a
    assert mx.min() >= tr.c - slack and my.max() <= tr.f + slack
    assert mx.max() <= tr.c + (w + 0.5) * tr.a and my.min() >= tr.f - (h + 0.5) * tr.a
    gdal, gw, gh = calculate_default_transform(rasterio.crs.CRS.from_epsg(28992), "EPSG:3857",
                                               width, height, *bounds)
    assert (tr.c, tr.f) == pytest.approx((gdal.c, gdal.f), abs=1e-3)
    assert tr.a == pytest.approx(gdal.a, rel=0.02)
    assert w == pytest.approx(gw, rel=0.02, abs=1) and h == pytest.approx(gh, rel=0.02, abs=1)


@pytest.mark.parametrize("shape", [(37, 53), (120, 90), (5, 300)])
def test_warp_through_cell_numbers_equals_gdal_per_layer(shape):
    """Every layer of a page takes its pixels from the grid's warped cell numbers: the same
    image, pixel for pixel, as GDAL warping that layer itself (nearest, 0 = nodata)."""
    import rasterio.crs
    from affine import Affine
    from rasterio.warp import Resampling, reproject

    from riskmap.crs import RD_NEW

    rng = np.random.default_rng(shape[0])
    grid = Grid(140_000.0, 470_000.0, shape[1], shape[0], 100.0, RD_NEW)
    for _ in range(3):  # three layers on one grid (the cell numbers are warped once)
        classes = rng.integers(0, 6, size=shape).astype(np.uint8)
        image, bounds = webmap._warp_to_mercator(classes, grid)
        base, w, h = webmap.mercator_transform(grid.crs, grid.bounds, grid.width, grid.height)
        k = image.shape[0] // h
        want = np.zeros((h * k, w * k), dtype=np.uint8)
        reproject(source=classes, destination=want, src_transform=grid.transform,
                  src_crs=rasterio.crs.CRS.from_epsg(28992), src_nodata=0,
                  dst_transform=Affine(base.a / k, 0, base.c, 0, -base.a / k, base.f),
                  dst_crs="EPSG:3857", dst_nodata=0, resampling=Resampling.nearest)
        assert image.dtype == np.uint8
        np.testing.assert_array_equal(image, want)
        assert (image > 0).sum() > 0.5 * (classes > 0).sum() * k * k * 0.9


def test_vectors_are_reprojected_to_lon_lat():
    html = build()
    geometries = re.findall(r'"coordinates": (\[[-\d., \[\]]+\])', html)
    assert len(geometries) == 5  # two zones, two buurten, the outline
    for text in geometries:
        xy = np.asarray(json.loads(text), dtype=float).reshape(-1, 2)
        assert ((xy[:, 0] > 4.5) & (xy[:, 0] < 5.5)).all()  # lon, near Amersfoort
        assert ((xy[:, 1] > 51.9) & (xy[:, 1] < 52.2)).all()  # lat
    # any CRS goes in: the same outline in EPSG:4326 gives the same page geometry
    _, _, _, _, outline, _, _ = make_inputs()
    a = build(outline=outline, zones=None, buurten=None)
    b = build(outline=outline.to_crs(4326), zones=None, buurten=None)
    geo = re.compile(r'"coordinates": \[\[\[[^"]+\]\]\]')
    assert geo.findall(a) == geo.findall(b)


def test_page_for_300_by_300_cells_is_well_under_5_mb():
    grid = Grid.from_bounds(150_000, 450_000, 180_000, 480_000, cell_size=100)
    assert grid.shape == (300, 300)
    rng = np.random.default_rng(1)  # random classes: the worst case for PNG compression
    layers = [RasterLayer("Gelegenheid (klasse)", rng.integers(0, 6, grid.shape), grid,
                          KLASSE, KLASSE_LEGEND),
              RasterLayer("Risico (klasse)", rng.integers(0, 6, grid.shape), grid, KLASSE,
                          KLASSE_LEGEND)]
    biv = RasterLayer("Gelegenheid × risico", rng.integers(0, 10, grid.shape), grid,
                      BIVARIATE_COLORS, BIV_LEGEND)
    outline = gpd.GeoDataFrame(geometry=[shapely.box(*grid.bounds).buffer(-50)], crs=RD)
    for offline in (False, True):
        html = municipality_page(title="Groot", outline=outline, layers=layers, bivariate=biv,
                                 footer={}, audience="police", offline=offline)
        size = len(html.encode("utf-8"))
        assert size < 2_500_000, size  # half the 5 MB budget
        assert len(IMAGE_URL.findall(html)) == 3


# -------------------------------------------------------------------------------------------
# escaping

def hostile(tag: str) -> str:
    """A string that would run script, break out of markup, JS literals or Jinja."""
    return (f"{tag}<img src=x onerror=alert(1)>${{alert(1)}}`\"'</script>"
            "<script>window.__xss=1</script>\\{{ 'XSS' ~ 'JINJA' }}{% if 1 %}X{% endif %}")


def assert_escaped_everywhere(html: str, tags: list[str]) -> None:
    assert "<img src=x" not in html
    assert "${alert" not in html
    assert "window.__xss=1</script>" not in html and "<script>window.__xss" not in html
    assert "XSSJINJA" not in html  # no Jinja evaluation of data (folium renders twice)
    assert "{{ 'XSS'" not in html and "{% if 1 %}" not in html
    rest = hostile("")
    escaped = escape_text(rest)
    as_json = escaped.replace("&", "\\u0026")  # the same text inside folium's tojson
    assert escaped.startswith("&lt;img src=x") and "&#36;&#123;alert" in escaped
    for tag in tags:
        starts = [m.start() for m in re.finditer(re.escape(tag), html)]
        assert starts, f"{tag} did not reach the page"
        for i in starts:
            after = html[i + len(tag):]
            assert after.startswith(escaped) or after.startswith(as_json), (
                tag, html[i:i + 120])


def test_every_text_on_the_municipality_page_is_escaped():
    grid, opp, risk, biv, outline, zones, buurten = make_inputs(
        names=(hostile("LAYER-OPP"), hostile("LAYER-RISK"), hostile("LAYER-BIV")))
    opp.legend = {k: hostile(f"LEGEND-A{k}") for k in range(1, 6)}
    biv.legend = {k: hostile(f"LEGEND-BIV{k}") for k in range(1, 10)}
    zones["naam"] = [hostile("ZONE-VALUE-1"), hostile("ZONE-VALUE-2")]
    zones[hostile("ZONE-COLUMN")] = ["x", "y"]
    html = municipality_page(
        title=hostile("PAGE-TITLE"), outline=outline, layers=[opp, risk], bivariate=biv,
        zones=zones,
        zone_fields={"naam": hostile("ALIAS-NAAM"), hostile("ZONE-COLUMN"): hostile("ALIAS-2")},
        buurten=buurten, footer={hostile("FOOTER-KEY"): hostile("FOOTER-VALUE")},
        audience="police", offline=True, tiles="grijs")
    tags = (["PAGE-TITLE", "LAYER-OPP", "LAYER-RISK", "LAYER-BIV", "ZONE-VALUE-1", "ZONE-VALUE-2",
             "ALIAS-NAAM", "ALIAS-2", "FOOTER-KEY", "FOOTER-VALUE"]
            + [f"LEGEND-A{k}" for k in range(1, 6)] + [f"LEGEND-BIV{k}" for k in range(1, 10)])
    assert_escaped_everywhere(html, tags)
    assert "ZONE-COLUMN" not in html  # column names stay out: properties are f0, f1, …
    assert "BUURTNAAM-WEG" not in html  # buurten: geometry only


def test_every_text_on_the_index_page_is_escaped():
    html = index_page(title=hostile("INDEX-TITLE"),
                      entries=[(hostile("STATCODE"), hostile("INDEX-NAME"), "GM0001/kaart.html"),
                               ("GM0002", "Twee", "GM0002/" + hostile("HREF"))],
                      footer={hostile("IFOOT-KEY"): hostile("IFOOT-VALUE")}, offline=True)
    assert_escaped_everywhere(html, ["INDEX-TITLE", "STATCODE", "INDEX-NAME", "HREF", "IFOOT-KEY",
                                     "IFOOT-VALUE"])
    assert '<a href="GM0001/kaart.html">' in html
    assert "<script" not in html


@pytest.mark.parametrize("href", ["javascript:alert(1)", "https://example.org/x.html",
                                  "//example.org/x.html", "/etc/passwd", "JaVaScRiPt:alert(1)"])
def test_index_page_refuses_non_relative_links(href):
    with pytest.raises(ValueError, match="relative"):
        index_page(title="t", entries=[("GM0001", "Een", href)], footer={})


def test_escape_text():
    assert escape_text("<a href='x'>\"&\"</a>") == (
        "&lt;a href=&#x27;x&#x27;&gt;&quot;&amp;&quot;&lt;/a&gt;")
    assert escape_text("`${x}` \\") == "&#96;&#36;&#123;x&#125;&#96; &#92;"
    assert escape_text(None) == ""
    assert escape_text(3.5) == "3.5"
    assert escape_text("Zeewolde – Ω") == "Zeewolde – Ω"


# -------------------------------------------------------------------------------------------
# whitelist and privacy


def test_only_whitelisted_zone_columns_reach_the_page():
    html = build()
    assert "GEHEIM-123" not in html
    assert "geheim" not in html
    assert "Bedrijventerrein De Vaart" in html and "12,5" in html  # Dutch decimal comma
    assert '"Oppervlak (ha)"' in html
    assert "statnaam" not in html and "Testdorp\"" not in html  # outline columns dropped
    bare = build(zone_fields=None)
    assert "Bedrijventerrein De Vaart" not in bare and "GEHEIM-123" not in bare


@pytest.mark.parametrize("audience", ["partners", "public"])
@pytest.mark.parametrize("change", [
    {"zone_fields": {"naam": "Naam", "aantal_incidenten": "Aantal"}},
    {"zone_fields": {"naam": "Naam", "gi_z": "Hotspot"}},
    {"zone_fields": {"naam": "Naam", "x": "X"}},
    {"zone_fields": {"naam": "Naam", "klasse": "Incidenten per km²"}},
    {"layer_name": "Dichtheid (per km²)"},
    {"layer_name": "Aantal incidenten"},
])
def test_privacy_guard_refuses_incident_detail_for_partners_and_public(audience, change):
    _, opp, risk, biv, outline, zones, _ = make_inputs()
    zones = zones.assign(aantal_incidenten=[4, 1], gi_z=[2.5, 0.1], x=[1.0, 2.0])
    if "layer_name" in change:
        risk.name = change["layer_name"]
    fields = change.get("zone_fields", {"naam": "Naam"})
    kwargs = {"title": "t", "outline": outline, "layers": [opp, risk], "zones": zones,
              "zone_fields": fields, "bivariate": biv, "footer": {}, "offline": True,
              "tiles": "none"}
    with pytest.raises(PrivacyError, match=f"a map for {audience} may not show") as err:
        municipality_page(audience=audience, **kwargs)
    assert err.value.code == "E-PRIVACY-LEAK"
    html = municipality_page(audience="police", **kwargs)  # the police may see it
    assert "L.map(" in html


def test_unknown_audience():
    with pytest.raises(PrivacyError, match="unknown audience") as err:
        build(audience="iedereen")
    assert err.value.code == "E-PRIVACY-AUDIENCE"


def test_input_errors():
    _, opp, _, _, outline, zones, _ = make_inputs()
    with pytest.raises(CRSError, match="no CRS"):
        build(outline=gpd.GeoDataFrame(geometry=list(outline.geometry)))
    with pytest.raises(InputError, match="no column.*'bestaat_niet'") as err:
        build(zone_fields={"bestaat_niet": "Iets"})
    assert err.value.code == "E-INPUT-COLUMN"
    with pytest.raises(ConfigError, match="unknown tiles"):
        build(tiles="osm")
    bad = RasterLayer("Fout", opp.classes, opp.grid, {1: "red"}, {})
    with pytest.raises(ValueError, match="colour"):
        build(layers=[bad])
    wrong = RasterLayer("Vorm", opp.classes[:-1], opp.grid, KLASSE, {})
    with pytest.raises(ValueError, match="shape"):
        build(layers=[wrong])
    with pytest.raises(ValueError, match="unique"):
        build(layers=[opp, opp])


# -------------------------------------------------------------------------------------------
# offline


class Resources(HTMLParser):
    """Collect every URL a tag would load or link, and the text of style elements."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str, str]] = []
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("src", "href", "data", "poster", "srcset", "action", "xlink:href"):
                self.urls.append((tag, name, value or ""))
            if name == "style":
                self.styles.append(value or "")
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.styles.append(data)


REMOTE = re.compile(r"^\s*(https?:)?//", re.IGNORECASE)
TILE_URLS = {"https://service.pdok.nl/brt/achtergrondkaart/wmts/v2_0/grijs/EPSG:3857/{z}/{x}/{y}.png",
             "https://service.pdok.nl/hwh/luchtfotorgb/wmts/v1_0/Actueel_ortho25/EPSG:3857/"
             "{z}/{x}/{y}.jpeg"}


def remote_references(html: str) -> list[str]:
    """Every remote URL the page would load: tags, CSS, and src=/href= built in scripts."""
    parser = Resources()
    parser.feed(html)
    found = [f"<{tag} {name}={url}>" for tag, name, url in parser.urls if REMOTE.match(url)]
    for css in parser.styles:
        found += [f"url({u})" for u in re.findall(r"url\(\s*['\"]?([^)'\"]+)", css)
                  if REMOTE.match(u)]
        found += [f"@import {m}" for m in re.findall(r"@import[^;]*", css)]
    # markup that scripts build: src="https://…", href="https://…" (none at all offline,
    # not even Leaflet's credit link)
    for m in re.finditer(r"""(src|href)\s*=\s*\\?["']?\s*((?:https?:)?//[^"'\s\\>]+)""", html):
        found.append(m.group(0))
    return found


def tile_templates(html: str) -> set[str]:
    return set(re.findall(r'L\.tileLayer\(\s*"([^"]+)"', html))


def test_offline_page_loads_nothing_remote_without_tiles():
    html = build(offline=True, tiles="none")
    assert remote_references(html) == []
    assert tile_templates(html) == set()
    assert "service.pdok.nl" not in html
    for cdn in ("cdn.jsdelivr", "cdnjs", "code.jquery", "bootstrapcdn", "fontawesome",
                "awesome-markers"):
        assert cdn not in html
    # Leaflet and the plugins are inline
    assert 't.version="1.9.4"' in html  # leaflet.js
    assert "leaflet.Control.FullScreen = leaflet.Control.extend(" in html
    assert "d.Control.Measure=d.Control.extend(" in html
    assert ".leaflet-container" in html and ".leaflet-control-measure" in html
    assert html.count("url(images/") == 0 and "url(icon-fullscreen.svg)" not in html
    assert 'url("data:image/png;base64,' in html  # CSS images inlined
    assert "connect-src 'none'" in html and "img-src data:;" in html  # CSP


def test_offline_page_with_tiles_loads_only_tiles():
    html = build(offline=True, tiles="grijs")
    assert remote_references(html) == []
    assert tile_templates(html) == TILE_URLS
    assert '"Kaartgegevens \\u0026copy; Kadaster"' in html
    assert "img-src data: https://service.pdok.nl;" in html
    lucht = build(offline=True, tiles="luchtfoto")
    assert tile_templates(lucht) == TILE_URLS


def test_online_page_links_only_leaflet_and_plugins():
    html = build(offline=False, tiles="grijs")
    links = sorted(re.findall(r'<(?:script src|link rel="stylesheet" href)="([^"]+)"', html))
    assert links == sorted(url for _, url, _ in webmap._ASSETS.values())
    for unwanted in ("jquery", "bootstrap", "font-awesome", "fontawesome", "awesome-markers"):
        assert unwanted not in html.lower()
    assert 't.version="1.9.4"' not in html


def test_the_detector_finds_remote_references():
    """The offline check must be able to fail."""
    assert remote_references('<script src="https://x.org/a.js"></script>')
    assert remote_references('<link rel="stylesheet" href="//x.org/a.css">')
    assert remote_references("<style>a{background:url('https://x.org/i.png')}</style>")
    assert remote_references("<script>div.innerHTML = '<img src=\"https://x.org/p.gif\">'"
                             "</script>")
    assert remote_references('<img src="data:image/png;base64,AAAA">') == []


# -------------------------------------------------------------------------------------------
# files


def test_write_page_is_atomic(tmp_path):
    html = build(zones=None, buurten=None, bivariate=None)
    path = write_page(tmp_path / "GM9999" / "kaart.html", html)
    assert path.read_text(encoding="utf-8") == html
    assert sorted(p.name for p in path.parent.iterdir()) == ["kaart.html"]
    index = write_page(tmp_path / "index.html",
                       index_page(title="Kaarten", entries=[("GM9999", "Testdorp",
                                                             "GM9999/kaart.html")], footer={}))
    assert 'href="GM9999/kaart.html"' in index.read_text(encoding="utf-8")


def test_premises_layer_is_whitelisted_and_escaped():
    import geopandas as gpd
    import shapely

    from riskmap.grid import Grid
    from riskmap.webmap import RasterLayer, municipality_page

    grid = Grid.from_bounds(150_000, 450_000, 151_000, 451_000, cell_size=100)
    outline = gpd.GeoDataFrame(geometry=[shapely.box(150_000, 450_000, 151_000, 451_000)],
                               crs="EPSG:28992")
    layer = RasterLayer("Gelegenheid (klasse)", np.ones(grid.shape, dtype=int), grid,
                        {1: "#ffffb2"}, {1: "1"})
    premises = gpd.GeoDataFrame(
        {"rang": ["1"], "redenen": ["<img src=x onerror=alert(1)> ${alert(2)}"],
         "geheim": ["GEHEIM-456"]},
        geometry=shapely.points([150_500], [450_500]), crs="EPSG:28992")
    html = municipality_page(title="t", outline=outline, layers=[layer], footer={},
                             audience="partners", premises=premises,
                             premise_fields={"rang": "Rang", "redenen": "Redenen"})
    assert "Risicolocaties (ranglijst)" in html
    assert "GEHEIM-456" not in html
    assert "<img src=x" not in html and "${alert" not in html
    # escaped, then JSON-encoded into the GeoJSON (& as \u0026)
    assert "\\u0026lt;img src=x onerror=alert(1)\\u0026gt;" in html
