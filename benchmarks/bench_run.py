"""Benchmark: `riskmap run` end to end, on the region and on the synthetic country.

    python benchmarks/bench_run.py region [--scale 1.0] [--sizes 100 25] [--repeat 1]
    python benchmarks/bench_run.py country PROJECT.toml [--engine dask] [--workers 2]
    python benchmarks/bench_run.py profile [--scale 1.0] [--cell-size 100]
    python benchmarks/bench_run.py report > benchmarks/results/run.md

``region`` makes (or reuses) the demo data at ``--scale`` (cached under
``benchmarks/results/data_scale<scale>``, as ``bench_opportunity.py`` does) and, per cell
size, times in fresh processes (a) ``riskmap run`` with per-stage times and (b) the separate
stage commands ``opportunity``, ``risk``, ``overlay``, ``map --offline`` and ``rank`` on the
same project, reporting the ratio of (a) to the sum of (b). ``country`` times ``riskmap run``
on a project made by ``benchmarks/country.py make``. ``profile`` runs ``riskmap run`` under
cProfile. Peak memory is the largest memory of the process and all its descendants, polled
every 0.1 s with psutil: RSS for one process, the sum of the proportional set sizes (PSS) when
there are forked writers or Dask workers (pages they share with the parent count once). Each command
writes ``benchmarks/results/run_<what>.json``; ``report`` renders them as Markdown for
``assemble.py``. The machine's load (``os.getloadavg``) is recorded before and after each
timing, since other work on the machine slows it down.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
PY = sys.executable

# pipeline functions (and methods) timed inside `riskmap run`, and the stage each belongs to
STAGES = {
    "load_region": "region",
    # with workers the sources are measured and the files written in forked processes
    # while the run computes on (not timed here); what the run does before they fork
    "provenance": "before the writers fork", "_make_cell_layers": "before the writers fork",
    "_import_later_stages": "before the writers fork",
    "compute_measures": "opportunity", "opportunity_maps": "opportunity",
    "write_opportunity": "opportunity",
    "risk_surface": "risk", "risk_maps": "risk", "write_risk": "risk",
    # handing the files to the workers: waits for the batch before (one at a time)
    "_Later.start": "waiting for the workers", "_Later.files": "waiting for the workers",
    "overlay_maps": "overlay", "write_overlay": "overlay",
    "rank_premises": "rank", "write_ranking": "rank", "plan_inspections": "rank",
    "write_plan": "rank",
    "html_maps": "map",
    "write_progress": "register progress",
    "write_manifest": "manifest",
}
SEPARATE = [("opportunity", []), ("risk", []), ("overlay", []), ("map", ["--offline"]),
            ("rank", [])]


# ----------------------------------------------------------------------------- measuring


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def _pss(pid: int) -> int:
    """Proportional set size in bytes, from the kernel's summary (cheaper than psutil's
    full smaps walk, which would take a core's tenth of the machine at this polling rate)."""
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    return 0


def measure(cmd: list[str], *, env: dict | None = None, log: Path | None = None) -> dict:
    """Wall time and peak memory of one command in a fresh process.

    Memory: the resident set (RSS) of the process, or, while it has child processes (forked
    writers, Dask workers), the sum of their proportional set sizes (PSS), which counts a
    page that forked processes share once instead of once per process. Polled every 0.1 s,
    or less often when a poll costs more than 2 % of a core (the kernel walks every page
    table of a process for its PSS: ~20 ms for a process of 4 GB, which polled every 0.1 s
    took a fifth of a core from the run it measured); the mean interval is reported.
    """
    import psutil

    t0 = time.perf_counter()
    load0 = _load()
    out = open(log, "w") if log else subprocess.DEVNULL  # noqa: SIM115
    proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                            env={**os.environ, **(env or {})}, cwd=ROOT)
    peak = [0]
    waits: list[float] = []
    done = threading.Event()

    def poll() -> None:
        root = psutil.Process(proc.pid)
        while not done.is_set():
            cpu = time.thread_time()  # this thread's CPU, the kernel's page walks included
            try:
                procs = [root, *root.children(recursive=True)]
                rss = 0
                for p in procs:  # PSS: pages a forked worker shares count once in all
                    with contextlib.suppress(psutil.Error, OSError):
                        rss += _pss(p.pid) if len(procs) > 1 else p.memory_info().rss
                peak[0] = max(peak[0], rss)
            except psutil.Error:
                pass
            waits.append(max(0.1, 49 * (time.thread_time() - cpu)))
            done.wait(waits[-1])

    th = threading.Thread(target=poll, daemon=True)
    th.start()
    rc = proc.wait()
    done.set()
    th.join()
    if log:
        out.close()
    wall = time.perf_counter() - t0
    if rc != 0:
        tail = log.read_text()[-3000:] if log else ""
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed with exit code {rc}:\n{tail}")
    return {"seconds": wall, "peak_mb": peak[0] / 2**20, "load_before": load0,
            "load_after": _load(), "poll_interval_s": round(sum(waits) / max(len(waits), 1), 3)}


