"""The stages wired together: project file → sources → measures → maps → files.

Stages (``grid``, ``indicators``, ``opportunity``) work on arrays and GeoDataFrames and never
touch files; this module reads the sources (through :mod:`riskmap.io`), runs the stages and
writes the deliverables. A notebook user can call each function alone.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io as io_lib
import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from tqdm.auto import tqdm

from riskmap import clock, indicators, io, opportunity
from riskmap.config import IndicatorSpec, LayerSet, Project
from riskmap.crs import check_metric
from riskmap.engine import Pending
from riskmap.errors import ConfigError, InputError, PrivacyError, Problems, RiskmapError
from riskmap.grid import Grid, Region, make_region

__all__ = [
    "check_outputs",
    "compute_measures",
    "input_entry",
    "input_files",
    "load_region",
    "opportunity_maps",
    "provenance",
    "provenance_text",
    "read_source",
    "validate",
    "write_opportunity",
    "write_sidecar",
]

AUDIENCE_OPPORTUNITY = "public"  # opportunity maps hold no police information
#: PNG text chunks of the matplotlib figures: none (matplotlib would name its version).
PNG_METADATA = {"Software": None}


def load_region(project: Project) -> Region:
    """Read the project's municipalities and build the region grid."""
    spec = project.region
    crs = check_metric(spec.crs, where=f"{project.path} [region] crs")
    what = f"{project.path} [region] municipalities"
    gm = io.read_vector(project.municipalities_path, crs=crs, layer=spec.layer,
                        columns=[spec.id_column, spec.name_column], what=what)
    return make_region(gm, id_column=spec.id_column, name_column=spec.name_column,
                       cell_size=spec.cell_size, crs=crs, halo=spec.halo_m,
                       source=project.municipalities_path.name)


def _label(ls: LayerSet, i: int, ind: IndicatorSpec) -> str:
    return f"{ls.path or ls.theme} [[indicator]] #{i + 1} ({ind.name})"


def _grid_of(where: Region | Grid) -> Grid:
    return where if isinstance(where, Grid) else where.grid


#: Measures of points (centroids for lines and polygons): their sources are read as arrays.
POINT_MEASURES = ("density", "count")


def read_source(project: Project, ind: IndicatorSpec, region: Region | Grid, *,
                what: str = "", partition: bool = False):
    """Read what an indicator measures on the region's (or a partition's) grid.

    A GeoDataFrame of the features up to ``pad_m`` beyond the grid (:class:`riskmap.io.Points`
    for the :data:`POINT_MEASURES`), or an array for ``raster``. For a ``partition`` (one
    municipality's grid) no features is a normal answer.
    """
    path = project.source_path(ind.source)
    what = what or ind.name
    grid = _grid_of(region)
    if ind.measure == "raster":
        return io.read_raster_to_grid(path, grid, resampling=ind.resampling,
                                      declared_crs=ind.source.crs, what=what)
    xmin, ymin, xmax, ymax = grid.bounds
    pad = ind.pad_m
    columns = [ind.field] if ind.field else []
    gdf = io.read_vector(path, crs=grid.crs, layer=ind.source.layer, where=ind.source.where,
                         declared_crs=ind.source.crs, bbox=(xmin - pad, ymin - pad,
                                                            xmax + pad, ymax + pad),
                         columns=columns, repair=ind.source.repair, what=what,
                         empty_ok=partition, as_points=ind.measure in POINT_MEASURES)
    if ind.field:
        col = (gdf.data if isinstance(gdf, io.Points) else gdf)[ind.field]
        if not pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
            raise InputError(f"{what}: column {ind.field!r} of {path.name} holds "
                             f"{col.dtype} values, not numbers. Use a numeric column.",
                             code="E-INPUT-COLUMNTYPE")
    if ind.measure in ("coverage", "attribute"):
        types = set(gdf.geom_type.unique()) - {"Polygon", "MultiPolygon"}
        if types:
            raise InputError(f"{what}: measure {ind.measure!r} needs polygons, but "
                             f"{path.name} has {', '.join(sorted(types))} geometries.",
                             code="E-INPUT-GEOMTYPE")
    return gdf


def measure(ind: IndicatorSpec, data, region: Region | Grid) -> np.ndarray:
    """The raw measure of one indicator on the region's (or a partition's) grid."""
    grid = _grid_of(region)
    if ind.measure == "raster":
        return data if ind.fill is None else np.where(np.isnan(data), ind.fill, data)
    if isinstance(data, io.Points):
        x, y = data.x, data.y
        values = data.data[ind.field].to_numpy(dtype=float) if ind.field else None
    else:
        geoms = data.geometry.values
        values = data[ind.field].to_numpy(dtype=float) if ind.field else None
    if ind.measure == "distance":
        return indicators.distance(geoms, grid, max_distance=ind.pad_m, mode=ind.mode)
    if ind.measure == "coverage":
        return indicators.coverage(geoms, grid, supersample=ind.supersample, mode=ind.mode)
    if ind.measure == "attribute":
        return indicators.attribute(geoms, values, grid, fill=ind.fill)
    if ind.measure == "density":
        w = values if ind.statistic == "sum" else None
        return indicators.density(x, y, grid, radius=ind.radius_m, weights=w)
    if ind.measure == "count":
        return indicators.count(x, y, grid, values=values, statistic=ind.statistic)
    raise ValueError(f"unknown measure {ind.measure!r}")  # pragma: no cover (schema)


def _key(ind: IndicatorSpec) -> str:
    """Indicators with the same source, measure and parameters share one computation."""
    d = ind.model_dump(exclude={"name", "label", "transform", "direction", "weight",
                                "rationale"})
    return json.dumps(d, sort_keys=True, default=str)


def _jobs(project: Project) -> list[tuple[LayerSet, int, IndicatorSpec]]:
    return [(ls, i, ind) for ls in project.layer_sets for i, ind in enumerate(ls.indicator)]


def compute_measures(project: Project, region: Region, *, progress: bool = False,
                     engine=None, codes: Iterable[str] | None = None, wait: bool = True
                     ) -> dict[str, dict[str, np.ndarray]] | Pending:
    """Raw measure arrays on the region grid: ``measures[theme][indicator]``.

    Every source is read and checked first, and all problems are reported together. With a
    partitioned ``engine`` (:mod:`riskmap.engine`) every municipality of ``codes`` (default:
    all) is measured on its own window and the windows are put together; cells outside
    every municipality are NaN then. With ``wait=False`` the measures are computed on the
    engine's workers while the caller goes on: a :class:`~riskmap.engine.Pending` of them.
    """
    if engine is not None and engine.partitioned:
        pending = _measures_partitioned(project, region, engine, codes=codes,
                                        progress=progress)
    else:
        pending = _measures_on(project, region.grid, progress=progress, engine=engine,
                               wait=False)
    return pending.result() if wait else pending


def _measures_partitioned(project: Project, region: Region, engine, *, codes=None,
                          progress: bool = False) -> Pending:
    from riskmap.engine import partitions

    parts = partitions(region, codes)
    fn = partial(_partition_measures, project=project, grid=region.grid)

    def assemble(results: list) -> dict[str, dict[str, np.ndarray]]:
        # rasters are resampled once onto the region grid: GDAL's warper gives slightly
        # other averages for another output window, and a raster source is small anyway
        raster = _measures_on(project, region.grid, only="raster")
        full = {_key(ind): raster[ls.theme][ind.name] for ls, _, ind in _jobs(project)
                if ind.measure == "raster"}
        for part, res in zip(parts, results, strict=True):
            mask = region.mask(part.code)
            for key, arr in res.items():
                if key not in full:
                    full[key] = np.full(region.grid.shape, np.nan)
                full[key][part.rows, part.cols][mask] = arr[mask]
        return {ls.theme: {ind.name: full[_key(ind)] for ind in ls.indicator}
                for ls in project.layer_sets}

    return engine.submit(fn, parts, desc="indicatoren per gemeente",
                         progress=progress).then(assemble)


def _partition_measures(part, *, project: Project, grid: Grid) -> dict[str, np.ndarray]:
    """One municipality's raw measures, keyed by :func:`_key` (runs on a worker)."""
    flat = _measures_on(project, grid.subgrid(part.rows, part.cols), skip="raster",
                        partition=True)
    return {_key(ind): flat[ls.theme][ind.name] for ls, _, ind in _jobs(project)
            if ind.measure != "raster"}


def _measures_on(project: Project, grid: Grid, *, progress: bool = False,
                 only: str | None = None, skip: str | None = None, partition: bool = False,
                 engine=None, wait: bool = True) -> dict[str, dict[str, np.ndarray]] | Pending:
    """Raw measures on ``grid``; indicators with the same :func:`_key` share one computation.

    Every source is read and measured (on the ``engine``'s worker processes when it has
    them), and all problems are reported together. ``wait=False``: a
    :class:`~riskmap.engine.Pending` of them.
    """
    jobs = [(ls, i, ind) for ls, i, ind in _jobs(project)
            if (only is None or ind.measure == only) and ind.measure != skip]
    first: dict[str, tuple] = {}
    for job in jobs:
        first.setdefault(_key(job[2]), job)
    fn = partial(_measure_job, project=project, grid=grid, partition=partition)
    if engine is not None and getattr(engine, "workers", 1) > 1:
        # the largest sources first, so that no worker starts a long read at the end
        pending = _largest_first(engine, fn, list(first.values()),
                                 cost=lambda job: _source_bytes(project, job[2]),
                                 desc="indicatoren", progress=progress)
    else:
        pending = Pending.done([fn(job) for job in tqdm(first.values(), desc="indicatoren",
                                                        disable=not progress)])

    def assemble(results: list) -> dict[str, dict[str, np.ndarray]]:
        problems = Problems()
        for res in results:
            if isinstance(res, RiskmapError):
                problems.absorb(res)
        problems.raise_if_any(InputError,
                              title=f"{len(problems)} problem(s) with the sources")
        done = dict(zip(first, results, strict=True))
        out: dict[str, dict[str, np.ndarray]] = {ls.theme: {} for ls in project.layer_sets}
        for ls, _, ind in jobs:
            out[ls.theme][ind.name] = done[_key(ind)]
        return out

    pending = pending.then(assemble)
    return pending.result() if wait else pending


def _source_bytes(project: Project, ind: IndicatorSpec) -> int:
    """The size of an indicator's source file (0 when it is not a local file)."""
    path = project.source_path(ind.source)
    try:
        return 0 if io.is_remote(path) else Path(path).stat().st_size
    except OSError:
        return 0  # reported by the reader


def _measure_job(job, *, project: Project, grid: Grid, partition: bool
                 ) -> np.ndarray | RiskmapError:
    """Read one indicator's source and measure it; a problem is returned, not raised, so
    that the problems of all sources are reported together."""
    ls, i, ind = job
    try:
        data = read_source(project, ind, grid, what=_label(ls, i, ind), partition=partition)
    except RiskmapError as exc:
        return exc
    return measure(ind, data, grid)


def validate(project: Project) -> list[str]:
    """Check the region, every source file, layer, column, filter and CRS without computing.

    Returns a short summary; raises a :class:`RiskmapError` listing every problem found.
    """
    region = load_region(project)
    problems = Problems()
    n = 0
    for ls in project.layer_sets:
        for i, ind in enumerate(ls.indicator):
            n += 1
            try:
                read_source(project, ind, region, what=_label(ls, i, ind))
            except RiskmapError as exc:
                problems.absorb(exc)
    risk_line = None
    if project.risk is not None:
        try:
            if project.risk.layer is not None:
                _ready_layer(project, region)
                risk_line = f"risk: ready police layer {project.risk.layer.file} readable"
            else:
                inc = read_project_incidents(project, region)
                first, last = inc.period
                risk_line = (f"risk: {len(inc)} incidents from {first.date()} to {last.date()}"
                             " readable")
        except RiskmapError as exc:
            problems.absorb(exc)
    scoring_line = None
    if project.scoring is not None:
        spec = project.scoring
        try:
            cols = [spec.id_column, *[f.column for f in spec.feature if f.kind == "column"]]
            prem = io.read_vector(project.path_of(spec.premises), crs=region.grid.crs,
                                  layer=spec.layer, where=spec.where, columns=cols,
                                  what=f"{project.path} [scoring] premises")
            if spec.estates:
                io.read_vector(project.path_of(spec.estates), crs=region.grid.crs,
                               layer=spec.estates_layer, columns=[spec.estates_id_column],
                               what=f"{project.path} [scoring] estates")
            if spec.signals:
                _read_table(project, spec.signals, required=["premise_id", "datum"],
                            what=f"{project.path} [scoring] signals")
            read_inspections(project)
            scoring_line = f"scoring: {len(prem)} premises readable, {len(spec.feature)} features"
        except RiskmapError as exc:
            problems.absorb(exc)
    problems.raise_if_any(InputError, title=f"{project.path}: {len(problems)} problem(s)")
    g = region.grid
    lines = [
        f"project {project.path}: valid",
        f"region: {len(region.codes)} municipalities, grid {g.width} x {g.height} cells of "
        f"{g.cell_size:g} m in {g.crs.to_string()}",
    ]
    if project.opportunity is not None:
        lines.append(f"opportunity: {len(project.layer_sets)} theme(s), {n} indicators, all "
                     "sources readable")
    if risk_line:
        lines.append(risk_line)
    if scoring_line:
        lines.append(scoring_line)
    return lines


def opportunity_maps(project: Project, *, municipalities: Iterable[str] = (),
                     region: Region | None = None, progress: bool = False, engine=None,
                     measures: dict[str, dict[str, np.ndarray]] | None = None
                     ) -> tuple[Region, list[opportunity.OpportunityMap]]:
    """Load, measure and combine: the opportunity maps of the selected municipalities.

    ``engine``: where the measures are computed (:mod:`riskmap.engine`; default here).
    ``measures``: the measures of :func:`compute_measures`, when they are computed already.
    """
    if project.opportunity is None:
        raise ConfigError(f"{project.path} has no [opportunity] table. Add one with "
                          'layers = ["layers/buitengebied.toml"].', code="E-CONFIG-MISSING")
    region = region or load_region(project)
    codes = region.select(list(municipalities))
    spec = project.opportunity
    if measures is None:
        measures = compute_measures(project, region, progress=progress, engine=engine,
                                    codes=_measured_codes(project, codes))
    maps = opportunity.build(region, project.layer_sets, measures, codes=codes,
                             normalise=spec.normalise, classes=spec.classes, breaks=spec.breaks)
    return region, maps


