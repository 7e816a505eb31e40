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
@click.option("--allow-network", is_flag=True,
              help="Read inputs from http(s)://, s3:// and /vsi… paths (refused by default).")
@click.version_option(package_name="riskmap")
@click.pass_context
def main(ctx: click.Context, verbose: int, allow_network: bool) -> None:
    """riskmap: opportunity and risk maps for Dutch public safety (ondermijning).

    Inputs are capped in size, features and archive contents; change the caps with the
    environment variables RISKMAP_MAX_FILE_MB, RISKMAP_MAX_FEATURES,
    RISKMAP_MAX_ARCHIVE_ENTRIES, RISKMAP_MAX_UNCOMPRESSED_MB, RISKMAP_MAX_COMPRESSION_RATIO
    and RISKMAP_MAX_RASTER_CELLS.
    """
    setup_logging(verbose)
    if allow_network:
        from riskmap import io  # only then: keeps `riskmap --help` fast

        ctx.with_resource(io.use_limits(allow_network=True))


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
