"""``riskmap validate``: check a project without computing."""

from __future__ import annotations

import click

from riskmap.cli import options


@click.command()
@options.project_arg
@options.friendly_errors
def validate(project) -> None:
    """Check the project file, its layer sets, files, layers, columns and CRSs."""
    from riskmap import config, pipeline

    proj = config.load_project(project)
    for line in pipeline.validate(proj):
        click.echo(line)