def _measured_codes(project: Project, codes: list[str]) -> list[str] | None:
    """The municipalities a partitioned engine measures: all for ``normalise = "region"``."""
    return None if project.opportunity.normalise == "region" else codes


# ----------------------------------------------------------------------------- provenance

_HASHES: dict[tuple[str, float, int], str] = {}


def _sha256(path: Path | str) -> str | None:
    """SHA-256 of a local file (cached per path, date and size); None for a network input.

    A network input (``--allow-network``: ``https://…``, ``/vsicurl/…``) is never hashed: it
    can change between two reads, so None never matches a recorded hash (no resume).
    """
    if io.is_remote(path):
        return None
    path = Path(path)
    st = path.stat()
    key = (str(path), st.st_mtime, st.st_size)
    if key not in _HASHES:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        _HASHES[key] = h.hexdigest()
    return _HASHES[key]


#: What the provenance says of a network input instead of its hash and date.
REMOTE_NOTE = ("read from the network (riskmap --allow-network): not hashed and not dated, so "
               "this input may differ between runs")


def input_files(project: Project) -> dict[Path | str, str]:
    """Every input file the project names (absolute path → its role, in Dutch).

    A network input (``--allow-network``) is its URL, as text (see :func:`input_entry`).
    """
    files = {project.municipalities_path: "gemeentegrenzen"}
    if project.region.buurten:
        files[project.path_of(project.region.buurten)] = "buurtgrenzen (alleen voor de kaarten)"
    for ls in project.layer_sets:
        for i in ls.indicator:
            path = project.source_path(i.source)
            role = f"indicator {ls.theme}_{i.name}"
            files[path] = f"{files[path]}, {role}" if path in files else role
    if project.risk is not None:
        if project.risk.incidents:
            files[project.path_of(project.risk.incidents)] = "politie-incidenten"
        else:
            files[project.path_of(project.risk.layer.file)] = "risicolaag van de politie"
    sc = project.scoring
    if sc is not None:  # "register" as inspections is the register, not a file
        for rel, role in ((sc.premises, "kandidaat-panden"), (sc.estates, "bedrijventerreinen"),
                          (sc.signals, "politiesignalen per adres"),
                          (sc.inspections, "eerdere inspecties en uitkomsten")):
            if rel and rel != "register":
                files[project.path_of(rel)] = role
    return files


def provenance(project: Project, *, audience: str = AUDIENCE_OPPORTUNITY) -> dict[str, object]:
    """What every output carries: version, time, config hash, inputs with SHA-256, weights."""
    from riskmap import __version__

    sc = project.scoring
    # a reader reports missing files; a network input is recorded by its URL
    files = [f for f in input_files(project) if io.is_remote(f) or Path(f).is_file()]
    inputs = dict(input_entry(f) for f in sorted(files, key=str))
    spec = project.opportunity
    return {
        "riskmap_version": __version__,
        "created": clock.stamp(),
        "project": project.project.name,
        "config_sha256": project.digest,
        "audience": audience,
        "legal_basis": project.project.legal_basis,
        "cell_size_m": project.region.cell_size,
        "crs": project.region.crs,
        "normalise": spec.normalise if spec else "",
        "k": project.risk.k if project.risk else None,
        "weights": {ls.theme: {i.name: i.weight for i in ls.indicator}
                    for ls in project.layer_sets},
        **({"scoring_weights": {f.name: f.weight for f in sc.feature}} if sc else {}),
        "inputs": inputs,
    }


def input_entry(path: Path | str) -> tuple[str, dict[str, object]]:
    """An input's name and provenance entry: SHA-256 and date, or, from the network, its URL.

    A local file gives ``(name, {"sha256": …, "modified": …})`` (and ``"synthetic": true``
    when its metadata says so); a network input gives ``(url, {"url": url, "remote": true,
    "hashed": false, "note": …})``: riskmap does not download it a second time to hash it.
    """
    if io.is_remote(path):
        return str(path), {"url": str(path), "remote": True, "hashed": False,
                           "note": REMOTE_NOTE}
    path = Path(path)
    entry: dict[str, object] = {"sha256": _sha256(path), "modified": dt.datetime.fromtimestamp(
        path.stat().st_mtime, dt.UTC).isoformat(timespec="seconds")}
    if _is_synthetic(path):
        entry["synthetic"] = True
    return path.name, entry


_SYNTHETIC: dict[tuple[str, float, int], bool] = {}


def _is_synthetic(path: Path) -> bool:
    """:func:`riskmap.io.is_synthetic`, cached per path, date and size like the hashes: it
    opens the file (~10 ms for a GeoPackage), and the writers ask for the provenance once per
    municipality."""
    st = path.stat()
    key = (str(path), st.st_mtime, st.st_size)
    if key not in _SYNTHETIC:
        _SYNTHETIC[key] = io.is_synthetic(path)
    return _SYNTHETIC[key]


def _flat(prov: dict[str, object]) -> dict[str, str]:
    return {f"RISKMAP_{k.upper()}": v if isinstance(v, str) else json.dumps(v, sort_keys=True)
            for k, v in prov.items()}


def provenance_text(prov: dict[str, object]) -> dict[str, str]:
    """The provenance in Dutch words, one item per line (HTML footers, dashboards)."""

    def listed(weights: dict) -> str:
        return ", ".join(f"{name} = {value:g}" for name, value in weights.items())

    out = {
        "riskmap-versie": str(prov["riskmap_version"]),
        "project": str(prov["project"]),
        "configuratie (SHA-256)": str(prov["config_sha256"]),
        "doelgroep": str(prov["audience"]),
        "k (minimaal aantal incidenten)": "n.v.t." if prov.get("k") is None else str(prov["k"]),
        "wettelijke grondslag": str(prov["legal_basis"] or "niet opgegeven in het projectbestand"),
    }
    for theme, weights in prov["weights"].items():
        out[f"gewichten {theme}"] = listed(weights)
    if prov.get("scoring_weights"):
        out["gewichten scoring"] = listed(prov["scoring_weights"])
    for name, v in prov["inputs"].items():
        if v.get("remote"):
            out[f"bron {name}"] = "van het netwerk gelezen: niet gehasht, geen datum"
            continue
        out[f"bron {name}"] = (f"SHA-256 {v['sha256']}, gewijzigd {v['modified']}"
                               + (", SYNTHETISCH" if v.get("synthetic") else ""))
    out["gemaakt"] = str(prov["created"])
    return out


SIDECAR_SUFFIX = ".herkomst.json"


def write_sidecar(path: str | Path, prov: dict[str, object]) -> Path:
    """``<name>.herkomst.json`` beside a CSV: the provenance that a CSV cannot carry.

    (A comment line in the CSV itself would break Excel and every CSV reader.)
    """
    path = Path(path)
    side = path.with_name(path.stem + SIDECAR_SUFFIX)
    body = {"file": path.name, "provenance": prov}
    with io.atomic_path(side) as tmp:
        tmp.write_text(json.dumps(body, indent=1, ensure_ascii=False, default=str),
                       encoding="utf-8")
    return side


#: The cells of the municipalities' GeoPackages (rows, columns, ids, squares) by grid and
#: mask, while :func:`run_project` keeps them (None: not kept): the opportunity, risk and
#: overlay files of a municipality share them, and they are made before the writers fork.
_CELL_LAYERS: dict[tuple, tuple] | None = None
#: Cells of a region grid up to which a run keeps them (the region at 50 m has ~1.3 M).
CELL_LAYERS_MAX = 2_000_000


