"""Grid alignment, CBS cell ids, point → cell arithmetic, region masks and errors."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from conftest import NOORD, ZUID, municipalities
from hypothesis import given, settings
from hypothesis import strategies as st

from riskmap.errors import CRSError, GridError, InputError
from riskmap.grid import Grid, make_region


def test_from_bounds_is_aligned_to_cell_size():
    g = Grid.from_bounds(150_030, 480_010, 150_420, 480_190, cell_size=100)
    assert (g.x0, g.y1, g.width, g.height) == (150_000, 480_200, 5, 2)
    assert g.bounds == (150_000, 480_000, 150_500, 480_200)
    g = Grid.from_bounds(150_030, 480_010, 150_420, 480_190, cell_size=25, halo=60)
    assert g.x0 % 25 == 0 and g.y1 % 25 == 0
    assert g.x0 <= 150_030 - 60 and g.bounds[2] >= 150_420 + 60


def test_cell_ids_follow_cbs_hectometre_convention():
    g = Grid.from_bounds(123_400, 456_700, 123_600, 456_900, cell_size=100)
    ids = g.cell_ids()
    # top-left cell: lower-left corner (123400, 456800) → E1234N4568
    assert ids[0, 0] == "E1234N4568"
    assert ids[-1, 0] == "E1234N4567"
    assert ids[-1, -1] == "E1235N4567"
    # small coordinates are zero-padded to four digits
    assert Grid.from_bounds(5_000, 300_000, 5_100, 300_100).cell_ids()[0, 0] == "E0050N3000"


def test_cell_ids_other_sizes_are_in_units_of_the_cell():
    g = Grid.from_bounds(150_000, 450_000, 150_500, 450_500, cell_size=500)
    assert g.cell_ids()[0, 0] == "E0300N0900"


@settings(max_examples=200, deadline=None)
@given(x=st.floats(100_000, 200_000), y=st.floats(400_000, 500_000),
       size=st.sampled_from([25.0, 100.0, 250.0]))
def test_rowcol_puts_point_in_its_cell_polygon(x, y, size):
    g = Grid.from_bounds(100_000, 400_000, 200_000, 500_000, cell_size=size, halo=size)
    r, c, inside = g.rowcol(np.array([x]), np.array([y]))
    assert inside[0]
    cell = g.cell_polygons(r, c)[0]
    xmin, ymin, xmax, ymax = cell.bounds
    # half-open cells: [xmin, xmax) x [ymin, ymax)
    assert xmin <= x < xmax and ymin <= y < ymax


def test_rowcol_outside_grid_is_flagged():
    g = Grid.from_bounds(0, 300_000, 1000, 301_000)
    _, _, inside = g.rowcol(np.array([-1.0, 500, 1000, np.nan]),
                            np.array([300_500, 300_500, 300_500, 300_500]))
    assert inside.tolist() == [False, True, False, False]


def test_bad_cell_size_and_crs_are_refused():
    with pytest.raises(GridError, match="positive") as e:
        Grid.from_bounds(0, 300_000, 1000, 301_000, cell_size=0)
    assert e.value.code == "E-GRID-CELLSIZE"
    with pytest.raises(GridError, match="not a projected CRS in metres"):
        Grid.from_bounds(0, 0, 1, 1, crs="EPSG:4326")
    with pytest.raises(GridError, match="larger than the region"):
        make_region(municipalities(), cell_size=50_000)


def test_region_abroad_uses_its_own_metric_crs():
    gm = municipalities().to_crs("EPSG:32631")  # UTM 31N instead of RD
    region = make_region(gm, crs="EPSG:32631", cell_size=100)
    assert region.grid.crs.to_epsg() == 32631
    assert region.grid.x0 % 100 == 0 and region.grid.y1 % 100 == 0


def test_region_masks_cover_each_municipality_with_touching_cells():
    region = make_region(municipalities(), cell_size=100, halo=300)
    for code, poly in zip(["GM9001", "GM9002"], [NOORD, ZUID], strict=True):
        rows, cols = region.window(code)
        sub = region.grid.subgrid(rows, cols)
        r, c = np.nonzero(region.mask(code))
        cells = sub.cell_polygons(r, c)
        union = shapely.union_all(cells)
        # the cells cover the municipality (exact geometry)
        assert poly.difference(union).area == pytest.approx(0.0, abs=1e-6)
        # and every cell touches it
        assert shapely.intersects(cells, poly).all()
        # cells whose whole square lies outside the polygon's bounds are not in the mask
        assert region.mask(code).sum() < sub.width * sub.height


def test_labels_assign_cell_centres():
    region = make_region(municipalities(), cell_size=100, halo=300)
    g = region.grid
    xs, ys = g.centres()
    X, Y = np.meshgrid(xs, ys)
    in_noord = shapely.contains_xy(NOORD, X, Y)
    in_zuid = shapely.contains_xy(ZUID, X, Y)
    expected = np.where(in_noord, 0, np.where(in_zuid, 1, -1))
    assert (region.labels == expected).mean() > 0.995  # GDAL's centre rule vs shapely at edges


def test_select_by_code_or_name_and_unknown_lists_choices():
    region = make_region(municipalities())
    assert region.select(["zuid", "GM9001"]) == ["GM9002", "GM9001"]
    assert region.select([]) == ["GM9001", "GM9002"]
    with pytest.raises(InputError, match=r"GM9001 \(Noord\)"):
        region.select(["Atlantis"])
    with pytest.raises(InputError, match=r"did you mean GM9001 \(Noord\)\?"):
        region.select(["Nord"])
    with pytest.raises(InputError, match=r"did you mean GM9002 \(Zuid\)"):
        region.select(["GM9020"])


def test_region_input_errors():
    gm = municipalities()
    with pytest.raises(CRSError, match="no CRS") as e:
        make_region(gm.set_crs(None, allow_override=True))
    assert e.value.code == "E-CRS-MISSING"
    with pytest.raises(InputError, match="column 'gemeentecode' not found"):
        make_region(gm, id_column="gemeentecode")
    dup = gm.assign(statcode="GM9001")
    with pytest.raises(InputError, match="duplicate ids"):
        make_region(dup)
    lonlat_as_rd = gm.to_crs(4326).set_crs(28992, allow_override=True)
    with pytest.raises(CRSError, match="lon/lat degrees labelled as RD New"):
        make_region(lonlat_as_rd)
