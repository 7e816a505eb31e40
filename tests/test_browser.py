"""riskmap.webmap in a real browser: Debian's headless Chromium, driven by Playwright.

The pages are offline with ``tiles="none"``, opened from ``file://``: the browser may load
nothing but the page itself and ``data:`` URLs. Every test fails — it does not skip — when
Chromium is missing (``apt-get install -y chromium chromium-driver``; ``.ci/run`` installs it).
Screenshots go to ``tmp_path`` and are copied to ``$RISKMAP_ARTIFACTS`` (default
``test-artifacts/`` in the working directory).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from conftest import Session

from riskmap.grid import Grid
from riskmap.webmap import (
    BIVARIATE_COLORS,
    KLASSE_COLORS,
    RasterLayer,
    index_page,
    municipality_page,
)

RD = "EPSG:28992"
KLASSE = dict(enumerate(KLASSE_COLORS, 1))
LEGEND = {1: "1 (laag)", 2: "2", 3: "3", 4: "4", 5: "5 (hoog)"}

#: Payloads that set window.__xss or call alert/confirm/prompt if they ever run.
PAYLOADS = [
    '<img src=x onerror="window.__xss=1">',
    "<svg onload=alert(2)>",
    "</script><script>window.__xss=3</script>",
    "${window.__xss=4}",
    "`+(window.__xss=5)+`",
    "'-confirm(6)-'",
    '"><img src=x onerror=prompt(7)>',
    "{{ 7*7 }}{% if 1 %}JINJA{% endif %}",
    "\\u003cimg src=x onerror=alert(8)\\u003e",
]


def payload(tag: str) -> str:
    return tag + " " + " ".join(PAYLOADS)


@pytest.fixture
def session(browser, tmp_path):
    s = Session(browser, tmp_path)
    yield s
    s.close()


def make_page(*, zone_names=("Bedrijventerrein <b>De Vaart</b> & co", "Buitengebied Noord"),
              text=lambda tag, default: default) -> tuple[str, gpd.GeoDataFrame]:
    grid = Grid.from_bounds(150_000, 450_000, 153_000, 452_000, cell_size=100)
    rng = np.random.default_rng(3)
    opp = RasterLayer(text("LAYER-OPP", "Gelegenheid (klasse)"),
                      rng.integers(1, 6, grid.shape), grid, KLASSE,
                      {k: text(f"LEGEND-{k}", v) for k, v in LEGEND.items()})
    risk = RasterLayer(text("LAYER-RISK", "Risico (klasse)"), rng.integers(1, 6, grid.shape),
                       grid, KLASSE, LEGEND, show=False)
    biv = RasterLayer(text("LAYER-BIV", "Gelegenheid × risico"),
                      rng.integers(1, 10, grid.shape), grid, BIVARIATE_COLORS,
                      {k: text(f"BIV-{k}", f"klasse {k}") for k in range(1, 10)}, opacity=0.5)
    outline = gpd.GeoDataFrame(geometry=[shapely.box(150_050, 450_050, 152_950, 451_950)],
                               crs=RD)
    zones = gpd.GeoDataFrame(
        {"naam": list(zone_names), "klasse": [5, 3], "geheim": ["GEHEIM-123"] * 2},
        geometry=[shapely.box(150_300, 450_300, 151_100, 451_100),
                  shapely.box(151_600, 450_600, 152_600, 451_600)], crs=RD)
    buurten = gpd.GeoDataFrame(geometry=[shapely.box(150_050, 450_050, 151_500, 451_950)],
                               crs=RD)
    html = municipality_page(
        title=text("TITLE", "Gelegenheids- en risicokaart Testdorp"), outline=outline,
        layers=[opp, risk], bivariate=biv, zones=zones,
        zone_fields={"naam": text("ALIAS-NAAM", "Naam"), "klasse": text("ALIAS-K", "Klasse")},
        buurten=buurten,
        footer={text("FOOT-K", "versie"): text("FOOT-V", "riskmap 0.1.0"), "datum": "2024-05-01"},
        audience="partners", offline=True, tiles="none")
    return html, zones.to_crs(4326)


def visible_overlays(session: Session) -> int:
    return session.page.locator("img.leaflet-image-layer").evaluate_all(
        "els => els.filter(e => e.isConnected && e.offsetParent !== null"
        " && getComputedStyle(e).display !== 'none').length")


def test_page_renders_without_errors_or_requests(session):
    html, _ = make_page()
    session.open(html)
    page = session.page
    assert page.locator(".folium-map.leaflet-container").is_visible()
    assert page.locator("#rm-title").inner_text() == "Gelegenheids- en risicokaart Testdorp"
    assert page.locator("#rm-legends").is_visible()
    assert page.locator("#rm-legend-0").is_visible()  # Gelegenheid, shown
    assert not page.locator("#rm-legend-1").is_visible()  # Risico starts hidden
    assert page.locator("#rm-legend-bivariate").is_visible()
    assert page.locator("#rm-legend-bivariate .rm-cell").count() == 9
    box = page.locator("#rm-legend-bivariate .rm-bivar").bounding_box()
    assert box["width"] >= 60 and box["height"] >= 60  # a real 3 x 3 grid, not a line
    assert "Doelgroep: partners" in page.locator("#rm-footer").inner_text()
    assert page.locator(".leaflet-control-zoom-fullscreen").count() == 1
    assert page.locator(".leaflet-control-measure").count() == 1
    assert page.locator(".leaflet-control-scale").is_visible()
    assert page.locator("path.leaflet-interactive").count() == 2  # the zones
    assert visible_overlays(session) == 2
    session.screenshot("webmap_page.png")
    assert session.errors == []
    assert session.remote_requests() == []
    assert session.dialogs == []


def test_layer_control_toggles_overlays_and_legends(session):
    html, _ = make_page()
    session.open(html)
    page = session.page

    def checkbox(name):
        return page.locator(".leaflet-control-layers-overlays label", has_text=name
                            ).locator("input")

    assert visible_overlays(session) == 2
    checkbox("Gelegenheid (klasse)").click()
    assert visible_overlays(session) == 1
    assert not page.locator("#rm-legend-0").is_visible()
    checkbox("Risico (klasse)").click()
    assert visible_overlays(session) == 2
    assert page.locator("#rm-legend-1").is_visible()
    checkbox("Gelegenheid × risico").click()
    assert visible_overlays(session) == 1
    assert not page.locator("#rm-legend-bivariate").is_visible()
    checkbox("Gelegenheid (klasse)").click()
    assert visible_overlays(session) == 2
    session.screenshot("webmap_toggled.png")
    assert session.errors == []


def test_clicking_a_zone_opens_its_popup_with_escaped_text(session):
    html, zones = make_page()
    session.open(html)
    c = zones.geometry.iloc[0].centroid
    session.click_latlon(c.y, c.x)
    popup = session.page.locator(".leaflet-popup-content")
    popup.wait_for(state="visible")
    text = popup.inner_text()
    assert "Bedrijventerrein <b>De Vaart</b> & co" in text  # shown as text, not markup
    assert popup.locator("b").count() == 0
    assert "Naam" in text and "Klasse" in text and "5" in text
    assert "GEHEIM" not in session.page.content()
    session.screenshot("webmap_popup.png")
    assert session.errors == []


def test_xss_payloads_in_every_field_do_not_run(session):
    html, zones = make_page(zone_names=(payload("ZONE-1"), payload("ZONE-2")),
                            text=lambda tag, default: payload(tag))
    session.open(html)
    page = session.page
    shown = []  # (expected text, text on the page)
    # open both popups and the tooltip, toggle every layer: everything that renders text
    for i in range(2):
        session.page.evaluate(f"window['{session.map_name()}'].closePopup()")
        c = zones.geometry.iloc[i].centroid
        session.click_latlon(c.y, c.x)
        page.locator(".leaflet-popup-content").wait_for(state="visible")
        shown.append((payload(f"ZONE-{i + 1}"), page.locator(".leaflet-popup-content")
                      .inner_text()))
    session.page.evaluate(f"window['{session.map_name()}'].closePopup()")
    c = zones.geometry.iloc[0].centroid
    page.mouse.move(*session.point_of(c.y, c.x))  # the tooltip
    page.locator(".leaflet-tooltip").wait_for(state="visible")
    shown.append((payload("ZONE-1"), page.locator(".leaflet-tooltip").inner_text()))
    for label in page.locator(".leaflet-control-layers-overlays label input").all():
        label.click()
        label.click()
    page.hover("#rm-legend-bivariate .rm-cell >> nth=0")
    page.wait_for_timeout(300)
    session.screenshot("webmap_xss.png")
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert session.dialogs == []
    for expected, text in shown:  # the payloads are shown as text
        assert expected in text
    assert page.locator("#rm-title").inner_text() == payload("TITLE")
    assert payload("FOOT-K") in page.locator("#rm-footer").inner_text()
    assert payload("LAYER-OPP") in page.locator(".leaflet-control-layers").inner_text()
    assert "JINJA" in page.content() and "{{ 7*7 }}" in page.locator("#rm-title").inner_text()
    assert session.remote_requests() == []
    # an injected <img src=x> would have requested file:///…/x
    assert not [u for u in session.requests if u.endswith("/x")]
    assert session.errors == []

    # the index page too
    index = index_page(title=payload("INDEX"),
                       entries=[(payload("CODE"), payload("NAME"), "kaart.html")],
                       footer={payload("K"): payload("V")})
    session.open(index, "index.html")
    assert page.locator("h1").inner_text() == payload("INDEX")
    page.locator("a").first.click()
    page.wait_for_load_state("load")
    assert page.url.endswith("/kaart.html")
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert session.dialogs == []
