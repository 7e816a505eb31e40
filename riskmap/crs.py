"""Coordinate reference systems: never guess, reproject a known CRS, check the numbers fit it."""

from __future__ import annotations

import functools

import numpy as np
from pyproj import CRS, Transformer

from riskmap.errors import CRSError, GridError

__all__ = ["RD_NEW", "check_area_of_use", "check_metric", "is_undefined", "to_crs"]

RD_NEW = CRS.from_epsg(28992)

# Margin (degrees) around a CRS's area of use before coordinates count as "outside" it.
_AREA_MARGIN_DEG = 0.5


def is_undefined(crs: CRS | None) -> bool:
    """True for no CRS and for GeoPackage's placeholders that only say "unknown".

    A GeoPackage layer with ``srs_id`` 0 or -1 reports "Undefined geographic SRS" or
    "Undefined Cartesian SRS" (a LOCAL_CS): that is a missing CRS, not a CRS.
    """
    if crs is None:
        return True
    return crs.is_engineering or crs.name.lower().startswith(("undefined", "unknown"))


def check_metric(crs: CRS | str | int, *, where: str = "[region] crs") -> CRS:
    """Return ``crs`` as a pyproj CRS if it is projected with metre units, else raise.

    Parameters
    ----------
    crs : pyproj.CRS, str or int
        Anything :meth:`pyproj.CRS.from_user_input` understands, e.g. ``"EPSG:28992"``.
    where : str
        Where the CRS came from, for the error message.
    """
    try:
        crs = CRS.from_user_input(crs)
    except Exception as exc:  # pyproj raises its own CRSError subclasses
        raise GridError(
            f"{where}: {crs!r} is not a CRS pyproj knows ({exc}). "
            'Use an EPSG code such as "EPSG:28992" (RD New) or "EPSG:32610" (UTM 10N).',
            code="E-GRID-CRS",
        ) from None
    units = {ax.unit_name for ax in crs.axis_info}
    if not crs.is_projected or units - {"metre", "meter"}:
        raise GridError(
            f"{where}: {crs.to_string()} is not a projected CRS in metres (units: "
            f"{', '.join(sorted(units))}). Grid cells are squares in metres: use RD New "
            '("EPSG:28992") in the Netherlands or the UTM zone of the region abroad.',
            code="E-GRID-CRS",
        )
    return crs


@functools.lru_cache(maxsize=64)
def transformer(src, dst) -> Transformer:
    """A cached ``Transformer.from_crs(src, dst, always_xy=True)`` (making one takes ~10 ms,
    and a partitioned run reads every source once per municipality)."""
    return Transformer.from_crs(src, dst, always_xy=True)


def check_area_of_use(
    xmin: float, ymin: float, xmax: float, ymax: float, crs: CRS, *, where: str
) -> None:
    """Raise :class:`CRSError` when a bounding box lies outside the area of use of ``crs``.

    Catches the classic mistakes: lon/lat numbers labelled as RD New (they reproject to a
    point in France), coordinates of 1e20, NaN or infinite coordinates.
    """
    bounds = np.array([xmin, ymin, xmax, ymax], dtype=float)
    name = crs.to_string()
    if not np.isfinite(bounds).all():
        raise CRSError(
            f"{where}: coordinates are NaN or infinite (bounds {bounds.tolist()}). "
            "Remove the features with missing coordinates or repair the file.",
            code="E-CRS-BOUNDS",
        )
    aou = crs.area_of_use
    if aou is None:
        return
    lon_lat = CRS.from_epsg(4326)
    if crs.is_geographic:
        w, s, e, n = xmin, ymin, xmax, ymax
    else:
        tr = transformer(crs, lon_lat)
        with np.errstate(all="ignore"):
            w, s, e, n = tr.transform_bounds(xmin, ymin, xmax, ymax, errcheck=False)
    m = _AREA_MARGIN_DEG
    inside = (
        np.isfinite([w, s, e, n]).all()
        and w >= aou.west - m
        and e <= aou.east + m
        and s >= aou.south - m
        and n <= aou.north + m
    )
    if not inside:
        hint = ""
        if crs.equals(RD_NEW) and abs(xmax) <= 180 and abs(ymax) <= 90:
            hint = (
                " These look like lon/lat degrees labelled as RD New: declare "
                'crs = "EPSG:4326" or fix the CRS in the file.'
            )
        raise CRSError(
            f"{where}: coordinates (bounds {xmin:.6g}, {ymin:.6g}, {xmax:.6g}, {ymax:.6g}) "
            f"fall outside the area of use of {name} ({aou.name}: lon {aou.west}..{aou.east}, "
            f"lat {aou.south}..{aou.north}).{hint} Check that the file's CRS matches its "
            "coordinates; riskmap never guesses a CRS.",
            code="E-CRS-BOUNDS",
        )


def to_crs(gdf, crs: CRS, *, where: str):
    """Return ``gdf`` in ``crs``; reproject a known CRS, never guess a missing one."""
    if gdf.crs is None:
        raise CRSError(
            f"{where} has no CRS. Fix the file, or declare it in the layer config: "
            'crs = "EPSG:28992" (RD New) or crs = "EPSG:4326" (GPS lon/lat).',
            code="E-CRS-MISSING",
        )
    return gdf if gdf.crs.equals(crs) else gdf.to_crs(crs)
