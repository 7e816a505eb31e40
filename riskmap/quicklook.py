"""Quick-look PNGs of class rasters, drawn directly as palette images (no plotting library).

A quick look is the class raster of one municipality, magnified with nearest-neighbour
sampling so that every cell is a square of whole pixels, with the municipality outline (and
for the overlay the priority zones) burnt in, a title, a legend and the attribution, and the
provenance in the PNG's text chunks. Everything is a palette ("P") image: class colours,
black and red for the lines, and a ramp of greys for anti-aliased text, which is rendered
with the DejaVu Sans font that matplotlib ships (never a system font, so the pixels are the
same on every machine with the same packages). The same arrays and tags give the same bytes:
the file holds no time other than the ones in ``tags``.

A map of ~60 × 60 cells takes a few milliseconds; a matplotlib figure of the same took
~130 ms (``benchmarks/bench_write.py``).

Examples
--------
>>> import numpy as np, shapely, tempfile, pathlib
>>> from riskmap.grid import Grid
>>> grid = Grid.from_bounds(150_000, 450_000, 153_000, 452_000, cell_size=100)
>>> klasse = np.random.default_rng(0).integers(0, 6, grid.shape)
>>> path = pathlib.Path(tempfile.mkdtemp()) / "opportunity.png"
>>> opportunity_png(path, klasse, grid, outline=shapely.box(*grid.bounds),
...                 title="Gelegenheidskaart Zeewolde (GM0050)").name
'opportunity.png'
>>> [label for _, _, label in class_legend(5)][::4]
['Klasse 1 (laag)', 'Klasse 5 (hoog)']
"""

from __future__ import annotations

import functools
import importlib.util
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import shapely
from PIL import Image, ImageDraw, ImageFont
from PIL.PngImagePlugin import PngInfo

from riskmap import io, styles
from riskmap.grid import Grid

__all__ = [
    "ATTRIBUTION",
    "bivariate_legend",
    "class_legend",
    "map_scale",
    "opportunity_png",
    "overlay_png",
]

#: The source line at the foot of every quick look.
ATTRIBUTION = "Gemeentegrenzen: CBS/PDOK 2021 · riskmap"
#: The longest side of the map, in pixels, that the magnification aims at.
TARGET_PX = 700

# Palette indices: 0 background, 1..10 classes, then the drawing colours and the text greys.
_WHITE, _BLACK, _RED, _FRAME = 0, 11, 12, 13
_TEXT = 16  # _TEXT + 1 .. _TEXT + 15: text from light grey (anti-aliased edge) to black
_LEVELS = 15
_MUNICIPALITY_LINE = 2  # px
_ZONE_LINE = 2
_PAD = 16
_TITLE_PT, _LABEL_PT, _SMALL_PT = 17, 12, 10
_FONT_LOCK = threading.Lock()  # a FreeType face is not safe to share between threads


def _rgb(color: str) -> tuple[int, int, int]:
    r, g, b = (int(color[i:i + 2], 16) for i in (1, 3, 5))
    return r, g, b


def class_legend(k: int) -> list[tuple[int, str, str]]:
    """``(class, colour, label)`` of the classes 1..k: "Klasse 1 (laag)" … "Klasse k (hoog)".

    The colours and texts are those of the GeoTIFF colour tables, QGIS styles and HTML maps
    (:mod:`riskmap.styles`).
    """
    colors, labels = styles.class_colors(k), styles.class_labels(k)
    return [(i, colors[i], f"Klasse {labels[i]}") for i in colors]


def bivariate_legend() -> list[list[int]]:
    """The 3 × 3 bivariate classes as legend rows, top row first: risk high at the top,
    opportunity high to the right (class = 3 × (risk − 1) + opportunity)."""
    return [[3 * (r - 1) + o for o in (1, 2, 3)] for r in (3, 2, 1)]


def map_scale(shape: tuple[int, int], *, target: int = TARGET_PX) -> float:
    """Pixels per cell: a whole number (each cell a square of whole pixels) that brings the
    longest side near ``target``, at least 1; grids longer than twice ``target`` are reduced
    to ``target`` (nearest neighbour, a fraction below 1)."""
    n = max(shape)
    if n > 2 * target:
        return target / n
    return float(max(1, round(target / n)))


