"""``riskmap rank`` and ``riskmap plan``: ranked premises and the inspection plan."""

from __future__ import annotations

import click

from riskmap.cli import options

audience = click.option("--audience", type=click.Choice(["police", "partners"]),
                        default="partners", show_default=True,
                        help="Partners read that a premise has a police signal, never how "
                             "many; rankings are never made for the public.")


@click.command()
@options.project_arg
@options.municipality_opt
@options.output_opt
@audience
@options.overwrite_opt
@options.progress_opt
@options.friendly_errors
def rank(project, municipalities, out, audience, overwrite, progress) -> None:
    """Write the ranked premises per municipality with their reasons.

    Files: OUT/<statcode>/ranglijst.csv, ranglijst.xlsx (frozen header, filter, links to
    the HTML map, provenance sheet) and ranglijst.gpkg.
    """
    from riskmap import config, pipeline

    proj = config.load_project(project)
    region, ranking = pipeline.rank_premises(proj, audience=audience,
                                             municipalities=municipalities, progress=progress)
    for path in pipeline.write_ranking(ranking, out, project=proj, audience=audience,
                                       overwrite=overwrite):
        click.echo(path)


@click.command()
@options.project_arg
@options.municipality_opt
@options.output_opt
@click.option("--capacity", type=click.IntRange(min=1), required=True,
              help="Number of inspections in the period.")
@click.option("--period", required=True, help="Quarter (2027-Q1) or start date (2027-01-01).")
@click.option("--min-per-municipality", type=click.IntRange(min=0), default=1,
              show_default=True)
@click.option("--cooldown-days", type=click.IntRange(min=0), default=180, show_default=True,
              help="Premises inspected this recently are skipped.")
@click.option("--exploration", type=click.FloatRange(0, 1), default=0.15, show_default=True,
              help="Share of slots drawn at random from blind spots with little police "
                   "information.")
@click.option("--seed", type=int, default=0, show_default=True)
@audience
@options.overwrite_opt
@options.progress_opt
@options.friendly_errors
def plan(project, municipalities, out, capacity, period, min_per_municipality, cooldown_days,
         exploration, seed, audience, overwrite, progress) -> None:
    """Write the inspection plan for a period: OUT/inspectieplan.xlsx and .csv."""
    from riskmap import config, pipeline

    proj = config.load_project(project)
    region, ranking = pipeline.rank_premises(proj, audience=audience,
                                             municipalities=municipalities, progress=progress)
    result = pipeline.plan_inspections(ranking, period=period, capacity=capacity,
                                       min_per_municipality=min_per_municipality,
                                       cooldown_days=cooldown_days,
                                       exploration_share=exploration, seed=seed)
    for path in pipeline.write_plan(result, out, project=proj, audience=audience,
                                    overwrite=overwrite):
        click.echo(path)
    counts = result.plan["soort"].value_counts().to_dict()
    click.echo(f"plan: {len(result.plan)} inspections ({counts})", err=True)