def timed_child(argv: list[str]) -> None:
    """Run the riskmap CLI with the pipeline's stage functions timed (outermost calls)."""
    import functools

    from riskmap import pipeline
    from riskmap.cli import main

    times: dict[str, float] = {}
    depth = [0]

    def wrap(name, fn):
        @functools.wraps(fn)
        def inner(*a, **k):
            depth[0] += 1
            t = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                depth[0] -= 1
                if depth[0] == 0:
                    stage = STAGES[name]
                    times[stage] = times.get(stage, 0.0) + time.perf_counter() - t

        return inner

    for name in STAGES:
        owner, _, attr = name.rpartition(".")
        owner = getattr(pipeline, owner) if owner else pipeline
        if hasattr(owner, attr):
            setattr(owner, attr, wrap(name, getattr(owner, attr)))
    t0 = time.perf_counter()
    try:
        main(argv, standalone_mode=False)
    finally:
        times["total (in process)"] = time.perf_counter() - t0
        Path(os.environ["RISKMAP_BENCH_TIMES"]).write_text(json.dumps(times))


def run_timed(project: Path, out: Path, extra: list[str], tag: str,
              env: dict | None = None) -> dict:
    """`riskmap run` in a fresh process, with per-stage times and peak memory."""
    times_file = RESULTS / f"times_{tag}.json"
    cmd = [PY, str(Path(__file__).resolve()), "_timed", "run", str(project), "--out", str(out),
           "--overwrite", "--no-progress", *extra]
    r = measure(cmd, env={"RISKMAP_BENCH_TIMES": str(times_file), "PYTHONPATH": str(ROOT),
                          **(env or {})}, log=RESULTS / f"log_{tag}.txt")
    r["stages"] = json.loads(times_file.read_text())
    r["command"] = f"riskmap run {project.name} --out OUT --overwrite --no-progress " \
                   + " ".join(extra)
    summary = (RESULTS / f"log_{tag}.txt").read_text()
    m = re.search(r"^\{.*?^\}", summary, re.S | re.M)
    r["summary"] = json.loads(m.group(0)) if m else None
    return r


def project_with_cell_size(project: Path, cell_size: float) -> Path:
    """A copy of ``project`` beside it (relative paths keep working) at ``cell_size``."""
    text = project.read_text(encoding="utf-8")
    text, n = re.subn(r"(?m)^cell_size\s*=.*$", f"cell_size = {cell_size:g}", text)
    if n != 1:
        raise ValueError(f"{project}: expected one cell_size line, found {n}")
    path = project.with_name(f"project_{cell_size:g}m.toml")
    path.write_text(text, encoding="utf-8")
    return path


