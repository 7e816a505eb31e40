"""A SYNTHETIC country for the benchmarks: 342 municipalities, ~10 M premises, every source.

    python benchmarks/country.py make OUT [--premises 10_000_000] [--municipalities 342]
                                         [--seed 0] [--workers 2] [--overwrite]

Writes ``OUT/data/`` (the real 2021 province outlines, the synthetic municipalities and, under
``OUT/data/country/``, every layer the two layer sets and the scoring read), ``OUT/layers/``
and ``OUT/project.toml``, like :func:`riskmap.demo.write_demo_project` does for the region.

How it is made (all seeded, deterministic for one ``--seed``):

1. **Municipalities.** Each of the 12 real provinces (CBS 2021, ``data/provincies_2021.geojson``)
   is split into its real number of municipalities of 1 January 2023 (342 in total; 2021 had
   352) by a Voronoi partition of random seed points, relaxed twice (Lloyd), clipped to the
   province. Codes ``GM5001`` … ``GM5342`` are CBS-like but deliberately outside the range of
   real codes (real ones stop below GM2000), names are ``<province> 01`` … . With another
   ``--municipalities`` count the provinces get shares of it (at least one each).
2. **Inhabitants** per municipality: the province's real population (CBS, 1 January 2021,
   rounded) divided with heavy-tailed (log-normal) weights, so there are a few cities and many
   villages; it sets the size of each municipality's 1–4 towns.
3. **Layers.** :class:`riskmap.datasets._Generator`, the demo's own generator, runs once per
   province (in ``--workers`` processes) with the synthetic municipalities, their inhabitants,
   a synthetic motorway network (a spanning tree over the largest municipalities plus a few
   cross links; the region's hand-drawn motorways only apply to Midden-Nederland) and a few
   forest zones per province. Roads, water and land use that a province's generator draws
   beyond its border are clipped to it, so provinces do not duplicate each other.
4. **Premise count.** The towns are sized for ``--premises`` plus 3 %; the surplus town
   dwellings are then dropped at random (with panden left empty), so the number of
   verblijfsobjecten is exactly ``--premises``.
5. **Night lights** from all premises at once, **incidents** (``riskmap.demo``'s
   ``make_demo_incidents``, ~8 per 10 km²) and the **scoring** inputs
   (``make_demo_scoring``) from the country's own opportunity surface on a coarse grid.

Nothing in the generated files describes a real building, road, company or incident; only the
province outlines are real.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing as mp
import os
import shutil
import sys
import time
import zlib
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from riskmap import datasets  # noqa: E402

RD = "EPSG:28992"
PROVINCES_FILE = datasets.DATA_DIR / "provincies_2021.geojson"

# Municipalities per province on 1 January 2023 (CBS): 342 in total. 2021 had 352
# (Noord-Holland 47, Zuid-Holland 52, Noord-Brabant 61).
MUNICIPALITIES_2023 = {
    "Groningen": 10, "Fryslân": 18, "Drenthe": 12, "Overijssel": 25, "Flevoland": 6,
    "Gelderland": 51, "Utrecht": 26, "Noord-Holland": 44, "Zuid-Holland": 50, "Zeeland": 13,
    "Noord-Brabant": 56, "Limburg": 31,
}
# Inhabitants per province on 1 January 2021 (CBS, rounded to thousands).
INHABITANTS_2021 = {
    "Groningen": 586_000, "Fryslân": 651_000, "Drenthe": 494_000, "Overijssel": 1_166_000,
    "Flevoland": 428_000, "Gelderland": 2_096_000, "Utrecht": 1_362_000,
    "Noord-Holland": 2_888_000, "Zuid-Holland": 3_726_000, "Zeeland": 385_000,
    "Noord-Brabant": 2_573_000, "Limburg": 1_116_000,
}
FULL_PREMISES = 10_000_000      # --premises at which the generator runs at scale 1
OTHER_PER_SCALE = 200_000       # estate premises and farm objects at scale 1 (measured ~170 k)
MARGIN = 0.03                   # towns are sized this much too large, then trimmed
INCIDENTS_PER_KM2 = 0.75        # the region's demo: 2,400 on ~3,250 km²
MAX_FILE_MB = 8192              # RISKMAP_MAX_FILE_MB for reading the country (default 2048)

PROJECT_TOML = """\
# riskmap benchmark country — written by `python benchmarks/country.py make`. Paths are
# relative to this file. Province outlines are real (CBS 2021, see data/SOURCES.md); the
# municipalities and every source under data/country/ are SYNTHETIC (data/country/SOURCES.md).
# data/country/bag.gpkg is larger than riskmap's default input cap of 2 GB: run with
# RISKMAP_MAX_FILE_MB=8192 (benchmarks/bench_run.py country sets it).

