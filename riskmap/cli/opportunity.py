"""``riskmap opportunity``: opportunity maps per municipality."""

from __future__ import annotations

import click

from riskmap.cli import options


@click.command()
@options.project_arg
@options.municipality_opt
@options.output_opt
@options.overwrite_opt
@options.progress_opt
@options.friendly_errors
def opportunity(project, municipalities, out, overwrite, progress) -> None:
    """Write an opportunity map per municipality (GeoTIFF, GeoPackage, PNG).

    Files: OUT/<statcode>/opportunity.tif (band 1 score 0-1), opportunity.gpkg (layer
    cells: cell_id, statcode, score, klasse, contributions) and opportunity.png.
    """
    from riskmap import config, pipeline  # keeps `riskmap --help` fast

    proj = config.load_project(project)
    region = pipeline.load_region(proj)
    pipeline.check_outputs(out, region.select(list(municipalities)), overwrite=overwrite)
    region, maps = pipeline.opportunity_maps(proj, municipalities=municipalities,
                                             region=region, progress=progress)
    for path in pipeline.write_opportunity(maps, out, project=proj, region=region,
                                           overwrite=overwrite, progress=progress):
        click.echo(path)
