"""The aligned grid every map shares, and the region with its municipalities.

Cells are squares of ``cell_size`` metres in a projected CRS (RD New, EPSG:28992, by default),
aligned to multiples of the cell size, so every layer, municipality and run shares the same
cells. The working form of any map is a 2-D array on a :class:`Grid` (rasterio's model: an
affine transform with the origin at the top-left corner, rows running south).

Cell ids follow the CBS square-statistics convention: ``E{x // s:04d}N{y // s:04d}`` with
``(x, y)`` the lower-left corner of the cell and ``s`` the cell size. For 100 m cells that is
the corner in hectometres (``E1234N4567`` is the cell whose lower-left corner is at
x = 123 400 m, y = 456 700 m), which joins the CBS 100 m statistics. For other sizes the id is
in units of the cell size (a 500 m cell at x = 150 000 m has ``E0300``), so ids are only
comparable between grids of the same cell size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

import geopandas as gpd
import numpy as np
import shapely
from affine import Affine
from pyproj import CRS
from rasterio import features

from riskmap.crs import RD_NEW, check_area_of_use, check_metric, is_undefined
from riskmap.errors import GridError, InputError, Problems

__all__ = ["Grid", "Region", "make_region"]

#: Refuse grids larger than this many cells (a 25 m grid of the whole country is ~60 M).
MAX_CELLS = 250_000_000


@dataclass(frozen=True)
class Grid:
    """A regular grid of square cells aligned to multiples of ``cell_size``.

    Parameters
    ----------
    x0 : float
        West edge (a multiple of ``cell_size``).
    y1 : float
        North edge (a multiple of ``cell_size``).
    width, height : int
        Number of columns and rows.
    cell_size : float
        Cell edge in metres.
    crs : pyproj.CRS
        A projected CRS in metres.

    Examples
    --------
    >>> g = Grid.from_bounds(150_030, 480_010, 150_420, 480_190, cell_size=100)
    >>> g.x0, g.y1, g.width, g.height
    (150000.0, 480200.0, 5, 2)
    >>> g.cell_ids()[0, 0]
    'E1500N4801'
    """

    x0: float
    y1: float
    width: int
    height: int
    cell_size: float = 100.0
    crs: CRS = field(default=RD_NEW, compare=False)

    @classmethod
    def from_bounds(
        cls,
        xmin: float,
        ymin: float,
        xmax: float,
        ymax: float,
        *,
        cell_size: float = 100.0,
        crs: CRS | str | int = RD_NEW,
        halo: float = 0.0,
    ) -> Grid:
        """Smallest aligned grid covering the bounds, widened by ``halo`` metres on each side."""
        crs = check_metric(crs)
        if not (isinstance(cell_size, int | float) and math.isfinite(cell_size) and cell_size > 0):
            raise GridError(
                f"cell_size must be a positive number of metres, got {cell_size!r}. "
                "Use e.g. cell_size = 100.",
                code="E-GRID-CELLSIZE",
            )
        s = float(cell_size)
        x0 = math.floor((xmin - halo) / s) * s
        y0 = math.floor((ymin - halo) / s) * s
        x1 = math.ceil((xmax + halo) / s) * s
        y1 = math.ceil((ymax + halo) / s) * s
        width = max(int(round((x1 - x0) / s)), 1)
        height = max(int(round((y1 - y0) / s)), 1)
        if width * height > MAX_CELLS:
            raise GridError(
                f"a grid of {width} x {height} cells of {s:g} m is larger than the limit of "
                f"{MAX_CELLS:,} cells. Use a larger cell_size or a smaller region.",
                code="E-GRID-SIZE",
            )
        return cls(float(x0), float(y1), width, height, s, crs)

    @property
    def shape(self) -> tuple[int, int]:
        """``(height, width)``, the shape of arrays on this grid."""
        return (self.height, self.width)

    @property
    def transform(self) -> Affine:
        """The affine transform from (col, row) to (x, y) of the top-left corner."""
        return Affine(self.cell_size, 0.0, self.x0, 0.0, -self.cell_size, self.y1)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(xmin, ymin, xmax, ymax)`` of the grid."""
        s = self.cell_size
        return (self.x0, self.y1 - self.height * s, self.x0 + self.width * s, self.y1)

    @property
    def cell_area_km2(self) -> float:
        """Area of one cell in km²."""
        return self.cell_size**2 / 1e6

    def pad(self, n: int) -> Grid:
        """The same grid widened by ``n`` cells on every side."""
        s = self.cell_size
        return Grid(self.x0 - n * s, self.y1 + n * s, self.width + 2 * n, self.height + 2 * n,
                    s, self.crs)

    def subgrid(self, rows: slice, cols: slice) -> Grid:
        """The grid of ``array[rows, cols]``."""
        r0, r1, _ = rows.indices(self.height)
        c0, c1, _ = cols.indices(self.width)
        s = self.cell_size
        return Grid(self.x0 + c0 * s, self.y1 - r0 * s, c1 - c0, r1 - r0, s, self.crs)

    def centres(self) -> tuple[np.ndarray, np.ndarray]:
        """1-D arrays of the x of every column centre and the y of every row centre."""
        s = self.cell_size
        xs = self.x0 + (np.arange(self.width) + 0.5) * s
        ys = self.y1 - (np.arange(self.height) + 0.5) * s
        return xs, ys

    def rowcol(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Row and column of the cell holding each point, and whether it is on the grid.

        Integer arithmetic, no spatial join: ``col = floor((x - x0) / s)``. A point on a cell
        edge belongs to the cell east / north of it (the edge is the cell's lower-left side).
        """
        s = self.cell_size
        col = np.floor((np.asarray(x, dtype=float) - self.x0) / s)
        # cells are half-open [x, x + s) x [y, y + s): the top edge belongs to the cell above
        row = np.ceil((self.y1 - np.asarray(y, dtype=float)) / s) - 1
        inside = (col >= 0) & (col < self.width) & (row >= 0) & (row < self.height)
        inside &= np.isfinite(col) & np.isfinite(row)
        col = np.where(inside, col, -1).astype(np.int64)
        row = np.where(inside, row, -1).astype(np.int64)
        return row, col, inside

    def cell_ids(
        self, rows: np.ndarray | None = None, cols: np.ndarray | None = None
    ) -> np.ndarray:
        """CBS-style ids ``E{x//s:04d}N{y//s:04d}`` of the lower-left corner of cells.

        Without arguments, a 2-D array of the ids of every cell.
        """
        if rows is None or cols is None:
            rows, cols = np.indices(self.shape)
        s = self.cell_size
        ex = np.floor((self.x0 + np.asarray(cols) * s) / s + 1e-9).astype(np.int64)
        ny = np.floor((self.y1 - (np.asarray(rows) + 1) * s) / s + 1e-9).astype(np.int64)
        e = np.char.zfill(ex.astype(str), 4)
        n = np.char.zfill(ny.astype(str), 4)
        return np.char.add(np.char.add(np.char.add("E", e), "N"), n)

    def cell_polygons(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Shapely squares of the given cells (for output only; analysis stays on arrays)."""
        s = self.cell_size
        xmin = self.x0 + np.asarray(cols) * s
        ymax = self.y1 - np.asarray(rows) * s
        return shapely.box(xmin, ymax - s, xmin + s, ymax)


@dataclass
class Region:
    """The study region: one grid (with a halo) and its municipalities.

    Use :func:`make_region` to build one. ``labels`` holds, per cell, the position of the
    municipality that contains the cell centre (``-1`` outside all). Per municipality,
    :meth:`window` gives the cut-out and :meth:`mask` the cells that touch its polygon, so
    that a municipality's cells cover it (boundary cells belong to both neighbours).
    """

    grid: Grid
    municipalities: gpd.GeoDataFrame  # columns: code, name, geometry; RangeIndex
    halo: float = 0.0
    source: str = ""

    @cached_property
    def labels(self) -> np.ndarray:
        """Municipality position per cell by cell centre (-1 outside every municipality)."""
        shapes = zip(self.municipalities.geometry.values, range(len(self.municipalities)),
                     strict=True)
        return features.rasterize(
            shapes, out_shape=self.grid.shape, transform=self.grid.transform,
            fill=-1, dtype="int32",
        )

    @property
    def codes(self) -> list[str]:
        """Municipality codes (e.g. ``GM0050``) in file order."""
        return self.municipalities["code"].tolist()

    def name(self, code: str) -> str:
        """Name of the municipality with ``code``."""
        return str(self.municipalities.loc[self._position(code), "name"])

    def select(self, keys: list[str] | tuple[str, ...] | None) -> list[str]:
        """Codes for ``keys`` given as codes or names (case-insensitive); all when empty."""
        if not keys:
            return self.codes
        return list(dict.fromkeys(self.codes[self._position(k)] for k in keys))

    def _position(self, key: str) -> int:
        key_l = str(key).strip().lower()
        m = self.municipalities
        hit = np.flatnonzero(
            (m["code"].str.lower() == key_l).to_numpy()
            | (m["name"].str.lower() == key_l).to_numpy()
        )
        if hit.size == 0:
            import difflib

            options = {**{c.lower(): i for i, c in enumerate(m["code"])},
                       **{n.lower(): i for i, n in enumerate(m["name"])}}
            near = difflib.get_close_matches(key_l, list(options), n=4, cutoff=0.5)
            idx = list(dict.fromkeys(options[k] for k in near)) or list(range(min(8, len(m))))
            shown = ", ".join(f"{m['code'].iloc[i]} ({m['name'].iloc[i]})" for i in idx)
            lead = "did you mean" if near else "use a code or a name from the region, e.g."
            raise InputError(
                f"municipality {key!r} is not in the region {self.source}; {lead} {shown}?",
                code="E-REGION-MUNICIPALITY",
            )
        return int(hit[0])

    def window(self, code: str) -> tuple[slice, slice]:
        """Row and column slices of the region array that hold municipality ``code``."""
        geom = self.municipalities.geometry.iloc[self._position(code)]
        g = self.grid
        s = g.cell_size
        xmin, ymin, xmax, ymax = geom.bounds
        c0 = max(int(math.floor((xmin - g.x0) / s)) - 1, 0)
        c1 = min(int(math.ceil((xmax - g.x0) / s)) + 1, g.width)
        r0 = max(int(math.floor((g.y1 - ymax) / s)) - 1, 0)
        r1 = min(int(math.ceil((g.y1 - ymin) / s)) + 1, g.height)
        return slice(r0, r1), slice(c0, c1)

    def mask(self, code: str) -> np.ndarray:
        """Boolean mask on :meth:`window` of the cells that touch the municipality."""
        rows, cols = self.window(code)
        sub = self.grid.subgrid(rows, cols)
        geom = self.municipalities.geometry.iloc[self._position(code)]
        return features.geometry_mask(
            [geom], out_shape=sub.shape, transform=sub.transform, all_touched=True, invert=True
        )

    def cutout(self, array: np.ndarray, code: str, *, fill: float = np.nan) -> np.ndarray:
        """The window of ``array`` for municipality ``code``, ``fill`` outside its mask."""
        rows, cols = self.window(code)
        out = np.array(array[rows, cols], dtype=float, copy=True)
        out[~self.mask(code)] = fill
        return out


def make_region(
    municipalities: gpd.GeoDataFrame,
    *,
    id_column: str = "statcode",
    name_column: str = "statnaam",
    cell_size: float = 100.0,
    crs: CRS | str | int = RD_NEW,
    halo: float = 1000.0,
    source: str = "municipalities",
) -> Region:
    """Build the region grid and municipality table from municipality polygons.

    Parameters
    ----------
    municipalities : GeoDataFrame
        One (multi)polygon per municipality, with a CRS.
    id_column, name_column : str
        Columns with the code (``GM0050``) and the name (``Zeewolde``).
    cell_size : float, default=100.0
        Cell edge in metres.
    crs : CRS, default=EPSG:28992
        Projected CRS in metres of the grid; the polygons are reprojected to it.
    halo : float, default=1000.0
        Metres added around the region so that neighbourhood measures see across its edge.
    source : str
        File name for messages.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from riskmap import datasets
    >>> gm = gpd.read_file(datasets.get_path("gemeenten_2021"))
    >>> region = make_region(gm, cell_size=100)
    >>> len(region.codes), region.grid.cell_size
    (39, 100.0)
    """
    crs = check_metric(crs)
    problems = Problems()
    for col in (id_column, name_column):
        if col not in municipalities.columns:
            problems.add(
                "E-INPUT-COLUMN", f"column {col!r} not found", where=source,
                fix=f"use one of {', '.join(map(str, municipalities.columns.drop('geometry')))}"
                " as [region] id_column / name_column.",
            )
    if len(municipalities) == 0:
        problems.add("E-INPUT-EMPTY", "no municipality polygons", where=source,
                     fix="point [region] municipalities at a file with polygons.")
    problems.raise_if_any(InputError)
    if is_undefined(municipalities.crs):
        from riskmap.errors import CRSError

        raise CRSError(
            f"{source} has no CRS. Fix the file (e.g. ogr2ogr -a_srs EPSG:28992); riskmap never "
            "guesses a CRS.",
            code="E-CRS-MISSING",
        )
    geoms = municipalities.geometry
    bad_type = ~geoms.geom_type.isin(["Polygon", "MultiPolygon"])
    if bad_type.any():
        problems.add("E-INPUT-GEOMTYPE",
                     f"{int(bad_type.sum())} features are not polygons (first at row "
                     f"{int(np.flatnonzero(bad_type.to_numpy())[0])})", where=source,
                     fix="municipalities must be (multi)polygons.")
    invalid = ~geoms.is_valid.to_numpy() | geoms.isna().to_numpy()
    if invalid.any():
        rows = np.flatnonzero(invalid)[:5].tolist()
        problems.add("E-INPUT-INVALID", f"{int(invalid.sum())} invalid or empty geometries "
                     f"(rows {rows})", where=source,
                     fix="repair them (shapely.make_valid, QGIS 'Fix geometries').")
    ids = municipalities[id_column].astype(str)
    dup = ids[ids.duplicated()].unique().tolist()
    if dup:
        problems.add("E-INPUT-DUPLICATE", f"duplicate ids in column {id_column!r}: {dup[:5]}",
                     where=source, fix="every municipality needs its own code.")
    problems.raise_if_any(InputError)
    b = municipalities.total_bounds
    check_area_of_use(*b, municipalities.crs, where=source)
    gm = gpd.GeoDataFrame(
        {"code": ids.to_numpy(), "name": municipalities[name_column].astype(str).to_numpy()},
        geometry=municipalities.geometry.to_crs(crs).to_numpy(), crs=crs,
    )
    xmin, ymin, xmax, ymax = gm.total_bounds
    cs = float(cell_size) if isinstance(cell_size, int | float) else cell_size
    if isinstance(cs, float) and cs > 0 and cs > max(xmax - xmin, ymax - ymin):
        raise GridError(
            f"cell_size {cs:g} m is larger than the region itself ({xmax - xmin:.0f} x "
            f"{ymax - ymin:.0f} m). Use a cell size such as 100 or 250.",
            code="E-GRID-CELLSIZE",
        )
    grid = Grid.from_bounds(xmin, ymin, xmax, ymax, cell_size=cs, crs=crs, halo=halo)
    return Region(grid=grid, municipalities=gm, halo=halo, source=source)