def _cell_layer(grid: Grid, mask: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Rows, columns, ids and squares of the ``mask`` cells of ``grid``."""
    key = (grid.x0, grid.y1, grid.width, grid.height, grid.cell_size,
           np.packbits(mask).tobytes())
    if _CELL_LAYERS is not None and key in _CELL_LAYERS:
        return _CELL_LAYERS[key]
    rows, cols = np.nonzero(mask)
    layer = (rows, cols, grid.cell_ids(rows, cols), grid.cell_polygons(rows, cols))
    if _CELL_LAYERS is not None:
        _CELL_LAYERS[key] = layer
    return layer


@contextlib.contextmanager
def _cell_layers_kept(project: Project, region: Region):
    """Keep the cells made for the files of a run (see :data:`_CELL_LAYERS`)."""
    global _CELL_LAYERS
    keep = project.region.writes_cell_polygons() and \
        region.grid.width * region.grid.height <= CELL_LAYERS_MAX
    _CELL_LAYERS = {} if keep else None
    try:
        yield
    finally:
        _CELL_LAYERS = None


def _make_cell_layers(region: Region, codes: list[str]) -> None:
    """The cells of ``codes``, made now (when they are kept) for the writers forked later."""
    if _CELL_LAYERS is not None:
        for code in codes:
            _cell_layer(region.grid.subgrid(*region.window(code)), region.mask(code))


def _cells_frame(m: opportunity.OpportunityMap) -> gpd.GeoDataFrame:
    rows, cols, ids, squares = _cell_layer(m.grid, m.mask)
    data = {
        "cell_id": ids,
        "statcode": np.full(rows.size, m.code),
        "score": m.score[rows, cols].astype("float32"),
        "klasse": m.klasse[rows, cols].astype("int16"),
        "thema": np.asarray(m.themes)[m.theme[rows, cols]],
    }
    for t in m.themes:
        data[f"score_{t}"] = m.theme_scores[t][rows, cols].astype("float32")
    for col, arr in m.contributions.items():
        data[col] = arr[rows, cols].astype("float32")
    return gpd.GeoDataFrame(data, geometry=squares, crs=m.grid.crs)


OPPORTUNITY_FILES = ("opportunity.tif", "opportunity.gpkg", "opportunity.png")
#: Files that hold nothing but the cells layer: left out without cell polygons.
CELL_ONLY_FILES = ("opportunity.gpkg", "risk.gpkg")


def files_of(project: Project, names: tuple[str, ...]) -> tuple[str, ...]:
    """The files of ``names`` a run of ``project`` writes per municipality.

    Without cell polygons (``[region] cell_polygons``) the GeoPackages that hold only the
    ``cells`` layer are not written.
    """
    if project.region.writes_cell_polygons():
        return names
    return tuple(n for n in names if n not in CELL_ONLY_FILES)


def _drop_stale(path: Path, *, overwrite: bool) -> None:
    """Remove a cells-only GeoPackage an earlier run (with cell polygons) left, on overwrite:
    it would no longer match the other files."""
    if overwrite and path.exists():
        path.unlink()


def _refuse_existing(paths: Iterable[Path], *, overwrite: bool) -> None:
    """Never replace outputs silently: existing files need ``--overwrite``."""
    existing = [p for p in paths if p.exists()]
    if existing and not overwrite:
        raise InputError(f"{len(existing)} output file(s) exist already, e.g. {existing[0]}. "
                         "Use --overwrite to replace them or choose another --out folder.",
                         code="E-OUTPUT-EXISTS")


def check_outputs(out_dir: str | Path, codes: Iterable[str], *, overwrite: bool = False,
                  files: tuple[str, ...] = OPPORTUNITY_FILES) -> None:
    """Refuse to replace existing outputs unless ``overwrite`` (check before computing)."""
    _refuse_existing((Path(out_dir) / c / name for c in codes for name in files),
                     overwrite=overwrite)


def write_opportunity(
    maps: list[opportunity.OpportunityMap],
    out_dir: str | Path,
    *,
    project: Project,
    region: Region,
    overwrite: bool = False,
    progress: bool = False,
) -> list[Path]:
    """Write ``<out>/<statcode>/opportunity.{tif,gpkg,png}`` for every map.

    The GeoTIFF has the score as band 1 (float32 in [0, 1], nodata outside the municipality)
    and one band per theme; the GeoPackage layer ``cells`` has ``cell_id``, ``statcode``,
    ``score``, ``klasse``, ``thema``, the theme scores and one contribution column per
    indicator. Every file carries the provenance.
    """
    out_dir = Path(out_dir)
    check_outputs(out_dir, [m.code for m in maps], overwrite=overwrite)
    from riskmap import quicklook, styles

    prov = provenance(project)
    synthetic = sorted(k for k, v in prov["inputs"].items() if v.get("synthetic"))
    written: list[Path] = []
    for m in tqdm(maps, desc="kaarten schrijven", disable=not progress):
        tags = _flat(prov) | {
            "RISKMAP_MUNICIPALITY": f"{m.code} {m.name}",
            "RISKMAP_THEMES": json.dumps(list(m.themes)),
            "RISKMAP_CLASS_BREAKS": json.dumps([round(b, 6) for b in m.breaks]),
            "RISKMAP_SYNTHETIC_INPUTS": json.dumps(synthetic),
        }
        folder = out_dir / m.code
        bands = np.stack([m.score, *(m.theme_scores[t] for t in m.themes)])
        written.append(io.write_geotiff(
            folder / "opportunity.tif", bands, m.grid, tags=tags,
            descriptions=["gelegenheidsscore", *(f"score_{t}" for t in m.themes)]))
        k = max(int(m.klasse.max()), 2)
        style = io.qml_categorized("klasse", [(i, f"klasse {t}", c) for (i, c), t in zip(
            styles.class_colors(k).items(), styles.class_labels(k).values(), strict=True)])
        if project.region.writes_cell_polygons():
            written.append(io.write_gpkg(folder / "opportunity.gpkg", _cells_frame(m),
                                         layer="cells", metadata=tags | {
                                             "RISKMAP_LABELS": json.dumps(
                                                 m.labels, ensure_ascii=False)},
                                         styles={"cells": style}))
        else:
            _drop_stale(folder / "opportunity.gpkg", overwrite=overwrite)
        outline = region.municipalities.geometry.iloc[region.codes.index(m.code)]
        written.append(quicklook.opportunity_png(
            folder / "opportunity.png", m.klasse, m.grid, outline=outline,
            title=f"Gelegenheidskaart {m.name} ({m.code})", tags=tags))
    return written


# ----------------------------------------------------------------------------- risk maps


@dataclass
class RiskMap:
    """The risk map of one municipality for one audience (cut-out of the region surface)."""

    code: str
    name: str
    grid: Grid
    mask: np.ndarray
    klasse: np.ndarray
    audience: str
    score: np.ndarray | None = None
    density: np.ndarray | None = None
    counts: np.ndarray | None = None
    gi_z: np.ndarray | None = None
    gi_p: np.ndarray | None = None
    gi_bin: np.ndarray | None = None
    trend: np.ndarray | None = None
    info: dict = field(default_factory=dict)


def read_project_incidents(project: Project, region: Region):
    """Read the ``[risk]`` incidents of a project onto the region's CRS, inside the region."""
    from riskmap.incidents import read_incidents

    spec = project.risk
    area = shapely.union_all(region.municipalities.geometry.values)
    inc = read_incidents(project.path_of(spec.incidents), date_col=spec.date_column,
                         target_crs=region.grid.crs, lon_col=spec.lon_column,
                         lat_col=spec.lat_column, x_col=spec.x_column, y_col=spec.y_column,
                         crs=spec.crs, type_col=spec.type_column, weight_col=spec.weight_column,
                         id_col=spec.id_column, area=shapely.buffer(area, region.halo))
    inc = inc.select(start=spec.start, end=spec.end, types=spec.types)
    if spec.register_outcomes_as_incidents:  # explicit opt-in only (feedback-loop guard)
        inc = _with_register_outcomes(project, inc)
    if len(inc) == 0:
        raise InputError(f"{project.path} [risk]: no incidents in the period "
                         f"{spec.start or 'begin'} – {spec.end or 'end'}"
                         f"{f' of types {spec.types}' if spec.types else ''}. Check start, end "
                         "and types.", code="E-INCIDENTS-EMPTY")
    return inc


def _with_register_outcomes(project: Project, inc):
    """Add confirmed register outcomes as incidents (type ``bevestigde inspectie``).

    Only when ``[risk] register_outcomes_as_incidents = true``: by default inspection
    outcomes never feed the risk map, because places inspected because they were on the
    map would then rise on the map (a runaway feedback loop).
    """
    from dataclasses import replace

    with open_project_register(project) as reg:
        ins = reg.inspections()
        locs = reg.locations().set_index("location_id")
    ok = ins[ins["outcome"] == "bevestigd"]
    if not len(ok):
        return inc
    x = ok["location_id"].map(locs["x"]).to_numpy(dtype=float)
    y = ok["location_id"].map(locs["y"]).to_numpy(dtype=float)
    keep = np.isfinite(x) & np.isfinite(y)
    dates = pd.to_datetime(ok["date"]).to_numpy(dtype="datetime64[ns]")[keep]
    return replace(inc, x=np.concatenate([inc.x, x[keep]]),
                   y=np.concatenate([inc.y, y[keep]]),
                   date=np.concatenate([inc.date, dates]),
                   weight=np.concatenate([inc.weight, np.ones(keep.sum())]),
                   type=np.concatenate([inc.type, np.full(keep.sum(), "bevestigde inspectie",
                                                          dtype=object)]))


def _region_mask(region: Region) -> np.ndarray:
    """Cells whose centre lies in a municipality (the study area of the region)."""
    return region.labels >= 0


def risk_surface(project: Project, region: Region, *, progress: bool = False, engine=None):
    """The region's risk surface (computed once, with the halo) and the incidents.

    The settings are chosen on the whole region; with a partitioned ``engine`` the density
    and the Gi* z-scores are computed per municipality (:func:`_surface_partitioned`).
    """
    from riskmap import risk

    spec = project.risk
    inc = read_project_incidents(project, region)
    mask = _region_mask(region)
    given = {"bandwidth_m": spec.bandwidth_m, "half_life_days": spec.half_life_days,
             "window_days": spec.window_days}
    end = pd.Timestamp(inc.date.max()).normalize() + pd.Timedelta(days=1)
    table = None
    if spec.bandwidth_m is None:
        settings, table = risk.choose_settings(
            inc, region.grid, mask=mask, area_share=spec.area_share,
            half_lives=None if spec.half_life_days is None else [spec.half_life_days],
            windows=None if spec.window_days is None else [spec.window_days],
            mapper=None if engine is None or not engine.partitioned else partial(
                engine.map, desc="instellingen kiezen", progress=progress))
    else:
        settings = risk.RiskSettings(bandwidth_m=spec.bandwidth_m,
                                     half_life_days=spec.half_life_days,
                                     window_days=spec.window_days)
    settings = risk.RiskSettings(**{**settings.as_dict(), "gi_radius_m": spec.gi_radius_m,
                                    "reference": end.isoformat()})
    if engine is not None and engine.partitioned:
        density, gi_z = _surface_partitioned(inc, region, mask, settings, engine,
                                             progress=progress)
        surf = risk.surface(inc, region.grid, mask=mask, settings=settings, density=density,
                            gi_z=gi_z)
    else:
        surf = risk.surface(inc, region.grid, mask=mask, settings=settings)
    surf.info["chosen"] = "automatic" if table is not None else "given"
    surf.info["given"] = {k: v for k, v in given.items() if v is not None}
    if table is not None:
        surf.info["candidates"] = table.head(10).to_dict(orient="records")
    return surf, inc


def _surface_partitioned(inc, region: Region, mask: np.ndarray, settings, engine, *,
                         progress: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Density and Gi* z-scores of the region, one municipality's window at a time.

    Each partition gets the incidents that reach its window (the kernel is cut at
    :data:`riskmap.kde.TRUNCATE` bandwidths) and, for Gi*, the weighted counts and the study
    area on its window widened by the distance band, with the region's moments. Cells outside
    every window are NaN.
    """
    from riskmap import hotspots, kde, risk
    from riskmap.engine import partitions

    grid = region.grid
    sel = risk._window(inc, settings)
    w = risk._weights(sel, settings)
    weighted = indicators.count(sel.x, sel.y, grid, values=w, statistic="sum")
    radius = risk._gi_radius(settings, grid.cell_size)
    halo = int(np.floor(radius / grid.cell_size + 1e-9))
    moments = hotspots.gistar_moments(weighted, mask=mask)
    reach = kde.TRUNCATE * settings.bandwidth_m + 2 * grid.cell_size
    items = []
    for part in partitions(region):
        xmin, ymin, xmax, ymax = grid.subgrid(part.rows, part.cols).bounds
        near = ((sel.x >= xmin - reach) & (sel.x <= xmax + reach)
                & (sel.y >= ymin - reach) & (sel.y <= ymax + reach))
        rows, cols = part.widened(halo, grid.shape)
        items.append((part, sel.x[near], sel.y[near], w[near], rows, cols,
                      weighted[rows, cols], mask[rows, cols]))
    fn = partial(_partition_surface, grid=grid, bandwidth=settings.bandwidth_m, radius=radius,
                 moments=moments)
    density = np.full(grid.shape, np.nan)
    gi_z = np.full(grid.shape, np.nan)
    for (part, *_), (d, z) in zip(items, engine.map(fn, items, desc="risico per gemeente",
                                                    progress=progress), strict=True):
        density[part.rows, part.cols] = d
        gi_z[part.rows, part.cols] = z
    return density, gi_z


def _partition_surface(item, *, grid: Grid, bandwidth: float, radius: float,
                       moments: tuple[float, float, int]) -> tuple[np.ndarray, np.ndarray]:
    """Density and Gi* z-scores on one municipality's window (runs on a worker)."""
    from riskmap import hotspots, risk

    part, x, y, w, rows, cols, weighted, mask = item
    core = grid.subgrid(part.rows, part.cols)
    density = risk.density_of(x, y, w, core, bandwidth)
    z = hotspots.gistar_partition(weighted, mask=mask, cell_size=grid.cell_size,
                                  radius_m=radius, moments=moments,
                                  max_half=(grid.height - 1, grid.width - 1))
    r0, c0 = part.rows.start - rows.start, part.cols.start - cols.start
    return density, z[r0:r0 + core.height, c0:c0 + core.width]


def _ready_layer(project: Project, region: Region) -> np.ndarray:
    """A police unit's own risk layer resampled onto the grid, scaled to [0, 1]."""
    spec = project.risk.layer
    path = project.path_of(spec.file)
    what = f"{project.path} [risk] layer"
    if io.suffix_of(path) in io.RASTER_SUFFIXES:
        values = io.read_raster_to_grid(path, region.grid, resampling="max",
                                        declared_crs=spec.crs, what=what)
    else:
        if spec.column is None:
            raise ConfigError(f"{what}: polygons need column = \"…\" (the class or score).",
                              code="E-CONFIG-MISSING")
        gdf = io.read_vector(path, crs=region.grid.crs, layer=spec.layer,
                             declared_crs=spec.crs, columns=[spec.column], what=what)
        if not pd.api.types.is_numeric_dtype(gdf[spec.column]):
            raise InputError(f"{what}: column {spec.column!r} of {Path(str(path)).name} holds "
                             f"{gdf[spec.column].dtype} values, not numbers. Use a numeric "
                             "class or score column (e.g. 1 = low … 5 = high).",
                             code="E-INPUT-COLUMNTYPE")
        values = indicators.attribute(gdf.geometry.values,
                                      gdf[spec.column].to_numpy(dtype=float), region.grid)
    finite = np.isfinite(values) & _region_mask(region)
    if not finite.any():
        raise InputError(f"{what}: {path.name} has no values inside the region.",
                         code="E-INPUT-EMPTY")
    lo, hi = np.min(values[finite]), np.max(values[finite])
    score = (values - lo) / (hi - lo) if hi > lo else np.zeros_like(values)
    if not spec.higher_is_riskier:
        score = 1 - score
    return np.where(np.isfinite(score), score, 0.0)


def risk_maps(project: Project, *, municipalities: Iterable[str] = (), audience: str = "police",
              region: Region | None = None, progress: bool = False, surface=None
              ) -> tuple[Region, list[RiskMap], dict]:
    """Risk maps per municipality for ``audience`` from the project's ``[risk]`` table.

    The region surface is computed once with the halo and cut per municipality, so that
    municipal borders do not cut hot spots. Classes are quantiles of the score within each
    municipality; for ``partners`` and ``public`` cells resting on fewer than ``k`` incidents
    are merged into the lowest class and only classes are kept. ``surface`` takes a
    ``(RiskSurface, Incidents)`` pair from :func:`risk_surface` to avoid computing it again.
    """
    from riskmap import opportunity, risk

    if project.risk is None:
        raise ConfigError(f"{project.path} has no [risk] table. Add one naming the incidents "
                          "(incidents = \"…\", date_column, lon_column/lat_column or "
                          "x_column/y_column + crs) or a ready layer.", code="E-CONFIG-MISSING")
    if audience not in risk.AUDIENCES:
        raise PrivacyError(f"unknown audience {audience!r}; use police, partners or public.",
                           code="E-PRIVACY-AUDIENCE")
    spec = project.risk
    if audience != "police" and spec.k < risk.MIN_K:
        raise PrivacyError(f"{project.path} [risk] k = {spec.k} is below the minimum of "
                           f"{risk.MIN_K} for audience {audience!r}. Use k = 5 or more.",
                           code="E-PRIVACY-K")
    region = region or load_region(project)
    codes = region.select(list(municipalities))
    surf = inc = None
    if spec.layer is not None:
        score_region = _ready_layer(project, region)
        meta = {"source": "ready police risk layer", "file": spec.layer.file}
    else:
        surf, inc = surface or risk_surface(project, region, progress=progress)
        score_region = np.where(np.isnan(surf.score), 0.0, surf.score)
        meta = {"source": "incidents", "settings": surf.settings.as_dict(),
                "chosen": surf.info["chosen"]}
        if audience == "police":
            meta["n_incidents"] = surf.n_incidents
            meta["candidates"] = surf.info.get("candidates", [])
            trend, meta["emerging"] = risk.emerging(inc, region.grid, mask=surf.mask,
                                                    settings=surf.settings)
    maps = []
    for code in tqdm(codes, desc="risicokaarten", disable=not progress):
        rows, cols = region.window(code)
        mask = region.mask(code)
        score = np.where(mask, score_region[rows, cols], np.nan)
        klasse = np.zeros(mask.shape, dtype=np.int8)
        klasse[mask], _ = opportunity.classify(score[mask], k=spec.classes)
        info: dict = {}
        m = RiskMap(code=code, name=region.name(code), grid=region.grid.subgrid(rows, cols),
                    mask=mask, klasse=klasse, audience=audience, info=info)
        if surf is not None:
            if audience == "police":
                m.score = score
                m.density = np.where(mask, surf.density[rows, cols], np.nan)
                m.counts = np.where(mask, surf.counts[rows, cols], np.nan)
                m.gi_z = np.where(mask, surf.gi.z[rows, cols], np.nan)
                m.gi_p = np.where(mask, surf.gi.p[rows, cols], np.nan)
                m.gi_bin = np.where(mask, surf.gi.bin[rows, cols], 0).astype(np.int8)
                m.trend = trend[rows, cols]
            else:
                sub = risk.RiskSurface(grid=m.grid, mask=mask, counts=surf.counts[rows, cols],
                                       weighted=surf.weighted[rows, cols],
                                       density=surf.density[rows, cols], score=score,
                                       gi=surf.gi, settings=surf.settings,
                                       n_incidents=surf.n_incidents)
                m.klasse, info = risk.for_audience(sub, inc, klasse, audience=audience,
                                                   k=spec.k)
        elif audience == "police":
            m.score = score
        maps.append(m)
    meta["audience"] = audience
    if audience != "police":
        meta["k"] = spec.k
    return region, maps, meta


RISK_FILES = ("risk.tif", "risk.gpkg")


def write_risk(maps: list[RiskMap], out_dir: str | Path, *, project: Project, meta: dict,
               overwrite: bool = False, progress: bool = False) -> list[Path]:
    """Write ``<out>/<statcode>/risk.tif`` and ``risk.gpkg`` per municipality for the audience.

    police: GeoTIFF bands score (0–1), klasse, gi_z, gi_bin, dichtheid (per km²), aantal;
    GeoPackage ``cells`` with the same columns plus gi_p and ``trend`` (the emerging hot
    spot category in Dutch, e.g. "nieuwe hotspot"). partners/public: a one-band uint8
    GeoTIFF of the class (0 = outside) and ``cells`` with ``cell_id``, ``statcode`` and
    ``klasse`` only: no scores, counts, z-scores or incident points. No ``risk.gpkg``
    without cell polygons (``[region] cell_polygons``, :func:`files_of`).
    """
    from riskmap import risk

    out_dir = Path(out_dir)
    check_outputs(out_dir, [m.code for m in maps], overwrite=overwrite, files=RISK_FILES)
    from riskmap import styles

    audience = meta["audience"]
    classes = project.risk.classes
    style = io.qml_categorized("klasse", [(i, f"risicoklasse {t}", c) for (i, c), t in zip(
        styles.class_colors(classes).items(), styles.class_labels(classes).values(),
        strict=True)])
    prov = provenance(project, audience=audience) | {"risk": meta}
    if project.risk.incidents and audience != "police":
        risk.check_public_meta(prov)
    written = []
    for m in tqdm(maps, desc="risicokaarten schrijven", disable=not progress):
        tags = _flat(prov) | {"RISKMAP_MUNICIPALITY": f"{m.code} {m.name}"}
        folder = out_dir / m.code
        police = audience == "police" and m.score is not None
        extra = {}
        if police:
            extra = {"score": m.score, "dichtheid": m.density, "aantal": m.counts,
                     "gi_z": m.gi_z, "gi_p": m.gi_p, "gi_bin": m.gi_bin}
            extra = {k: v for k, v in extra.items() if v is not None}
            names = ["score", "klasse", *[k for k in extra if k not in ("score", "gi_p")]]
            stack = np.stack([m.score if n == "score" else
                              np.where(m.mask, m.klasse, np.nan) if n == "klasse" else
                              extra[n].astype(float) for n in names])
            written.append(io.write_geotiff(folder / "risk.tif", stack, m.grid, tags=tags,
                                            descriptions=names))
        else:
            written.append(io.write_geotiff(
                folder / "risk.tif", np.where(m.mask, m.klasse, np.nan), m.grid, tags=tags,
                descriptions=["risicoklasse"], dtype="uint8", nodata=0,
                colormap=styles.class_colors(classes)))
        if not project.region.writes_cell_polygons():
            _drop_stale(folder / "risk.gpkg", overwrite=overwrite)
            continue
        rows, cols, ids, squares = _cell_layer(m.grid, m.mask)
        data = {"cell_id": ids, "statcode": np.full(rows.size, m.code),
                "klasse": m.klasse[rows, cols].astype("int16")}
        for k, v in extra.items():
            data[k] = v[rows, cols].astype("float32")
        if police and m.trend is not None:
            data["trend"] = m.trend[rows, cols].astype(str)
        gdf = gpd.GeoDataFrame(data, geometry=squares, crs=m.grid.crs)
        written.append(io.write_gpkg(folder / "risk.gpkg", gdf, layer="cells", metadata=tags,
                                     styles={"cells": style}))
    return written


# ----------------------------------------------------------------------------- back-tests


def run_backtest(incidents, *, date_col, lon_col=None, lat_col=None, x_col=None, y_col=None,
                 crs=None, split: str, until: str | None = None, area_file=None,
                 cell_size: float = 150.0, offsets: int = 1, seed: int = 0) -> dict:
    """Read incidents (and an area), choose a CRS, and back-test (:func:`riskmap.backtest`)."""
    from pyproj import CRS

    from riskmap import backtest
    from riskmap.crs import check_metric
    from riskmap.incidents import read_incidents

    wgs = CRS.from_epsg(4326)
    if lon_col is not None:
        probe = read_incidents(incidents, date_col=date_col, lon_col=lon_col, lat_col=lat_col,
                               target_crs=wgs)
        target = backtest.suitable_crs(probe.x, probe.y)
    elif crs is not None:
        src = CRS.from_user_input(crs)
        try:
            target = check_metric(src, where="--crs")
        except RiskmapError:
            probe = read_incidents(incidents, date_col=date_col, x_col=x_col, y_col=y_col,
                                   crs=crs, target_crs=wgs)
            target = backtest.suitable_crs(probe.x, probe.y)
    else:
        target = wgs  # read_incidents raises the CRS error
    area = None
    if area_file is not None:
        gdf = io.read_vector(area_file, crs=target, what="--area")
        area = shapely.union_all(gdf.geometry.values)
    inc = read_incidents(incidents, date_col=date_col, lon_col=lon_col, lat_col=lat_col,
                         x_col=x_col, y_col=y_col, crs=crs, target_crs=target, area=area)
    result = backtest.backtest(inc, split=split, until=until, area=area, cell_size=cell_size,
                               offsets=offsets, seed=seed)
    result["incidents"] = Path(incidents).name
    from riskmap import __version__

    files = [incidents, *([area_file] if area_file else [])]
    result["provenance"] = {
        "riskmap_version": __version__,
        "created": clock.stamp(),
        "audience": "police",
        "inputs": dict(input_entry(f) for f in files),
        "settings": {"split": split, "until": until, "cell_size_m": cell_size,
                     "offsets": offsets, "seed": seed},
    }
    return result


def backtest_table(result: dict) -> str:
    """A plain-text table of hit rate, PAI and PEI* per method and area share."""
    from riskmap.backtest import METHODS, SHARES

    lines = [f"{result['incidents']}: {result['n_train']} training, {result['n_test']} test "
             f"incidents, {result['cells']} cells of {result['cell_size']:g} m "
             f"({result['crs']})",
             f"{'method':8s} " + " ".join(f"{'HR/PAI/PEI* @' + f'{a:.0%}':>22s}"
                                           for a in SHARES) + "   AUC"]
    for name in METHODS:
        r = result["results"][name]
        cells = " ".join(f"{r[f'{a:.2f}']['hit_rate']:6.3f}/{r[f'{a:.2f}']['pai']:5.1f}/"
                         f"{r[f'{a:.2f}']['pei']:5.3f}".rjust(22) for a in SHARES)
        lines.append(f"{name:8s} {cells}   {r['auc']:.3f}")
    return "\n".join(lines)


def _plot_curves(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.5), dpi=100)
    for name, (share, hit) in result["curves"].items():
        ax.plot(share, hit, label=f"{name} (AUC {result['results'][name]['auc']:.3f})")
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", label="willekeurig")
    ax.set_xlim(0, 0.3)
    ax.set_xlabel("aandeel van het gebied")
    ax.set_ylabel("aandeel van de incidenten (hit rate)")
    ax.set_title(f"{result['incidents']}: test {result['test_period'][0]} – "
                 f"{result['test_period'][1]}")
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(alpha=0.3)
    tags = _flat(result["provenance"]) if "provenance" in result else None
    with io.atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", bbox_inches="tight", metadata=PNG_METADATA | tags)
    plt.close(fig)


def write_backtest(result: dict, json_path: str | Path) -> list[Path]:
    """Write the back-test JSON (without the curves) and a PNG of the hit-rate curves."""
    json_path = Path(json_path)
    body = {k: v for k, v in result.items() if k != "curves"}
    with io.atomic_path(json_path) as tmp:
        tmp.write_text(json.dumps(body, indent=1, default=str), encoding="utf-8")
    png = json_path.with_suffix(".png")
    _plot_curves(result, png)
    return [json_path, png]


# ----------------------------------------------------------------------------- overlay


def overlay_maps(project: Project, *, municipalities: Iterable[str] = (),
                 audience: str = "police", region: Region | None = None,
                 progress: bool = False, opportunity_maps_=None, surface=None
                 ) -> tuple[Region, list, dict]:
    """Opportunity × risk per municipality (:func:`riskmap.overlay.combine`) for an audience.

    For ``partners`` and ``public`` the risk side is the k-suppressed one: cells resting on
    fewer than k incidents count as low risk (little police information), so they can only
    show up as ``blinde vlek``, never as ``prioriteit`` or ``risico``. Already computed
    opportunity maps and risk surface can be passed in.
    """
    from riskmap import overlay, risk

    if project.risk is None or project.opportunity is None:
        raise ConfigError(f"{project.path}: the overlay needs both an [opportunity] and a "
                          "[risk] table.", code="E-CONFIG-MISSING")
    if audience not in risk.AUDIENCES:
        raise PrivacyError(f"unknown audience {audience!r}; use police, partners or public.",
                           code="E-PRIVACY-AUDIENCE")
    region = region or load_region(project)
    codes = region.select(list(municipalities))
    omaps = opportunity_maps_ or opportunity_maps(project, municipalities=codes,
                                                  region=region, progress=progress)[1]
    meta: dict = {"audience": audience}
    if project.risk.layer is not None:
        risk_region = _ready_layer(project, region)
        meta["risk"] = {"source": "ready police risk layer"}
    else:
        surf, inc = surface or risk_surface(project, region, progress=progress)
        risk_region = np.nan_to_num(surf.score, nan=0.0)
        meta["risk"] = {"source": "incidents", "settings": surf.settings.as_dict()}
        if audience != "police":
            if project.risk.k < risk.MIN_K:
                raise PrivacyError(f"{project.path} [risk] k = {project.risk.k} is below the "
                                   f"minimum of {risk.MIN_K}.", code="E-PRIVACY-K")
            radius = risk.suppression_radius(surf.settings, region.grid.cell_size)
            n = risk.support(risk._window(inc, surf.settings), region.grid, radius_m=radius)
            risk_region = np.where(n < project.risk.k, 0.0, risk_region)
            meta["k"] = project.risk.k
            meta["suppression_radius_m"] = radius
    overlays = []
    for m in tqdm(omaps, desc="overlay", disable=not progress):
        rows, cols = region.window(m.code)
        overlays.append(overlay.combine(
            m.score, risk_region[rows, cols], grid=m.grid, mask=m.mask, code=m.code,
            name=m.name, contributions=m.contributions))
    return region, overlays, meta


OVERLAY_FILES = ("overlay.tif", "overlay.gpkg", "overlay.png")


def write_overlay(overlays: list, out_dir: str | Path, *, project: Project, region: Region,
                  meta: dict, overwrite: bool = False, progress: bool = False,
                  codes: list[str] | None = None, engine=None, later: _Later | None = None
                  ) -> list[Path]:
    """Write ``overlay.tif`` (uint8 bivariate class with colour table), ``overlay.gpkg``
    (layers ``cells`` and ``zones``, QGIS default styles) and ``overlay.png`` per
    municipality (on the ``engine``'s workers when it is parallel; see :func:`_each` for
    ``later``), and the region's zone table ``zones_regio.csv``.
    """
    out_dir = Path(out_dir)
    check_outputs(out_dir, [o.code for o in overlays], overwrite=overwrite, files=OVERLAY_FILES)
    audience = meta["audience"]
    prov = provenance(project, audience=audience) | {"overlay": meta}
    todo = [(ov, region.municipalities.geometry.iloc[region.codes.index(ov.code)])
            for ov in overlays if codes is None or ov.code in codes]  # others kept (resume)
    written = _each(engine, partial(_overlay_files, out_dir=out_dir, prov=prov,
                                    audience=audience,
                                    cell_polygons=project.region.writes_cell_polygons()),
                    todo, desc="overlay schrijven", progress=progress, later=later,
                    cost=lambda item: int(item[0].mask.sum()))
    tables = [pd.DataFrame(ov.zones.drop(columns="geometry")).assign(gemeente=ov.name)
              for ov in overlays]
    table = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
    path = out_dir / "zones_regio.csv"
    with io.atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)
    written += [path, write_sidecar(path, prov)]
    return written


