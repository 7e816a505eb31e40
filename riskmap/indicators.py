"""Measures per cell: the raw value of an indicator on the aligned grid.

Every measure takes geometries (or an array) and a :class:`~riskmap.grid.Grid` and returns a
2-D float array on that grid. Vector work is vectorised (shapely 2, STRtree, integer cell
arithmetic), raster work uses rasterio, numpy and scipy.ndimage; no per-feature Python loops.

=============  ===============================================================  ============
measure        value per cell                                                   unit
=============  ===============================================================  ============
``distance``   distance from the cell centre to the nearest feature             m
``density``    count (or sum of ``field``) of features within ``radius_m``      per km²
``coverage``   share of the cell covered by polygons                            0–1
``count``      count / sum / mean / max of features whose point lies in it      as field
``attribute``  value of the polygon that covers the cell centre                 as field
``raster``     a GeoTIFF resampled onto the grid (:func:`riskmap.io.read_raster_to_grid`)
=============  ===============================================================  ============
"""

from __future__ import annotations

import math

import numpy as np
import shapely
from affine import Affine
from rasterio import features
from scipy import ndimage

from riskmap.grid import Grid

__all__ = ["attribute", "count", "coverage", "density", "distance", "points_of"]


def points_of(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x and y of points, or of the centroids of lines and polygons."""
    geoms = np.asarray(geoms)
    pts = geoms.copy()
    other = shapely.get_type_id(geoms) != 0
    if other.any():
        pts[other] = shapely.centroid(geoms[other])
    return shapely.get_x(pts), shapely.get_y(pts)


def _burn(geoms: np.ndarray, grid: Grid) -> np.ndarray:
    """Boolean array of the cells each geometry touches (all_touched) on ``grid``."""
    geoms = np.asarray(geoms)
    out = np.zeros(grid.shape, dtype=bool)
    is_point = shapely.get_type_id(geoms) == 0
    if is_point.any():
        r, c, inside = grid.rowcol(shapely.get_x(geoms[is_point]), shapely.get_y(geoms[is_point]))
        out[r[inside], c[inside]] = True
    rest = geoms[~is_point]
    if rest.size:
        burned = features.rasterize(
            ((g, 1) for g in rest), out_shape=grid.shape, transform=grid.transform,
            fill=0, all_touched=True, dtype="uint8",
        )
        out |= burned.astype(bool)
    return out


def distance_to_cells(target: np.ndarray, rows: np.ndarray, cols: np.ndarray, *,
                      cell_size: float) -> np.ndarray:
    """Distance in metres from the centres of the cells ``(rows, cols)`` to the centre of the
    nearest ``target`` cell: what ``scipy.ndimage.distance_transform_edt(~target,
    sampling=cell_size)`` holds at those cells (tested equal), without transforming the
    whole grid (a KD-tree of the target cells; ~15 M cells at 25 m for a few 10,000
    premises). No target cell: infinity."""
    from scipy.spatial import cKDTree

    rows, cols = np.asarray(rows), np.asarray(cols)
    tr, tc = np.nonzero(target)
    if tr.size == 0:
        return np.full(rows.shape, np.inf)
    s = float(cell_size)
    tree = cKDTree(np.column_stack([tr * s, tc * s]))
    d, _ = tree.query(np.column_stack([rows * s, cols * s]))
    return d


def distance(
    geoms: np.ndarray, grid: Grid, *, max_distance: float = 10_000.0, mode: str = "raster"
) -> np.ndarray:
    """Distance in metres from each cell centre to the nearest feature, capped at ``max_distance``.

    Parameters
    ----------
    geoms : array of shapely geometries
        Features in the grid's CRS; those up to ``max_distance`` beyond the grid must be
        included (read with a padded extent) or distances at the edge come out too large.
    grid : Grid
        The target grid.
    max_distance : float, default=10000.0
        Distances beyond this are reported as ``max_distance`` ("at least this far").
    mode : {"raster", "exact"}, default="raster"
        ``raster`` burns the features into a grid padded by ``max_distance`` (all touched)
        and runs a Euclidean distance transform between cell centres: fast, off by at most
        half a cell diagonal (71 m at 100 m cells). ``exact`` asks shapely's STRtree for the
        nearest feature of each cell centre: metre-exact, slower.

    Notes
    -----
    The padded extent matters: a distance raster whose extent ends at the study area misses
    features just outside it (field notes: errors up to 844 m at the edge).

    Examples
    --------
    >>> import shapely
    >>> g = Grid.from_bounds(0, 300_000, 1000, 301_000, cell_size=100)
    >>> d = distance(shapely.points([500], [300_500]), g, max_distance=2000, mode="exact")
    >>> round(float(d[4, 4]), 1)   # cell centre (450, 300550) → point (500, 300500)
    70.7
    """
    geoms = np.asarray(geoms)
    if geoms.size == 0:
        return np.full(grid.shape, float(max_distance))
    if mode == "exact":
        xs, ys = grid.centres()
        X, Y = np.meshgrid(xs, ys)
        tree = shapely.STRtree(geoms)
        pts = shapely.points(X.ravel(), Y.ravel())
        (idx_pt, _), dist = tree.query_nearest(pts, max_distance=max_distance,
                                               return_distance=True, all_matches=False)
        out = np.full(X.size, float(max_distance))
        out[idx_pt] = np.minimum(dist, max_distance)
        return out.reshape(grid.shape)
    if mode != "raster":
        raise ValueError(f"mode must be 'raster' or 'exact', got {mode!r}")
    n = int(math.ceil(max_distance / grid.cell_size)) + 1
    padded = grid.pad(n)
    burned = _burn(geoms, padded)
    if not burned.any():
        return np.full(grid.shape, float(max_distance))
    d = ndimage.distance_transform_edt(~burned, sampling=grid.cell_size)
    return np.minimum(d[n:-n, n:-n], max_distance)


def density(
    x: np.ndarray,
    y: np.ndarray,
    grid: Grid,
    *,
    radius: float,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """Count (or sum of ``weights``) of points within ``radius`` of each cell centre, per km².

    Exact: a point counts for a cell when its distance to the cell centre is at most
    ``radius``, tested as ``dx * dx + dy * dy <= radius * radius`` in float64 metres with
    ``dx``, ``dy`` the differences to the centres of :meth:`Grid.centres`. Points up to
    ``radius`` beyond the grid count too; points with a non-finite coordinate or weight are
    left out.

    Parameters
    ----------
    x, y : arrays of float
        Point coordinates in the grid's CRS (centroids for lines and polygons).
    grid : Grid
        The target grid.
    radius : float
        Search radius in metres.
    weights : array of float, optional
        Sum these instead of counting.

    Returns
    -------
    ndarray
        Features (or summed weight) per km² of the search circle: value / (π r² / 10⁶).

    Notes
    -----
    In every row of cell centres, the centres within ``radius`` of a point form one run of
    columns, ``|x_c - x| <= sqrt(r² - dy²)``. Each point adds its weight at the first column
    of the run and subtracts it after the last, in each of the ``2⌈r / s⌉ + 1`` rows it can
    reach; a cumulative sum along the rows then gives every cell's total (a difference
    array). The run ends come from the square root with a margin far above its rounding
    error (a few 1e-8 cells); the rare ends whose nearest centre lies within that margin of
    the circle (a point exactly at ``radius`` from a centre, as with integer coordinates) are
    decided by the exact test above. Counts, and sums of whole-number weights (below 2⁵³),
    are therefore exact. Other weights are added and subtracted along the row, so a cell
    carries rounding of the order of 1e-16 of the weights summed in its row (the convolution
    this replaced had the like); cells that should hold 0 may hold such a remainder.

    Examples
    --------
    >>> import numpy as np
    >>> g = Grid.from_bounds(0, 300_000, 1000, 301_000, cell_size=100)
    >>> d = density(np.array([450.0]), np.array([300_550.0]), g, radius=100)
    >>> round(float(d[4, 4] * np.pi * 0.01), 6)   # one point within 100 m of that centre
    1.0
    """
    if not (math.isfinite(radius) and radius > 0):
        raise ValueError(f"radius must be a positive number of metres, got {radius!r}")
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    w = None if weights is None else np.asarray(weights, dtype=float)
    s = grid.cell_size
    H, W = grid.shape
    rr = radius / s
    n = math.ceil(rr)  # rows a point can reach on either side of its own
    area_km2 = math.pi * radius**2 / 1e6
    u = (x - grid.x0) / s  # cells from the west edge
    v = (grid.y1 - y) / s  # cells from the north edge
    # points more than n + 1 cells outside the grid are farther than radius from every centre
    ok = (u >= -n - 1) & (u < W + n + 1) & (v >= -n - 1) & (v < H + n + 1)
    if w is not None:
        ok &= np.isfinite(w)
    keep = np.flatnonzero(ok)
    if keep.size == 0:
        return np.zeros(grid.shape)
    # the difference array: the grid padded so that every run fits in its own row
    pad = 2 * n + 3
    Hp, Wp = H + 2 * pad, W + 2 * pad
    row = np.floor(v[keep]).astype(np.int64) + pad  # padded row of each point
    # by row, so that each block of points touches a narrow band of the difference array
    # (a stable radix sort on 16 bits when the rows fit)
    order = np.argsort(row.astype(np.uint16) if Hp < 2**16 else row, kind="stable")
    keep, row = keep[order], row[order]
    xs_p = grid.x0 + (np.arange(-pad, Wp - pad) + 0.5) * s  # centres of the padded columns
    ys_p = grid.y1 - (np.arange(-pad, Hp - pad) + 0.5) * s  # and rows (as Grid.centres)
    px, py = x[keep], y[keep]
    pw = None if w is None else w[keep]
    # in cells, from the point to the centres of its own row (from the exact difference in
    # metres, so that the run ends below are off by rounding of dy, not of y itself)
    dy0 = (ys_p[row] - py) / s
    cx = (px - grid.x0) / s + (pad + 0.5)  # floor(cx - t): first padded column east of x - t
    # Margin in cells against rounding: t = sqrt(rr² - dy²) is off by at most about
    # sqrt(4 eps) (rr + 1) ≈ 2e-8 (rr + 1) (where t is small, at the top and bottom of the
    # circle), flat positions up to Hp * Wp by eps times that, and the float test
    # dx² + dy² <= r² departs from exact arithmetic only for centres within ~2e-8 rr of the
    # circle. The margin is ten times their sum; an end whose nearest centre lies within it
    # is decided by that test itself (_settle), every other one agrees with it.
    margin = 4e-7 * (rr + 1) + 1e-14 * Hp * Wp
    dtype = (np.int32 if px.size < 2**31 else np.int64) if pw is None else np.float64
    diff = np.zeros(Hp * Wp, dtype=dtype)
    ks = np.arange(-n, n + 1)
    K = ks.size
    step = max(1, _BLOCK // K)  # points per block
    chunk = max(step, _CHUNK // K)  # points per scatter
    buf_lo = np.empty(chunk * K, dtype=np.int64)  # the chunk's runs, block after block
    buf_end = np.empty(chunk * K, dtype=np.int64)
    buf_w = None if pw is None else np.empty(chunk * K)
    for a0 in range(0, px.size, chunk):
        a1 = min(a0 + chunk, px.size)
        # the chunk's rows (sorted) reach this band of the difference array
        base = (int(row[a0]) - n) * Wp
        band = (int(row[a1 - 1]) + n + 1) * Wp - base
        offset = cx[a0:a1] + (row[a0:a1] * Wp - base)
        filled = 0
        for b0 in range(a0, a1, step):
            b1 = min(b0 + step, a1)
            # row offsets that some point of the block reaches and that lie on the grid
            d = dy0[b0:b1]
            k0 = max(-n, pad - int(row[b1 - 1]), math.ceil(d.min() - rr - margin))
            k1 = min(n, pad + H - 1 - int(row[b0]), math.floor(d.max() + rr + margin))
            if k1 < k0:
                continue
            kb = ks[k0 + n:k1 + n + 1]
            shape = (kb.size, b1 - b0)
            stop = filled + kb.size * (b1 - b0)
            lo, end = buf_lo[filled:stop], buf_end[filled:stop]
            amb = _runs(d, offset[b0 - a0:b1 - a0], kb, Wp, rr, margin,
                        lo.reshape(shape), end.reshape(shape))
            if amb.any():
                _settle(np.flatnonzero(amb), lo, end, kb, row[b0:b1], px[b0:b1], py[b0:b1],
                        xs_p, ys_p, radius, base, Wp)
            if buf_w is not None:
                buf_w[filled:stop].reshape(shape)[:] = pw[b0:b1]
            filled = stop
        seg = diff[base:base + band]
        lo, end = buf_lo[:filled], buf_end[:filled]
        if buf_w is None:
            one = seg.dtype.type(1)
            np.add.at(seg, lo, one)
            np.subtract.at(seg, end, one)
        else:
            np.add.at(seg, lo, buf_w[:filled])
            np.subtract.at(seg, end, buf_w[:filled])
    total = diff.reshape(Hp, Wp)[pad:pad + H, :pad + W]
    np.cumsum(total, axis=1, dtype=dtype, out=total)
    total = total[:, pad:]
    if pw is None:
        return total / area_km2
    out = np.maximum(total, 0.0)
    out /= area_km2
    return out


#: Pairs of (point, row) per vectorised block, and per scatter into the difference array.
_BLOCK = 1 << 16
_CHUNK = 1 << 17


def _runs(dy0, offset, ks, Wp, rr, margin, lo, end):
    """The run of columns of each point in each of its rows, as flat indices [lo, end).

    ``lo`` and ``end`` (row offset by point) come from the square root widened by
    ``margin``; returns the pairs where a cell centre lies within ``margin`` of either end,
    left to :func:`_settle`.
    """
    t = dy0 - ks[:, None]  # dy in cells; rows by row offset, columns by point
    t *= t
    np.subtract(rr * rr, t, out=t)
    np.maximum(t, 0.0, out=t)  # rows beyond reach get an empty run
    np.sqrt(t, out=t)
    t += margin
    c = offset + (ks * Wp).astype(float)[:, None]
    f = c - t
    np.copyto(lo, f, casting="unsafe")  # floor: f > 0 by the padding
    f -= lo
    amb = f >= 1 - 2 * margin  # an integer within margin of x - t
    np.add(c, t, out=f)
    np.copyto(end, f, casting="unsafe")
    f -= end
    amb |= f < 2 * margin  # an integer within margin of x + t
    return amb.ravel()


def _settle(amb, lo, end, ks, row, px, py, xs_p, ys_p, radius, base, Wp):
    """Decide the runs flagged by :func:`_runs` with the exact test of :func:`density`.

    ``amb`` indexes the block's flattened (row offset, point) pairs. A run's first column
    stays if it passes the test, else the run starts one later; its last likewise. An end
    that was not in doubt passes anyway (or its run is empty, and stays so with
    ``end >= lo``), so both ends of a flagged pair can be tested.
    """
    npts = row.size
    k = amb // npts
    p = amb - k * npts
    r = row[p] + ks[k]
    dy = ys_p[r] - py[p]
    dy2 = dy * dy
    r2 = radius * radius
    first = lo[amb]
    dx = xs_p[first - (r * Wp - base)] - px[p]
    first += dx * dx + dy2 > r2
    stop = end[amb]
    dx = xs_p[stop - 1 - (r * Wp - base)] - px[p]
    stop -= dx * dx + dy2 > r2
    lo[amb] = first
    end[amb] = np.maximum(stop, first)


def count(
    x: np.ndarray,
    y: np.ndarray,
    grid: Grid,
    *,
    values: np.ndarray | None = None,
    statistic: str = "count",
) -> np.ndarray:
    """Per cell, the count of points in it, or the sum / mean / max of ``values``.

    Cells without points get 0 for ``count`` and ``sum`` and NaN for ``mean`` and ``max``.
    Points outside the grid, and non-finite ``values``, are left out.
    """
    if statistic not in ("count", "sum", "mean", "max"):
        raise ValueError(f"statistic must be count, sum, mean or max, got {statistic!r}")
    if statistic != "count" and values is None:
        raise ValueError(f"statistic {statistic!r} needs values")
    row, col, inside = grid.rowcol(x, y)
    flat = row[inside] * grid.width + col[inside]
    size = grid.width * grid.height
    if statistic == "count":
        if flat.size == 0:
            return np.zeros(grid.shape)  # (np.bincount of nothing is an integer array)
        if flat.size > size:  # more points than cells: integer counts and a float copy
            return np.bincount(flat, minlength=size).astype(float).reshape(grid.shape)
        # fewer: float counts straight from bincount, one grid-sized array, not an integer
        # one and its float copy (the grid dominates the time)
        return np.bincount(flat, weights=np.ones(flat.size), minlength=size).reshape(grid.shape)
    v = np.asarray(values, dtype=float)[inside]
    finite = np.isfinite(v)
    if not finite.all():
        flat, v = flat[finite], v[finite]
    if statistic == "sum":
        if flat.size == 0:
            return np.zeros(grid.shape)  # float, as above
        return np.bincount(flat, weights=v, minlength=size).reshape(grid.shape)
    out = np.full(size, np.nan)
    if statistic == "mean":
        total = np.bincount(flat, weights=v, minlength=size)
        n = np.bincount(flat, minlength=size)
        np.divide(total, n, out=out, where=n > 0)
    else:  # max: fmax ignores the NaN the cells start with
        np.fmax.at(out, flat, v)
    return out.reshape(grid.shape)


def coverage(
    polygons: np.ndarray, grid: Grid, *, supersample: int = 10, mode: str = "raster"
) -> np.ndarray:
    """Share (0–1) of each cell covered by the union of ``polygons``.

    ``raster`` burns the polygons onto sub-cells of ``cell_size / supersample`` (centre
    inside) and averages them per cell: error at most about one sub-cell row along each edge
    crossing the cell. ``exact`` intersects the union of the polygons with every cell (shapely).
    """
    polygons = np.asarray(polygons)
    if polygons.size == 0:
        return np.zeros(grid.shape)
    if mode == "exact":
        parts = shapely.get_parts(shapely.union_all(polygons))
        rows, cols = np.indices(grid.shape)
        boxes = grid.cell_polygons(rows.ravel(), cols.ravel())
        tree = shapely.STRtree(parts)
        ib, ip = tree.query(boxes, predicate="intersects")
        areas = shapely.area(shapely.intersection(boxes[ib], parts[ip]))
        cov = np.bincount(ib, weights=areas, minlength=boxes.size) / grid.cell_size**2
        return np.clip(cov, 0.0, 1.0).reshape(grid.shape)
    if mode != "raster":
        raise ValueError(f"mode must be 'raster' or 'exact', got {mode!r}")
    ss = int(supersample)
    grid.cell_size / ss
    out = np.zeros(grid.shape)
    # strips of rows keep memory flat at fine resolutions (≤ ~32 M sub-cells at a time)
    step = max(1, 32_000_000 // max(grid.width * ss * ss, 1))
    tree = shapely.STRtree(polygons)
    for r0 in range(0, grid.height, step):
        r1 = min(r0 + step, grid.height)
        sub = grid.subgrid(slice(r0, r1), slice(None))
        hits = tree.query(shapely.box(*sub.bounds))
        if hits.size == 0:
            continue
        burned = features.rasterize(
            ((g, 1) for g in polygons[hits]), out_shape=((r1 - r0) * ss, grid.width * ss),
            transform=sub.transform @ Affine.scale(1 / ss),
            fill=0, dtype="uint8",
        )
        out[r0:r1] = burned.reshape(r1 - r0, ss, grid.width, ss).mean(axis=(1, 3))
    return out


def attribute(
    polygons: np.ndarray, values: np.ndarray, grid: Grid, *, fill: float | None = None
) -> np.ndarray:
    """Value of the polygon covering each cell centre (``fill``, default NaN, elsewhere).

    Where polygons overlap, the later one in the file wins.
    """
    values = np.asarray(values, dtype=float)
    keep = np.isfinite(values)
    shapes = zip(np.asarray(polygons)[keep], values[keep], strict=True)
    fill_value = np.nan if fill is None else float(fill)
    if not keep.any():
        return np.full(grid.shape, fill_value)
    return features.rasterize(
        shapes, out_shape=grid.shape, transform=grid.transform, fill=fill_value,
        dtype="float64",
    )
