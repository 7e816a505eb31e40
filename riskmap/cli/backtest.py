"""``riskmap backtest``: how well do risk maps predict? For any region in the world."""

from __future__ import annotations

import json
from pathlib import Path

import click

from riskmap.cli import options


@click.command()
@click.argument("incidents", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--date-col", required=True,
              help="Date column; or YEAR,MONTH,DAY[,HOUR,MINUTE] columns separated by commas.")
@click.option("--lon-col", help="Longitude column (degrees, EPSG:4326).")
@click.option("--lat-col", help="Latitude column (degrees, EPSG:4326).")
@click.option("--x-col", help="x column (projected; needs --crs).")
@click.option("--y-col", help="y column (projected; needs --crs).")
@click.option("--crs", help="CRS of the x/y columns, e.g. EPSG:32610. Never guessed.")
@click.option("--split", required=True, help="ISO date: before it trains, from it tests.")
@click.option("--until", help="ISO date: test incidents before it (default: all).")
@click.option("--area", "area_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Polygons of the study area (default: convex hull of the incidents).")
@click.option("--cell-size", type=float, default=150.0, show_default=True)
@click.option("--offsets", type=click.IntRange(1, 16), default=1, show_default=True,
              help="Repeat on this many shifted grids and report the spread.")
@click.option("--seed", type=int, default=0, show_default=True, help="Tie-breaking seed.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the results as JSON here (and the hit-rate curves as PNG beside).")
@options.friendly_errors
def backtest(incidents, date_col, lon_col, lat_col, x_col, y_col, crs, split, until, area_file,
             cell_size, offsets, seed, json_out) -> None:
    """Back-test riskmap's automatic risk map against counts and a 250 m KDE.

    Prints hit rate, PAI and PEI* at 1, 5, 10 and 20 % of the area per method.
    """
    from riskmap import pipeline

    result = pipeline.run_backtest(
        incidents, date_col=date_col.split(",") if "," in date_col else date_col,
        lon_col=lon_col, lat_col=lat_col, x_col=x_col, y_col=y_col, crs=crs, split=split,
        until=until, area_file=area_file, cell_size=cell_size, offsets=offsets, seed=seed)
    if json_out:
        for path in pipeline.write_backtest(result, json_out):
            click.echo(path)
    click.echo(pipeline.backtest_table(result))
    if not json_out:
        click.echo(json.dumps({k: v for k, v in result.items() if k != "curves"}, indent=1,
                              default=str), err=True)