@functools.cache
def _font_path() -> str:
    """DejaVu Sans as matplotlib ships it (found without importing matplotlib when it can)."""
    spec = importlib.util.find_spec("matplotlib")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / "mpl-data" / "fonts" / "ttf" / "DejaVuSans.ttf"
        if path.is_file():
            return str(path)
    import matplotlib  # a distribution that keeps its data elsewhere (Debian)

    return str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf")


@functools.cache
def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(_font_path(), size, layout_engine=ImageFont.Layout.BASIC)


def _text_size(text: str, size: int) -> tuple[int, int]:
    left, top, right, bottom = _font(size).getbbox(text)
    return int(right), int(bottom)


def _palette(colors: Mapping[int, str]) -> list[int]:
    pal = np.full((256, 3), 255, dtype=np.uint8)
    for k, color in colors.items():
        pal[int(k)] = _rgb(color)
    pal[_BLACK], pal[_RED], pal[_FRAME] = (0, 0, 0), _rgb(styles.ZONE_COLORS[1]), (96, 96, 96)
    levels = np.arange(1, _LEVELS + 1)
    pal[_TEXT + levels] = np.round(255 * (1 - levels / _LEVELS)).astype(np.uint8)[:, None]
    return pal[:_TEXT + _LEVELS + 1].ravel().tolist()


def _lines_px(geoms: Iterable, grid: Grid, scale: tuple[float, float],
              offset: tuple[int, int]) -> list[list[float]]:
    """The boundaries of polygons as flat pixel coordinate lists, one per ring."""
    geoms = np.asarray(list(geoms), dtype=object)
    if geoms.size == 0:
        return []
    rings = shapely.get_parts(shapely.boundary(geoms[~shapely.is_empty(geoms)]))
    xy, idx = shapely.get_coordinates(rings, return_index=True)
    if not len(xy):
        return []
    px = np.empty_like(xy)
    px[:, 0] = (xy[:, 0] - grid.x0) / grid.cell_size * scale[0] + offset[0]
    px[:, 1] = (grid.y1 - xy[:, 1]) / grid.cell_size * scale[1] + offset[1]
    cuts = np.flatnonzero(np.diff(idx)) + 1
    return [part.ravel().tolist() for part in np.split(px, cuts) if len(part) > 1]


# Ink (0..255, anti-aliased text) → palette index of its grey, and where there is ink at all.
_INK_LEVEL = (np.arange(256) * _LEVELS + 127) // 255
_INK_INDEX = np.where(_INK_LEVEL > 0, _TEXT + _INK_LEVEL, 0).astype(np.uint8)


@functools.lru_cache(maxsize=512)
def _ink(text: str, size: int, anchor: str, turned: bool = False
         ) -> tuple[Image.Image, Image.Image, int, int]:
    """Text as a tile of grey palette indices, its mask, and its offset from the anchor.

    Cached: the legends' texts recur in every map. Callers paste the tiles, never change them.
    """
    font = _font(size)
    left, top, right, bottom = (int(v) for v in font.getbbox(text, anchor=anchor))
    tile = Image.new("L", (max(right - left, 1), max(bottom - top, 1)), 0)
    ImageDraw.Draw(tile).text((-left, -top), text, fill=255, font=font, anchor=anchor)
    if turned:
        tile = tile.transpose(Image.Transpose.ROTATE_90)
    greys = _INK_INDEX[np.asarray(tile)]
    mask = np.where(greys > 0, 255, 0).astype(np.uint8)
    return Image.fromarray(greys, "P"), Image.fromarray(mask, "L"), left, top


class _Canvas:
    """A palette image on which text is pasted as tiles of grey palette indices."""

    def __init__(self, size: tuple[int, int]):
        self.image = Image.new("P", size, _WHITE)
        self.draw = ImageDraw.Draw(self.image)

    def text(self, xy: tuple[float, float], text: str, size: int, *, anchor: str = "la"
             ) -> None:
        """Text at ``xy`` (PIL's ``anchor``: "la" top left, "rd" bottom right, …); text goes
        on white ground only (its anti-aliased edge is grey on white)."""
        greys, mask, left, top = _ink(text, size, anchor)
        self.image.paste(greys, (int(xy[0]) + left, int(xy[1]) + top), mask=mask)

    def text_up(self, xy: tuple[int, int], text: str, size: int) -> None:
        """Text read bottom to top, its top-left corner (after turning) at ``xy``."""
        greys, mask, _, _ = _ink(text, size, "la", turned=True)
        self.image.paste(greys, xy, mask=mask)

    def finish(self, colors: Mapping[int, str]) -> Image.Image:
        """The palette image with its palette."""
        self.image.putpalette(_palette(colors))
        return self.image