def _overlay_files(item, *, out_dir: Path, prov: dict, audience: str,
                   cell_polygons: bool = True) -> list[Path]:
    """One municipality's overlay.tif, overlay.gpkg (``cells`` only with ``cell_polygons``,
    and ``zones``) and overlay.png."""
    from riskmap import quicklook, styles

    ov, outline = item
    written: list[Path] = []
    cell_style = io.qml_categorized("bivariaat", [(k, styles.BIVARIATE_LABELS[k], c)
                                                  for k, c in styles.BIVARIATE_COLORS.items()])
    zone_style = io.qml_categorized("zone", [(k, n, styles.ZONE_COLORS[k])
                                             for k, n in overlay_zones().items()], outline=True)
    tags = _flat(prov) | {"RISKMAP_MUNICIPALITY": f"{ov.code} {ov.name}",
                          "RISKMAP_TERCILE_BREAKS": json.dumps(ov.breaks)}
    folder = out_dir / ov.code
    written.append(io.write_geotiff(
        folder / "overlay.tif", np.where(ov.mask, ov.bivariate, np.nan), ov.grid, tags=tags,
        descriptions=["bivariaat"], dtype="uint8", nodata=0,
        colormap=styles.BIVARIATE_COLORS))
    layers, layer_styles = {}, {}
    if cell_polygons:
        rows, cols, ids, squares = _cell_layer(ov.grid, ov.mask)
        names = np.array(["", *overlay_zones().values()], dtype=object)
        cells = {"cell_id": ids, "statcode": np.full(rows.size, ov.code),
                 "gelegenheid": ov.opportunity_class[rows, cols].astype("int16"),
                 "risico": ov.risk_class[rows, cols].astype("int16"),
                 "bivariaat": ov.bivariate[rows, cols].astype("int16"),
                 "zone": ov.zone[rows, cols].astype("int16"),
                 "zone_naam": names[ov.zone[rows, cols]]}
        if audience == "police":
            cells["gecombineerd"] = ov.combined[rows, cols].astype("float32")
        layers["cells"] = gpd.GeoDataFrame(cells, geometry=squares, crs=ov.grid.crs)
        layer_styles["cells"] = cell_style
    written.append(io.write_gpkg(folder / "overlay.gpkg", layers | {"zones": ov.zones},
                                 metadata=tags, styles=layer_styles | {"zones": zone_style}))
    written.append(quicklook.overlay_png(
        folder / "overlay.png", ov.bivariate, ov.grid, outline=outline,
        priority_zones=ov.zones.geometry[ov.zones["zone"] == 1].values,
        title=f"Gelegenheid × risico — {ov.name} ({ov.code})", tags=tags))
    return written


