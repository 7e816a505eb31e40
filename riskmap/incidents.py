"""Police incidents: read, check and select (CSV, GeoPackage, GeoParquet).

Incidents are points with a date and optionally a type, a weight and an id. Coordinates come
as lon/lat (EPSG:4326) or as x/y in a CRS the user declares: riskmap never guesses the CRS of
x/y numbers. Every problem of a file is collected and reported at once:

* errors (nothing is computed): missing columns, x/y without a CRS, coordinate text that is
  not a number, dates that do not parse (count and first rows), most points outside the
  study area or the CRS's area of use (lon/lat swapped, wrong CRS), duplicate ids, an empty
  selection;
* warnings (the rows are dropped and counted): rows without coordinates, exact duplicate
  rows, a minority of points outside the study area.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS, Transformer

from riskmap.crs import is_undefined
from riskmap.errors import CRSError, InputError, Problems, RiskmapError, RiskmapWarning

__all__ = ["Incidents", "read_incidents"]

#: More than this share of points outside the study area is an error, not a warning.
MAX_OUTSIDE_SHARE = 0.5

#: Cell texts that mean "no value" (R and database exports write NA or NULL).
NA_VALUES = ["", "NA", "N/A", "NaN", "nan", "NULL", "null", "None"]


@dataclass(frozen=True)
class Incidents:
    """Incident points in a projected CRS, with dates (``datetime64[ns]``), types and weights."""

    x: np.ndarray
    y: np.ndarray
    date: np.ndarray
    weight: np.ndarray
    type: np.ndarray
    crs: CRS
    source: str = ""

    def __len__(self) -> int:  # noqa: D105
        return int(self.x.size)

    def _subset(self, keep: np.ndarray) -> Incidents:
        return replace(self, x=self.x[keep], y=self.y[keep], date=self.date[keep],
                       weight=self.weight[keep], type=self.type[keep])

    def select(self, *, start=None, end=None, types=None) -> Incidents:
        """Incidents with ``start <= date < end`` and of the given types."""
        keep = np.ones(len(self), dtype=bool)
        if start is not None:
            keep &= self.date >= np.datetime64(pd.Timestamp(start))
        if end is not None:
            keep &= self.date < np.datetime64(pd.Timestamp(end))
        if types:
            keep &= np.isin(self.type, list(types))
        return self._subset(keep)

    def within(self, area) -> Incidents:
        """Incidents inside the (multi)polygon ``area`` (same CRS)."""
        return self._subset(shapely.contains_xy(area, self.x, self.y))

    @property
    def period(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        """First and last date."""
        return pd.Timestamp(self.date.min()), pd.Timestamp(self.date.max())


def _parse_dates(df: pd.DataFrame, cols: list[str]) -> pd.Series:
    if len(cols) > 1:  # year, month, day[, hour, minute] in separate columns
        names = ["year", "month", "day", "hour", "minute", "second"][: len(cols)]
        parts = {n: pd.to_numeric(df[c], errors="coerce") for n, c in zip(names, cols,
                                                                           strict=True)}
        return pd.to_datetime(pd.DataFrame(parts), errors="coerce")
    raw = df[cols[0]]
    if pd.api.types.is_datetime64_any_dtype(raw):
        out = raw
    else:
        text = raw.astype("string").str.strip()
        out = pd.to_datetime(text, errors="coerce", format="ISO8601", utc=True)
        todo = out.isna() & text.notna()
        if todo.any():  # Dutch style 31-12-2020 or 31/12/2020 [hh:mm]
            out[todo] = pd.to_datetime(text[todo], errors="coerce", dayfirst=True,
                                       format="mixed", utc=True)
    if getattr(out.dt, "tz", None) is not None:
        out = out.dt.tz_convert("UTC").dt.tz_localize(None)
    return out


def _first(rows: np.ndarray, values: pd.Series, n: int = 5) -> str:
    idx = np.flatnonzero(rows)[:n]
    # row numbers as in the file: header is line 1, first data row line 2
    return ", ".join(f"line {i + 2}: {values.iloc[i]!r}" for i in idx)


def read_incidents(
    path: str | Path,
    *,
    date_col: str | list[str],
    target_crs: CRS,
    lon_col: str | None = None,
    lat_col: str | None = None,
    x_col: str | None = None,
    y_col: str | None = None,
    crs: str | None = None,
    type_col: str | None = None,
    weight_col: str | None = None,
    id_col: str | None = None,
    area=None,
) -> Incidents:
    """Read and check an incident file; return the points in ``target_crs``.

    Parameters
    ----------
    path : path
        CSV (optionally ``.gz``), GeoPackage or GeoParquet. For a GeoPackage or GeoParquet
        the points are the geometry and the file's CRS is used.
    date_col : str or list of str
        The date column (ISO dates or date-times, or Dutch ``31-12-2020 [hh:mm]``), or the
        columns holding year, month, day[, hour, minute] (e.g. Vancouver's open data).
    target_crs : pyproj.CRS
        The projected CRS of the analysis grid.
    lon_col, lat_col : str, optional
        Longitude and latitude in degrees (EPSG:4326).
    x_col, y_col : str, optional
        Projected coordinates; ``crs`` must then say which CRS they are in.
    crs : str, optional
        The CRS of ``x_col``/``y_col`` (e.g. ``"EPSG:28992"``). Never guessed.
    type_col, weight_col, id_col : str, optional
        Incident type (for filters), weight (default 1) and id (must be unique).
    area : shapely geometry, optional
        The study area in ``target_crs``: points outside it are dropped with a warning, and
        an error is raised when more than half of them fall outside.

    Examples
    --------
    >>> inc = read_incidents("data/incidents/cincinnati_burglary.csv.gz",
    ...                      date_col="offense_date", lon_col="longitude",
    ...                      lat_col="latitude", target_crs=CRS.from_epsg(32616))
    ... # doctest: +SKIP
    """
    from riskmap import io  # every file goes through io's checks (format, size, network)

    limits = io.current_limits()
    src = io.check_input(path, kinds=io.INCIDENT_SUFFIXES, what="incident file",
                         limits=limits)  # CSV: checked again in read_table (cheap)
    where = str(path).rstrip("/").rsplit("/", 1)[-1]
    date_cols = [date_col] if isinstance(date_col, str) else list(date_col)
    problems = Problems()
    suffix = io.suffix_of(path)
    if suffix in io.TABLE_SUFFIXES:
        if (lon_col is None) == (x_col is None):
            raise InputError(f"{where}: give either lon/lat columns (--lon-col/--lat-col) or "
                             "x/y columns with their CRS (--x-col/--y-col --crs).",
                             code="E-INCIDENTS-COORDS")
        if x_col is not None and crs is None:
            raise CRSError(f"{where}: x/y columns {x_col!r}/{y_col!r} were given without a "
                           "CRS. Say which CRS they are in, e.g. --crs EPSG:28992 (RD New) or "
                           "crs = \"EPSG:28992\" in [risk]; riskmap never guesses a CRS.",
                           code="E-CRS-MISSING")
        df = io.read_table(path, what="incident file", limits=limits, dtype=str,
                           keep_default_na=False, na_values=NA_VALUES)
        cx, cy = (lon_col, lat_col) if lon_col else (x_col, y_col)
        src_crs = CRS.from_epsg(4326) if lon_col else CRS.from_user_input(crs)
        needed = [cx, cy, *date_cols, type_col, weight_col, id_col]
    else:
        import geopandas as gpd

        try:
            if suffix == ".gpkg":
                io.check_feature_count(int(pyogrio.read_info(src, force_feature_count=True)
                                           ["features"]), what=where, limits=limits)
                gdf = gpd.read_file(src, engine="pyogrio")
            else:
                import pyarrow.parquet as pq

                io.check_feature_count(pq.ParquetFile(src).metadata.num_rows, what=where,
                                       limits=limits)
                gdf = gpd.read_parquet(src)
                if io.geoparquet_crs(src, what="incident file") is None:  # no CRS84 default
                    gdf = gdf.set_crs(None, allow_override=True)
        except RiskmapError:
            raise
        except Exception as exc:
            raise InputError(f"{where}: cannot be read ({exc}). Check that the file is complete "
                             "and not corrupt.", code="E-INPUT-READ") from None
        if is_undefined(gdf.crs):
            raise CRSError(f"{where} has no CRS. Fix the file; riskmap never guesses a CRS.",
                           code="E-CRS-MISSING")
        types = set(gdf.geom_type.dropna().unique()) - {"Point"}
        if types:
            raise InputError(f"{where}: incidents must be points, found {sorted(types)}. "
                             "Convert them to points (e.g. centroids) first.",
                             code="E-INPUT-GEOMTYPE")
        src_crs = gdf.crs
        df = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
        geom = gdf.geometry.values
        empty = shapely.is_missing(geom) | shapely.is_empty(geom)
        df["_x"] = np.where(empty, np.nan, shapely.get_x(geom))
        df["_y"] = np.where(empty, np.nan, shapely.get_y(geom))
        cx, cy = "_x", "_y"
        needed = [*date_cols, type_col, weight_col, id_col]
    missing = [c for c in needed if c is not None and c not in df.columns]
    if missing:
        raise InputError(f"{where}: column(s) {', '.join(map(repr, missing))} not found. "
                         f"Columns in the file: {', '.join(map(str, df.columns))}.",
                         code="E-INPUT-COLUMN")
    if len(df) == 0:
        raise InputError(f"{where} holds no incidents.", code="E-INCIDENTS-EMPTY")

    # coordinates
    xs = pd.to_numeric(df[cx], errors="coerce")
    ys = pd.to_numeric(df[cy], errors="coerce")
    blank = df[cx].isna() | df[cy].isna()
    bad_num = (xs.isna() | ys.isna()) & ~blank
    if bad_num.any():
        col = cx if xs[bad_num].isna().any() else cy
        problems.add("E-INCIDENTS-COORDS", f"{int(bad_num.sum())} coordinates are not numbers "
                     f"({_first(bad_num.to_numpy(), df[col])})", where=f"{where}, column {col}",
                     fix="use a dot as decimal separator and only digits.")
    inf = ~np.isfinite(xs.fillna(0)) | ~np.isfinite(ys.fillna(0))
    if inf.any():
        col = cx if (~np.isfinite(xs.fillna(0))).any() else cy
        problems.add("E-INCIDENTS-COORDS", f"{int(inf.sum())} coordinates are infinite "
                     f"({_first(inf.to_numpy(), df[col])})", where=f"{where}, column {col}",
                     fix="remove or repair those rows.")
    # dates
    dates = _parse_dates(df, date_cols)
    raw_dates = df[date_cols].isna().any(axis=1)
    bad_date = dates.isna().to_numpy()
    if bad_date.any():
        shown = df[date_cols[0]]
        problems.add("E-INCIDENTS-DATE", f"{int(bad_date.sum())} of {len(df)} dates are "
                     f"{'missing or ' if raw_dates.any() else ''}not parseable "
                     f"({_first(bad_date, shown)})",
                     where=f"{where}, column {'/'.join(date_cols)}",
                     fix="use ISO dates (2020-12-31 or 2020-12-31T23:30) or Dutch dates "
                         "(31-12-2020).")
    if weight_col:
        w = pd.to_numeric(df[weight_col], errors="coerce")
        bad_w = w.isna() | (w < 0) | ~np.isfinite(w.fillna(0))
        if bad_w.any():
            problems.add("E-INCIDENTS-WEIGHT", f"{int(bad_w.sum())} weights are missing, "
                         f"negative or not numbers ({_first(bad_w.to_numpy(), df[weight_col])})",
                         where=f"{where}, column {weight_col}", fix="use numbers of 0 or more.")
        weight = w.fillna(0).to_numpy(dtype=float)
    else:
        weight = np.ones(len(df))
    if id_col:
        dup = df[id_col].duplicated(keep=False) & df[id_col].notna()
        if dup.any():
            problems.add("E-INCIDENTS-DUPLICATE", f"{int(df[id_col][dup].nunique())} ids occur "
                         f"more than once (e.g. {df[id_col][dup].iloc[0]!r})",
                         where=f"{where}, column {id_col}",
                         fix="give every incident its own id, or leave the id column out.")
    problems.raise_if_any(InputError, title=f"{where}: {len(problems)} problem(s)")

    # rows without coordinates and exact duplicates: dropped, counted
    keep = ~blank.to_numpy()
    if blank.any():
        warnings.warn(f"{where}: {int(blank.sum())} of {len(df)} incidents have no coordinates "
                      "and are left out.", RiskmapWarning, stacklevel=2)
    dup_rows = df.duplicated().to_numpy() & keep
    if dup_rows.any():
        warnings.warn(f"{where}: {int(dup_rows.sum())} rows are exact duplicates of an earlier "
                      "row and are left out.", RiskmapWarning, stacklevel=2)
        keep &= ~dup_rows
    x0, y0 = xs.to_numpy(dtype=float)[keep], ys.to_numpy(dtype=float)[keep]
    # area of use of the source CRS (lon/lat swapped, RD numbers labelled lon/lat …)
    aou = src_crs.area_of_use
    if aou is not None:
        if src_crs.is_geographic:
            lon, lat = x0, y0
        else:
            lon, lat = Transformer.from_crs(src_crs, 4326, always_xy=True).transform(x0, y0)
        m = 0.5
        outside = ~((lon >= aou.west - m) & (lon <= aou.east + m) & (lat >= aou.south - m)
                    & (lat <= aou.north + m))
        if outside.mean() > MAX_OUTSIDE_SHARE:
            hint = ""
            if lon_col and np.mean((np.abs(x0) <= 90) & (np.abs(y0) <= 180)) > 0.9:
                hint = " Are longitude and latitude swapped?"
            raise CRSError(f"{where}: {outside.mean():.0%} of the points fall outside the area of "
                           f"use of {src_crs.to_string()} ({aou.name}).{hint} Check the "
                           "coordinate columns and their CRS.", code="E-CRS-BOUNDS")
    tx, ty = (x0, y0) if src_crs.equals(target_crs) else Transformer.from_crs(
        src_crs, target_crs, always_xy=True).transform(x0, y0)
    tx, ty = np.asarray(tx, dtype=float), np.asarray(ty, dtype=float)
    type_arr = (df[type_col].astype(str).to_numpy()[keep] if type_col
                else np.full(keep.sum(), "", dtype=object))
    inc = Incidents(x=tx, y=ty, date=dates.to_numpy(dtype="datetime64[ns]")[keep],
                    weight=weight[keep], type=type_arr, crs=target_crs, source=where)
    if area is not None:
        inside = shapely.contains_xy(area, inc.x, inc.y)
        share_out = 1 - inside.mean() if len(inc) else 0.0
        if share_out > MAX_OUTSIDE_SHARE:
            hint = (" Are longitude and latitude swapped?" if lon_col else
                    " Is the CRS of the x/y columns right?")
            raise InputError(f"{where}: {share_out:.0%} of the incidents fall outside the study "
                             f"area.{hint} Check the coordinates, or the region/area file.",
                             code="E-INCIDENTS-OUTSIDE")
        if share_out > 0:
            warnings.warn(f"{where}: {int((~inside).sum())} of {len(inc)} incidents fall outside "
                          "the study area and are left out.", RiskmapWarning, stacklevel=2)
        inc = inc._subset(inside)
    return inc
