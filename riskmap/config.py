"""Project and layer files: strict TOML, validated at once, every problem with where and fix.

A *layer set* (``layers/*.toml``) holds ``[[indicator]]`` tables; a *project* file names the
region and the layer sets. Unknown keys are errors (a typo never silently falls back to a
default), and all problems of a file are reported together with the file, the table
(``[[indicator]] #3 (afstand_afrit)``), the key and the fix.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from riskmap.errors import ConfigError, Problems

__all__ = [
    "IndicatorSpec",
    "LayerSet",
    "OpportunitySpec",
    "Project",
    "RegionSpec",
    "RegisterSpec",
    "RiskLayerSpec",
    "RiskSpec",
    "SourceSpec",
    "TransformSpec",
    "load_layer_set",
    "load_project",
]

MEASURES = ("distance", "density", "coverage", "count", "attribute", "raster")

# Parameters each measure accepts (besides the common keys).
MEASURE_PARAMS: dict[str, set[str]] = {
    "distance": {"mode", "max_distance_m"},
    "density": {"radius_m", "field", "statistic"},
    "coverage": {"mode", "supersample"},
    "count": {"field", "statistic"},
    "attribute": {"field", "fill"},
    "raster": {"resampling", "fill"},
}
MEASURE_REQUIRED: dict[str, set[str]] = {
    "density": {"radius_m"},
    "attribute": {"field"},
}
_PARAM_KEYS = set().union(*MEASURE_PARAMS.values())


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceSpec(_Strict):
    """Where an indicator's features come from.

    ``file`` is relative to the project's ``data_dir``; ``layer`` names the layer of a
    multi-layer file (GeoPackage); ``where`` is an OGR SQL filter such as
    ``"gebruiksdoel = 'woonfunctie'"``; ``crs`` declares the CRS of a file that has none
    (it never overrides a CRS stored in the file); ``repair`` makes invalid geometries valid
    (``shapely.make_valid``) instead of refusing them.
    """

    file: str
    layer: str | None = None
    where: str | None = None
    crs: str | None = None
    repair: bool = False


class TransformSpec(_Strict):
    """How a measure becomes a value in [0, 1] where 1 is the most opportunity.

    ``minmax`` and ``rank`` scale within the normalisation unit (municipality or region);
    ``decay`` maps a distance to 1 at the feature falling to 0 at ``influence_m`` (linear or
    exponential, as in Risk Terrain Modeling); ``threshold`` gives 1 where the value passes
    ``value`` in the risky direction and 0 elsewhere.
    """

    method: Literal["minmax", "rank", "decay", "threshold"]
    influence_m: Annotated[float, Field(gt=0)] | None = None
    shape: Literal["linear", "exponential"] = "linear"
    value: float | None = None

    @model_validator(mode="after")
    def _params(self) -> TransformSpec:
        if self.method == "decay" and self.influence_m is None:
            raise ValueError("decay needs influence_m (metres), e.g. "
                             "transform = { method = \"decay\", influence_m = 5000 }")
        if self.method == "threshold" and self.value is None:
            raise ValueError("threshold needs value, e.g. "
                             "transform = { method = \"threshold\", value = 5 }")
        if self.method != "decay" and self.influence_m is not None:
            raise ValueError(f"influence_m only applies to decay, not to {self.method}")
        if self.method != "threshold" and self.value is not None:
            raise ValueError(f"value only applies to threshold, not to {self.method}")
        return self


class IndicatorSpec(_Strict):
    """One indicator of a layer set (one ``[[indicator]]`` table)."""

    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)]
    label: Annotated[str, Field(min_length=1)]
    source: SourceSpec
    measure: Literal["distance", "density", "coverage", "count", "attribute", "raster"]
    transform: TransformSpec
    direction: Literal["higher", "lower"]
    weight: float
    rationale: Annotated[str, Field(min_length=1)]
    # measure parameters (which apply depends on the measure, see MEASURE_PARAMS)
    mode: Literal["raster", "exact"] = "raster"
    max_distance_m: Annotated[float, Field(gt=0)] | None = None
    radius_m: Annotated[float, Field(gt=0)] | None = None
    field: str | None = None
    statistic: Literal["count", "sum", "mean", "max"] = "count"
    supersample: Annotated[int, Field(ge=1, le=50)] = 10
    fill: float | None = None
    resampling: Literal["average", "bilinear", "nearest", "max", "min"] = "average"

    @field_validator("source", mode="before")
    @classmethod
    def _source_str(cls, v: Any) -> Any:
        return {"file": v} if isinstance(v, str) else v

    @field_validator("transform", mode="before")
    @classmethod
    def _transform_str(cls, v: Any) -> Any:
        return {"method": v} if isinstance(v, str) else v

    @field_validator("weight")
    @classmethod
    def _weight(cls, v: float) -> float:
        if not v >= 0:
            raise ValueError(f"weight must be 0 or more, got {v}")
        return v

    @model_validator(mode="after")
    def _measure_params(self) -> IndicatorSpec:
        given = {k for k in self.model_fields_set if k in _PARAM_KEYS}
        allowed = MEASURE_PARAMS[self.measure]
        wrong = sorted(given - allowed)
        if wrong:
            raise ValueError(
                f"{', '.join(wrong)} does not apply to measure {self.measure!r} "
                f"(it takes {', '.join(sorted(allowed)) or 'no parameters'})")
        missing = sorted(MEASURE_REQUIRED.get(self.measure, set()) - given)
        if missing:
            raise ValueError(f"measure {self.measure!r} needs {', '.join(missing)}")
        if self.measure == "density" and self.statistic not in ("count", "sum"):
            raise ValueError("density takes statistic = \"count\" or \"sum\"")
        if self.statistic != "count" and self.field is None:
            raise ValueError(f"statistic {self.statistic!r} needs field (the column to use)")
        if self.transform.method == "decay" and self.direction != "lower":
            raise ValueError("decay gives 1 near the feature, so it needs direction = "
                             "\"lower\" (a lower distance is riskier)")
        if self.transform.method == "decay" and self.measure != "distance":
            raise ValueError("decay only applies to measure \"distance\"")
        return self

    @property
    def pad_m(self) -> float:
        """How far beyond the region this indicator must see features."""
        if self.measure == "distance":
            return self.max_distance_m or self.transform.influence_m or 10_000.0
        if self.measure == "density":
            return float(self.radius_m or 0.0)
        return 0.0


class LayerSet(_Strict):
    """A set of indicators (one ``layers/*.toml`` file) making one themed opportunity map."""

    theme: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    title: str = ""
    description: str = ""
    indicator: list[IndicatorSpec]
    path: Path | None = None

    @model_validator(mode="after")
    def _weights(self) -> LayerSet:
        if not self.indicator:
            raise ValueError("a layer set needs at least one [[indicator]] table")
        names = [i.name for i in self.indicator]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"indicator names must be unique, repeated: {', '.join(dup)}")
        if sum(i.weight for i in self.indicator) <= 0:
            raise ValueError("the weights are all zero: give at least one indicator a "
                             "weight above 0")
        return self


#: ``cell_polygons = "auto"`` writes a polygon per cell for cells of at least this size (m).
CELL_POLYGONS_MIN_M = 50.0


class RegionSpec(_Strict):
    """The ``[region]`` table of a project."""

    municipalities: str
    layer: str | None = None
    id_column: str = "statcode"
    name_column: str = "statnaam"
    cell_size: Annotated[float, Field(gt=0)] = 100.0
    crs: str = "EPSG:28992"
    halo_m: Annotated[float, Field(ge=0)] = 1000.0
    buurten: str | None = None               # optional neighbourhood outlines for the maps
    buurten_municipality_column: str = "gmCode"
    # a polygon per cell in the GeoPackages (cells layers): "auto" for cells of at least
    # CELL_POLYGONS_MIN_M; at finer grids the GeoTIFFs carry the maps (a region at 25 m has
    # ~15 M cells: three GeoPackages of them take minutes to write and gigabytes of disk)
    cell_polygons: Literal["auto", "always", "never"] = "auto"

    def writes_cell_polygons(self) -> bool:
        """Whether the ``cells`` layers are written (see ``cell_polygons``)."""
        if self.cell_polygons == "auto":
            return self.cell_size >= CELL_POLYGONS_MIN_M
        return self.cell_polygons == "always"


class OpportunitySpec(_Strict):
    """The ``[opportunity]`` table of a project."""

    layers: Annotated[list[str], Field(min_length=1)]
    data_dir: str = "."
    normalise: Literal["municipality", "region"] = "municipality"
    classes: Annotated[int, Field(ge=2, le=10)] = 5
    breaks: list[float] | None = None

    @field_validator("breaks")
    @classmethod
    def _breaks(cls, v: list[float] | None) -> list[float] | None:
        if v is not None and (any(not 0 < b < 1 for b in v) or sorted(set(v)) != list(v)):
            raise ValueError("breaks must rise strictly and lie between 0 and 1, "
                             "e.g. [0.2, 0.4, 0.6, 0.8]")
        return v


class RiskLayerSpec(_Strict):
    """A ready police risk layer: a GeoTIFF (band 1) or polygons with a class/score column."""

    file: str
    layer: str | None = None
    column: str | None = None
    crs: str | None = None
    higher_is_riskier: bool = True


class RiskSpec(_Strict):
    """The ``[risk]`` table: police incidents (or a ready risk layer) and settings.

    Give either ``incidents`` (with its columns) or ``layer``. Leave ``bandwidth_m``,
    ``half_life_days`` and ``window_days`` out to have them chosen on the data
    (``auto = true``, the default); ``0`` for ``bandwidth_m`` means counts per cell.
    """

    incidents: str | None = None
    date_column: str | list[str] = "datum"
    lon_column: str | None = None
    lat_column: str | None = None
    x_column: str | None = None
    y_column: str | None = None
    crs: str | None = None
    type_column: str | None = None
    weight_column: str | None = None
    id_column: str | None = None
    types: list[str] | None = None
    start: str | None = None
    end: str | None = None
    bandwidth_m: Annotated[float, Field(ge=0)] | None = None
    half_life_days: Annotated[float, Field(gt=0)] | None = None
    window_days: Annotated[float, Field(gt=0)] | None = None
    gi_radius_m: Annotated[float, Field(gt=0)] | None = None
    area_share: Annotated[float, Field(gt=0, lt=1)] = 0.05
    classes: Annotated[int, Field(ge=2, le=10)] = 5
    k: Annotated[int, Field(ge=1)] = 5
    layer: RiskLayerSpec | None = None
    # confirmed register outcomes as incidents: off unless asked (feedback-loop guard)
    register_outcomes_as_incidents: bool = False

    @model_validator(mode="after")
    def _one_input(self) -> RiskSpec:
        if (self.incidents is None) == (self.layer is None):
            raise ValueError("give either incidents = \"…\" or layer = { file = \"…\" }")
        if self.incidents is not None:
            lonlat = self.lon_column is not None or self.lat_column is not None
            xy = self.x_column is not None or self.y_column is not None
            if lonlat == xy:
                raise ValueError("give lon_column and lat_column, or x_column, y_column and crs")
            if xy and self.crs is None:
                raise ValueError("x_column/y_column need crs = \"EPSG:…\" (never guessed)")
        return self


class ScoringFeatureSpec(_Strict):
    """One ``[[scoring.feature]]``: a premise feature with transform, direction and weight.

    ``kind`` = ``column`` (a premise attribute; with ``equals`` a text value becomes 1/0),
    ``map`` (``gelegenheid``, ``risico``, ``prioriteitszone``, ``blinde_vlek``,
    ``afstand_prioriteitszone`` of the premise's cell, or ``indicator`` with
    ``indicator = "<theme>_<name>"``: that opportunity indicator's transformed value (0–1) at
    the premise, e.g. isolation or building size — the indicators' measure vocabulary),
    ``signals`` (police signals at the premise within ``window_days``; sensitive) or
    ``history`` (``laatste_bevinding``: 1 when the last inspection confirmed something;
    ``dagen_sinds_inspectie``: days since the last inspection, unknown when never
    inspected).
    """

    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)]
    label: Annotated[str, Field(min_length=1)]
    reason: str | None = None
    kind: Literal["column", "map", "signals", "history"]
    column: str | None = None
    equals: str | None = None
    map: Literal["gelegenheid", "risico", "prioriteitszone", "blinde_vlek",
                 "afstand_prioriteitszone", "indicator"] | None = None
    indicator: str | None = None   # with map = "indicator": "<theme>_<indicator name>"
    history: Literal["laatste_bevinding", "dagen_sinds_inspectie"] | None = None
    window_days: Annotated[float, Field(gt=0)] = 365.0
    transform: TransformSpec
    direction: Literal["higher", "lower"] = "higher"
    weight: Annotated[float, Field(ge=0)]

    @field_validator("transform", mode="before")
    @classmethod
    def _transform_str(cls, v: Any) -> Any:
        return {"method": v} if isinstance(v, str) else v

    @model_validator(mode="after")
    def _kind(self) -> ScoringFeatureSpec:
        need = {"column": self.column, "map": self.map, "history": self.history}
        if self.kind in need and need[self.kind] is None:
            raise ValueError(f"kind = \"{self.kind}\" needs {self.kind} = \"…\"")
        if (self.map == "indicator") != (self.indicator is not None):
            raise ValueError("map = \"indicator\" goes with indicator = \"<theme>_<name>\" "
                             "(e.g. \"buitengebied_isolatie\"), and only with it")
        return self


class ScoringSpec(_Strict):
    """The ``[scoring]`` table: candidate premises, their scope, features and history."""

    premises: str
    layer: str | None = None
    id_column: str = "identificatie"
    where: str | None = None
    address_columns: list[str] = ["openbare_ruimte", "huisnummer", "postcode", "woonplaats"]
    sector_column: str | None = None
    estates: str | None = None
    estates_layer: str | None = None
    estates_id_column: str = "RIN_NUMMER"
    estates_name_column: str | None = "PLAN_NAAM"
    scopes: list[Literal["bedrijventerrein", "buitengebied"]] = ["bedrijventerrein",
                                                                  "buitengebied"]
    builtup_radius_m: Annotated[float, Field(gt=0)] = 500.0
    builtup_max_addresses: Annotated[float, Field(ge=0)] = 60.0
    signals: str | None = None
    inspections: str | None = None
    top_k: Annotated[int, Field(ge=1)] = 50
    max_share: Annotated[float, Field(gt=0, le=1)] = 0.5
    scorer: Literal["weighted", "model"] = "weighted"
    model_method: Literal["logistic", "gradient_boosting"] = "logistic"
    model_training: Literal["exploration", "ipw"] = "exploration"
    min_labels: Annotated[int, Field(ge=10)] = 30
    feature: Annotated[list[ScoringFeatureSpec], Field(min_length=1)]

    @model_validator(mode="after")
    def _fair(self) -> ScoringSpec:
        from riskmap.scoring import check_fairness_config

        names = {}
        for i, f in enumerate(self.feature):
            names[f"[[scoring.feature]] #{i + 1} name"] = f.name
            names[f"[[scoring.feature]] #{i + 1} label"] = f.label
            names[f"[[scoring.feature]] #{i + 1} column"] = f.column
        names["sector_column"] = self.sector_column
        check_fairness_config(names, where="[scoring]")
        if sum(f.weight for f in self.feature) <= 0:
            raise ValueError("the weights are all zero: give at least one feature a weight")
        return self


class RegisterTargets(_Strict):
    """Targets of the year plan, e.g. baseline 142 risk locations, 30 % in beeld."""

    baseline: Annotated[int, Field(ge=0)] | None = None
    in_beeld_share: Annotated[float, Field(ge=0, le=1)] | None = None
    aangepakt_min_per_municipality: Annotated[int, Field(ge=0)] | None = None
    bevestig_of_ontkracht: Annotated[int, Field(ge=0)] | None = None
    aangepakt: Annotated[int, Field(ge=0)] | None = None


class RegisterSpec(_Strict):
    """The ``[register]`` table: where the register lives and the year plan's targets.

    ``url`` is a SQLAlchemy URL: a file (``sqlite:///register.sqlite``, relative to the
    project file) by default, or ``postgresql+psycopg://user@host/db`` for a register that a
    partnership shares.
    """

    url: str = "sqlite:///register.sqlite"
    targets: RegisterTargets = RegisterTargets()


class ProjectMeta(_Strict):
    """The optional ``[project]`` table: name and legal basis, carried into provenance;
    the responsible organisation and a contact, named by ``riskmap explain``."""

    name: str = "riskmap"
    legal_basis: str = ""
    organisation: str = ""
    contact: str = ""


class Project(_Strict):
    """A validated project: region, layer sets and where the files are."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    project: ProjectMeta = ProjectMeta()
    region: RegionSpec
    opportunity: OpportunitySpec | None = None
    risk: RiskSpec | None = None
    scoring: ScoringSpec | None = None
    # "register" would shadow pydantic's ABCMeta.register: the field has another name
    register_spec: RegisterSpec | None = Field(default=None, alias="register")
    path: Path | None = None
    layer_sets: tuple[LayerSet, ...] = ()
    digest: str = ""

    @property
    def base(self) -> Path:
        """The folder of the project file; relative paths start here."""
        return self.path.parent if self.path else Path.cwd()

    @property
    def municipalities_path(self) -> Path:
        """Absolute path of the municipality polygons."""
        return _resolve(self.base, self.region.municipalities)

    @property
    def data_dir(self) -> Path:
        """Absolute folder of the indicator sources."""
        return (self.base / (self.opportunity.data_dir if self.opportunity else ".")).resolve()

    def path_of(self, relative: str) -> Path:
        """Absolute path of a file named relative to the project file.

        A network or virtual path (``https://…``, ``/vsicurl/…``) comes back unchanged, as
        text, so that the reader can refuse it (or read it with ``--allow-network``).
        """
        return _resolve(self.base, relative)

    def source_path(self, spec: SourceSpec) -> Path:
        """Absolute path of an indicator source file (see :meth:`path_of`)."""
        return _resolve(self.data_dir, spec.file)


_REMOTE = re.compile(r"^(/vsi|[A-Za-z][A-Za-z0-9+.-]*://)")


def _resolve(base: Path, relative: str) -> Path:
    if _REMOTE.match(relative):
        return relative  # type: ignore[return-value]  # a URL is no Path: io checks it
    return (base / relative).resolve()


def _escapes(relative: str) -> bool:
    """True when a relative path climbs out of ``base`` with ``..`` (absolute paths do not)."""
    if _REMOTE.match(relative) or Path(relative).is_absolute():
        return False
    inside = os.path.normpath(os.path.join("root", relative))
    return not (inside == "root" or inside.startswith("root" + os.sep))


def _path_problems(project: Project, layer_sets: list[LayerSet], file: Path) -> Problems:
    """Paths of the project and its layer sets that climb out of the project folder."""
    problems = Problems()
    data_dir = project.opportunity.data_dir if project.opportunity else "."
    named: list[tuple[str, str | None]] = [
        (f"{file} [region] municipalities", project.region.municipalities),
        (f"{file} [region] buurten", project.region.buurten)]
    if project.opportunity:
        named.append((f"{file} [opportunity] data_dir", data_dir))
        named += [(f"{file} [opportunity] layers", rel) for rel in project.opportunity.layers]
    if project.risk:
        named += [(f"{file} [risk] incidents", project.risk.incidents),
                  (f"{file} [risk] layer", project.risk.layer.file if project.risk.layer
                   else None)]
    if project.scoring:
        sc = project.scoring
        named += [(f"{file} [scoring] {key}", getattr(sc, key))
                  for key in ("premises", "estates", "signals")]
        if sc.inspections != "register":
            named.append((f"{file} [scoring] inspections", sc.inspections))
    for ls in layer_sets:
        for i, ind in enumerate(ls.indicator):
            named.append((f"{ls.path} [[indicator]] #{i + 1} ({ind.name}) source",
                          os.path.join(data_dir, ind.source.file)))
    for where, rel in named:
        if rel is not None and _escapes(rel):
            problems.add("E-INPUT-PATH", f"the path {rel!r} climbs out of the project folder "
                         f"{project.base} with '..'", where=where,
                         fix="keep the data in the project folder or a sub-folder of it and "
                             "name it relative to the project file (data/gemeenten.gpkg), or "
                             "give the full absolute path if reading from elsewhere is "
                             "intended.")
    return problems


# ----------------------------------------------------------------------------- loading


def _read_toml(path: Path) -> tuple[dict[str, Any], bytes]:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: file not found. Check the path (relative paths start at the "
                          "current folder on the command line, at the project file inside it).",
                          code="E-CONFIG-NOTFOUND")
    raw = path.read_bytes()
    try:
        return tomllib.loads(raw.decode("utf-8")), raw
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc}). Save the file as UTF-8.",
                          code="E-CONFIG-TOML") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: TOML syntax error: {exc}. Fix the line it names; strings "
                          "need quotes (name = \"afstand_afrit\").",
                          code="E-CONFIG-TOML") from None


def _allowed_keys(model: type[BaseModel], loc: tuple) -> list[str]:
    """The keys allowed at ``loc`` inside ``model`` (for did-you-mean hints)."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        f = current.model_fields.get(part) if hasattr(current, "model_fields") else None
        if f is None:
            return []
        ann = f.annotation
        args = getattr(ann, "__args__", ())
        candidates = [a for a in (ann, *args) if isinstance(a, type) and issubclass(a, BaseModel)]
        if not candidates:
            inner = [a for x in args for a in getattr(x, "__args__", ())]
            candidates = [a for a in inner if isinstance(a, type) and issubclass(a, BaseModel)]
        if not candidates:
            return []
        current = candidates[0]
    return [k for k in current.model_fields if k not in ("path", "layer_sets", "digest")]


def _where(file: Path, loc: tuple, data: dict[str, Any]) -> tuple[str, str]:
    """``(table, key)`` for a pydantic error location, e.g. ``[[indicator]] #3 (afstand_afrit)``."""
    table, key = "", ""
    parts = list(loc)
    if parts and parts[0] == "indicator" and len(parts) > 1 and isinstance(parts[1], int):
        i = parts[1]
        items = data.get("indicator", [])
        name = items[i].get("name", "?") if i < len(items) and isinstance(items[i], dict) else "?"
        table = f"[[indicator]] #{i + 1} ({name})"
        rest = [str(p) for p in parts[2:]]
    elif parts and isinstance(data.get(parts[0]), dict):
        table = f"[{parts[0]}]"
        rest = [str(p) for p in parts[1:]]
    else:
        rest = [str(p) for p in parts]
    key = ".".join(rest)
    return f"{file} {table}".strip(), key


def _problems_from(
    exc: ValidationError, file: Path, data: dict, model: type[BaseModel]
) -> Problems:
    problems = Problems()
    for err in exc.errors():
        loc = tuple(err["loc"])
        where, key = _where(file, loc, data)
        kind = err["type"]
        msg = err["msg"].removeprefix("Value error, ")
        fix = ""
        if kind == "extra_forbidden":
            allowed = _allowed_keys(model, loc)
            close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
            msg = f"unknown key {str(loc[-1])!r}"
            fix = (f"did you mean {close[0]!r}? " if close else "") + (
                f"Allowed keys: {', '.join(allowed)}." if allowed else "Remove it.")
            code = "E-CONFIG-KEY"
        elif kind == "missing":
            msg = f"required key {str(loc[-1])!r} is missing"
            fix = f"add {loc[-1]} = … to the table."
            code = "E-CONFIG-MISSING"
        elif kind == "literal_error":
            fix = "use one of the values listed."
            code = "E-CONFIG-MEASURE" if loc[-1] == "measure" else "E-CONFIG-VALUE"
            msg = f"{key} = {err.get('input')!r}: {msg}"
        elif "protected or proxy attributes" in msg:
            code = "E-CONFIG-FAIRNESS"
            msg = msg.split(": ", 1)[1] if msg.startswith("[scoring]") else msg
        elif "weight" in msg:
            code = "E-CONFIG-WEIGHT"
            fix = "weights are relative importances: use numbers of 0 or more, not all zero."
        else:
            code = "E-CONFIG-VALUE"
            if key:
                msg = f"{key}: {msg}"
        problems.add(code, msg, where=where, fix=fix)
    return problems


def load_layer_set(path: str | Path) -> LayerSet:
    """Read and validate a layer set; raise :class:`ConfigError` listing every problem.

    Examples
    --------
    >>> ls = load_layer_set("layers/buitengebied.toml")
    >>> ls.theme, [i.name for i in ls.indicator][:2]   # doctest: +SKIP
    ('buitengebied', ['vrijkomende_schuren', 'isolatie'])
    """
    path = Path(path)
    data, _ = _read_toml(path)
    data = {"theme": path.stem.replace("-", "_").lower(), **data}
    try:
        return LayerSet.model_validate({**data, "path": path.resolve()})
    except ValidationError as exc:
        problems = _problems_from(exc, path, data, LayerSet)
        problems.raise_if_any(ConfigError, title=f"{path}: {len(problems)} problem(s)")
        raise  # pragma: no cover


def load_project(path: str | Path) -> Project:
    """Read and validate a project file and every layer set it names.

    All problems of the project and of its layer sets are reported together.
    """
    path = Path(path)
    data, raw = _read_toml(path)
    problems = Problems()
    project: Project | None = None
    try:
        project = Project.model_validate({**data, "path": path.resolve()})
    except ValidationError as exc:
        problems.extend(_problems_from(exc, path, data, Project))
    layer_sets: list[LayerSet] = []
    digest = hashlib.sha256(raw)
    if project is not None and project.opportunity is not None:
        for rel in project.opportunity.layers:
            if _escapes(rel):
                continue  # reported below: never read files outside the project folder
            lpath = (project.base / rel)
            try:
                ls = load_layer_set(lpath)
            except ConfigError as exc:
                problems.absorb(exc, where=f"{path} [opportunity] layers")
                continue
            layer_sets.append(ls)
            digest.update(lpath.read_bytes())
        themes = [ls.theme for ls in layer_sets]
        dup = sorted({t for t in themes if themes.count(t) > 1})
        if dup:
            problems.add("E-CONFIG-VALUE", f"layer sets with the same theme: {dup}",
                         where=f"{path} [opportunity] layers",
                         fix="list each layer set once, or give them different file names.")
    if project is not None:
        problems.extend(_path_problems(project, layer_sets, path))
    problems.raise_if_any(ConfigError, title=f"{path}: {len(problems)} problem(s)")
    assert project is not None
    return project.model_copy(update={"layer_sets": tuple(layer_sets),
                                      "digest": digest.hexdigest()})