def overlay_zones() -> dict[int, str]:
    """Zone code → Dutch name."""
    from riskmap.overlay import ZONES

    return ZONES


# ----------------------------------------------------------------------------- HTML maps

MAP_FILES = ("kaart.html",)
#: The best-ranked premises of a municipality that its HTML map shows.
PREMISES_ON_MAP = 25


def _zone_display(ov, labels: dict[str, str]) -> tuple[gpd.GeoDataFrame, dict[str, str]]:
    """The zone columns a page may show, formatted in Dutch, and their aliases."""
    z = ov.zones
    contrib = [c for c in z.columns if c.startswith("gem_")]
    top = []
    if contrib and len(z):
        values = z[contrib].to_numpy(dtype=float)
        order = np.argsort(-values, axis=1)[:, :3]
        for row, idx in zip(values, order, strict=True):
            top.append("; ".join(f"{labels.get(contrib[i][4:], contrib[i][4:])} "
                                 f"({row[i]:.2f})".replace(".", ",") for i in idx
                                 if row[i] > 0))
    else:
        top = [""] * len(z)
    shown = gpd.GeoDataFrame({
        "zone_naam": z["zone_naam"].astype(str),
        "oppervlakte": [f"{v:,.0f} ha".replace(",", ".") for v in z["oppervlakte_ha"]],
        "aandeel": [f"{100 * v:.1f} %".replace(".", ",") for v in z["aandeel_gemeente"]],
        "indicatoren": top,
    }, geometry=z.geometry.values, crs=z.crs)
    fields = {"zone_naam": "Zone", "oppervlakte": "Oppervlakte",
              "aandeel": "Aandeel van de gemeente",
              "indicatoren": "Grootste bijdragen aan de gelegenheid"}
    return shown, fields


def html_maps(project: Project, out_dir: str | Path, *, municipalities: Iterable[str] = (),
              audience: str = "partners", offline: bool = False, tiles: str = "grijs",
              region: Region | None = None, overwrite: bool = False, progress: bool = False,
              opportunity_maps_=None, surface=None, ranking=None, engine=None,
              risk_maps_=None, overlays_=None, later: _Later | None = None) -> list[Path]:
    """Write ``<out>/<statcode>/kaart.html`` per municipality and ``<out>/index.html``.

    With a parallel ``engine`` the pages are built on its workers (see :func:`_each` for
    ``later``). The maps made already
    (``opportunity_maps_``, ``risk_maps_``, ``overlays_``, for the same municipalities and
    audience) are used as they are.

    Layers: opportunity classes, risk classes as the audience may see them, the bivariate
    overlay with its 3 × 3 legend and the zones with popups (whitelisted, escaped columns).
    """
    from riskmap import __version__, webmap

    region = region or load_region(project)
    codes = region.select(list(municipalities))
    out_dir = Path(out_dir)
    check_outputs(out_dir, codes, overwrite=overwrite, files=MAP_FILES)
    omaps = opportunity_maps_ or opportunity_maps(project, municipalities=codes, region=region,
                                                  progress=progress)[1]
    if project.risk is not None and project.risk.layer is None and surface is None:
        surface = risk_surface(project, region, progress=progress)
    rmaps = overlays = None
    if project.risk is not None:
        rmaps = risk_maps_ or risk_maps(project, municipalities=codes, audience=audience,
                                        region=region, surface=surface)[1]
        overlays = overlays_ or overlay_maps(project, municipalities=codes, audience=audience,
                                             region=region, opportunity_maps_=omaps,
                                             surface=surface)[1]
    buurten = None
    if project.region.buurten:
        buurten = io.read_vector(project.path_of(project.region.buurten), crs=region.grid.crs,
                                 columns=[project.region.buurten_municipality_column],
                                 what=f"{project.path} [region] buurten")
    prov = provenance(project, audience=audience)
    synthetic = any(v.get("synthetic") for v in prov["inputs"].values())
    settings = ""
    if surface is not None:
        st = surface[0].settings
        settings = (f"bandbreedte {st.bandwidth_m:g} m, halfwaardetijd "
                    f"{f'{st.half_life_days:g} dagen' if st.half_life_days else 'geen'}, "
                    f"venster {f'{st.window_days:g} dagen' if st.window_days else 'alles'}")
    footer = {
        "riskmap": __version__,
        "gemaakt": prov["created"],
        "doelgroep": audience,
        "cel": f"{project.region.cell_size:g} m",
        "k": str(project.risk.k) if project.risk else "",
        "instellingen risico": settings,
        "configuratie": prov["config_sha256"][:12],
        "bronnen": "Gemeentegrenzen CBS/PDOK 2021" + (
            "; SYNTHETISCHE demo-gegevens" if synthetic else ""),
    }
    footer = {k: v for k, v in footer.items() if v}
    if audience != "police":
        from riskmap.risk import check_public_meta

        check_public_meta(prov)
    details = provenance_text(prov)
    items = []
    for i, m in enumerate(omaps):
        outline = region.municipalities.iloc[[region.codes.index(m.code)]][["geometry"]]
        bu = None
        if buurten is not None:
            col = project.region.buurten_municipality_column
            bu = buurten[buurten[col] == m.code][["geometry"]]
            bu = bu if len(bu) else None
        premises = None
        if ranking is not None and audience != "public":
            part = ranking.table[ranking.table["statcode"] == m.code].head(PREMISES_ON_MAP)
            if len(part):
                part = part.assign(rang_gemeente=np.arange(1, len(part) + 1))
                premises = gpd.GeoDataFrame(
                    part[["rang_gemeente", "premise_id", "scope", "redenen"]].astype(str),
                    geometry=shapely.points(part["x"], part["y"]), crs=region.grid.crs)
        items.append((m, None if rmaps is None else rmaps[i],
                      None if overlays is None else overlays[i], outline, bu, premises))
    written = _each(engine, partial(
        _map_page, out_dir=out_dir, footer=footer, audience=audience, offline=offline,
        tiles=tiles, details=details, risk_classes=project.risk.classes if project.risk
        else 0), items, desc="kaarten (html)", progress=progress, later=later,
        cost=lambda item: int(item[0].mask.sum()))
    entries = [(m.code, m.name, f"{m.code}/kaart.html") for m in omaps]
    index = webmap.index_page(title=f"{project.project.name} — kaarten per gemeente",
                              entries=entries, footer=footer, offline=offline,
                              provenance=details)
    written.append(webmap.write_page(out_dir / "index.html", index))
    return written


def _map_page(item, *, out_dir: Path, footer: dict, audience: str, offline: bool, tiles: str,
              details: dict, risk_classes: int) -> list[Path]:
    """One municipality's ``kaart.html``."""
    from riskmap import styles, webmap

    m, rmap, ov, outline, bu, premises = item
    k_opp = max(int(m.klasse.max()), 2)
    layers = [webmap.RasterLayer(name="Gelegenheid (klasse)", classes=m.klasse, grid=m.grid,
                                 colors=styles.class_colors(k_opp),
                                 legend=styles.class_labels(k_opp))]
    zones = fields = biv = None
    if rmap is not None:
        layers.append(webmap.RasterLayer(name="Risico (klasse)", classes=rmap.klasse,
                                         grid=rmap.grid, colors=styles.class_colors(risk_classes),
                                         legend=styles.class_labels(risk_classes), show=False))
        biv = webmap.RasterLayer(name="Gelegenheid × risico", classes=ov.bivariate, grid=ov.grid,
                                 colors=styles.BIVARIATE_COLORS, legend=styles.BIVARIATE_LABELS)
        zones, fields = _zone_display(ov, dict(m.labels))
    premise_fields = None if premises is None else {
        "rang_gemeente": "Rang", "premise_id": "Verblijfsobject", "scope": "Gebied",
        "redenen": "Redenen"}
    html = webmap.municipality_page(
        title=f"{m.name} — gelegenheid en risico", outline=outline, layers=layers, zones=zones,
        zone_fields=fields, bivariate=biv, buurten=bu, footer=footer, audience=audience,
        offline=offline, tiles=tiles, premises=premises, premise_fields=premise_fields,
        provenance=details)
    return [webmap.write_page(out_dir / m.code / "kaart.html", html)]


# ----------------------------------------------------------------------------- ranking

OUTCOMES = ("bevestigd", "ontkracht", "geen bevindingen")


def _read_table(project: Project, rel: str, *, required: list[str], what: str) -> pd.DataFrame:
    path = project.path_of(rel)
    df = io.read_table(path, what=what, dtype=str, keep_default_na=False, na_values=[""])
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise InputError(f"{what}: column(s) {missing} not found in {path.name}; columns: "
                         f"{', '.join(df.columns)}.", code="E-INPUT-COLUMN")
    dates = pd.to_datetime(df["datum"], errors="coerce", format="ISO8601")
    bad = dates.isna()
    if bad.any():
        raise InputError(f"{what}: {int(bad.sum())} dates in {path.name} do not parse (first at "
                         f"line {int(np.flatnonzero(bad)[0]) + 2}: {df['datum'][bad].iloc[0]!r})."
                         " Use ISO dates (2021-12-31).", code="E-INCIDENTS-DATE")
    df["datum"] = dates
    return df


def read_inspections(project: Project) -> pd.DataFrame | None:
    """Past inspections: premise_id, datum, uitkomst (bevestigd/ontkracht/geen bevindingen),
    verkenning (exploration slot: ja/nee). Unknown outcomes are refused."""
    spec = project.scoring
    if not spec.inspections:
        return None
    if spec.inspections == "register":  # feedback: the register's outcomes become labels
        with open_project_register(project) as reg:
            ins = reg.inspections()
            locs = reg.locations().set_index("location_id")["premise_id"]
        ins = ins[ins["outcome"].notna()]
        return pd.DataFrame({
            "premise_id": ins["location_id"].map(locs).fillna(ins["location_id"]).astype(str),
            "datum": pd.to_datetime(ins["date"]),
            "uitkomst": ins["outcome"].astype(str),
            "verkenning": ins["exploration"].astype(bool)})
    what = f"{project.path} [scoring] inspections"
    df = _read_table(project, spec.inspections, required=["premise_id", "datum", "uitkomst"],
                     what=what)
    bad = ~df["uitkomst"].isin(OUTCOMES)
    if bad.any():
        raise InputError(f"{what}: {int(bad.sum())} outcomes are not one of "
                         f"{', '.join(OUTCOMES)} (first at line {int(np.flatnonzero(bad)[0]) + 2}:"
                         f" {df['uitkomst'][bad].iloc[0]!r}).", code="E-SCORING-OUTCOME")
    df["verkenning"] = df.get("verkenning", "nee").fillna("nee").str.lower().isin(
        ["ja", "true", "1", "yes"])
    return df


def _indicator_at(region: Region, omaps, column: str, rows: np.ndarray, cols: np.ndarray, *,
                  where: str) -> np.ndarray:
    """An opportunity indicator's transformed value (contribution / weight share) per cell."""
    known = sorted(omaps[0].contributions) if omaps else []
    if column not in known:
        raise ConfigError(f"{where}: indicator {column!r} is not in the opportunity map; use "
                          f"one of {', '.join(known)}.", code="E-CONFIG-VALUE")
    out = np.zeros(region.grid.shape)
    for m in omaps:
        r0, c0 = region.window(m.code)
        mine = region.labels[r0, c0] == region.codes.index(m.code)
        block = out[r0, c0]
        block[mine] = np.nan_to_num(m.contributions[column], nan=0.0)[mine]
        out[r0, c0] = block
    top = out.max()
    return out[rows, cols] / top if top > 0 else out[rows, cols]


def _region_array(region: Region, maps, attr: str, *, fill=0.0) -> np.ndarray:
    """Paste per-municipality cut-outs into one region array (by cell-centre municipality)."""
    out = np.full(region.grid.shape, fill, dtype=float)
    for m in maps:
        rows, cols = region.window(m.code)
        mine = region.labels[rows, cols] == region.codes.index(m.code)
        block = out[rows, cols]
        block[mine] = np.asarray(getattr(m, attr), dtype=float)[mine]
        out[rows, cols] = block
    return out


