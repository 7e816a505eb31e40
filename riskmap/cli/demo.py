"""``riskmap demo``: the demo data, its project file, and every stage on all 39 municipalities."""

from __future__ import annotations

import click

from riskmap.cli import options


@click.command()
@options.output_opt
@click.option("--scale", type=click.FloatRange(min=0.001, max=1.0), default=0.1,
              show_default=True,
              help="Size of the synthetic data: 1.0 is about 1.5 M premises in the region.")
@click.option("--seed", type=int, default=2021, show_default=True, help="Random seed.")
@options.municipality_opt
@options.overwrite_opt
@options.progress_opt
@options.friendly_errors
def demo(out, scale, seed, municipalities, overwrite, progress) -> None:
    """Write the demo data and project to OUT and run every stage into OUT.

    OUT/data/ holds the real CBS boundaries and the synthetic BAG/NWB/IBIS/TOP10NL-shaped
    layers (clearly labelled synthetic); OUT/project.toml refers to them with paths
    relative to itself; OUT/<statcode>/ receives the maps.
    """
    from riskmap import demo as demo_mod

    for path in demo_mod.run_demo(out, scale=scale, seed=seed,
                                  municipalities=municipalities, overwrite=overwrite,
                                  progress=progress):
        click.echo(path)
