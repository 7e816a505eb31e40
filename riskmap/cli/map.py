"""``riskmap map``: one HTML map per municipality and a region index page."""

from __future__ import annotations

import click

from riskmap.cli import options


@click.command(name="map")
@options.project_arg
@options.municipality_opt
@options.output_opt
@click.option("--audience", type=click.Choice(["police", "partners", "public"]),
              default="partners", show_default=True,
              help="Who the page is for: partners and public see classes only.")
@click.option("--offline", is_flag=True,
              help="Put Leaflet's JavaScript and CSS inside the page: no CDN requests (for "
                   "PCs that block them); only basemap tiles are fetched.")
@click.option("--tiles", type=click.Choice(["grijs", "standaard", "pastel", "luchtfoto",
                                            "none"]), default="grijs", show_default=True,
              help="PDOK basemap, or none (municipality and buurt outlines only).")
@options.overwrite_opt
@options.progress_opt
@options.friendly_errors
def map_(project, municipalities, out, audience, offline, tiles, overwrite, progress) -> None:
    """Write OUT/<statcode>/kaart.html per municipality and OUT/index.html.

    Layers: opportunity classes, risk classes (as the audience may see them), the
    bivariate overlay with a 3 x 3 legend, and zones with popups.
    """
    from riskmap import config, pipeline

    proj = config.load_project(project)
    region = pipeline.load_region(proj)
    ranking = None
    if proj.scoring is not None and audience != "public":
        _, ranking = pipeline.rank_premises(proj, audience=audience,
                                            municipalities=municipalities, region=region,
                                            progress=progress)
    for path in pipeline.html_maps(proj, out, municipalities=municipalities,
                                   audience=audience, offline=offline, tiles=tiles,
                                   region=region, overwrite=overwrite, progress=progress,
                                   ranking=ranking):
        click.echo(path)
