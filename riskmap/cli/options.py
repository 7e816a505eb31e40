"""Shared click options and the error handler of every riskmap command."""

from __future__ import annotations

import functools
import logging
import sys
from pathlib import Path

import click

project_arg = click.argument(
    "project", type=click.Path(dir_okay=False, path_type=Path), metavar="PROJECT.toml")

municipality_opt = click.option(
    "-m", "--municipality", "municipalities", multiple=True, metavar="CODE|NAME",
    help="Only this municipality (code such as GM0050 or name such as Zeewolde); repeatable. "
         "Default: all municipalities of the region.")

output_opt = click.option(
    "--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write into (created if needed).")

overwrite_opt = click.option(
    "--overwrite", is_flag=True, help="Replace output files that exist already.")

progress_opt = click.option(
    "--progress/--no-progress", default=True, show_default=True,
    help="Show progress bars on stderr.")


audience_opt = click.option(
    "--audience", type=click.Choice(["police", "partners", "public"]), default="police",
    show_default=True,
    help="Who the output is for: partners and public get classes only, with cells resting on "
         "fewer than k incidents treated as low risk / little information.")


def friendly_errors(fn):
    """Turn a RiskmapError into one message on stderr and exit code 2 (no traceback)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from riskmap.errors import RiskmapError

        try:
            return fn(*args, **kwargs)
        except RiskmapError as exc:
            click.echo(f"riskmap: error {exc.code}: {exc}", err=True)
            sys.exit(2)

    return wrapper


def setup_logging(verbose: int) -> None:
    """Only the CLI configures logging; the library logs to a NullHandler."""
    level = logging.WARNING - 10 * verbose
    logging.basicConfig(level=max(level, logging.DEBUG), stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