def rank_premises(project: Project, *, audience: str = "partners",
                  municipalities: Iterable[str] = (), region: Region | None = None,
                  progress: bool = False, opportunity_maps_=None, surface=None,
                  overlays_=None):
    """Candidate premises with features, score, reasons and rank, per the ``[scoring]`` table.

    Returns the region and a :class:`riskmap.scoring.Ranking` whose ``table`` holds one row
    per premise (best first) with ``rang``, ``premise_id``, ``statcode``, ``gemeente``,
    ``scope``, address, ``score``, ``redenen``, ``x``/``y`` (RD) and ``lat``/``lon``.
    """
    from pyproj import Transformer

    from riskmap import scoring

    spec = project.scoring
    if spec is None:
        raise ConfigError(f"{project.path} has no [scoring] table.", code="E-CONFIG-MISSING")
    if audience == "public":
        raise PrivacyError("a ranked list names premises: it is never made for the public "
                           "(use --audience partners or police).", code="E-PRIVACY-AUDIENCE")
    region = region or load_region(project)
    codes = region.select(list(municipalities))
    grid = region.grid
    what = f"{project.path} [scoring] premises"
    needed = [f.column for f in spec.feature if f.kind == "column"]
    cols = list(dict.fromkeys([spec.id_column, *needed, *spec.address_columns,
                               *([spec.sector_column] if spec.sector_column else [])]))
    path = project.path_of(spec.premises)
    try:  # through io's checks (GeoParquet too); read_vector below reports what is wrong
        available = set(io.vector_fields(path, layer=spec.layer, what=what))
    except Exception:
        available = set()
    cols = [c for c in cols if c in available or c == spec.id_column or c in needed]
    points = io.read_vector(path, crs=grid.crs, layer=spec.layer, where=spec.where,
                            columns=cols, what=what, as_points=True)
    prem, x, y = points.data, points.x, points.y  # read_vector refuses missing geometries
    ids = prem[spec.id_column].astype(str)
    dup = ids[ids.duplicated()].unique()
    if len(dup):
        raise InputError(f"{what}: {len(dup)} premise ids occur more than once, e.g. "
                         f"{list(dup[:5])}. Every premise needs its own id.",
                         code="E-INPUT-DUPLICATE")
    r, c, inside = grid.rowcol(x, y)
    lab = np.where(inside, region.labels[np.clip(r, 0, None), np.clip(c, 0, None)], -1)
    keep = lab >= 0
    keep &= np.isin(np.asarray(region.codes, dtype=object)[np.clip(lab, 0, None)], codes)
    # scope: on an industrial estate, or outside built-up areas
    scope = np.full(len(prem), "", dtype=object)
    estate_id = np.full(len(prem), None, dtype=object)
    estate_name = np.full(len(prem), None, dtype=object)
    if spec.estates and "bedrijventerrein" in spec.scopes:
        est = io.read_vector(project.path_of(spec.estates), crs=grid.crs, layer=spec.estates_layer,
                             what=f"{project.path} [scoring] estates")
        tree = shapely.STRtree(est.geometry.values)
        ip, ie = tree.query(shapely.points(x, y), predicate="within")
        estate_id[ip] = est[spec.estates_id_column].astype(str).to_numpy()[ie]
        if spec.estates_name_column and spec.estates_name_column in est.columns:
            estate_name[ip] = est[spec.estates_name_column].astype(str).to_numpy()[ie]
        scope[ip] = "bedrijventerrein"
    if "buitengebied" in spec.scopes:
        allp = io.read_vector(path, crs=grid.crs, layer=spec.layer, columns=[], what=what,
                              as_points=True)
        dens = indicators.density(allp.x, allp.y, grid, radius=spec.builtup_radius_m)
        n_near = dens * math.pi * spec.builtup_radius_m**2 / 1e6
        rural = np.zeros(len(prem), dtype=bool)
        rural[inside] = n_near[r[inside], c[inside]] <= spec.builtup_max_addresses
        scope[(scope == "") & rural] = "buitengebied"
    keep &= scope != ""
    if not keep.any():
        raise InputError(f"{what}: no candidate premises in scope ({', '.join(spec.scopes)}) "
                         "in the selected municipalities.", code="E-INPUT-EMPTY")
    # map context
    omaps = opportunity_maps_ or opportunity_maps(project, municipalities=codes, region=region,
                                                  progress=progress)[1]
    if project.risk is not None and project.risk.layer is None and surface is None:
        surface = risk_surface(project, region, progress=progress)
    overlays = overlays_ or overlay_maps(project, municipalities=codes, audience=audience,
                                         region=region, opportunity_maps_=omaps,
                                         surface=surface)[1]
    opp = _region_array(region, omaps, "score")
    zone = _region_array(region, overlays, "zone")
    rc = _region_array(region, overlays, "risk_class")
    rr, cc = np.clip(r, 0, None), np.clip(c, 0, None)
    dist_prio = indicators.distance_to_cells(zone == 1, rr, cc, cell_size=grid.cell_size)
    context = {"gelegenheid": opp[rr, cc], "risico": rc[rr, cc],
               "prioriteitszone": (zone[rr, cc] == 1).astype(float),
               "blinde_vlek": (zone[rr, cc] == 2).astype(float),
               "afstand_prioriteitszone": np.where(np.isinf(dist_prio), 1e6, dist_prio)}
    ref = pd.Timestamp(surface[0].settings.reference) if surface is not None else \
        pd.Timestamp(clock.now().date())
    signals = None
    if spec.signals:
        signals = _read_table(project, spec.signals, required=["premise_id", "datum"],
                              what=f"{project.path} [scoring] signals")
    insp = read_inspections(project)
    values = pd.DataFrame(index=prem.index)
    for f in spec.feature:
        if f.kind == "column":
            col = prem[f.column]
            num = pd.to_numeric(col, errors="coerce")
            text = num.isna() & col.notna() & (col.astype(str).str.strip() != "")
            if f.equals is None and text.any():
                raise InputError(f"{what}: column {f.column!r} ([[scoring.feature]] {f.name}) "
                                 f"holds {int(text.sum())} values that are not numbers (first: "
                                 f"{col[text].iloc[0]!r} at FID {col.index[text][0]}). Use "
                                 "numbers, or equals = \"…\" to turn a text value into 1/0.",
                                 code="E-INPUT-COLUMNTYPE")
            values[f.name] = (col.astype(str) == f.equals).astype(float) if f.equals is not None \
                else num
        elif f.kind == "map" and f.map == "indicator":
            values[f.name] = _indicator_at(region, omaps, f.indicator, rr, cc,
                                           where=f"[[scoring.feature]] {f.name}")
        elif f.kind == "map":
            values[f.name] = context[f.map]
        elif f.kind == "signals":
            recent = signals[(signals["datum"] < ref) & (signals["datum"] >= ref - pd.Timedelta(
                days=f.window_days))] if signals is not None else pd.DataFrame(
                {"premise_id": []})
            counts = recent["premise_id"].value_counts()
            values[f.name] = ids.map(counts).fillna(0).to_numpy(dtype=float)
        elif f.kind == "history":
            last = (insp.sort_values("datum").groupby("premise_id").last() if insp is not None
                    else pd.DataFrame({"uitkomst": [], "datum": []}))
            if f.history == "laatste_bevinding":
                hit = (last["uitkomst"] == "bevestigd").astype(float)
                values[f.name] = ids.map(hit).fillna(0).to_numpy(dtype=float)
            else:  # days since the last inspection (NaN: never inspected)
                days = (ref - pd.to_datetime(last["datum"])).dt.days.astype(float)
                values[f.name] = ids.map(days).to_numpy(dtype=float)
    values = values[keep]
    feats = [f.model_dump() for f in spec.feature]
    for f in feats:
        f["transform"] = {k: v for k, v in f["transform"].items() if v is not None}
        if f["transform"].get("method") != "decay":
            f["transform"].pop("shape", None)
    model_report = None
    if spec.scorer == "model":
        score, contrib, model_report = _model_scores(values, ids[keep], insp, spec, feats)
    else:
        score, contrib = scoring.score_weighted(values, feats)
    if audience != "police":
        for f in feats:  # partners read that there is a signal, never how many
            if f["kind"] == "signals":
                f["reason"] = "recent politiesignaal op dit adres"
    why = scoring.reasons(values, contrib, feats)
    lon, lat = Transformer.from_crs(grid.crs, 4326, always_xy=True).transform(x[keep], y[keep])
    sel = prem[keep]
    table = pd.DataFrame({
        "premise_id": ids[keep].to_numpy(),
        "statcode": np.asarray(region.codes, dtype=object)[lab[keep]],
        "scope": scope[keep],
        "bedrijventerrein": estate_name[keep],
        "estate": estate_id[keep],
        "score": np.round(score, 6),
        "redenen": why,
        "gelegenheid": context["gelegenheid"][keep],
        "zone": np.array(["", "prioriteit", "blinde vlek", "risico"],
                         dtype=object)[zone[rr, cc][keep].astype(int)],
        "x": np.round(x[keep], 1), "y": np.round(y[keep], 1),
        "lat": np.round(lat, 6), "lon": np.round(lon, 6),
    }, index=sel.index)
    table["gemeente"] = table["statcode"].map(dict(zip(region.codes,
                                                       region.municipalities["name"],
                                                       strict=True)))
    for col in spec.address_columns:
        if col in sel.columns:
            table[col] = sel[col].to_numpy()
    if spec.sector_column and spec.sector_column in sel.columns:
        table["sector"] = sel[spec.sector_column].to_numpy()
    if insp is not None:
        last = insp.sort_values("datum").groupby("premise_id").last()
        table["laatste_inspectie"] = table["premise_id"].map(last["datum"])
        table["laatste_uitkomst"] = table["premise_id"].map(last["uitkomst"]).fillna("")
    else:
        table["laatste_inspectie"] = pd.NaT
    table = table.sort_values(["score", "premise_id"], ascending=[False, True], kind="stable")
    table.insert(0, "rang", np.arange(1, len(table) + 1))
    contrib = contrib.loc[table.index]
    scoring.concentration_warnings(table.head(spec.top_k),
                                   columns={"sector": "sector (SBI)", "estate": "estate"},
                                   max_share=spec.max_share)
    result = scoring.Ranking(table=table.reset_index(drop=True),
                             contributions=contrib.reset_index(drop=True),
                             features={f["name"]: f for f in feats})
    result.model_report = model_report
    return region, result


def _model_scores(values: pd.DataFrame, ids: pd.Series, insp, spec, feats):
    """Scores of the ``model`` scorer, and per-premise contributions from its explanation.

    The contributions of the model scorer are the positive logistic terms of the top
    features (they explain the ranking; unlike the weighted scorer they do not add up to
    the calibrated probability). ``history`` features are left out of the model: they are
    made from the very outcomes it learns (label leakage).
    """
    from riskmap.model import OutcomeModel, labels_from_outcomes

    if insp is None:
        raise ConfigError("[scoring] scorer = \"model\" needs inspections = \"…\" (past "
                          "inspection outcomes to learn from).", code="E-CONFIG-MISSING")
    # features built from the inspection outcomes themselves would leak the label
    leak = [f["name"] for f in feats if f["kind"] == "history"]
    X = values.drop(columns=leak)
    X.index = ids.to_numpy()
    model = OutcomeModel(method=spec.model_method, training=spec.model_training,
                         min_labels=spec.min_labels).fit(X, labels_from_outcomes(insp))
    score = model.score(X)
    contrib = pd.DataFrame(0.0, index=values.index, columns=values.columns)
    for i, top in enumerate(model.explain(X, top=3)):  # explanation per premise: output text
        for name, value in top:
            contrib.iat[i, contrib.columns.get_loc(name)] = float(value)
    return score, contrib, model.cv_report_


RANK_FILES = ("ranglijst.csv", "ranglijst.xlsx", "ranglijst.gpkg")

#: Dutch column headers of the ranked list, in order (only these columns are written).
RANK_COLUMNS = {
    "rang": "Rang", "premise_id": "Verblijfsobject", "gemeente": "Gemeente",
    "statcode": "Gemeentecode", "scope": "Gebied", "bedrijventerrein": "Bedrijventerrein",
    "openbare_ruimte": "Straat", "huisnummer": "Huisnummer", "postcode": "Postcode",
    "woonplaats": "Woonplaats", "score": "Score", "redenen": "Redenen", "zone": "Zone",
    "laatste_inspectie": "Laatste inspectie", "laatste_uitkomst": "Laatste uitkomst",
    "x": "x (RD)", "y": "y (RD)", "lat": "Breedtegraad", "lon": "Lengtegraad",
}


def _map_link(row_lat: pd.Series, row_lon: pd.Series) -> pd.Series:
    return "kaart.html#17/" + row_lat.round(6).astype(str) + "/" + row_lon.round(6).astype(str)


def write_ranking(ranking, out_dir: str | Path, *, project: Project, audience: str,
                  overwrite: bool = False, engine=None, later: _Later | None = None
                  ) -> list[Path]:
    """Write ``ranglijst.{csv,xlsx,gpkg}`` per municipality (on a parallel ``engine``'s
    workers when given; see :func:`_each` for ``later``).

    The XLSX has a frozen header, an autofilter, a link per premise to its place on the
    municipality's HTML map (``kaart.html#17/lat/lon``) and a sheet ``Herkomst`` with the
    settings and provenance; no cell can become a formula (:mod:`riskmap.excel`).
    """
    out_dir = Path(out_dir)
    table = ranking.table
    codes = list(dict.fromkeys(table["statcode"]))
    check_outputs(out_dir, codes, overwrite=overwrite, files=RANK_FILES)
    prov = provenance(project, audience=audience)
    prov_flat = {k: v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
                 for k, v in prov.items()}
    prov_flat["scoring"] = json.dumps({n: {"weight": f["weight"], "label": f["label"]}
                                       for n, f in ranking.features.items()},
                                      ensure_ascii=False)
    if ranking.model_report:
        prov_flat["model"] = json.dumps(ranking.model_report, ensure_ascii=False, default=str)
    parts = [(code, table[table["statcode"] == code]) for code in codes]
    return _each(engine, partial(_ranking_files, out_dir=out_dir, prov=prov,
                                 prov_flat=prov_flat, crs=project.region.crs), parts,
                 desc="ranglijsten schrijven", later=later, cost=lambda item: len(item[1]))


