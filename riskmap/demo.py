"""The demo: real CBS boundaries, synthetic indicator data, a project file, every stage.

``run_demo(out)`` writes ``out/data/`` (boundaries with their attribution and the synthetic
layers from :func:`riskmap.datasets.make_demo_data`), ``out/layers/`` (the project's layer
sets), ``out/project.toml`` (paths relative to itself) and runs every stage that exists into
``out``. Later stages extend :func:`run_demo`.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path

from riskmap import datasets

__all__ = ["LAYERS_DIR", "run_demo", "write_demo_project"]

LAYERS_DIR = Path(__file__).resolve().parents[1] / "layers"

PROJECT_TOML = """\
# riskmap demo project — written by `riskmap demo`. Paths are relative to this file.
# The municipality and buurt boundaries are real (CBS 2021, see data/SOURCES.md);
# every indicator source under data/demo/ is SYNTHETIC (see data/demo/SOURCES.md).

[project]
name = "riskmap demo Midden-Nederland"
legal_basis = "Demo met synthetische gegevens; geen verwerking van persoonsgegevens."

[region]
municipalities = "data/gemeenten_2021.geojson"
id_column = "statcode"
name_column = "statnaam"
cell_size = 100

[opportunity]
layers = ["layers/buitengebied.toml", "layers/bedrijventerreinen.toml"]
data_dir = "data/demo"
normalise = "municipality"
classes = 5
"""


def write_demo_project(out: str | Path, *, scale: float = 0.1, seed: int = 2021) -> Path:
    """Write the demo data, layer sets and ``project.toml`` under ``out``; return the project.

    The synthetic data always cover all 39 municipalities, so that a map of one of them sees
    its surroundings (a motorway exit across the border) and does not depend on a selection.
    """
    out = Path(out)
    data = out / "data"
    data.mkdir(parents=True, exist_ok=True)
    for name in datasets.available():
        shutil.copyfile(datasets.get_path(name), data / datasets.get_path(name).name)
    shutil.copyfile(datasets.DATA_DIR / "SOURCES.md", data / "SOURCES.md")
    # always the whole region: the data around a selected municipality (the motorway exit
    # just across the border) must be there, and a selection must not change the data
    datasets.make_demo_data(data / "demo", seed=seed, scale=scale)
    (out / "layers").mkdir(exist_ok=True)
    for f in sorted(LAYERS_DIR.glob("*.toml")):
        shutil.copyfile(f, out / "layers" / f.name)
    project = out / "project.toml"
    project.write_text(PROJECT_TOML, encoding="utf-8")
    return project


def run_demo(out: str | Path, *, scale: float = 0.1, seed: int = 2021,
             municipalities: Iterable[str] = (), overwrite: bool = False,
             progress: bool = False) -> list[Path]:
    """Write the demo and run every stage for the (selected) municipalities into ``out``."""
    from riskmap import config, pipeline

    municipalities = list(municipalities)
    existing = sorted(Path(out).glob("*/opportunity.*"))
    if existing and not overwrite:  # before the data are rewritten
        pipeline.check_outputs(out, [p.parent.name for p in existing], overwrite=False)
    path = write_demo_project(out, scale=scale, seed=seed)
    project = config.load_project(path)
    region = pipeline.load_region(project)
    pipeline.check_outputs(out, region.select(municipalities), overwrite=overwrite)
    region, maps = pipeline.opportunity_maps(project, municipalities=municipalities,
                                             region=region, progress=progress)
    written = pipeline.write_opportunity(maps, out, project=project, region=region,
                                         overwrite=overwrite, progress=progress)
    return [path, *written]