def machine() -> dict:
    import numpy

    return {"date": time.strftime("%Y-%m-%d %H:%M"), "cpu": platform.processor() or "x86_64",
            "cores": os.cpu_count(), "python": platform.python_version(),
            "numpy": numpy.__version__,
            "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30)}


# ----------------------------------------------------------------------------- commands


def bench_region(args) -> None:
    sys.path.insert(0, str(HERE))
    from bench_opportunity import ensure_data

    project = ensure_data(args.scale)
    rows = []
    result = {"machine": machine(), "scale": args.scale, "rows": rows,
              "command": "python benchmarks/bench_run.py region " + " ".join(sys.argv[2:])}

    def save() -> None:  # after every measurement: an interrupted run keeps what it measured
        (RESULTS / "run_region.json").write_text(json.dumps(result, indent=1))

    for size in args.sizes:
        proj = project_with_cell_size(project, size)
        out = RESULTS / f"out_region_{size:g}m"
        for rep in range(args.repeat):
            run = run_timed(proj, out / "run", [], f"region_{size:g}m_run{rep}")
            print(f"{size:g} m run: {run['seconds']:.1f} s, {run['peak_mb']:.0f} MB",
                  file=sys.stderr)
            separate = {}
            rows.append({"cell_size": size, "repeat": rep, "run": run, "separate": separate})
            save()
            for cmd, extra in SEPARATE:
                separate[cmd] = measure(
                    [PY, "-m", "riskmap", cmd, str(proj), "--out", str(out / "separate"),
                     "--overwrite", "--no-progress", *extra],
                    env={"PYTHONPATH": str(ROOT)}, log=RESULTS / f"log_region_{cmd}.txt")
                print(f"{size:g} m {cmd}: {separate[cmd]['seconds']:.1f} s", file=sys.stderr)
                save()


def bench_country(args) -> None:
    project = args.project.resolve()
    extra = []
    if args.engine:
        extra += ["--engine", args.engine]
        if args.workers:
            extra += ["--workers", str(args.workers)]
    out = RESULTS / "out_country"
    # the country's bag.gpkg (~3.9 GB) is larger than riskmap's default input cap of 2 GB
    env = {"RISKMAP_MAX_FILE_MB": "8192"}
    run = run_timed(project, out, extra, "country", env=env)
    run["env"] = env
    meta_file = project.parent / "country.json"
    result = {"machine": machine(), "run": run, "engine": args.engine or "single process",
              "country": json.loads(meta_file.read_text()) if meta_file.exists() else None,
              "command": "python benchmarks/bench_run.py country " + " ".join(sys.argv[2:])}
    (RESULTS / "run_country.json").write_text(json.dumps(result, indent=1))
    print(f"country: {run['seconds']:.1f} s, {run['peak_mb']:.0f} MB", file=sys.stderr)


def bench_profile(args) -> None:
    import pstats

    sys.path.insert(0, str(HERE))
    from bench_opportunity import ensure_data

    project = project_with_cell_size(ensure_data(args.scale), args.cell_size)
    prof = RESULTS / "profile_region.prof"
    cmd = [PY, "-m", "cProfile", "-o", str(prof), "-m", "riskmap", "run", str(project),
           "--out", str(RESULTS / "out_profile"), "--overwrite", "--no-progress",
           "--workers", "1"]  # the profiler sees one process only: no forked writers
    r = measure(cmd, env={"PYTHONPATH": str(ROOT)}, log=RESULTS / "log_profile.txt")
    stats = pstats.Stats(str(prof))
    total = max(v[3] for v in stats.stats.values())
    rows = []
    for (file, line, func), (_cc, nc, tt, ct, _callers) in stats.stats.items():
        rel = file.replace(str(ROOT) + "/", "")
        rel = re.sub(r".*/site-packages/", "", rel)
        rows.append({"where": f"{rel}:{line}({func})", "calls": nc, "tottime": tt,
                     "cumtime": ct, "ours": rel.startswith("riskmap/")})
    by_self = sorted(rows, key=lambda r: -r["tottime"])[:args.top]
    ours = sorted((r for r in rows if r["ours"]), key=lambda r: -r["cumtime"])[:args.top]
    result = {"machine": machine(), "wall_s": r["seconds"], "profiled_total_s": total,
              "load_before": r["load_before"], "load_after": r["load_after"],
              "by_self_time": by_self, "riskmap_by_cumulative": ours,
              "command": "python benchmarks/bench_run.py profile " + " ".join(sys.argv[2:])}
    (RESULTS / "run_profile.json").write_text(json.dumps(result, indent=1))
    print(json.dumps(by_self[:10], indent=1), file=sys.stderr)


# ----------------------------------------------------------------------------- report


def _stage_cells(stages: dict, names: list[str]) -> str:
    return " | ".join(f"{stages[n]:.1f}" if n in stages else "–" for n in names)


def _load_txt(r: dict) -> str:
    if r.get("load_before") is None:
        return r.get("load_note", "–")
    return f"{r['load_before']:.1f} → {r['load_after']:.1f}"


def report() -> str:
    lines = []
    reg_file = RESULTS / "run_region.json"
    if reg_file.exists():
        reg = json.loads(reg_file.read_text())
        m = reg["machine"]
        names = [n for n in dict.fromkeys(STAGES.values())
                 if any(n in r["run"]["stages"] for r in reg["rows"])]
        lines += [
            f"Made with `{reg['command']}` on {m['date']}: {m['cpu']}, {m['cores']} cores, "
            f"{m['memory_gb']} GB, Python {m['python']}. Demo data at scale {reg['scale']:g} "
            f"(39 municipalities, ~{1.5 * reg['scale']:g} M premises, 2,400 incidents). "
            "Every figure is one fresh "
            "process; peak memory is the RSS of a lone process, or the sum of the PSS of the "
            "process and its children (forked workers, which share the parent's pages; "
            "psutil, polled every 0.1 s or less often when a poll costs more than 2 % of a "
            "core); load is the 1-minute load average before → after. `riskmap run` uses the "
            "default `--engine local`: computed in one process, the sources measured and the "
            "per-municipality files written by one forked process per core, while the run "
            "computes the next stage. Goals (issue 7): ≤ 20 s at 100 m, ≤ 45 s at 25 m, "
            "≤ 4 GB.", "",
            "| cell size | `riskmap run` | peak memory | goal met | " + " | ".join(names)
            + " | sum of separate commands | run / separate | load |",
            "| --- | --- | --- | --- | " + " | ".join("---" for _ in names)
            + " | --- | --- | --- |",
        ]
        for r in reg["rows"]:
            run, sep = r["run"], r["separate"]
            goal = 20 if r["cell_size"] >= 100 else 45
            ok = (f"time {'yes' if run['seconds'] <= goal else 'no'} (≤ {goal} s), memory "
                  f"{'yes' if run['peak_mb'] <= 4096 else 'no'} (≤ 4 GB)")
            complete = all(c in sep for c, _ in SEPARATE)
            sep_sum = sum(s["seconds"] for s in sep.values())
            ratio = (f"{sep_sum:.1f} s | **{run['seconds'] / sep_sum:.2f}**" if complete else
                     f"not measured ({', '.join(sep) or 'none'} only) | –")
            lines.append(
                f"| {r['cell_size']:g} m | **{run['seconds']:.1f} s** | "
                f"{run['peak_mb']:,.0f} MB | {ok} | "
                + _stage_cells(run["stages"], names)
                + f" | {ratio} | {_load_txt(run)} |")
        lines += ["", "Stage columns: seconds the run's own process spends in the pipeline "
                  "functions of each stage (timed around them). The measuring and the writing "
                  "happen in the workers meanwhile and are not in the columns; `waiting for "
                  "the workers` is the time the run waits for a batch of them before it hands "
                  "over the next; `region` is reading the municipalities and building the "
                  "grid; the rest up to the total is start-up, waiting for the measures and "
                  "the run summary. The separate commands, each in its own process:", "",
                  "| cell size | " + " | ".join(c for c, _ in SEPARATE) + " | peak memory |",
                  "| --- | " + " | ".join("---" for _ in SEPARATE) + " | --- |"]
        for r in reg["rows"]:
            sep = r["separate"]
            peaks = [s["peak_mb"] for s in sep.values() if s.get("peak_mb")]
            lines.append(f"| {r['cell_size']:g} m | " + " | ".join(
                f"{sep[c]['seconds']:.1f} s" if c in sep else "–" for c, _ in SEPARATE)
                + (f" | {max(peaks):,.0f} MB |" if peaks else " | – |"))
        if reg.get("note"):
            lines += ["", reg["note"]]
    c_file = RESULTS / "run_country.json"
    if c_file.exists():
        c = json.loads(c_file.read_text())
        run, meta = c["run"], c["country"] or {}
        names = [n for n in dict.fromkeys(STAGES.values()) if n in run["stages"]]
        rows = meta.get("rows", {})
        lines += [
            "", "### The synthetic country", "",
            f"Made with `python benchmarks/country.py make OUT --premises "
            f"{meta.get('premises', 0):_} --seed {meta.get('seed', 0)}` "
            f"({meta.get('seconds', 0) / 60:.1f} min) and `{c['command']}` on "
            f"{c['machine']['date']}. {meta.get('municipalities', '?')} synthetic "
            f"municipalities partitioning the 12 real provinces (~35,000 km²), "
            f"{rows.get('verblijfsobject', 0):,} verblijfsobjecten in "
            f"{rows.get('pand', 0):,} panden, {rows.get('wegvakken', 0):,} road segments, "
            f"{meta.get('incidents', 0):,} incidents. Engine: {c['engine']}. Goal (issue 7, "
            "with `--engine dask` on 2 workers): ≤ 10 min, ≤ 12 GB.", "",
            "| engine | `riskmap run` | peak memory | goal met | " + " | ".join(names)
            + " | load |",
            "| --- | --- | --- | --- | " + " | ".join("---" for _ in names) + " | --- |",
            f"| {c['engine']} | **{run['seconds'] / 60:.1f} min** ({run['seconds']:.0f} s) | "
            f"{run['peak_mb'] / 1024:,.1f} GB | "
            f"time {'yes' if run['seconds'] <= 600 else 'no'} (≤ 10 min), memory "
            f"{'yes' if run['peak_mb'] <= 12 * 1024 else 'no'} (≤ 12 GB) | "
            + _stage_cells(run["stages"], names)
            + f" | {_load_txt(run)} |",
        ]
        if c.get("note"):
            lines += ["", c["note"]]
    p_file = RESULTS / "run_profile.json"
    if p_file.exists():
        p = json.loads(p_file.read_text())
        lines += [
            "", "### Where the region run spends its time (cProfile)", "",
            f"Made with `{p['command']}`: {p['wall_s']:.1f} s wall under the profiler "
            f"(load {p['load_before']:.1f} → {p['load_after']:.1f}; `--workers 1`, so that the "
            "profiler sees all the work). Top functions by own "
            "time:", "",
            "| function | calls | own time | cumulative |", "| --- | --- | --- | --- |",
        ]
        lines += [f"| `{r['where']}` | {r['calls']:,} | {r['tottime']:.2f} s | "
                  f"{r['cumtime']:.2f} s |" for r in p["by_self_time"][:15]]
        lines += ["", "riskmap functions by cumulative time:", "",
                  "| function | calls | own time | cumulative |", "| --- | --- | --- | --- |"]
        lines += [f"| `{r['where']}` | {r['calls']:,} | {r['tottime']:.2f} s | "
                  f"{r['cumtime']:.2f} s |" for r in p["riskmap_by_cumulative"][:20]]
    return "\n".join(lines) + "\n"


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_timed":  # child process
        timed_child(sys.argv[2:])
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("region")
    r.add_argument("--scale", type=float, default=1.0)
    r.add_argument("--sizes", type=float, nargs="+", default=[100.0, 25.0])
    r.add_argument("--repeat", type=int, default=1)
    c = sub.add_parser("country")
    c.add_argument("project", type=Path)
    c.add_argument("--engine", default=None)
    c.add_argument("--workers", type=int, default=None)
    p = sub.add_parser("profile")
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--cell-size", type=float, default=100.0)
    p.add_argument("--top", type=int, default=25)
    sub.add_parser("report")
    args = ap.parse_args()
    RESULTS.mkdir(exist_ok=True)
    {"region": bench_region, "country": bench_country, "profile": bench_profile,
     "report": lambda _a: print(report(), end="")}[args.cmd](args)


if __name__ == "__main__":
    main()
