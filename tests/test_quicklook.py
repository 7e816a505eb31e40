"""Quick-look PNGs drawn with PIL: cells in their class colour, outlines, legend, provenance."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
import shapely
from PIL import Image

from riskmap import quicklook, styles
from riskmap.grid import Grid

GRID = Grid.from_bounds(150_000, 450_000, 154_000, 453_000, cell_size=100)  # 40 x 30 cells
TITLE = "Gelegenheidskaart Testdorp (GM9001)"
TAGS = {"RISKMAP_MUNICIPALITY": "GM9001 Testdorp", "RISKMAP_CREATED": "2021-06-01T12:00:00",
        "RISKMAP_LABELS": '{"bos": "Bosdekking – ‘groen’ ×"}'}  # not Latin-1: an iTXt chunk


def _classes(k: int = 5) -> np.ndarray:
    rows, cols = np.indices(GRID.shape)
    klasse = 1 + (rows + 2 * cols) % k
    klasse[:, :3] = 0  # outside the municipality
    return klasse


def _rgb(path) -> np.ndarray:
    with Image.open(path) as im:
        assert im.mode == "P"
        return np.asarray(im.convert("RGB"))


def _hex(color: str) -> tuple[int, int, int]:
    return tuple(int(color[i:i + 2], 16) for i in (1, 3, 5))


def _centre(row: int, col: int, title: str = TITLE) -> tuple[int, int]:
    """Pixel (y, x) at the centre of a cell."""
    left, top, right, bottom = quicklook.map_box(GRID, title)
    s = (right - left) / GRID.width
    return int(top + (row + 0.5) * s), int(left + (col + 0.5) * s)


def _point_px(x: float, y: float, title: str = TITLE) -> tuple[float, float]:
    left, top, right, _ = quicklook.map_box(GRID, title)
    s = (right - left) / GRID.width
    return top + (GRID.y1 - y) / GRID.cell_size * s, left + (x - GRID.x0) / GRID.cell_size * s


def _near(img: np.ndarray, yx: tuple[float, float], color, *, radius: int = 1) -> bool:
    y, x = int(round(yx[0])), int(round(yx[1]))
    patch = img[y - radius:y + radius + 1, x - radius:x + radius + 1]
    return bool((patch == color).all(axis=-1).any())


OUTLINE = shapely.Polygon([(150_500, 450_300), (153_700, 450_300), (153_700, 452_700),
                           (150_500, 452_700)])


def test_every_cell_has_its_class_colour_and_outside_is_white(tmp_path):
    klasse = _classes()
    path = quicklook.opportunity_png(tmp_path / "q.png", klasse, GRID, outline=OUTLINE,
                                     title=TITLE, tags=TAGS)
    img = _rgb(path)
    colors = styles.class_colors(5)
    for row, col in [(10, 10), (0, 5), (29, 39), (15, 20), (5, 33)]:
        assert tuple(img[_centre(row, col)]) == _hex(colors[klasse[row, col]]), (row, col)
    assert tuple(img[_centre(12, 1)]) == (255, 255, 255)  # class 0
    left, top, right, bottom = quicklook.map_box(GRID, TITLE)
    assert (right - left, bottom - top) == (18 * 40, 18 * 30)  # 18 px per cell: 720 px wide


def test_the_outline_is_black_all_around(tmp_path):
    path = quicklook.opportunity_png(tmp_path / "q.png", _classes(), GRID, outline=OUTLINE,
                                     title=TITLE)
    img = _rgb(path)
    ring = OUTLINE.exterior
    for d in np.linspace(0, ring.length, 80, endpoint=False):
        p = ring.interpolate(d)
        assert _near(img, _point_px(p.x, p.y), (0, 0, 0)), (p.x, p.y)
    # away from the outline no black: a cell centre inside
    assert not _near(img, _point_px(152_050, 451_550), (0, 0, 0), radius=3)


def test_overlay_colours_priority_zones_red_outline_black(tmp_path):
    biv = np.zeros(GRID.shape, dtype=np.int16)
    biv[:, 3:] = 1 + (np.indices(GRID.shape)[1][:, 3:] % 9)
    zone = shapely.box(151_000, 451_000, 152_000, 452_000)
    path = quicklook.overlay_png(tmp_path / "o.png", biv, GRID, outline=OUTLINE,
                                 priority_zones=[zone], title=TITLE, tags=TAGS)
    img = _rgb(path)
    for row, col in [(3, 4), (20, 17), (29, 39)]:
        assert tuple(img[_centre(row, col)]) == _hex(styles.BIVARIATE_COLORS[biv[row, col]])
    red = _hex(styles.ZONE_COLORS[1])
    for d in np.linspace(0, zone.exterior.length, 40, endpoint=False):
        p = zone.exterior.interpolate(d)
        assert _near(img, _point_px(p.x, p.y), red), (p.x, p.y)
        assert not _near(img, _point_px(p.x, p.y), (0, 0, 0), radius=2)
    p = OUTLINE.exterior.interpolate(0.3, normalized=True)
    assert _near(img, _point_px(p.x, p.y), (0, 0, 0))
    # the 3 x 3 legend holds every bivariate colour
    present = {tuple(c) for c in img.reshape(-1, 3)}
    assert {_hex(c) for c in styles.BIVARIATE_COLORS.values()} <= present


def test_legend_labels_one_per_class_in_dutch():
    for k in (2, 3, 5, 7, 10):
        legend = quicklook.class_legend(k)
        assert [c for c, _, _ in legend] == list(range(1, k + 1))
        assert legend[0][2] == "Klasse 1 (laag)" and legend[-1][2] == f"Klasse {k} (hoog)"
        assert all(label == f"Klasse {c}" for c, _, label in legend[1:-1])
        assert [col for _, col, _ in legend] == list(styles.class_colors(k).values())
    assert quicklook.bivariate_legend() == [[7, 8, 9], [4, 5, 6], [1, 2, 3]]


def test_legend_swatches_show_exactly_the_classes(tmp_path):
    """A map of only class 1 and 2 of 7: the legend still shows the 7 colours."""
    klasse = np.where(_classes(2) > 0, _classes(2), 0)
    path = quicklook.opportunity_png(tmp_path / "q.png", klasse, GRID, outline=OUTLINE,
                                     title=TITLE, classes=7)
    present = {tuple(c) for c in _rgb(path).reshape(-1, 3)}
    assert {_hex(c) for c in styles.class_colors(7).values()} <= present
    other = {_hex(c) for k in (3, 5, 9) for c in styles.class_colors(k).values()}
    assert not (other - {_hex(c) for c in styles.class_colors(7).values()}) & present


def test_provenance_in_text_chunks_and_no_other_metadata(tmp_path):
    path = quicklook.opportunity_png(tmp_path / "q.png", _classes(), GRID, outline=OUTLINE,
                                     title=TITLE, tags=TAGS)
    with Image.open(path) as im:
        assert dict(im.text) == TAGS
    data = path.read_bytes()
    assert b"tIME" not in data and b"Software" not in data


def test_same_input_same_bytes_and_no_temporary_left(tmp_path):
    kw = {"outline": OUTLINE, "title": TITLE, "tags": TAGS}
    one = quicklook.opportunity_png(tmp_path / "a.png", _classes(), GRID, **kw).read_bytes()
    two = quicklook.opportunity_png(tmp_path / "b.png", _classes(), GRID, **kw).read_bytes()
    assert one == two
    biv = np.clip(_classes(9), 0, 9)
    three = quicklook.overlay_png(tmp_path / "c.png", biv, GRID, **kw).read_bytes()
    four = quicklook.overlay_png(tmp_path / "d.png", biv, GRID, **kw).read_bytes()
    assert three == four
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png", "b.png", "c.png", "d.png"]


def test_another_tag_changes_only_the_text(tmp_path):
    kw = {"outline": OUTLINE, "title": TITLE}
    a = quicklook.opportunity_png(tmp_path / "a.png", _classes(), GRID, tags=TAGS, **kw)
    b = quicklook.opportunity_png(tmp_path / "b.png", _classes(), GRID,
                                  tags=TAGS | {"RISKMAP_CREATED": "2022-01-01T00:00:00"}, **kw)
    assert np.array_equal(_rgb(a), _rgb(b)) and a.read_bytes() != b.read_bytes()


@pytest.mark.parametrize(("shape", "scale"), [((30, 40), 18.0), ((1, 1), 700.0),
                                              ((300, 500), 1.0), ((1400, 10), 1.0),
                                              ((3500, 700), 0.2)])
def test_map_scale_whole_pixels_near_700(shape, scale):
    assert quicklook.map_scale(shape) == scale


def test_a_large_grid_is_reduced_and_the_title_widens_a_narrow_map(tmp_path):
    grid = Grid.from_bounds(150_000, 450_000, 150_300, 750_000, cell_size=100)  # 3 x 3000
    klasse = np.ones(grid.shape, dtype=np.int8)
    path = quicklook.opportunity_png(tmp_path / "q.png", klasse, grid,
                                     outline=shapely.box(*grid.bounds), title=TITLE * 2)
    with Image.open(path) as im:
        width, height = im.size
    assert 700 < height < 800 and width > quicklook._text_size(TITLE * 2, 17)[0]


def test_empty_outline_and_no_zones_are_fine(tmp_path):
    path = quicklook.overlay_png(tmp_path / "o.png", np.zeros(GRID.shape, dtype=np.int8), GRID,
                                 outline=shapely.Polygon(), priority_zones=[], title=TITLE)
    assert path.read_bytes()[:4] == b"\x89PNG"


def test_the_font_is_matplotlibs_dejavu_sans_not_a_system_font():
    path = quicklook._font_path()
    assert path.endswith("DejaVuSans.ttf")
    assert path.startswith(matplotlib.get_data_path().rsplit("mpl-data", 1)[0])
