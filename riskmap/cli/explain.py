"""``riskmap explain``: the model in plain Dutch, shaped as an Algoritmeregister entry."""

from __future__ import annotations

from pathlib import Path

import click

from riskmap.cli import options


@click.command()
@options.project_arg
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Markdown file to write (default: print to stdout).")
@click.option("--backtest", "backtest", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="A back-test JSON (riskmap backtest --json) for Evaluatie.")
@options.overwrite_opt
@options.friendly_errors
def explain(project, out, backtest, overwrite) -> None:
    """Describe the project's model in Dutch Markdown (a start for the DPIA and IAMA)."""
    from riskmap import config
    from riskmap import explain as explain_mod

    proj = config.load_project(project)
    result = explain_mod.read_backtest(backtest) if backtest else None
    if out is None:
        click.echo(explain_mod.describe(proj, backtest=result), nl=False)
    else:
        click.echo(explain_mod.write_description(proj, out, backtest=result,
                                                 overwrite=overwrite))
