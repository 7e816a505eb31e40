"""``riskmap register``: the register of risk locations (import outcomes, progress, export)."""

from __future__ import annotations

from pathlib import Path

import click

from riskmap.cli import options


@click.group()
def register() -> None:
    """The register of risk locations and inspection outcomes ([register] url)."""


@register.command(name="add-plan")
@options.project_arg
@click.argument("plan_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--date", "day", required=True, help="ISO date of the signal (the plan date).")
@click.option("--who", required=True, help="Who registers the locations.")
@options.friendly_errors
def add_plan(project, plan_file, day, who) -> None:
    """Register the premises of an inspection plan as risk locations (gesignaleerd)."""
    from riskmap import config, pipeline

    proj = config.load_project(project)
    frame = pipeline.read_outcomes_file(plan_file)
    with pipeline.open_project_register(proj) as reg:
        known = set(reg.locations()["location_id"])
        n = 0
        for row in frame.itertuples(index=False):  # a plan of tens of rows
            pid = str(row.premise_id)
            if pid in known:
                continue
            theme = "bedrijventerrein" if getattr(row, "Gebied", "") == "bedrijventerrein" \
                else "buitengebied"
            reg.add_location(pid, premise_id=pid, statcode=str(row.Gemeentecode), theme=theme,
                             source="inspectieplan", x=float(str(row.x).replace(",", ".")),
                             y=float(str(row.y).replace(",", ".")), date=day, who=who)
            known.add(pid)
            n += 1
    click.echo(f"{n} risk locations added")


@register.command(name="import")
@options.project_arg
@click.argument("outcomes", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--today", default=None, help="ISO date; outcomes after it are refused.")
@options.friendly_errors
def import_(project, outcomes, today) -> None:
    """Import inspectors' outcomes (the plan's XLSX/CSV with Uitkomst filled): all or nothing."""
    import datetime as dt

    from riskmap import config, pipeline

    proj = config.load_project(project)
    frame = pipeline.read_outcomes_file(outcomes)
    with pipeline.open_project_register(proj) as reg:
        n = reg.import_outcomes(frame, today=today or dt.date.today().isoformat(),
                                document=Path(outcomes).name)
    click.echo(f"{n} outcomes imported")


@register.command()
@options.project_arg
@options.output_opt
@options.overwrite_opt
@options.friendly_errors
def progress(project, out, overwrite) -> None:
    """Write voortgang.csv, doelen.csv and the dashboard voortgang.html."""
    from riskmap import config, pipeline

    proj = config.load_project(project)
    for path in pipeline.write_progress(proj, out, overwrite=overwrite):
        click.echo(path)


@register.command()
@options.project_arg
@options.output_opt
@options.overwrite_opt
@options.friendly_errors
def export(project, out, overwrite) -> None:
    """Write register.xlsx, register.csv and register.gpkg (the locations as points)."""
    from riskmap import config, pipeline

    proj = config.load_project(project)
    for path in pipeline.export_register(proj, out, overwrite=overwrite):
        click.echo(path)
