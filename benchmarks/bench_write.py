"""Benchmark: writing the municipality files before and after (quick looks, GeoPackage, GeoTIFF).

    python benchmarks/bench_write.py [--project benchmarks/results/data_scale1/project_100m.toml]
                                     [--out /tmp/bench_write] [--limit 39]

Computes the region's opportunity maps, risk surface and overlays (partners) once from the
project (the region benchmark, 39 municipalities at 100 m by default; made by
``bench_opportunity.py``), then writes every municipality's files twice in the same process,
each way in turn, timing each file:

- quick looks: the matplotlib figures riskmap drew before (kept below as the reference,
  ``_quicklook_matplotlib``/``_overlay_matplotlib``) against :mod:`riskmap.quicklook`;
- GeoPackages (``opportunity.gpkg``: one layer, ``overlay.gpkg``: two): pyogrio row by row
  with SQLite's journal file (before) against :func:`riskmap.io.write_gpkg` (Arrow, journal in
  memory), checking that both give the same bytes for the same run clock;
- GeoTIFFs (``opportunity.tif``, three float bands): 256 px tiles (before) against
  :func:`riskmap.io.write_geotiff` (128 px tiles up to 512 px).

Prints Markdown: per kind the total over the municipalities and the median per file. The
machine's load is printed too (other processes make every figure noisy).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import shutil
import statistics
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DEFAULT_PROJECT = HERE / "results" / "data_scale1" / "project_100m.toml"


# ----------------------------------------------------------------------------- before


def _draw_lines(ax, polygons, *, color: str, linewidth: float) -> None:
    import shapely
    from matplotlib.collections import LineCollection

    lines = shapely.get_parts(shapely.boundary(np.asarray(polygons, dtype=object)))
    xy, idx = shapely.get_coordinates(lines, return_index=True)
    cuts = np.flatnonzero(np.diff(idx)) + 1
    ax.add_collection(LineCollection(np.split(xy, cuts), colors=color, linewidths=linewidth))


def _quicklook_matplotlib(m, outline, path: Path, tags: dict[str, str]) -> None:
    """riskmap.pipeline._quicklook as it was (commit 200830a)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.patches import Patch

    from riskmap import io

    k = max(int(m.klasse.max()), 1)
    cmap = ListedColormap(plt.get_cmap("YlOrRd")(np.linspace(0.1, 0.95, k)))
    data = np.ma.masked_equal(m.klasse, 0)
    fig, ax = plt.subplots(figsize=(7, 7), dpi=100)
    xmin, ymin, xmax, ymax = m.grid.bounds
    ax.imshow(data, cmap=cmap, norm=BoundaryNorm(np.arange(0.5, k + 1.5), k),
              extent=(xmin, xmax, ymin, ymax), interpolation="nearest")
    _draw_lines(ax, [outline], color="black", linewidth=0.8)
    ax.set_title(f"Gelegenheidskaart {m.name} ({m.code})")
    ax.set_axis_off()
    names = {1: "1 (laag)", k: f"{k} (hoog)"}
    ax.legend(handles=[Patch(color=cmap(i), label=f"Klasse {names.get(i + 1, i + 1)}")
                       for i in range(k)], loc="lower left", fontsize=8, framealpha=0.9)
    ax.text(1.0, -0.02, "Gemeentegrenzen: CBS/PDOK 2021 · riskmap", transform=ax.transAxes,
            ha="right", va="top", fontsize=7)
    with io.atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", bbox_inches="tight", metadata={"Software": None} | tags)
    plt.close(fig)