def _ranking_files(item, *, out_dir: Path, prov: dict, prov_flat: dict, crs) -> list[Path]:
    """One municipality's ``ranglijst.{csv,xlsx,gpkg}``."""
    from riskmap import excel

    code, part = item
    part = part.copy()
    part["rang"] = np.arange(1, len(part) + 1)
    cols = [c for c in RANK_COLUMNS if c in part.columns]
    shown = part[cols].rename(columns=RANK_COLUMNS)
    folder = out_dir / code
    written = [excel.write_csv(folder / "ranglijst.csv", shown),
               write_sidecar(folder / "ranglijst.csv", prov)]
    links = {"Ranglijst": {RANK_COLUMNS["premise_id"]: _map_link(part["lat"], part["lon"])
                           .set_axis(shown.index)}}
    written.append(excel.write_xlsx(folder / "ranglijst.xlsx", {"Ranglijst": shown},
                                    provenance=prov_flat, hyperlinks=links))
    gdf = gpd.GeoDataFrame(part[cols].reset_index(drop=True),
                           geometry=shapely.points(part["x"], part["y"]), crs=crs)
    gdf["laatste_inspectie"] = gdf.get("laatste_inspectie", pd.Series(dtype=str)).astype(str)
    written.append(io.write_gpkg(folder / "ranglijst.gpkg", gdf, layer="ranglijst",
                                 metadata=_flat(prov)))
    return written


def _period_start(period: str) -> pd.Timestamp:
    text = period.strip().upper()
    if len(text) == 7 and text[4:6] == "-Q" and text[6] in "1234":
        return pd.Timestamp(int(text[:4]), 3 * (int(text[6]) - 1) + 1, 1)
    try:
        return pd.Timestamp(period)
    except ValueError:
        raise ConfigError(f"--period {period!r} is not a quarter (2027-Q1) or a date "
                          "(2027-01-01).", code="E-CONFIG-VALUE") from None


def plan_inspections(ranking, *, period: str, capacity: int, min_per_municipality: int = 1,
                     cooldown_days: int = 180, exploration_share: float = 0.15,
                     seed: int = 0):
    """The inspection plan for ``period`` from a ranking (:func:`riskmap.planner.make_plan`)."""
    from riskmap import planner

    t = ranking.table
    police_info = (t.get("zone", "") == "prioriteit") | (t.get("zone", "") == "risico")
    if "signalen" in ranking.contributions.columns:
        police_info |= ranking.contributions["signalen"].to_numpy() > 0
    frame = pd.DataFrame({
        "premise_id": t["premise_id"], "statcode": t["statcode"], "score": t["score"],
        "x": t["x"], "y": t["y"], "estate": t["estate"], "opportunity": t["gelegenheid"],
        "zone": t["zone"], "police_info": police_info.to_numpy(dtype=bool),
        "last_inspection": pd.to_datetime(t["laatste_inspectie"]),
    })
    plan = planner.make_plan(frame, capacity=capacity, period_start=_period_start(period),
                             min_per_municipality=min_per_municipality,
                             cooldown_days=cooldown_days, exploration_share=exploration_share,
                             seed=seed)
    extra = t.set_index("premise_id")
    for col in ("gemeente", "scope", "bedrijventerrein", "openbare_ruimte", "huisnummer",
                "postcode", "woonplaats", "redenen", "rang", "lat", "lon"):
        if col in extra.columns:
            plan.plan[col] = plan.plan["premise_id"].map(extra[col]).to_numpy()
    plan.settings["period"] = period
    return plan


PLAN_COLUMNS = {
    "slot": "Slot", "soort": "Soort", "werkpakket": "Werkpakket", "dag_volgorde": "Volgorde",
    "premise_id": "Verblijfsobject", "gemeente": "Gemeente", "statcode": "Gemeentecode",
    "scope": "Gebied", "bedrijventerrein": "Bedrijventerrein", "openbare_ruimte": "Straat",
    "huisnummer": "Huisnummer", "postcode": "Postcode", "woonplaats": "Woonplaats",
    "rang": "Rang in de lijst", "score": "Score", "redenen": "Redenen", "zone": "Zone",
    "x": "x (RD)", "y": "y (RD)",
}


def write_plan(plan, out_dir: str | Path, *, project: Project, audience: str,
               overwrite: bool = False) -> list[Path]:
    """Write ``inspectieplan.xlsx`` (sheets Plan, Werkpakketten, Herkomst) and ``.csv``."""
    from riskmap import excel

    out_dir = Path(out_dir)
    targets = [out_dir / "inspectieplan.xlsx", out_dir / "inspectieplan.csv"]
    _refuse_existing(targets, overwrite=overwrite)
    cols = [c for c in PLAN_COLUMNS if c in plan.plan.columns]
    shown = plan.plan[cols].rename(columns=PLAN_COLUMNS)
    prov = provenance(project, audience=audience)
    prov_flat = {k: v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, default=str)
                 for k, v in prov.items()}
    prov_flat["plan"] = json.dumps(plan.settings, ensure_ascii=False, default=str)
    prov_flat["verslag"] = json.dumps(plan.report, ensure_ascii=False, default=str)
    links = None
    if {"lat", "lon", "statcode"} <= set(plan.plan.columns):
        url = (plan.plan["statcode"] + "/" + _map_link(plan.plan["lat"], plan.plan["lon"]))
        links = {"Plan": {PLAN_COLUMNS["premise_id"]: url.set_axis(shown.index)}}
    return [excel.write_xlsx(targets[0], {"Plan": shown, "Werkpakketten": plan.packages},
                             provenance=prov_flat, hyperlinks=links),
            excel.write_csv(targets[1], shown),
            write_sidecar(targets[1], prov | {"plan": plan.settings})]


# ----------------------------------------------------------------------------- register


#: The register's progress and exports are made for the partnership (no incident detail).
REGISTER_AUDIENCE = "partners"


def open_project_register(project: Project):
    """The project's register (``[register] url``; a relative SQLite file sits beside the
    project file)."""
    from riskmap.register import open_register

    spec = project.register_spec
    url = spec.url if spec else "sqlite:///register.sqlite"
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        url = f"sqlite:///{project.path_of(url.removeprefix('sqlite:///'))}"
    return open_register(url)


def register_targets(project: Project) -> dict:
    """The year plan's targets from ``[register.targets]`` (only those that are set)."""
    spec = project.register_spec
    if spec is None:
        return {}
    return {k: v for k, v in spec.targets.model_dump().items() if v is not None}


def read_outcomes_file(path: str | Path) -> pd.DataFrame:
    """An inspectors' returned plan (XLSX sheet ``Plan`` or CSV) with an outcome column."""
    path = Path(path)
    what = "returned plan"
    if path.suffix.lower() == ".xlsx":
        frame = io.read_table(path, what=what, kinds={".xlsx"}, sheet_name=0, dtype=str)
    else:
        frame = io.read_table(path, what=what, sep=None, engine="python", dtype=str,
                              encoding="utf-8-sig")
    rename = {"Verblijfsobject": "premise_id", "Datum": "datum", "Uitkomst": "uitkomst",
              "Team": "team", "Verkenning": "verkenning", "Bevindingen": "bevindingen",
              "x (RD)": "x", "y (RD)": "y"}
    frame = frame.rename(columns=rename)
    if "Soort" in frame.columns and "verkenning" not in frame.columns:
        frame["verkenning"] = np.where(frame["Soort"] == "verkenning", "ja", "nee")
    return frame


def _dashboard_html(progress: pd.DataFrame, targets: pd.DataFrame | None, hits: dict, *,
                    title: str, footer: dict[str, str], lead: pd.DataFrame | None = None,
                    provenance: dict[str, str] | None = None) -> str:
    """A self-contained progress page: tables and one bar chart (PNG inside), no scripts."""
    import base64
    import html as html_mod
    from io import BytesIO

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from riskmap.register import STATUSES

    per = progress[(progress["statcode"] != "regio")]
    per = per.groupby("statcode")[list(STATUSES)].sum()
    fig, ax = plt.subplots(figsize=(9, max(3, 0.28 * len(per) + 1)), dpi=100)
    left = np.zeros(len(per))
    colors = ["#bdbdbd", "#fdae61", "#d7191c", "#2c7bb6", "#1a9641", "#636363"]
    for status, color in zip(STATUSES, colors, strict=False):
        ax.barh(per.index, per[status], left=left, color=color, label=status)
        left += per[status].to_numpy()
    ax.set_xlabel("risicolocaties")
    ax.legend(fontsize=8, ncol=3)
    ax.invert_yaxis()
    buf = BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight", metadata=PNG_METADATA)
    plt.close(fig)
    png = base64.b64encode(buf.getvalue()).decode()

    def table(frame: pd.DataFrame) -> str:
        head = "".join(f"<th>{html_mod.escape(str(c))}</th>" for c in frame.columns)
        rows = "".join("<tr>" + "".join(f"<td>{html_mod.escape(str(v))}</td>" for v in r)
                       + "</tr>" for r in frame.itertuples(index=False))
        return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"

    hit_rows = pd.DataFrame([{"inspecties": k, **v} for k, v in hits.items()])
    foot = " · ".join(f"<b>{html_mod.escape(k)}</b>: {html_mod.escape(str(v))}"
                      for k, v in footer.items())
    if provenance:
        rows = "".join(f"<dt>{html_mod.escape(k)}</dt><dd>{html_mod.escape(v)}</dd>"
                       for k, v in provenance.items())
        foot += (f'<details id="rm-provenance"><summary>Verantwoording</summary><dl>{rows}'
                 "</dl></details>")
    csp = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
    lead_html = (table(lead) if lead is not None and len(lead)
                 else "<p>Nog geen overgangen.</p>")
    goals = (table(targets) if targets is not None and len(targets)
             else "<p>Geen doelen opgegeven.</p>")
    chart = f'<img alt="risicolocaties per gemeente en status" src="data:image/png;base64,{png}">'
    return f"""<!DOCTYPE html>
<html lang="nl"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<title>{html_mod.escape(title)}</title>
<style>body{{font:14px system-ui,sans-serif;margin:2em;max-width:70em}}
table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:2px 6px}}
th{{background:#f0f0f0}}footer{{color:#555;font-size:12px;margin-top:2em}}</style></head>
<body><h1>{html_mod.escape(title)}</h1>
<h2>Doelen</h2>{goals}
<h2>Status per gemeente</h2>{chart}
<h2>Trefkans van inspecties</h2>{table(hit_rows)}
<h2>Doorlooptijd vanaf het signaal (dagen, mediaan)</h2>{lead_html}
<h2>Per gemeente en thema</h2>{table(progress)}
<footer>{foot}</footer></body></html>
"""


def write_progress(project: Project, out_dir: str | Path, *, overwrite: bool = False
                   ) -> list[Path]:
    """``voortgang.csv``, ``doelen.csv`` and the dashboard ``voortgang.html`` in ``out_dir``."""
    from riskmap import __version__, excel

    out_dir = Path(out_dir)
    targets_given = register_targets(project)
    files = [out_dir / n for n in ("voortgang.csv", "doelen.csv", "voortgang.html")]
    _refuse_existing(files, overwrite=overwrite)
    with open_project_register(project) as reg:
        progress = reg.progress()
        targets = reg.check_targets(targets_given) if targets_given else None
        hits = reg.hit_rates()
        lead = reg.lead_times()
    prov = provenance(project, audience=REGISTER_AUDIENCE)
    lead_file = out_dir / "doorlooptijden.csv"
    written = []
    for path, frame in ((files[0], progress), (lead_file, lead), (files[1], targets)):
        if frame is not None:
            written += [excel.write_csv(path, frame), write_sidecar(path, prov)]
    footer = {"riskmap": __version__, "gemaakt": prov["created"],
              "project": project.project.name, "doelgroep": REGISTER_AUDIENCE,
              "configuratie": prov["config_sha256"][:12]}
    page = _dashboard_html(progress, targets, hits, title=f"Voortgang risicolocaties — "
                           f"{project.project.name}", footer=footer, lead=lead,
                           provenance=provenance_text(prov))
    with io.atomic_path(files[2]) as tmp:
        tmp.write_text(page, encoding="utf-8")
    written.append(files[2])
    return written


def export_register(project: Project, out_dir: str | Path, *, overwrite: bool = False
                    ) -> list[Path]:
    """``register.xlsx`` (Locaties, Overgangen, Inspecties, Herkomst), ``register.csv``
    (the locations) and ``register.gpkg`` (the locations as points)."""
    from riskmap import excel

    out_dir = Path(out_dir)
    files = [out_dir / n for n in ("register.xlsx", "register.csv", "register.gpkg")]
    _refuse_existing(files, overwrite=overwrite)
    with open_project_register(project) as reg:
        locs, trans, insp = reg.locations(), reg.transitions(), reg.inspections()
    prov = provenance(project, audience=REGISTER_AUDIENCE)
    prov_flat = {k: v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, default=str)
                 for k, v in prov.items()}
    sheets = {"Locaties": locs, "Overgangen": trans, "Inspecties": insp}
    sheets = {k: v.astype({c: str for c in v.columns if v[c].dtype == object})
              for k, v in sheets.items()}
    written = [excel.write_xlsx(files[0], sheets, provenance=prov_flat),
               excel.write_csv(files[1], locs), write_sidecar(files[1], prov)]
    gdf = gpd.GeoDataFrame(locs.astype({c: str for c in locs.columns
                                        if locs[c].dtype == object}),
                           geometry=shapely.points(locs["x"].astype(float),
                                                   locs["y"].astype(float)),
                           crs=project.region.crs)
    written.append(io.write_gpkg(files[2], gdf, layer="risicolocaties", metadata=_flat(prov)))
    return written


# ----------------------------------------------------------------------------- whole project


