"""``riskmap risk``: police risk maps per municipality, for an audience."""

from __future__ import annotations

import click

from riskmap.cli import options


@click.command()
@options.project_arg
@options.municipality_opt
@options.output_opt
@click.option("--audience", type=click.Choice(["police", "partners", "public"]),
              default="police", show_default=True,
              help="Who the output is for: partners and public get classes only, with cells "
                   "resting on fewer than k incidents merged into the lowest class.")
@options.overwrite_opt
@options.progress_opt
@options.friendly_errors
def risk(project, municipalities, out, audience, overwrite, progress) -> None:
    """Write a risk map per municipality from the project's [risk] table.

    Files: OUT/<statcode>/risk.tif and risk.gpkg (layer cells). For police: score (0-1),
    klasse, Gi* z and bin, density and counts; for partners/public: klasse only.
    """
    from riskmap import config, pipeline

    proj = config.load_project(project)
    region = pipeline.load_region(proj)
    pipeline.check_outputs(out, region.select(list(municipalities)), overwrite=overwrite,
                           files=pipeline.RISK_FILES)
    region, maps, meta = pipeline.risk_maps(proj, municipalities=municipalities,
                                            audience=audience, region=region,
                                            progress=progress)
    for path in pipeline.write_risk(maps, out, project=proj, meta=meta, overwrite=overwrite,
                                    progress=progress):
        click.echo(path)
    settings = meta.get("settings")
    if settings:
        click.echo(f"settings ({meta['chosen']}): bandwidth {settings['bandwidth_m']:g} m, "
                   f"half-life {settings['half_life_days'] or 'none'}, window "
                   f"{settings['window_days'] or 'all'}", err=True)