def _overlay_matplotlib(ov, outline, path: Path, tags: dict[str, str]) -> None:
    """riskmap.pipeline._overlay_png as it was (commit 200830a)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    from riskmap import io, styles

    colors = [styles.BIVARIATE_COLORS[i] for i in range(1, 10)]
    fig = plt.figure(figsize=(8, 7), dpi=100)
    ax = fig.add_axes([0.02, 0.02, 0.72, 0.9])
    xmin, ymin, xmax, ymax = ov.grid.bounds
    ax.imshow(np.ma.masked_equal(ov.bivariate, 0), cmap=ListedColormap(colors), vmin=0.5,
              vmax=9.5, extent=(xmin, xmax, ymin, ymax), interpolation="nearest")
    prio = ov.zones[ov.zones["zone"] == 1]
    if len(prio):
        _draw_lines(ax, prio.geometry.values, color="#d7191c", linewidth=1.2)
    _draw_lines(ax, [outline], color="black", linewidth=0.8)
    ax.set_title(f"Gelegenheid × risico — {ov.name} ({ov.code})")
    ax.set_axis_off()
    leg = fig.add_axes([0.77, 0.55, 0.18, 0.18])
    leg.imshow(np.arange(1, 10).reshape(3, 3), cmap=ListedColormap(colors), vmin=0.5,
               vmax=9.5, origin="lower")
    leg.set_xticks([0, 2], ["laag", "hoog"], fontsize=7)
    leg.set_yticks([0, 2], ["laag", "hoog"], fontsize=7)
    leg.set_xlabel("gelegenheid →", fontsize=8)
    leg.set_ylabel("risico →", fontsize=8)
    fig.text(0.77, 0.45, "rood omlijnd: prioriteitszone", fontsize=7)
    fig.text(0.98, 0.01, "Gemeentegrenzen: CBS/PDOK 2021 · riskmap", ha="right", fontsize=7)
    with io.atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", metadata={"Software": None} | tags)
    plt.close(fig)


def _gpkg_before(path, layers: dict, *, metadata, styles) -> Path:
    """riskmap.io.write_gpkg as it was: pyogrio row by row, SQLite's journal in a side file."""
    import pyogrio

    from riskmap import clock, io

    when = clock.now().strftime("%Y-%m-%dT%H:%M:%S.000Z")
    with io.atomic_path(path) as tmp, io._gdal_config(OGR_CURRENT_DATE=when,
                                                      OGR_SQLITE_SYNCHRONOUS="OFF"):
        for name, frame in layers.items():
            pyogrio.write_dataframe(frame, tmp, layer=name, driver="GPKG", append=tmp.exists(),
                                    layer_metadata=metadata or None, use_arrow=False)
        io._write_styles(tmp, styles, {n: f.geometry.name for n, f in layers.items()},
                         stamp=(metadata or {}).get("RISKMAP_CREATED", ""), when=when)
    return Path(path)


@contextlib.contextmanager
def _tiles_256():
    """riskmap.io.write_geotiff as it was: 256 px tiles whatever the size."""
    import rasterio

    opened = rasterio.open

    def open_256(path, mode="r", **kw):
        return opened(path, mode, **(kw | {"blockxsize": 256, "blockysize": 256}
                                     if mode == "w" else kw))

    rasterio.open = open_256
    try:
        yield
    finally:
        rasterio.open = opened


def _overlay_cells(ov):
    """The ``cells`` layer of overlay.gpkg as riskmap.pipeline._overlay_files makes it."""
    import geopandas as gpd

    from riskmap.overlay import ZONES

    rows, cols = np.nonzero(ov.mask)
    names = np.array(["", *ZONES.values()], dtype=object)
    return gpd.GeoDataFrame({
        "cell_id": ov.grid.cell_ids(rows, cols), "statcode": np.full(rows.size, ov.code),
        "gelegenheid": ov.opportunity_class[rows, cols].astype("int16"),
        "risico": ov.risk_class[rows, cols].astype("int16"),
        "bivariaat": ov.bivariate[rows, cols].astype("int16"),
        "zone": ov.zone[rows, cols].astype("int16"), "zone_naam": names[ov.zone[rows, cols]],
    }, geometry=ov.grid.cell_polygons(rows, cols), crs=ov.grid.crs)


# ----------------------------------------------------------------------------- timing


def _compute(project_path: Path, limit: int):
    from riskmap import config, pipeline

    project = config.load_project(project_path)
    region, maps = pipeline.opportunity_maps(project)
    surface = pipeline.risk_surface(project, region)
    _, overlays, _ = pipeline.overlay_maps(project, region=region, audience="partners",
                                           opportunity_maps_=maps, surface=surface)
    return region, maps[:limit], overlays[:limit]


def _time_each(fn, items) -> list[float]:
    out = []
    for item in items:
        t = time.perf_counter()
        fn(item)
        out.append(time.perf_counter() - t)
    return out


