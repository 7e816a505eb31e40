"""The stages wired together: project file → sources → measures → maps → files.

Stages (``grid``, ``indicators``, ``opportunity``) work on arrays and GeoDataFrames and never
touch files; this module reads the sources (through :mod:`riskmap.io`), runs the stages and
writes the deliverables. A notebook user can call each function alone.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from riskmap import indicators, io, opportunity
from riskmap.config import IndicatorSpec, LayerSet, Project
from riskmap.crs import check_metric
from riskmap.errors import ConfigError, InputError, Problems, RiskmapError
from riskmap.grid import Region, make_region

__all__ = [
    "check_outputs",
    "compute_measures",
    "load_region",
    "opportunity_maps",
    "provenance",
    "read_source",
    "validate",
    "write_opportunity",
]

AUDIENCE_OPPORTUNITY = "public"  # opportunity maps hold no police information


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


def read_source(project: Project, ind: IndicatorSpec, region: Region, *, what: str = ""):
    """Read what an indicator measures: a GeoDataFrame, or an array for ``raster``."""
    path = project.source_path(ind.source)
    what = what or ind.name
    grid = region.grid
    if ind.measure == "raster":
        return io.read_raster_to_grid(path, grid, resampling=ind.resampling,
                                      declared_crs=ind.source.crs, what=what)
    xmin, ymin, xmax, ymax = grid.bounds
    pad = ind.pad_m
    columns = [ind.field] if ind.field else []
    gdf = io.read_vector(path, crs=grid.crs, layer=ind.source.layer, where=ind.source.where,
                         declared_crs=ind.source.crs, bbox=(xmin - pad, ymin - pad,
                                                            xmax + pad, ymax + pad),
                         columns=columns, repair=ind.source.repair, what=what)
    if ind.field:
        col = gdf[ind.field]
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


def measure(ind: IndicatorSpec, data, region: Region) -> np.ndarray:
    """The raw measure of one indicator on the region grid."""
    grid = region.grid
    if ind.measure == "raster":
        return data if ind.fill is None else np.where(np.isnan(data), ind.fill, data)
    geoms = data.geometry.values
    values = data[ind.field].to_numpy(dtype=float) if ind.field else None
    if ind.measure == "distance":
        return indicators.distance(geoms, grid, max_distance=ind.pad_m, mode=ind.mode)
    if ind.measure == "coverage":
        return indicators.coverage(geoms, grid, supersample=ind.supersample, mode=ind.mode)
    if ind.measure == "attribute":
        return indicators.attribute(geoms, values, grid, fill=ind.fill)
    x, y = indicators.points_of(geoms)
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


def compute_measures(project: Project, region: Region, *, progress: bool = False
                     ) -> dict[str, dict[str, np.ndarray]]:
    """Raw measure arrays on the region grid: ``measures[theme][indicator]``.

    Every source is read and checked first, and all problems are reported together.
    """
    jobs = [(ls, i, ind) for ls in project.layer_sets for i, ind in enumerate(ls.indicator)]
    cache: dict[str, np.ndarray] = {}
    problems = Problems()
    data: dict[str, object] = {}
    for ls, i, ind in tqdm(jobs, desc="bronnen lezen", disable=not progress, leave=False):
        key = _key(ind)
        if key in data:
            continue
        try:
            data[key] = read_source(project, ind, region, what=_label(ls, i, ind))
        except RiskmapError as exc:
            problems.extend(exc.problems or [])
            if not exc.problems:
                problems.add(exc.code, str(exc))
    problems.raise_if_any(InputError, title=f"{len(problems)} problem(s) with the sources")
    out: dict[str, dict[str, np.ndarray]] = {ls.theme: {} for ls in project.layer_sets}
    for ls, _, ind in tqdm(jobs, desc="indicatoren", disable=not progress):
        key = _key(ind)
        if key not in cache:
            cache[key] = measure(ind, data[key], region)
        out[ls.theme][ind.name] = cache[key]
    return out


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
                problems.extend(exc.problems or [])
                if not exc.problems:
                    problems.add(exc.code, str(exc))
    problems.raise_if_any(InputError, title=f"{project.path}: {len(problems)} problem(s)")
    g = region.grid
    return [
        f"project {project.path}: valid",
        f"region: {len(region.codes)} municipalities, grid {g.width} x {g.height} cells of "
        f"{g.cell_size:g} m in {g.crs.to_string()}",
        f"opportunity: {len(project.layer_sets)} theme(s), {n} indicators, all sources readable",
    ]


def opportunity_maps(project: Project, *, municipalities: Iterable[str] = (),
                     region: Region | None = None, progress: bool = False
                     ) -> tuple[Region, list[opportunity.OpportunityMap]]:
    """Load, measure and combine: the opportunity maps of the selected municipalities."""
    if project.opportunity is None:
        raise ConfigError(f"{project.path} has no [opportunity] table. Add one with "
                          'layers = ["layers/buitengebied.toml"].', code="E-CONFIG-MISSING")
    region = region or load_region(project)
    codes = region.select(list(municipalities))
    measures = compute_measures(project, region, progress=progress)
    spec = project.opportunity
    maps = opportunity.build(region, project.layer_sets, measures, codes=codes,
                             normalise=spec.normalise, classes=spec.classes, breaks=spec.breaks)
    return region, maps


# ----------------------------------------------------------------------------- provenance

_HASHES: dict[tuple[str, float, int], str] = {}


def _sha256(path: Path) -> str:
    st = path.stat()
    key = (str(path), st.st_mtime, st.st_size)
    if key not in _HASHES:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        _HASHES[key] = h.hexdigest()
    return _HASHES[key]


def provenance(project: Project, *, audience: str = AUDIENCE_OPPORTUNITY) -> dict[str, object]:
    """What every output carries: version, time, config hash, inputs with SHA-256, weights."""
    from riskmap import __version__

    files = {project.municipalities_path}
    for ls in project.layer_sets:
        files.update(project.source_path(i.source) for i in ls.indicator)
    inputs = {}
    for f in sorted(files):
        st = f.stat()
        inputs[f.name] = {"sha256": _sha256(f), "modified": dt.datetime.fromtimestamp(
            st.st_mtime, dt.UTC).isoformat(timespec="seconds")}
        if io.is_synthetic(f):
            inputs[f.name]["synthetic"] = True
    spec = project.opportunity
    return {
        "riskmap_version": __version__,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "project": project.project.name,
        "config_sha256": project.digest,
        "audience": audience,
        "legal_basis": project.project.legal_basis,
        "cell_size_m": project.region.cell_size,
        "crs": project.region.crs,
        "normalise": spec.normalise if spec else "",
        "weights": {ls.theme: {i.name: i.weight for i in ls.indicator}
                    for ls in project.layer_sets},
        "inputs": inputs,
    }


def _flat(prov: dict[str, object]) -> dict[str, str]:
    return {f"RISKMAP_{k.upper()}": v if isinstance(v, str) else json.dumps(v, sort_keys=True)
            for k, v in prov.items()}


def _cells_frame(m: opportunity.OpportunityMap) -> gpd.GeoDataFrame:
    rows, cols = np.nonzero(m.mask)
    data = {
        "cell_id": m.grid.cell_ids(rows, cols),
        "statcode": np.full(rows.size, m.code),
        "score": m.score[rows, cols].astype("float32"),
        "klasse": m.klasse[rows, cols].astype("int16"),
        "thema": np.asarray(m.themes)[m.theme[rows, cols]],
    }
    for t in m.themes:
        data[f"score_{t}"] = m.theme_scores[t][rows, cols].astype("float32")
    for col, arr in m.contributions.items():
        data[col] = arr[rows, cols].astype("float32")
    return gpd.GeoDataFrame(data, geometry=m.grid.cell_polygons(rows, cols), crs=m.grid.crs)


def _quicklook(m: opportunity.OpportunityMap, outline, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.patches import Patch

    k = max(int(m.klasse.max()), 1)
    cmap = ListedColormap(plt.get_cmap("YlOrRd")(np.linspace(0.1, 0.95, k)))
    data = np.ma.masked_equal(m.klasse, 0)
    fig, ax = plt.subplots(figsize=(7, 7), dpi=100)
    xmin, ymin, xmax, ymax = m.grid.bounds
    ax.imshow(data, cmap=cmap, norm=BoundaryNorm(np.arange(0.5, k + 1.5), k),
              extent=(xmin, xmax, ymin, ymax), interpolation="nearest")
    gpd.GeoSeries([outline]).boundary.plot(ax=ax, color="black", linewidth=0.8)
    ax.set_title(f"Gelegenheidskaart {m.name} ({m.code})")
    ax.set_axis_off()
    names = {1: "1 (laag)", k: f"{k} (hoog)"}
    ax.legend(handles=[Patch(color=cmap(i), label=f"Klasse {names.get(i + 1, i + 1)}")
                       for i in range(k)], loc="lower left", fontsize=8, framealpha=0.9)
    ax.text(1.0, -0.02, "Gemeentegrenzen: CBS/PDOK 2021 · riskmap", transform=ax.transAxes,
            ha="right", va="top", fontsize=7)
    with io.atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", bbox_inches="tight")
    plt.close(fig)


OPPORTUNITY_FILES = ("opportunity.tif", "opportunity.gpkg", "opportunity.png")


def check_outputs(out_dir: str | Path, codes: Iterable[str], *, overwrite: bool = False) -> None:
    """Refuse to replace existing outputs unless ``overwrite`` (check before computing)."""
    existing = [p for c in codes for name in OPPORTUNITY_FILES
                if (p := Path(out_dir) / c / name).exists()]
    if existing and not overwrite:
        raise InputError(f"{len(existing)} output file(s) exist already, e.g. {existing[0]}. "
                         "Use --overwrite to replace them or choose another --out folder.",
                         code="E-OUTPUT-EXISTS")


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
        written.append(io.write_gpkg(folder / "opportunity.gpkg", _cells_frame(m), layer="cells",
                                     metadata=tags | {"RISKMAP_LABELS": json.dumps(
                                         m.labels, ensure_ascii=False)}))
        outline = region.municipalities.geometry.iloc[region.codes.index(m.code)]
        path = folder / "opportunity.png"
        _quicklook(m, outline, path)
        written.append(path)
    return written