def _map_image(classes: np.ndarray, k: int, size: tuple[int, int]) -> Image.Image:
    """Classes 1..k as palette indices (anything else: background), magnified to ``size``."""
    arr = np.asarray(classes)
    arr = np.where((arr >= 1) & (arr <= k), arr, 0).astype(np.uint8)
    return Image.fromarray(arr, "P").resize(size, Image.Resampling.NEAREST)


def _save(image: Image.Image, path: Path, tags: Mapping[str, str] | None) -> Path:
    info = PngInfo()
    for key, value in (tags or {}).items():
        if value is not None:
            info.add_text(key, str(value))
    with io.atomic_path(path) as tmp:
        image.save(tmp, format="PNG", pnginfo=info, compress_level=3)
    return Path(path)


def map_box(grid: Grid, title: str) -> tuple[int, int, int, int]:
    """``(left, top, right, bottom)``: the pixels of a quick look that show the grid.

    Cell ``(row, col)`` covers ``left + col * s`` to ``left + (col + 1) * s`` (and likewise
    down from ``top``), ``s`` = :func:`map_scale` (for a reduced grid, rounded).
    """
    scale = map_scale(grid.shape)
    left, top = _PAD, _PAD + _text_size(title, _TITLE_PT)[1] + _PAD // 2
    return (left, top, left + max(1, round(grid.width * scale)),
            top + max(1, round(grid.height * scale)))


def _layout(grid: Grid, title: str, panel: tuple[int, int]) -> dict:
    """Positions of the map, legend panel and attribution, and the size of the image."""
    left, top, right, bottom = map_box(grid, title)
    title_w = _text_size(title, _TITLE_PT)[0]
    attr_w, attr_h = _text_size(ATTRIBUTION, _SMALL_PT)
    width = max(right + _PAD + panel[0] + _PAD, title_w + 2 * _PAD, attr_w + 2 * _PAD)
    height = max(bottom, top + panel[1]) + _PAD // 2 + attr_h + _PAD
    return {"map": (left, top), "map_size": (right - left, bottom - top),
            "panel": (right + _PAD, top), "size": (width, height),
            "attribution": (width - _PAD, height - _PAD)}


def _draw_common(canvas: _Canvas, lay: dict, classes: np.ndarray, k: int, grid: Grid,
                 title: str, lines: list[tuple[Iterable, int, int]]) -> None:
    image = _map_image(classes, k, lay["map_size"])
    canvas.image.paste(image, lay["map"])
    scale = (image.width / grid.width, image.height / grid.height)
    for geoms, color, width in lines:
        for ring in _lines_px(geoms, grid, scale, lay["map"]):
            canvas.draw.line(ring, fill=color, width=width)
    canvas.text((_PAD, _PAD), title, _TITLE_PT)
    canvas.text(lay["attribution"], ATTRIBUTION, _SMALL_PT, anchor="rd")