[project]
name = "riskmap benchmark: synthetic country ({n} municipalities, {premises:,} premises)"
legal_basis = "Benchmark met synthetische gegevens; geen verwerking van persoonsgegevens."

[region]
municipalities = "data/gemeenten_synthetisch.geojson"
id_column = "statcode"
name_column = "statnaam"
cell_size = {cell_size:g}

[opportunity]
layers = ["layers/buitengebied.toml", "layers/bedrijventerreinen.toml"]
data_dir = "data/country"
normalise = "municipality"
classes = 5

[risk]
incidents = "data/country/politie_incidenten.csv"
date_column = "datum"
x_column = "x"
y_column = "y"
crs = "EPSG:28992"
type_column = "soort"
id_column = "incident_id"
classes = 5
k = 5
"""


# ----------------------------------------------------------------------------- municipalities


def read_provinces() -> gpd.GeoDataFrame:
    """The 12 real province outlines of 2021 (CBS, generalised), in EPSG:28992."""
    prov = gpd.read_file(PROVINCES_FILE)
    if prov.crs is None or not prov.crs.equals(RD):
        raise ValueError(f"{PROVINCES_FILE} must be in {RD}, got {prov.crs}")
    return prov.sort_values("statcode").reset_index(drop=True)


def municipality_counts(names: list[str], total: int) -> dict[str, int]:
    """Municipalities per province: the real 2023 counts for 342, else shares (≥ 1 each)."""
    real = np.array([MUNICIPALITIES_2023[n] for n in names], dtype=float)
    if total == int(real.sum()):
        return dict(zip(names, real.astype(int).tolist(), strict=True))
    if total < len(names):
        raise ValueError(f"need at least {len(names)} municipalities (one per province), "
                         f"got {total}")
    quota = real / real.sum() * (total - len(names))
    counts = 1 + np.floor(quota).astype(int)
    rest = total - counts.sum()
    counts[np.argsort(-(quota - np.floor(quota)), kind="stable")[:rest]] += 1
    return dict(zip(names, counts.tolist(), strict=True))


def _polygonal(geom):
    """The polygon parts of ``geom`` as one (Multi)Polygon."""
    parts = shapely.get_parts(geom)
    parts = parts[shapely.get_type_id(parts) == 3]
    return parts[0] if len(parts) == 1 else shapely.multipolygons(parts)


def _voronoi(province, n: int, rng: np.random.Generator, lloyd: int = 2) -> np.ndarray:
    """``n`` cells partitioning ``province``: Voronoi of seeded points, Lloyd-relaxed."""
    seeds = datasets._sample_in(province, n, rng)
    if n == 1:
        return np.array([province], dtype=object)
    box = shapely.box(*shapely.bounds(province)).buffer(5000)
    for step in range(lloyd + 1):
        cells = shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=box,
                                         ordered=True)
        cells = shapely.get_parts(cells)
        clipped = np.array([_polygonal(c) for c in shapely.intersection(cells, province)],
                           dtype=object)
        if step == lloyd:
            return clipped
        # move every seed to its clipped cell's centroid (kept inside the province)
        cen = shapely.point_on_surface(clipped)
        seeds = shapely.get_coordinates(cen)
    raise AssertionError("unreachable")


def make_municipalities(n_total: int = 342, *, seed: int = 0) -> gpd.GeoDataFrame:
    """Synthetic municipalities partitioning the 12 real provinces.

    Columns ``statcode`` (``GM5001`` …), ``statnaam``, ``provincie``, ``inwoners``
    (synthetic inhabitants); EPSG:28992.
    """
    prov = read_provinces()
    counts = municipality_counts(list(prov["statnaam"]), n_total)
    rows = []
    for p, row in prov.iterrows():
        name = row["statnaam"]
        rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
        cells = _voronoi(shapely.make_valid(row.geometry), counts[name], rng)
        # north to south, then west to east: the numbering reads like a map
        c = shapely.get_coordinates(shapely.point_on_surface(cells))
        order = np.lexsort((c[:, 0], -np.round(c[:, 1], -3)))
        area = shapely.area(cells[order])
        w = np.sqrt(area) * rng.lognormal(0.0, 1.0, len(order))
        inh = np.round(INHABITANTS_2021[name] * w / w.sum()).astype(int)
        for k, i in enumerate(order):
            rows.append({"provincie": name, "statnaam": f"{name} {k + 1:02d}",
                         "inwoners": int(max(inh[k], 1000)), "geometry": cells[i], "p": p})
    gm = gpd.GeoDataFrame(rows, crs=RD)
    gm.insert(0, "statcode", [f"GM{5001 + i:04d}" for i in range(len(gm))])
    return gm.drop(columns="p")


# ----------------------------------------------------------------------------- fixed knowledge


def _infos(gm: gpd.GeoDataFrame, scale: float, premises: int) -> list:
    """The generator's per-municipality knowledge: inhabitants, founding year, PC4, towns."""
    town_target = premises * (1 + MARGIN) - OTHER_PER_SCALE * scale
    per_inh = datasets._ADDRESSES_PER_INHABITANT * scale
    factor = max(town_target, 0.5 * premises) / (gm["inwoners"].sum() * per_inh)
    area = gm.area.to_numpy() / 1e6
    width = np.maximum(1, np.round(gm["inwoners"].to_numpy() / 25_000)).astype(int)
    lo = 1000 + np.cumsum(np.r_[0, width[:-1] + 1]) % 8900
    out = []
    for i, row in enumerate(gm.itertuples(index=False)):
        k = int(np.clip(1 + area[i] // 120, 1, 4))
        places = (row.statnaam, *(f"{row.statnaam}-{s}" for s in ("Noord", "Zuid", "Oost")))
        out.append(datasets._Muni(int(row.inwoners * factor),
                                  1960 if row.provincie == "Flevoland" else None,
                                  (int(lo[i]), int(min(lo[i] + width[i], 9999))), places[:k]))
    return out


def motorways(gm: gpd.GeoDataFrame, *, seed: int) -> dict[str, list[tuple[float, float]]]:
    """A synthetic motorway network: spanning tree over the largest municipalities + links.

    Nodes sit 1.5–3 km beside the main town (the point the generator puts it on), edges get
    two wobbled midpoints; the generator smooths and cuts them and places the exits.
    """
    from scipy.sparse.csgraph import minimum_spanning_tree

    rng = np.random.default_rng([seed, 99])
    n = max(2, len(gm) // 5)
    big = gm.sort_values("inwoners", ascending=False).head(n)
    land = shapely.get_parts(shapely.union_all(read_provinces().geometry.values))
    main_land = land[np.argmax(shapely.area(land))]
    xy = shapely.get_coordinates(shapely.point_on_surface(big.geometry.values))
    xy = xy[shapely.contains_xy(main_land, xy[:, 0], xy[:, 1])]
    ang = rng.uniform(0, 2 * np.pi, len(xy))
    xy = xy + rng.uniform(1500, 3000, len(xy))[:, None] * np.c_[np.cos(ang), np.sin(ang)]
    if len(xy) < 2:
        return {}
    d = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    mst = minimum_spanning_tree(d).tocoo()
    edges = {tuple(sorted(e)) for e in zip(mst.row.tolist(), mst.col.tolist(), strict=True)}
    # cross links: each node to its second-nearest neighbour when that is within 40 km
    for i in range(len(xy)):
        j = np.argsort(d[i])[2] if len(xy) > 2 else None
        if j is not None and d[i, j] < 40_000:
            edges.add(tuple(sorted((i, int(j)))))
    out = {}
    for k, (a, b) in enumerate(sorted(edges)):
        pa, pb = xy[a], xy[b]
        length = float(np.hypot(*(pb - pa)))
        normal = np.array([-(pb - pa)[1], (pb - pa)[0]]) / length
        mids = pa + np.array([0.33, 0.67])[:, None] * (pb - pa) \
            + rng.normal(0, 0.05 * length, 2)[:, None] * normal
        out[f"A{k + 1}"] = [tuple(map(float, p)) for p in np.vstack([pa, mids, pb])]
    return out


def forest_zones(gm: gpd.GeoDataFrame, *, seed: int) -> list:
    """Two to five forest and heath zones per province, at random places inside it."""
    rng = np.random.default_rng([seed, 98])
    zones = []
    for part in gm.dissolve("provincie").geometry.values:
        k = int(rng.integers(2, 6))
        a = datasets._sample_in(part, k, rng)
        ang = rng.uniform(0, np.pi, k)
        length = rng.uniform(4000, 15000, k)
        for i in range(k):
            b = a[i] + length[i] * np.array([np.cos(ang[i]), np.sin(ang[i])])
            zones.append(([tuple(a[i]), tuple(b)], 2000.0, int(length[i] // 250),
                          (300.0, 1200.0), (0.3, 0.3, 0.3, 0.1)))
    return zones


# ----------------------------------------------------------------------------- one province


def _clip_polys(frame: gpd.GeoDataFrame, region) -> gpd.GeoDataFrame:
    """``frame``'s polygons clipped to ``region``, as single Polygons (parts > 1 m²)."""
    parts, idx = shapely.get_parts(shapely.intersection(frame.geometry.values, region),
                                   return_index=True)
    keep = (shapely.get_type_id(parts) == 3) & (shapely.area(parts) > 1.0)
    out = frame.iloc[idx[keep]].reset_index(drop=True)
    out.geometry = parts[keep]
    return out


def generate_province(args: tuple) -> dict:
    """Run the demo generator for one province's municipalities; write GeoParquet parts."""
    gm, info, seed, scale, mw, fz, tmp = args
    t = time.perf_counter()
    g = datasets._Generator(gm, seed=seed, scale=scale, info=info, motorways=mw,
                            forest_zones=fz).make_all()
    pand, vbo = g.bag_frames()
    region = g.region
    roads = g.roads_frame()
    mid = shapely.get_coordinates(shapely.line_interpolate_point(roads.geometry.values, 0.5,
                                                                 normalized=True))
    roads = roads[shapely.contains_xy(region, mid[:, 0], mid[:, 1])].reset_index(drop=True)
    frames = {"pand": pand, "verblijfsobject": vbo, "wegvakken": roads,
              "bedrijventerreinen": g.estates_frame(),
              "terrein": _clip_polys(g.terrain_frame(), region),
              "waterdeel": _clip_polys(g.water.reset_index(drop=True), region),
              "dumpingen": g.dumpings_frame()}
    files = {}
    for name, frame in frames.items():
        files[name] = tmp / f"{name}.parquet"
        frame.to_parquet(files[name])
    return {"files": files, "rows": {k: len(v) for k, v in frames.items()},
            "seconds": time.perf_counter() - t, "municipalities": len(gm)}


# ----------------------------------------------------------------------------- the country


LAYER_FILES = {"pand": "bag.gpkg", "verblijfsobject": "bag.gpkg",
               "wegvakken": "nwb_wegen.gpkg", "bedrijventerreinen": "ibis_bedrijventerreinen.gpkg",
               "terrein": "top10nl.gpkg", "waterdeel": "top10nl.gpkg",
               "dumpingen": "drugsafval_dumpingen.gpkg"}


def _town_dwellings(vbo: pd.DataFrame) -> np.ndarray:
    return ((vbo["gebruiksdoel"] == "woonfunctie") & ~vbo["agrarisch"]).to_numpy()


def _write_layer(files: list[Path], path: Path, layer: str) -> int:
    """Stream the GeoParquet parts of one layer into a GeoPackage layer; return its rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    import pyogrio

    schema = pq.read_schema(files[0]).remove_metadata()
    types = {t.removesuffix(" Z") for f in files
             for t in json.loads(pq.read_schema(f).metadata[b"geo"])["columns"]["geometry"]
             ["geometry_types"]}
    n = [0]

    def batches():
        for f in files:
            table = pq.read_table(f).select(schema.names)
            table = table.cast(schema) if table.schema != schema else table
            n[0] += table.num_rows
            yield from table.to_batches(max_chunksize=200_000)

    reader = pa.RecordBatchReader.from_batches(schema, batches())
    pyogrio.write_arrow(reader, path, layer=layer, driver="GPKG", geometry_name="geometry",
                        geometry_type=types.pop() if len(types) == 1 else "Unknown",
                        crs=RD, layer_metadata=datasets.SYNTHETIC_METADATA)
    return n[0]


@contextlib.contextmanager
def _measures_once():
    """Within the block, ``pipeline.compute_measures`` computes once and repeats its result.

    ``make_demo_incidents`` and ``make_demo_scoring`` each compute the measures of the same
    project file; on the country that is a minute and a half of reading each time.
    """
    from riskmap import pipeline

    real, memo = pipeline.compute_measures, []

    def once(*args, **kwargs):
        if not memo:
            memo.append(real(*args, **kwargs))
        return memo[0]

    pipeline.compute_measures = once
    try:
        yield
    finally:
        pipeline.compute_measures = real


def copy_layer_sets(out: Path, *, repair: bool = True) -> list[Path]:
    """Copy the demo's layer sets to ``out/layers``; with ``repair`` every GeoPackage source
    gets ``repair = true``.

    Why: a read limited to an extent (every municipality's partition with ``--engine dask``)
    makes riskmap look for features without geometry in the *whole* layer
    (``riskmap.io._null_fids``), a full scan of the 10 M-row ``verblijfsobject`` layer: ~2 s
    per read against ~0.1 s for the read itself, five reads of ``bag.gpkg`` per partition.
    ``repair = true`` skips that scan (and would drop null and repair invalid geometries,
    which the generator does not make: the outputs are the same). See BENCHMARKS.md.
    """
    import re

    from riskmap import demo

    (out / "layers").mkdir(parents=True, exist_ok=True)
    written = []
    for f in sorted(demo.LAYERS_DIR.glob("*.toml")):
        text = f.read_text(encoding="utf-8")
        if repair:
            text = re.sub(r'(source = \{ file = "[^"]+\.gpkg"[^}\n]*?) \}', r"\1, repair = true }",
                          text)
        (out / "layers" / f.name).write_text(text, encoding="utf-8")
        written.append(out / "layers" / f.name)
    return written


def make_country(out: str | Path, *, premises: int = 10_000_000, municipalities: int = 342,
                 seed: int = 0, workers: int = 2, incident_cell: float = 500.0,
                 cell_size: float = 100.0, repair: bool = True, log=print) -> Path:
    """Write the synthetic country under ``out``; return the project file."""
    import rasterio

    from riskmap import demo

    t0 = time.perf_counter()
    out = Path(out)
    data = out / "data"
    folder = data / "country"
    tmp = out / "tmp_parts"
    for d in (folder, tmp):
        d.mkdir(parents=True, exist_ok=True)
    scale = min(premises / FULL_PREMISES, 2.0)
    gm = make_municipalities(municipalities, seed=seed)
    gm.to_file(data / "gemeenten_synthetisch.geojson", driver="GeoJSON")
    shutil.copyfile(PROVINCES_FILE, data / PROVINCES_FILE.name)
    (data / PROVINCES_FILE.name).chmod(0o644)
    shutil.copyfile(datasets.DATA_DIR / "SOURCES.md", data / "SOURCES.md")
    log(f"{len(gm)} municipalities in {time.perf_counter() - t0:.1f} s")
    info = _infos(gm, scale, premises)
    mw, fz = motorways(gm, seed=seed), forest_zones(gm, seed=seed)
    jobs = []
    for p, (_, part) in enumerate(gm.groupby("provincie", sort=True)):
        idx = part.index.to_numpy()
        sub = tmp / f"p{p:02d}"
        sub.mkdir(exist_ok=True)
        jobs.append((part.reset_index(drop=True), [info[i] for i in idx],
                     seed * 100 + p, scale, mw, fz, sub))
    # largest provinces first, so the two workers finish together
    jobs.sort(key=lambda j: -sum(i.inhabitants for i in j[1]))
    t = time.perf_counter()
    if workers > 1:
        with mp.get_context("forkserver").Pool(workers, maxtasksperchild=1) as pool:
            parts = pool.map(generate_province, jobs, chunksize=1)
    else:
        parts = [generate_province(j) for j in jobs]
    log(f"generated {len(parts)} provinces in {time.perf_counter() - t:.1f} s "
        f"(sum of workers {sum(p['seconds'] for p in parts):.0f} s)")
    # exactly `premises` verblijfsobjecten: drop surplus town dwellings at random
    n_vbo = sum(p["rows"]["verblijfsobject"] for p in parts)
    surplus = n_vbo - premises
    if surplus < 0:
        raise RuntimeError(f"generated only {n_vbo:,} premises for {premises:,}; raise MARGIN")
    towns = []
    for p in parts:
        v = pd.read_parquet(p["files"]["verblijfsobject"], columns=["gebruiksdoel", "agrarisch"])
        towns.append(int(_town_dwellings(v).sum()))
    rng = np.random.default_rng([seed, 97])
    drop_per = rng.multivariate_hypergeometric(np.array(towns), surplus)
    # trim each province's parts in place, number the road segments, keep what lights need
    t = time.perf_counter()
    rows: dict[str, int] = dict.fromkeys(LAYER_FILES, 0)
    lights = []
    wvk = 600_000_001
    for p, n_drop in zip(parts, drop_per, strict=True):
        vbo = gpd.read_parquet(p["files"]["verblijfsobject"])
        gone = rng.choice(np.flatnonzero(_town_dwellings(vbo)), int(n_drop), replace=False)
        keep = np.ones(len(vbo), bool)
        keep[gone] = False
        pand_ids = vbo["pand_identificatie"].to_numpy()
        emptied = set(pand_ids[gone]) - set(pand_ids[keep])
        vbo = vbo[keep].reset_index(drop=True)
        vbo.to_parquet(p["files"]["verblijfsobject"])
        lights.append(vbo[["gebruiksdoel", "oppervlakte", "agrarisch", "geometry"]])
        del vbo
        pand = gpd.read_parquet(p["files"]["pand"])
        pand = pand[~pand["identificatie"].isin(emptied)].reset_index(drop=True)
        pand.to_parquet(p["files"]["pand"])
        del pand
        roads = gpd.read_parquet(p["files"]["wegvakken"])
        roads["WVK_ID"] = np.arange(wvk, wvk + len(roads), dtype=np.int64)
        wvk += len(roads)
        roads.to_parquet(p["files"]["wegvakken"])
    log(f"trimmed to {premises:,} premises in {time.perf_counter() - t:.1f} s")
    # each layer streamed from the parts into its GeoPackage in one go (one spatial index)
    t = time.perf_counter()
    for f in set(LAYER_FILES.values()):
        (folder / f).unlink(missing_ok=True)
    for layer, file in LAYER_FILES.items():
        rows[layer] = _write_layer([p["files"][layer] for p in parts], folder / file, layer)
    log(f"wrote the GeoPackages in {time.perf_counter() - t:.1f} s")
    shutil.rmtree(tmp)
    # night lights from every premise at once
    t = time.perf_counter()
    allv = pd.concat(lights, ignore_index=True)
    del lights
    stand_in = datasets._Generator.__new__(datasets._Generator)
    stand_in.seed, stand_in.scale = seed, scale
    stand_in.region = shapely.union_all(gm.geometry.values)
    rad, transform = datasets._Generator.night_lights(stand_in, allv)
    del allv
    profile = {"driver": "GTiff", "width": rad.shape[1], "height": rad.shape[0], "count": 1,
               "dtype": "float32", "crs": "EPSG:4326", "transform": transform,
               "nodata": -9999.0, "compress": "deflate", "tiled": True, "blockxsize": 256,
               "blockysize": 256}
    with rasterio.open(folder / "nachtlicht.tif", "w", **profile) as dst:
        dst.write(rad, 1)
        dst.update_tags(**datasets.SYNTHETIC_METADATA, UNITS="nW/cm2/sr (synthetic)",
                        MIMICS="VIIRS DNB night-time lights")
    log(f"night lights in {time.perf_counter() - t:.1f} s")
    # layer sets, project file; incidents and scoring from the country's own opportunity
    copy_layer_sets(out, repair=repair)
    project = out / "project.toml"
    scoring = demo.SCORING_TOML.replace("data/demo/", "data/country/")
    text = PROJECT_TOML.format(n=len(gm), premises=premises, cell_size=cell_size) + scoring
    project.write_text(PROJECT_TOML.format(n=len(gm), premises=premises,
                                           cell_size=incident_cell) + scoring, encoding="utf-8")
    t = time.perf_counter()
    n_inc = max(200, int(round(INCIDENTS_PER_KM2 * gm.area.sum() / 1e6)))
    # the country's bag.gpkg (~3.7 GB at 10 M premises) is above riskmap's default input cap
    os.environ.setdefault("RISKMAP_MAX_FILE_MB", str(MAX_FILE_MB))
    with _measures_once():  # both read every source for the same coarse opportunity surface
        demo.make_demo_incidents(project, folder / "politie_incidenten.csv", seed=seed,
                                 n=n_inc)
        demo.make_demo_scoring(project, folder, seed=seed)
    project.write_text(text, encoding="utf-8")
    log(f"{n_inc:,} incidents and the scoring inputs ({incident_cell:g} m grid) in "
        f"{time.perf_counter() - t:.1f} s")
    rows_md = "\n".join(f"| {LAYER_FILES[k]}:{k} | {v:,} |" for k, v in rows.items())
    (folder / "SOURCES.md").write_text(SOURCES_MD.format(
        seed=seed, premises=premises, n=len(gm), rows=rows_md, incidents=n_inc),
        encoding="utf-8")
    (out / "country.json").write_text(json.dumps({
        "premises": premises, "municipalities": len(gm), "seed": seed, "scale": scale,
        "rows": rows, "incidents": n_inc, "seconds": time.perf_counter() - t0}, indent=1))
    log(f"country written to {out} in {time.perf_counter() - t0:.1f} s")
    return project


SOURCES_MD = """\
# SYNTHETISCH — riskmap benchmark country, geen echte gegevens

**Every layer in this folder is SYNTHETIC**, made by `python benchmarks/country.py make
--premises {premises} --seed {seed}` for {n} synthetic municipalities that partition the real
2021 province outlines (`../provincies_2021.geojson`, CBS via PDOK and cartomap/nl, CC BY 4.0;
see `../SOURCES.md`). The municipalities (`../gemeenten_synthetisch.geojson`, codes GM5001 …)
are a seeded Voronoi partition, not real municipalities; their inhabitants are drawn from
the provinces' real population totals (CBS, 1 January 2021).

The layers come from riskmap's demo generator (`riskmap.datasets`), run per province; the
motorway network and forest zones are synthetic for the whole country. File, layer and
column names mimic BAG, NWB, IBIS, TOP10NL, police records and VIIRS as in the demo (see the
demo's `SOURCES.md`). `politie_incidenten.csv` ({incidents:,} incidents),
`politie_signalen.csv`, `inspecties.csv` and `grondwaarheid.csv` are made by
`riskmap.demo.make_demo_incidents` and `make_demo_scoring`. Do not use these files for any
decision.

| layer | rows |
| --- | --- |
{rows}
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    mk = sub.add_parser("make", help="write the synthetic country and its project file")
    mk.add_argument("out", type=Path)
    mk.add_argument("--premises", type=lambda s: int(s.replace("_", "")), default=10_000_000)
    mk.add_argument("--municipalities", type=int, default=342)
    mk.add_argument("--seed", type=int, default=0)
    mk.add_argument("--workers", type=int, default=2)
    mk.add_argument("--cell-size", type=float, default=100.0,
                    help="cell size written into project.toml")
    mk.add_argument("--overwrite", action="store_true")
    mk.add_argument("--strict-sources", action="store_true",
                    help="copy the layer sets verbatim (without repair = true, see "
                         "copy_layer_sets)")
    args = ap.parse_args()
    if args.out.exists() and any(args.out.iterdir()) and not args.overwrite:
        sys.exit(f"{args.out} is not empty; add --overwrite to replace it")
    make_country(args.out, premises=args.premises, municipalities=args.municipalities,
                 seed=args.seed, workers=args.workers, cell_size=args.cell_size,
                 repair=not args.strict_sources,
                 log=lambda m: print(m, file=sys.stderr))


if __name__ == "__main__":
    main()
