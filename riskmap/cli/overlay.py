"""``riskmap overlay``: opportunity × risk per municipality, bivariate classes and zones."""

from __future__ import annotations

import click

from riskmap.cli import options


@click.command()
@options.project_arg
@options.municipality_opt
@options.output_opt
@options.audience_opt
@options.overwrite_opt
@options.progress_opt
@options.friendly_errors
def overlay(project, municipalities, out, audience, overwrite, progress) -> None:
    """Write the combined map per municipality and the region's zone table.

    Files: OUT/<statcode>/overlay.tif (bivariate class 1-9 with colour table),
    overlay.gpkg (layers cells and zones, styled for QGIS), overlay.png, and
    OUT/zones_regio.csv.
    """
    from riskmap import config, pipeline

    proj = config.load_project(project)
    region = pipeline.load_region(proj)
    pipeline.check_outputs(out, region.select(list(municipalities)), overwrite=overwrite,
                           files=pipeline.OVERLAY_FILES)
    region, overlays, meta = pipeline.overlay_maps(proj, municipalities=municipalities,
                                                   audience=audience, region=region,
                                                   progress=progress)
    for path in pipeline.write_overlay(overlays, out, project=proj, region=region, meta=meta,
                                       overwrite=overwrite, progress=progress):
        click.echo(path)