def _reusable(out_dir: Path, project: Project, audience: str, codes: list[str]) -> list[str]:
    """Municipalities whose files of the previous run are intact and from the same inputs.

    The previous run's list is ``MANIFEST.json``, or ``MANIFEST.previous.json`` after an
    interrupted run (each listed file is checked against its SHA-256 all the same).
    """
    path = out_dir / io.MANIFEST
    if not path.exists():
        path = out_dir / io.PREVIOUS_MANIFEST
    if not path.exists():
        return []
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    now = provenance(project, audience=audience)
    before = old.get("provenance", {})
    if any(v.get("remote") for v in now["inputs"].values()):
        return []  # a network input is not hashed: nothing shows it is unchanged
    if (before.get("config_sha256") != now["config_sha256"]
            or before.get("audience") != audience
            or {k: v.get("sha256") for k, v in before.get("inputs", {}).items()}
            != {k: v["sha256"] for k, v in now["inputs"].items()}):
        return []
    files = old.get("files", {})
    groups = ((files_of(project, OPPORTUNITY_FILES), project.opportunity is not None),
              (files_of(project, RISK_FILES), project.risk is not None),
              (OVERLAY_FILES, project.opportunity is not None and project.risk is not None))
    names = [name for files_of, configured in groups if configured for name in files_of]
    keep = []
    for code in codes:
        rels = [f"{code}/{n}" for n in names]
        if all(r in files and (out_dir / r).exists()
               and _sha256(out_dir / r) == files[r]["sha256"] for r in rels):
            keep.append(code)
    return keep


def write_manifest(out_dir: str | Path, files: list[Path], *, project: Project,
                   audience: str) -> Path:
    """``MANIFEST.json``, written last: every output with its SHA-256 and size, so a reader
    can tell a complete run from an interrupted one.

    A run withdraws the old manifest (renames it to ``MANIFEST.previous.json``) before it
    replaces the first file it lists (:func:`riskmap.io.atomic_path`), and removes that once
    the new one is in place: ``MANIFEST.json`` only ever lists files as they are on disk.
    """
    out_dir = Path(out_dir)
    entries = {}
    for f in sorted(set(map(Path, files))):
        if f.exists() and f.name != "MANIFEST.json":
            entries[str(f.resolve().relative_to(out_dir.resolve()))] = {
                "sha256": _sha256(f), "bytes": f.stat().st_size}
    body = {"complete": True, "provenance": provenance(project, audience=audience),
            "files": entries}
    path = out_dir / "MANIFEST.json"
    with io.atomic_path(path) as tmp:
        tmp.write_text(json.dumps(body, indent=1, ensure_ascii=False, default=str),
                       encoding="utf-8")
    (out_dir / io.PREVIOUS_MANIFEST).unlink(missing_ok=True)
    return path


def _write_each(engine, write, maps: list, *, desc: str, later: _Later | None = None
                ) -> list[Path]:
    """``write(maps)``, or ``write([m])`` per municipality on a parallel engine."""
    if engine is None or not engine.parallel:
        return write(maps)
    progress = write.keywords.get("progress", False)
    return _each(engine, partial(write, progress=False), [[m] for m in maps], desc=desc,
                 progress=progress, later=later, cost=lambda item: int(item[0].mask.sum()))


def _each(engine, fn, items: list, *, desc: str, progress: bool = False,
          later: _Later | None = None, cost: Callable[[Any], float] | None = None
          ) -> list[Path]:
    """``fn(item)`` for every item — here, or on a parallel engine's workers — each
    returning a list of files; the files of all items, in the order of the items.

    ``later`` (:class:`_Later`): on a parallel engine the items are left to it, for the
    workers to write while the caller goes on, and nothing is returned here.
    ``cost(item)``: how much work an item is (e.g. its cells); the workers take the largest
    first, so that none is left with a large one at the end.
    """
    if engine is None or not engine.parallel:
        return _flat_files([fn(item) for item in tqdm(items, desc=desc,
                                                      disable=not progress)])
    fn = partial(_hashed, write=fn)  # the workers hash their files for the manifest
    if later is not None:
        later.add(fn, items, cost=cost, desc=desc)
        return []
    return _largest_first(engine, fn, items, cost=cost, desc=desc,
                          progress=progress).then(_flat_files).result()


class _Later:
    """The files the workers of a parallel engine write while the run computes on.

    Writers are gathered (:meth:`add`) and :meth:`start` hands them to the engine as one
    batch (one set of forked workers: fewer forks, and no worker idle at the end of each
    writer); :meth:`files` waits for all of them. ``track`` keeps other work in flight, to
    be cancelled on an error (:meth:`cancel`).
    """

    def __init__(self, engine, *, progress: bool = False) -> None:
        self.engine, self.progress = engine, progress
        self.queued: list[tuple] = []
        self.started: list[Pending] = []

    def add(self, fn, items: list, *, cost, desc: str) -> None:
        self.queued.append((fn, items, cost, desc))

    def track(self, pending: Pending) -> None:
        self.started.append(pending)

    def untrack(self, pending: Pending) -> None:
        """Stop keeping ``pending`` (its caller collects it itself)."""
        self.started.remove(pending)

    def start(self) -> None:
        if not self.queued:
            return
        queued, self.queued = self.queued, []
        fns = tuple(fn for fn, *_ in queued)
        items = [(k, item) for k, (_, its, _, _) in enumerate(queued) for item in its]
        costs = [cost for _, _, cost, _ in queued]
        self.started.append(_largest_first(
            self.engine, partial(_call_of, fns=fns), items,
            cost=lambda it: costs[it[0]](it[1]) if costs[it[0]] else 0,
            desc=" + ".join(d for *_, d in queued), progress=self.progress).then(_flat_files))

    def files(self) -> list[Path]:
        self.start()
        return [p for pending in self.started for p in pending.result()]

    def cancel(self) -> None:
        for pending in self.started:
            pending.cancel()


def _call_of(item, *, fns):
    """``fns[k](x)`` for the item ``(k, x)`` of a batch of several writers."""
    k, x = item
    return fns[k](x)


def _largest_first(engine, fn, items: list, *, cost: Callable[[Any], float] | None,
                   desc: str, progress: bool) -> Pending:
    """``engine.submit(fn, items)`` with the items of the largest ``cost`` first (ties in
    their order); the results in the order of ``items``."""
    if cost is None:
        return engine.submit(fn, items, desc=desc, progress=progress)
    order = np.argsort([-cost(item) for item in items], kind="stable")
    back = np.argsort(order)
    return engine.submit(fn, [items[i] for i in order], desc=desc, progress=progress).then(
        lambda res: [res[k] for k in back])


def _hashed(item, *, write) -> list[tuple[Path, str, float, int]]:
    """``write(item)``'s files with their SHA-256, modification time and size (on a worker,
    while the file is in the page cache)."""
    out = []
    for path in write(item):
        st = Path(path).stat()
        out.append((path, _sha256(path), st.st_mtime, st.st_size))
    return out


def _flat_files(results: list[list]) -> list[Path]:
    """The files of all items; the hashes the workers computed are kept for the manifest."""
    files = []
    for entries in results:
        for entry in entries:
            if isinstance(entry, tuple):
                path, sha, mtime, size = entry
                _HASHES[(str(path), mtime, size)] = sha
                entry = path
            files.append(entry)
    return files


def _import_later_stages(*, writers: bool) -> None:
    """Import what the classes and (``writers``) the forked writers use, while the workers
    measure: a module first imported in a forked worker is imported again in every worker of
    every batch (openpyxl alone: ~0.25 s each)."""
    import mapclassify  # noqa: F401  (classes)

    if not writers:
        return
    import sqlite3  # noqa: F401  (GeoPackage styles)
    import xml.sax.saxutils  # noqa: F401  (QGIS styles)

    import openpyxl
    from PIL import Image

    from riskmap import excel, quicklook, webmap  # noqa: F401

    Image.preinit()  # PIL's PNG plugin
    openpyxl.Workbook(write_only=True).save(io_lib.BytesIO())  # what saving a workbook imports


def _run_stages(project: Project, out_dir: Path, *, region: Region, codes: list[str],
                todo: list[str], audience: str, capacity: int | None, period: str | None,
                offline: bool, overwrite: bool, progress: bool, engine, summary: dict,
                later: _Later) -> list[Path]:
    """The stages of :func:`run_project`, in the order their inputs are ready; returns the
    files written here (the workers' files are in ``later``)."""
    written: list[Path] = []
    maps = surface = ranking = rmaps = overlays = measures = None
    if project.opportunity is not None:
        check_outputs(out_dir, codes, overwrite=overwrite)
        measures = compute_measures(project, region, progress=progress, engine=engine,
                                    codes=_measured_codes(project, codes), wait=False)
        later.track(measures)  # cancelled on an error
    # the inputs' hashes for the provenance and the cells of the GeoPackages, once, here (while
    # the workers measure): the writers forked later inherit them
    provenance(project, audience=audience)
    _make_cell_layers(region, todo)
    _import_later_stages(writers=engine is not None and engine.parallel)
    incidents = project.risk is not None and project.risk.layer is None
    if incidents and (measures is None or not measures.ready()):
        try:  # while the workers measure (else while they write the opportunity maps)
            surface = risk_surface(project, region, progress=progress, engine=engine)
        except RiskmapError:
            if measures is not None:
                measures.result()  # the problems of the sources are reported first
            raise
    if measures is not None:
        later.untrack(measures)
        _, maps = opportunity_maps(project, municipalities=codes, region=region,
                                   progress=progress, engine=engine,
                                   measures=measures.result())
        measures = None  # the raw measures (a grid each) are not needed again: freed
        written += _write_each(engine, partial(
            write_opportunity, out_dir=out_dir, project=project, region=region,
            overwrite=overwrite, progress=progress), [m for m in maps if m.code in todo],
            desc="kaarten schrijven", later=later)
        later.start()  # written while the risk maps are made
        summary["opportunity"] = len(maps)
    if incidents and surface is None:
        surface = risk_surface(project, region, progress=progress, engine=engine)
    if project.risk is not None:
        if surface is not None:
            summary["risk_settings"] = surface[0].settings.as_dict()
        _, rmaps, meta = risk_maps(project, municipalities=codes, audience=audience,
                                   region=region, progress=progress, surface=surface)
        written += _write_each(engine, partial(
            write_risk, out_dir=out_dir, project=project, meta=meta, overwrite=overwrite,
            progress=progress), [m for m in rmaps if m.code in todo],
            desc="risicokaarten schrijven", later=later)
        summary["risk"] = len(rmaps)
        if maps is not None:
            _, overlays, ometa = overlay_maps(project, municipalities=codes, audience=audience,
                                              region=region, progress=progress,
                                              opportunity_maps_=maps, surface=surface)
            written += write_overlay(overlays, out_dir, project=project, region=region,
                                     meta=ometa, overwrite=overwrite, progress=progress,
                                     codes=todo, engine=engine, later=later)
            summary["zones"] = int(sum(len(o.zones) for o in overlays))
    later.start()  # the risk maps and overlays, written while the premises are ranked
    if project.scoring is not None and audience != "public":
        _, ranking = rank_premises(project, audience=audience, municipalities=codes,
                                   region=region, opportunity_maps_=maps, surface=surface,
                                   overlays_=overlays)
        written += write_ranking(ranking, out_dir, project=project, audience=audience,
                                 overwrite=overwrite, engine=engine, later=later)
        summary["premises"] = len(ranking.table)
        if capacity and period:
            plan = plan_inspections(ranking, period=period, capacity=capacity)
            written += write_plan(plan, out_dir, project=project, audience=audience,
                                  overwrite=overwrite)
            summary["plan"] = plan.plan["soort"].value_counts().to_dict()
    if maps is not None:
        written += html_maps(project, out_dir, municipalities=codes, audience=audience,
                             offline=offline, region=region, overwrite=overwrite,
                             progress=progress, opportunity_maps_=maps, surface=surface,
                             ranking=ranking, engine=engine, risk_maps_=rmaps,
                             overlays_=overlays, later=later)
    later.start()  # the lists and pages, written while the register's progress is made
    if project.register_spec is not None:
        written += write_progress(project, out_dir / "voortgang", overwrite=overwrite)
    return written


@clock.fixed()  # one time stamp for every file of the run
def run_project(project: Project, out_dir: str | Path, *, audience: str = "partners",
                municipalities: Iterable[str] = (), capacity: int | None = None,
                period: str | None = None, offline: bool = True, overwrite: bool = False,
                resume: bool = False, progress: bool = False, engine=None
                ) -> tuple[list[Path], dict]:
    """Every stage the project file configures, computed once and written into ``out_dir``.

    Opportunity maps, risk maps (incidents or a ready layer), the overlay, the HTML maps,
    the ranked premises, the inspection plan (when ``capacity`` and ``period`` are given)
    and the register's progress; ``MANIFEST.json`` last. Returns the files and a summary.

    With ``resume``, a municipality whose opportunity, risk and overlay files are all listed,
    unchanged, in the previous run's manifest — made from the same configuration and the
    same input files — is not written again (its files are kept and listed anew).

    ``engine`` (:func:`riskmap.engine.get_engine`): with ``dask`` the measures, the density,
    Gi* and the municipality files are made per municipality on the cluster; the outputs are
    the same.
    """
    out_dir = Path(out_dir)
    municipalities = list(municipalities)
    region = load_region(project)
    codes = region.select(municipalities)
    summary: dict = {"municipalities": len(codes), "audience": audience}
    written: list[Path] = []
    reused = _reusable(out_dir, project, audience, codes) if resume else []
    io.remove_temporary(out_dir)  # what a killed run left: never outputs
    todo = [c for c in codes if c not in reused]
    if reused:
        summary["reused"] = reused
        written += [out_dir / c / n for c in reused
                    for n in files_of(project, (*OPPORTUNITY_FILES, *RISK_FILES,
                                                *OVERLAY_FILES))]
        overwrite = True  # the files of the others are rewritten
    # On a parallel engine the workers measure and write while this process computes the
    # next stage: `later` holds the work in flight (see _each), all of it done before the
    # manifest.
    later = _Later(engine, progress=progress)
    try:
        with _cell_layers_kept(project, region):
            written += _run_stages(project, out_dir, region=region, codes=codes, todo=todo,
                                   audience=audience, capacity=capacity, period=period,
                                   offline=offline, overwrite=overwrite, progress=progress,
                                   engine=engine, summary=summary, later=later)
            written += later.files()
    except BaseException:
        later.cancel()
        raise
    written.append(write_manifest(out_dir, written, project=project, audience=audience))
    summary["files"] = len(written)
    return written, summary
