"""Combined maps: opportunity × risk on the same cells, bivariate classes and named zones.

The RIEC practice "gemeentelijke gelegenheidskaarten en risicokaarten van de politie
combineren": controls go where opportunity and risk meet, and the places with much
opportunity but little police information (the rural *blinde vlek*) become visible.

* Each map is cut into terciles within the municipality (or fixed breaks; the risk terciles
  are those of the cells with a positive risk, cells without are low); the bivariate class
  is ``3 × (risk tercile − 1) + opportunity tercile`` (1 … 9).
* The combined score is the geometric mean √(opportunity × risk), 0–1.
* Zones: ``prioriteit`` (opportunity and risk both in the top tercile), ``blinde vlek``
  (top opportunity tercile, bottom risk tercile — which includes cells without enough
  police information) and ``risico`` (top risk tercile, bottom opportunity tercile).
  Adjacent cells (sharing an edge) of one zone form one polygon.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import shapely
from rasterio import features
from scipy import ndimage

from riskmap.errors import GridError
from riskmap.grid import Grid

__all__ = ["ZONES", "Overlay", "combine", "terciles"]

#: Zone codes and their Dutch names.
ZONES = {1: "prioriteit", 2: "blinde vlek", 3: "risico"}


@dataclass
class Overlay:
    """The combined map of one municipality (arrays on ``grid``; 0 / NaN outside ``mask``)."""

    code: str
    name: str
    grid: Grid
    mask: np.ndarray
    opportunity_class: np.ndarray
    risk_class: np.ndarray
    bivariate: np.ndarray
    combined: np.ndarray
    zone: np.ndarray
    zones: gpd.GeoDataFrame
    breaks: dict = field(default_factory=dict)


def terciles(values: np.ndarray, mask: np.ndarray, *, breaks: list[float] | None = None,
             positive_only: bool = False) -> tuple[np.ndarray, list[float]]:
    """Tercile class 1–3 of ``values`` within ``mask`` (0 outside), and the two breaks.

    Quantile breaks at 1/3 and 2/3 of the values in the mask (with ``positive_only``: of the
    values above 0, so that cells without a score — no or suppressed police information —
    do not pull the breaks to 0; they are class 1), or the fixed ``breaks``; a value equal
    to a break goes to the lower class.
    """
    v = values[mask]
    ref = v[v > 0] if positive_only else v
    if breaks is None:
        b = ([float(np.quantile(ref, 1 / 3)), float(np.quantile(ref, 2 / 3))] if ref.size
             else [0.0, 0.0])
    else:
        b = [float(x) for x in breaks]
    cls = np.zeros(values.shape, dtype=np.int8)
    cls[mask] = 1 + np.searchsorted(b, v, side="left")
    return cls, b


def _check_same_grid(a: Grid, b: Grid, what_a: str, what_b: str) -> None:
    same = (a.crs.equals(b.crs) and a.shape == b.shape and a.cell_size == b.cell_size
            and abs(a.x0 - b.x0) < 1e-6 and abs(a.y1 - b.y1) < 1e-6)
    if not same:
        raise GridError(
            f"{what_a} and {what_b} are not on the same grid: {what_a} has {a.width} x "
            f"{a.height} cells of {a.cell_size:g} m from ({a.x0:.0f}, {a.y1:.0f}) in "
            f"{a.crs.to_string()}, {what_b} has {b.width} x {b.height} cells of "
            f"{b.cell_size:g} m from ({b.x0:.0f}, {b.y1:.0f}) in {b.crs.to_string()}. Make both "
            "from the same project (same [region] cell_size and crs).",
            code="E-GRID-MISMATCH")


def combine(
    opportunity: np.ndarray,
    risk: np.ndarray,
    *,
    grid: Grid,
    mask: np.ndarray,
    risk_grid: Grid | None = None,
    code: str = "",
    name: str = "",
    contributions: dict[str, np.ndarray] | None = None,
    opportunity_breaks: list[float] | None = None,
    risk_breaks: list[float] | None = None,
) -> Overlay:
    """Bivariate classes, combined score and zones of one municipality.

    Parameters
    ----------
    opportunity, risk : ndarray
        Scores in [0, 1] on ``grid`` (NaN outside the municipality is fine).
    grid : Grid
        The grid of both arrays; ``risk_grid``, when given, must be the same grid.
    mask : ndarray of bool
        The municipality's cells.
    contributions : dict of str to ndarray, optional
        Per-indicator contributions to the opportunity score: their mean per zone polygon
        goes into the zone table.
    opportunity_breaks, risk_breaks : list of two floats, optional
        Fixed tercile breaks instead of the terciles within the municipality.

    Returns
    -------
    Overlay
        With ``zones``: one polygon per connected group of cells of one zone, with
        ``zone``, ``zone_naam``, ``cellen``, ``oppervlakte_ha``, ``aandeel_gemeente``
        (share of the municipality's cells), ``centroid_x``, ``centroid_y`` and
        ``mean_<contribution>`` columns.
    """
    if risk_grid is not None:
        _check_same_grid(grid, risk_grid, "the opportunity map", "the risk map")
    if opportunity.shape != grid.shape or risk.shape != grid.shape:
        raise GridError(f"opportunity {opportunity.shape} and risk {risk.shape} arrays do not "
                        f"have the grid's shape {grid.shape}.", code="E-GRID-MISMATCH")
    o = np.where(mask, np.nan_to_num(opportunity, nan=0.0), 0.0)
    r = np.where(mask, np.nan_to_num(risk, nan=0.0), 0.0)
    oc, ob = terciles(o, mask, breaks=opportunity_breaks)
    rc, rb = terciles(r, mask, breaks=risk_breaks, positive_only=True)
    biv = np.where(mask, 3 * (rc - 1) + oc, 0).astype(np.int8)
    combined = np.where(mask, np.sqrt(np.clip(o, 0, 1) * np.clip(r, 0, 1)), np.nan)
    zone = np.zeros(grid.shape, dtype=np.int8)
    zone[mask & (oc == 3) & (rc == 3)] = 1
    zone[mask & (oc == 3) & (rc == 1)] = 2
    zone[mask & (rc == 3) & (oc == 1)] = 3
    zones = _zone_polygons(zone, grid, mask, contributions or {}, code=code)
    return Overlay(code=code, name=name, grid=grid, mask=mask, opportunity_class=oc,
                   risk_class=rc, bivariate=biv, combined=combined, zone=zone, zones=zones,
                   breaks={"opportunity": ob, "risk": rb})


def _zone_polygons(zone: np.ndarray, grid: Grid, mask: np.ndarray,
                   contributions: dict[str, np.ndarray], *, code: str) -> gpd.GeoDataFrame:
    """Connected groups of zone cells (edge neighbours) as polygons with their statistics."""
    labels = np.zeros(zone.shape, dtype=np.int32)
    kinds: list[int] = []
    offset = 0
    four = ndimage.generate_binary_structure(2, 1)
    for z in ZONES:  # three zone kinds, not a loop over cells
        lab, n = ndimage.label(zone == z, structure=four)
        labels[lab > 0] = lab[lab > 0] + offset
        kinds += [z] * n
        offset += n
    columns = ["statcode", "zone", "zone_naam", "cellen", "oppervlakte_ha",
               "aandeel_gemeente", "centroid_x", "centroid_y",
               *(f"gem_{k}" for k in contributions)]
    if offset == 0:
        return gpd.GeoDataFrame({c: [] for c in columns}, geometry=[], crs=grid.crs)
    geoms: dict[int, list] = {}
    for geom, value in features.shapes(labels, mask=labels > 0, connectivity=4,
                                       transform=grid.transform):
        geoms.setdefault(int(value), []).append(shapely.geometry.shape(geom))
    ids = np.arange(1, offset + 1)
    polys = [shapely.union_all(geoms[i]) if len(geoms[i]) > 1 else geoms[i][0] for i in ids]
    flat = labels.ravel()
    n_cells = np.bincount(flat, minlength=offset + 1)[1:]
    cell_ha = grid.cell_size**2 / 1e4
    data = {
        "statcode": [code] * offset,
        "zone": np.asarray(kinds, dtype=np.int8),
        "zone_naam": [ZONES[k] for k in kinds],
        "cellen": n_cells,
        "oppervlakte_ha": n_cells * cell_ha,
        "aandeel_gemeente": n_cells / max(int(mask.sum()), 1),
    }
    c = shapely.centroid(np.asarray(polys, dtype=object))
    data["centroid_x"] = shapely.get_x(c)
    data["centroid_y"] = shapely.get_y(c)
    for k, arr in contributions.items():
        sums = np.bincount(flat, weights=np.nan_to_num(arr, nan=0.0).ravel(),
                           minlength=offset + 1)[1:]
        data[f"gem_{k}"] = sums / n_cells
    return gpd.GeoDataFrame(data, geometry=polys, crs=grid.crs)
