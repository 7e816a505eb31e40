"""The ``riskmap`` command: one sub-command per stage, plus ``demo``.

Files made are listed on stdout; progress and logs go to stderr. A user error exits with
code 2 and a one-paragraph message; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import click

from riskmap.cli.backtest import backtest
from riskmap.cli.demo import demo
from riskmap.cli.explain import explain
from riskmap.cli.map import map_
from riskmap.cli.opportunity import opportunity
from riskmap.cli.options import setup_logging
from riskmap.cli.overlay import overlay
from riskmap.cli.rank import plan, rank
from riskmap.cli.register import register
from riskmap.cli.risk import risk
from riskmap.cli.run import run
from riskmap.cli.validate import validate


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More log output on stderr.")
@click.version_option(package_name="riskmap")
def main(verbose: int) -> None:
    """riskmap: opportunity and risk maps for Dutch public safety (ondermijning)."""
    setup_logging(verbose)


main.add_command(opportunity)
main.add_command(validate)
main.add_command(demo)
main.add_command(risk)
main.add_command(backtest)
main.add_command(overlay)
main.add_command(map_)
main.add_command(rank)
main.add_command(plan)
main.add_command(register)
main.add_command(run)
main.add_command(explain)

__all__ = ["main"]
