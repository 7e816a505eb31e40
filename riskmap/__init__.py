"""riskmap: geospatial risk mapping for Dutch public safety (RIEC's, ondermijning).

The flat API: load a project, build the region grid, compute opportunity maps.

>>> import riskmap
>>> project = riskmap.load_project("out/project.toml")        # doctest: +SKIP
>>> region, maps = riskmap.opportunity_maps(project, municipalities=["Zeewolde"])  # doctest: +SKIP
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("riskmap")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

from riskmap.config import load_layer_set, load_project
from riskmap.errors import (
    ConfigError,
    CRSError,
    GridError,
    InputError,
    PrivacyError,
    RiskmapError,
    RiskmapWarning,
)
from riskmap.grid import Grid, Region, make_region
from riskmap.incidents import Incidents, read_incidents
from riskmap.opportunity import OpportunityMap, with_weights
from riskmap.pipeline import (
    compute_measures,
    load_region,
    opportunity_maps,
    risk_maps,
    run_backtest,
    validate,
)

__all__ = [
    "CRSError",
    "ConfigError",
    "Grid",
    "Incidents",
    "GridError",
    "InputError",
    "OpportunityMap",
    "PrivacyError",
    "Region",
    "RiskmapError",
    "RiskmapWarning",
    "compute_measures",
    "load_layer_set",
    "load_project",
    "load_region",
    "make_region",
    "opportunity_maps",
    "read_incidents",
    "risk_maps",
    "run_backtest",
    "validate",
    "with_weights",
    "__version__",
]