def run(project_path: Path, out: Path, limit: int) -> str:
    import json

    from riskmap import clock, io, pipeline, quicklook, styles

    t = time.perf_counter()
    region, maps, overlays = _compute(project_path, limit)
    setup = time.perf_counter() - t
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    tags = {"RISKMAP_CREATED": "2021-06-01T12:00:00+00:00", "RISKMAP_AUDIENCE": "partners"}

    def outline(code):
        return region.municipalities.geometry.iloc[region.codes.index(code)]

    rows: list[tuple[str, list[float], list[float]]] = []
    # warm both ways up (imports, fonts) outside the timing
    _quicklook_matplotlib(maps[0], outline(maps[0].code), out / "warm.png", tags)
    quicklook.opportunity_png(out / "warm2.png", maps[0].klasse, maps[0].grid,
                              outline=outline(maps[0].code), title="x")
    rows.append((
        "opportunity.png (matplotlib → PIL)",
        _time_each(lambda m: _quicklook_matplotlib(m, outline(m.code), out / f"{m.code}_a.png",
                                                   tags), maps),
        _time_each(lambda m: quicklook.opportunity_png(
            out / f"{m.code}_b.png", m.klasse, m.grid, outline=outline(m.code),
            title=f"Gelegenheidskaart {m.name} ({m.code})", tags=tags), maps)))
    rows.append((
        "overlay.png (matplotlib → PIL)",
        _time_each(lambda o: _overlay_matplotlib(o, outline(o.code), out / f"{o.code}_oa.png",
                                                 tags), overlays),
        _time_each(lambda o: quicklook.overlay_png(
            out / f"{o.code}_ob.png", o.bivariate, o.grid, outline=outline(o.code),
            priority_zones=o.zones.geometry[o.zones["zone"] == 1].values,
            title=f"Gelegenheid × risico — {o.name} ({o.code})", tags=tags), overlays)))

    style = io.qml_categorized("klasse", [(i, f"klasse {i}", c)
                                          for i, c in styles.class_colors(5).items()])
    cells = {m.code: {"cells": pipeline._cells_frame(m)} for m in maps}
    ov_layers = {o.code: {"cells": _overlay_cells(o), "zones": o.zones} for o in overlays}
    differ = []
    os.environ.setdefault("SOURCE_DATE_EPOCH", "1622548800")
    with clock.fixed():
        for label, frames, names in (("opportunity.gpkg (1 layer)", cells, ("cells",)),
                                     ("overlay.gpkg (2 layers)", ov_layers, ("cells", "zones"))):
            sty = dict.fromkeys(names, style)
            before = _time_each(lambda c, frames=frames, sty=sty: _gpkg_before(
                out / f"{c}_{len(sty)}_a.gpkg", frames[c], metadata=tags, styles=sty), frames)
            after = _time_each(lambda c, frames=frames, sty=sty: io.write_gpkg(
                out / f"{c}_{len(sty)}_b.gpkg", frames[c], metadata=tags, styles=sty), frames)
            differ += [c for c in frames if (out / f"{c}_{len(sty)}_a.gpkg").read_bytes()
                       != (out / f"{c}_{len(sty)}_b.gpkg").read_bytes()]
            rows.append((label, before, after))

    def tif(m, suffix):
        bands = np.stack([m.score, *(m.theme_scores[t] for t in m.themes)])
        io.write_geotiff(out / f"{m.code}_{suffix}.tif", bands, m.grid, tags=tags)

    with _tiles_256():
        before = _time_each(lambda m: tif(m, "a"), maps)
    rows.append(("opportunity.tif (256 → 128 px tiles)", before,
                 _time_each(lambda m: tif(m, "b"), maps)))

    n = len(maps)
    lines = [
        f"Made with `python benchmarks/bench_write.py --project {project_path.name}` on "
        f"{time.strftime('%Y-%m-%d %H:%M')}: {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, load {os.getloadavg()[0]:.1f}; {n} municipalities "
        f"(maps computed in {setup:.0f} s, not timed).",
        "",
        "| file | before: total | before: median per file | after: total "
        "| after: median per file | speed-up |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for label, before, after in rows:
        lines.append(f"| {label} | {sum(before):.2f} s | {statistics.median(before) * 1e3:.1f} ms "
                     f"| {sum(after):.2f} s | {statistics.median(after) * 1e3:.1f} ms "
                     f"| {sum(before) / sum(after):.1f}× |")
    lines += ["", "GeoPackages with the same bytes before and after: "
              + ("all" if not differ else f"not {json.dumps(differ)}")]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--project", type=Path, default=DEFAULT_PROJECT)
    ap.add_argument("--out", type=Path, default=Path("/tmp/bench_write"))
    ap.add_argument("--limit", type=int, default=1000, help="at most this many municipalities")
    args = ap.parse_args()
    print(run(args.project, args.out, args.limit))
    shutil.rmtree(args.out, ignore_errors=True)


if __name__ == "__main__":
    main()
