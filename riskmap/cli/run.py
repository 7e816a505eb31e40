"""``riskmap run``: every stage the project file configures, in one go."""

from __future__ import annotations

import json

import click

from riskmap.cli import options


@click.command()
@options.project_arg
@options.municipality_opt
@options.output_opt
@click.option("--audience", type=click.Choice(["police", "partners", "public"]),
              default="partners", show_default=True)
@click.option("--capacity", type=click.IntRange(min=1), default=None,
              help="With --period: also write the inspection plan.")
@click.option("--period", default=None, help="Quarter (2027-Q1) or start date of the plan.")
@options.overwrite_opt
@click.option("--resume", is_flag=True,
              help="Keep the municipalities whose files of the previous run (MANIFEST.json) "
                   "are intact and made from the same configuration and inputs.")
@click.option("--engine", type=click.Choice(["local", "dask"]), default="local",
              show_default=True,
              help="local: computed in this process, files written by --workers processes. "
                   "dask: partitioned by municipality on a Dask cluster (same outputs).")
@click.option("--scheduler", metavar="ADDRESS", default=None,
              help="With --engine dask: a running Dask scheduler (tcp://host:8786) instead "
                   "of a local cluster.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Local worker processes (default: one per core): with --engine local "
                   "they write the files, with --engine dask (no --scheduler) they compute.")
@options.progress_opt
@options.friendly_errors
def run(project, municipalities, out, audience, capacity, period, overwrite, resume,
        engine, scheduler, workers, progress) -> None:
    """Run every configured stage into OUT; MANIFEST.json (SHA-256 of every file) comes last."""
    from riskmap import config, pipeline
    from riskmap.engine import get_engine

    proj = config.load_project(project)
    with get_engine(engine, scheduler=scheduler, workers=workers) as eng:
        files, summary = pipeline.run_project(proj, out, audience=audience,
                                              municipalities=municipalities,
                                              capacity=capacity, period=period,
                                              overwrite=overwrite, resume=resume,
                                              progress=progress, engine=eng)
    summary["engine"] = engine
    click.echo(json.dumps(summary, indent=1, ensure_ascii=False, default=str))
    click.echo(f"{len(files)} files written; {files[-1]}")