def opportunity_png(path: str | Path, klasse: np.ndarray, grid: Grid, *, outline,
                    title: str, classes: int | None = None,
                    tags: Mapping[str, str] | None = None) -> Path:
    """Write the quick look of an opportunity map: classes, outline, legend, provenance.

    Parameters
    ----------
    path : str or path
        The PNG to write (atomically, :func:`riskmap.io.atomic_path`).
    klasse : ndarray of int
        Class 1..k per cell of ``grid``; 0 (outside the municipality) stays white.
    grid : Grid
        The grid of ``klasse``.
    outline : shapely geometry
        The municipality, in the grid's CRS; its boundary is drawn in black.
    title : str
        The line above the map.
    classes : int, optional
        k; default the highest class in ``klasse`` (at least 2), as in the HTML map.
    tags : mapping of str to str, optional
        Written as PNG text chunks (the provenance).
    """
    with _FONT_LOCK:  # the layout measures text too
        k = classes or max(int(np.max(klasse, initial=0)), 2)
        legend = class_legend(k)
        row = _LABEL_PT + 8
        label_w = max(_text_size(label, _LABEL_PT)[0] for _, _, label in legend)
        lay = _layout(grid, title, (18 + 8 + label_w, len(legend) * row))
        canvas = _Canvas(lay["size"])
        _draw_common(canvas, lay, klasse, k, grid, title,
                     [([outline], _BLACK, _MUNICIPALITY_LINE)])
        x, y = lay["panel"]
        for i, (cls, _, label) in enumerate(legend):
            top = y + i * row
            canvas.draw.rectangle((x, top, x + 18, top + row - 5), fill=cls, outline=_FRAME)
            canvas.text((x + 26, top + (row - 4) // 2), label, _LABEL_PT, anchor="lm")
        image = canvas.finish({cls: color for cls, color, _ in legend})
    return _save(image, Path(path), tags)


def overlay_png(path: str | Path, bivariate: np.ndarray, grid: Grid, *, outline,
                priority_zones: Iterable = (), title: str,
                tags: Mapping[str, str] | None = None) -> Path:
    """Write the quick look of an overlay: bivariate classes, priority zones, 3 × 3 legend.

    Parameters
    ----------
    path : str or path
        The PNG to write (atomically).
    bivariate : ndarray of int
        Bivariate class 1..9 per cell (:data:`riskmap.styles.BIVARIATE_COLORS`), 0 outside.
    grid : Grid
        The grid of ``bivariate``.
    outline : shapely geometry
        The municipality (black boundary).
    priority_zones : iterable of shapely geometries
        Drawn with a red boundary ("rood omlijnd: prioriteitszone").
    title : str
        The line above the map.
    tags : mapping of str to str, optional
        Written as PNG text chunks (the provenance).
    """
    with _FONT_LOCK:  # the layout measures text too
        sw = 28  # legend swatch
        tick_w = max(_text_size(t, _SMALL_PT)[0] for t in ("laag", "hoog"))
        axis_h = _text_size("risico →", _SMALL_PT)[1]
        note = "rood omlijnd: prioriteitszone"
        note_w = 24 + _text_size(note, _SMALL_PT)[0]
        grid_x = axis_h + 6 + tick_w + 4  # left of the 3 × 3 grid: axis title and ticks
        panel_w = max(grid_x + 3 * sw, note_w)
        panel_h = 3 * sw + 4 + 2 * (axis_h + 4) + 20 + axis_h
        lay = _layout(grid, title, (panel_w, panel_h))
        canvas = _Canvas(lay["size"])
        _draw_common(canvas, lay, bivariate, 9, grid, title,
                     [(priority_zones, _RED, _ZONE_LINE), ([outline], _BLACK, _MUNICIPALITY_LINE)])
        x, y = lay["panel"]
        gx = x + grid_x
        for r, row in enumerate(bivariate_legend()):
            for c, cls in enumerate(row):
                canvas.draw.rectangle((gx + c * sw, y + r * sw, gx + (c + 1) * sw - 1,
                                       y + (r + 1) * sw - 1), fill=cls)
        canvas.draw.rectangle((gx, y, gx + 3 * sw - 1, y + 3 * sw - 1), outline=_FRAME)
        for label, r in (("hoog", 0), ("laag", 2)):  # risk ticks, left of the rows
            canvas.text((gx - 4, y + r * sw + sw // 2), label, _SMALL_PT, anchor="rm")
        ty = y + 3 * sw + 4
        for label, c in (("laag", 0), ("hoog", 2)):  # opportunity ticks, below the columns
            canvas.text((gx + c * sw + sw // 2, ty), label, _SMALL_PT, anchor="mt")
        ty += axis_h + 4
        canvas.text((gx + 3 * sw // 2, ty), "gelegenheid →", _SMALL_PT, anchor="mt")
        up_w, _ = _text_size("risico →", _SMALL_PT)
        canvas.text_up((x, y + 3 * sw // 2 - up_w // 2), "risico →", _SMALL_PT)
        ny = ty + axis_h + 20
        canvas.draw.line((x, ny, x + 18, ny), fill=_RED, width=_ZONE_LINE)
        canvas.text((x + 24, ny), note, _SMALL_PT, anchor="lm")
        image = canvas.finish(styles.BIVARIATE_COLORS)
    return _save(image, Path(path), tags)
