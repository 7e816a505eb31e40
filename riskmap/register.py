"""The register of risk locations and inspection outcomes.

A risk location is a premise (``premise_id``) or a zone, found by a map, a tip or a partner.
It moves through a lifecycle; every step is logged with its date, who, the source document
and a note::

    gesignaleerd ─► in_beeld ─┬─► bevestigd ─► aangepakt
                              └─► ontkracht
    gesloten (closed without action) from any open state

Open states are ``gesignaleerd``, ``in_beeld``, ``bevestigd`` and ``ontkracht``; ``aangepakt``
and ``gesloten`` are final. Only a confirmed location (``bevestigd``) can be tackled
(``aangepakt``); a disproved one (``ontkracht``) can only be closed. See :data:`ALLOWED`.

Storage goes through SQLAlchemy 2 Core, one code path for SQLite (the default, a file such as
``sqlite:///register.sqlite``) and PostgreSQL (``postgresql+psycopg://user@host/db``).
Geometry is kept as WKT text plus ``x``/``y`` (EPSG:28992) columns, so PostGIS is not needed;
with PostGIS, a view ``ST_GeomFromText(wkt, 28992)`` gives a geometry column for QGIS.

Concurrency: every change is one short transaction that reads the current status and updates
with ``WHERE status = :expected``; when another analyst changed the location in between the
update hits no row and :class:`~riskmap.errors.InputError` ``E-REGISTER-CONFLICT`` is raised
(reload and retry). SQLite runs in WAL mode with a busy timeout, and write transactions start
with ``BEGIN IMMEDIATE`` so that two writers queue instead of failing.

Examples
--------
>>> from riskmap.register import open_register
>>> reg = open_register("sqlite://")                     # in memory; use a file in practice
>>> reg.add_location("L1", premise_id="P1", statcode="GM0050", theme="bedrijventerrein",
...                  source="kaart", x=151_000, y=451_000, date="2027-01-04", who="analist")
>>> reg.transition("L1", "in_beeld", date="2027-01-10", who="analist", document="RIEC-12")
>>> reg.status("L1")
'in_beeld'
>>> reg.close()
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from riskmap.errors import InputError, Problems

__all__ = [
    "ALLOWED",
    "FINDINGS",
    "OUTCOMES",
    "SCHEMA_VERSION",
    "STATUSES",
    "THEMES",
    "Register",
    "migrate",
    "open_register",
]

STATUSES = ("gesignaleerd", "in_beeld", "bevestigd", "ontkracht", "aangepakt", "gesloten")
#: Allowed next statuses per status (the lifecycle); final states have none.
ALLOWED: dict[str, tuple[str, ...]] = {
    "gesignaleerd": ("in_beeld", "gesloten"),
    "in_beeld": ("bevestigd", "ontkracht", "gesloten"),
    "bevestigd": ("aangepakt", "gesloten"),
    "ontkracht": ("gesloten",),
    "aangepakt": (),
    "gesloten": (),
}
THEMES = ("buitengebied", "bedrijventerrein", "horeca", "vastgoed")
FINDINGS = ("hennep", "drugslab", "arbeidsuitbuiting", "milieu", "geen bevindingen")
#: Outcomes accepted by :meth:`Register.import_outcomes` and the status each one leads to.
OUTCOMES = {"bevestigd": "bevestigd", "ontkracht": "ontkracht", "geen bevindingen": "ontkracht"}
TARGET_KEYS = ("baseline", "in_beeld_share", "aangepakt_min_per_municipality",
               "bevestig_of_ontkracht", "aangepakt")
SCHEMA_VERSION = 1


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


metadata = sa.MetaData()
schema_version = sa.Table(
    "schema_version", metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("applied", sa.DateTime, nullable=False),
)
locations = sa.Table(
    "locations", metadata,
    sa.Column("id", sa.String(100), primary_key=True),
    sa.Column("premise_id", sa.String(100), unique=True, nullable=True),
    sa.Column("statcode", sa.String(20), nullable=False, index=True),
    sa.Column("theme", sa.String(30), nullable=False),
    sa.Column("source", sa.String(200), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("x", sa.Float, nullable=False),
    sa.Column("y", sa.Float, nullable=False),
    sa.Column("wkt", sa.Text, nullable=True),
    sa.Column("created", sa.Date, nullable=False),
    sa.CheckConstraint(_in("theme", THEMES), name="ck_locations_theme"),
    sa.CheckConstraint(_in("status", STATUSES), name="ck_locations_status"),
)
transitions = sa.Table(
    "transitions", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("location_id", sa.String(100), sa.ForeignKey("locations.id"), nullable=False,
              index=True),
    sa.Column("from_status", sa.String(20), nullable=True),
    sa.Column("to_status", sa.String(20), nullable=False),
    sa.Column("date", sa.Date, nullable=False),
    sa.Column("who", sa.String(200), nullable=False),
    sa.Column("document", sa.String(500), nullable=False, default=""),
    sa.Column("note", sa.Text, nullable=False, default=""),
)
inspections = sa.Table(
    "inspections", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("location_id", sa.String(100), sa.ForeignKey("locations.id"), nullable=False,
              index=True),
    sa.Column("date", sa.Date, nullable=False),
    sa.Column("team", sa.String(200), nullable=False),
    sa.Column("findings", sa.String(30), nullable=True),
    sa.Column("outcome", sa.String(20), nullable=True),
    sa.Column("exploration", sa.Boolean, nullable=False, default=False),
    sa.CheckConstraint(_in("findings", FINDINGS), name="ck_inspections_findings"),
    sa.CheckConstraint(_in("outcome", ("bevestigd", "ontkracht")), name="ck_inspections_outcome"),
)


# --------------------------------------------------------------------------- engine, schema

def _engine(url: str) -> Engine:
    """Make an engine; SQLite gets WAL, a busy timeout, foreign keys and BEGIN IMMEDIATE."""
    u = sa.make_url(url)
    if u.get_backend_name() != "sqlite":
        return sa.create_engine(u, pool_pre_ping=True)
    memory = u.database in (None, "", ":memory:")
    kwargs: dict[str, Any] = {"connect_args": {"timeout": 30, "check_same_thread": False}}
    if memory:
        kwargs["poolclass"] = sa.pool.StaticPool
    engine = sa.create_engine(u, **kwargs)

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (see _on_begin)
        cur = dbapi_conn.cursor()
        if not memory:
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get("riskmap_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


@contextlib.contextmanager
def _writing(engine: Engine) -> Iterator[Connection]:
    """One short write transaction (BEGIN IMMEDIATE on SQLite); commit or roll back."""
    with engine.connect() as conn:
        conn.execution_options(riskmap_write=True)
        with conn.begin():
            yield conn


def migrate(engine: Engine) -> int:
    """Create or upgrade the register's tables to :data:`SCHEMA_VERSION`; idempotent.

    Runs in one write transaction (on PostgreSQL under an advisory lock), so two processes
    opening a new register at once do not both create it. Returns the schema version.
    """
    with _writing(engine) as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(73947301)"))
        schema_version.create(conn, checkfirst=True)
        current = conn.execute(sa.select(sa.func.max(schema_version.c.version))).scalar() or 0
        if current > SCHEMA_VERSION:
            msg = (f"The register has schema version {current}, newer than this riskmap "
                   f"({SCHEMA_VERSION}). Upgrade riskmap before opening it.")
            raise InputError(msg, code="E-REGISTER-SCHEMA")
        for version in range(current + 1, SCHEMA_VERSION + 1):
            _MIGRATIONS[version](conn)
            conn.execute(schema_version.insert().values(
                version=version, applied=dt.datetime.now(dt.UTC).replace(tzinfo=None)))
    return SCHEMA_VERSION


def _migrate_1(conn: Connection) -> None:
    for table in (locations, transitions, inspections):
        table.create(conn, checkfirst=True)


_MIGRATIONS = {1: _migrate_1}


def open_register(url: str) -> Register:
    """Open (and create or migrate) the register at a SQLAlchemy URL.

    Parameters
    ----------
    url : str
        ``sqlite:///register.sqlite`` (a file; the default back end),
        ``postgresql+psycopg://user@host/db``, or ``sqlite://`` (in memory, for trying out).
    """
    engine = _engine(url)
    try:
        migrate(engine)
    except Exception:
        engine.dispose()
        raise
    return Register(engine)


# --------------------------------------------------------------------------- helpers

def _date(value: Any, *, what: str = "date") -> dt.date:
    """Return a date from a date, datetime, pandas Timestamp or ISO string."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip()[:10])
        except ValueError:
            pass
    msg = f"{what} {value!r} is not a date. Write it as YYYY-MM-DD, e.g. 2027-01-31."
    raise InputError(msg, code="E-REGISTER-VALUE")


def _missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


_TRUE = {"true", "1", "ja", "j", "yes", "y", "waar"}
_FALSE = {"false", "0", "nee", "n", "no", "onwaar", ""}


def _bool(value: Any) -> bool | None:
    """Read a yes/no cell (bool, 0/1, ja/nee, true/false); None when it is not one."""
    if _missing(value):
        return False
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1.0", "0.0"}:
        text = text[0]
    return True if text in _TRUE else False if text in _FALSE else None


def _refused(location_id: str, current: str | None, requested: str) -> InputError:
    allowed = ALLOWED.get(current or "", ())
    nxt = ", ".join(allowed) if allowed else f"none ({current} is final)"
    msg = (f"Location {location_id!r} is {current!r}; it cannot go to {requested!r}. "
           f"Allowed next statuses: {nxt}.")
    return InputError(msg, code="E-REGISTER-TRANSITION")


def _check_choice(value: str, choices: tuple[str, ...], *, what: str) -> None:
    if value not in choices:
        msg = f"{what} {value!r} is not known. Use one of: {', '.join(choices)}."
        raise InputError(msg, code="E-REGISTER-VALUE")


# --------------------------------------------------------------------------- the register

class Register:
    """The register of risk locations, their transitions and inspections.

    Make one with :func:`open_register`. Each method is one short database transaction, so a
    ``Register`` can be shared by threads and several processes can open the same database.
    Close it with :meth:`close` (or use it as a context manager).

    Parameters
    ----------
    engine : sqlalchemy.engine.Engine
        An engine whose database has been migrated with :func:`migrate`.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- life cycle of the object ------------------------------------------------------------
    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    def __enter__(self) -> Register:  # noqa: D105
        return self

    def __exit__(self, *exc: object) -> None:  # noqa: D105
        self.close()

    # -- changes -----------------------------------------------------------------------------
    def add_location(
        self, location_id: str, *, premise_id: str | None = None, statcode: str, theme: str,
        source: str, x: float, y: float, wkt: str | None = None, date: Any, who: str,
    ) -> None:
        """Register a new location with status ``gesignaleerd`` (logged as a transition).

        ``x``/``y`` are RD New (EPSG:28992) metres; ``wkt`` the outline of a zone, if any
        (default: the point). Raises ``E-REGISTER-DUPLICATE`` when the id or premise exists.
        """
        _check_choice(theme, THEMES, what="theme")
        day = _date(date)
        wkt = wkt or f"POINT ({float(x)} {float(y)})"
        with _writing(self.engine) as conn:
            clash = conn.execute(
                sa.select(locations.c.id).where(
                    sa.or_(locations.c.id == location_id,
                           sa.and_(locations.c.premise_id.is_not(None),
                                   locations.c.premise_id == premise_id)))
            ).first()
            if clash is not None:
                msg = (f"Location {location_id!r} (premise {premise_id!r}) is already in the "
                       f"register as {clash.id!r}. Use transition() to change it.")
                raise InputError(msg, code="E-REGISTER-DUPLICATE")
            conn.execute(locations.insert().values(
                id=location_id, premise_id=premise_id, statcode=statcode, theme=theme,
                source=source, status="gesignaleerd", x=float(x), y=float(y), wkt=wkt,
                created=day))
            conn.execute(transitions.insert().values(
                location_id=location_id, from_status=None, to_status="gesignaleerd", date=day,
                who=who, document=source, note=""))

    def transition(
        self, location_id: str, to_status: str, *, date: Any, who: str, document: str = "",
        note: str = "", expected: str | None = None,
    ) -> None:
        """Move a location to ``to_status`` and log the transition.

        Parameters
        ----------
        location_id : str
        to_status : str
            One of :data:`STATUSES`, allowed from the current status (:data:`ALLOWED`).
        date, who, document, note
            When, who, the source document (e.g. a RIEC case number) and a free note.
        expected : str, optional
            The status the caller saw (optimistic locking, e.g. from a screen): when the
            location is no longer in it, ``E-REGISTER-CONFLICT`` is raised.

        Raises
        ------
        InputError
            ``E-REGISTER-TRANSITION`` (not allowed), ``E-REGISTER-UNKNOWN`` (no such
            location) or ``E-REGISTER-CONFLICT`` (changed by someone else meanwhile; retry).
        """
        _check_choice(to_status, STATUSES, what="status")
        day = _date(date)
        with _writing(self.engine) as conn:
            self._move(conn, location_id, to_status, day=day, who=who, document=document,
                       note=note, expected=expected)

    def record_inspection(
        self, location_id: str, *, date: Any, team: str, findings: str | None,
        exploration: bool = False, outcome: str | None = None,
    ) -> None:
        """Record an inspection (does not change the status; see :meth:`import_outcomes`).

        ``findings`` is one of :data:`FINDINGS` (or None when unknown); ``exploration`` marks
        a verkenning visit (drawn at random by the planner) as opposed to a ranked one;
        ``outcome`` is ``"bevestigd"`` or ``"ontkracht"``; by default it follows from the
        findings (``geen bevindingen`` → ontkracht, other findings → bevestigd).
        """
        if findings is not None:
            _check_choice(findings, FINDINGS, what="findings")
        if outcome is None and findings is not None:
            outcome = "ontkracht" if findings == "geen bevindingen" else "bevestigd"
        if outcome is not None:
            _check_choice(outcome, ("bevestigd", "ontkracht"), what="outcome")
        day = _date(date)
        with _writing(self.engine) as conn:
            self._current(conn, location_id)
            conn.execute(inspections.insert().values(
                location_id=location_id, date=day, team=team, findings=findings,
                outcome=outcome, exploration=bool(exploration)))

    def import_outcomes(self, frame: pd.DataFrame, *, today: Any, document: str = "") -> int:
        """Import inspection outcomes: all rows or none.

        Parameters
        ----------
        frame : pandas.DataFrame
            One row per inspection: ``premise_id`` (or ``location_id``), ``datum``,
            ``uitkomst`` (``bevestigd``, ``ontkracht`` or ``geen bevindingen``), ``team``,
            ``verkenning`` (ja/nee, true/false, 1/0) and optionally ``bevindingen`` (one of
            :data:`FINDINGS`).
        today : date
            Dates after it are refused.
        document : str, optional
            Source document logged with every transition (e.g. the file name).

        Returns
        -------
        int
            The number of rows applied.

        Notes
        -----
        Every row is checked first (unknown premise, unknown outcome, bad or future date,
        transition not allowed — rows for the same location are checked in order); any
        problem raises one ``E-REGISTER-IMPORT`` listing all of them by row number (1 = first
        data row) and nothing is changed. Otherwise all rows are applied in one transaction:
        the inspection is recorded and the location moves to ``in_beeld`` (if it was
        ``gesignaleerd``) and then to ``bevestigd`` or ``ontkracht`` (``geen bevindingen``).
        """
        today = _date(today, what="today")
        problems = Problems()
        key = "premise_id" if "premise_id" in frame.columns else "location_id"
        needed = [key, "datum", "uitkomst", "team", "verkenning"]
        absent = [c for c in needed if c not in frame.columns]
        if absent:
            msg = (f"The outcomes lack the column(s) {', '.join(absent)}. Needed: premise_id "
                   f"(or location_id), datum, uitkomst, team, verkenning; optional bevindingen. "
                   f"Columns found: {', '.join(map(str, frame.columns))}.")
            raise InputError(msg, code="E-REGISTER-IMPORT")

        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(locations.c.id, locations.c.premise_id,
                                          locations.c.status)).all()
        by_key = {(r.premise_id if key == "premise_id" else r.id): r for r in rows}
        status = {r.id: r.status for r in rows}
        plan = []
        for n, rec in enumerate(frame.to_dict("records"), start=1):
            where = f"row {n}"
            ident = rec[key]
            loc = None if _missing(ident) else by_key.get(str(ident))
            if loc is None:
                problems.add("E-REGISTER-IMPORT", f"{key} {ident!r} is not in the register",
                             where=where, fix="add the location first, or correct the id.")
            outcome = "" if _missing(rec["uitkomst"]) else str(rec["uitkomst"]).strip().lower()
            if outcome not in OUTCOMES:
                problems.add("E-REGISTER-IMPORT", f"uitkomst {rec['uitkomst']!r} is not known",
                             where=where, fix=f"use one of: {', '.join(OUTCOMES)}.")
            day = None
            try:
                day = _date(rec["datum"], what="datum")
            except InputError as exc:
                problems.add("E-REGISTER-IMPORT", str(exc), where=where)
            if day is not None and day > today:
                problems.add("E-REGISTER-IMPORT", f"datum {day} is in the future (today is "
                             f"{today})", where=where, fix="correct the date.")
            team = "" if _missing(rec["team"]) else str(rec["team"]).strip()
            if not team:
                problems.add("E-REGISTER-IMPORT", "team is empty", where=where,
                             fix="name the inspecting team.")
            exploration = _bool(rec["verkenning"])
            if exploration is None:
                problems.add("E-REGISTER-IMPORT", f"verkenning {rec['verkenning']!r} is not "
                             "yes/no", where=where, fix="write ja or nee.")
            findings = None
            raw = rec.get("bevindingen")
            if not _missing(raw):
                findings = str(raw).strip().lower()
                if findings not in FINDINGS:
                    problems.add("E-REGISTER-IMPORT", f"bevindingen {raw!r} is not known",
                                 where=where, fix=f"use one of: {', '.join(FINDINGS)}.")
                elif findings == "geen bevindingen" and outcome == "bevestigd":
                    problems.add("E-REGISTER-IMPORT", "uitkomst bevestigd with bevindingen "
                                 "'geen bevindingen'", where=where, fix="correct either one.")
            if outcome == "geen bevindingen":
                findings = findings or "geen bevindingen"
            if loc is None or outcome not in OUTCOMES:
                continue
            steps = []
            current = status[loc.id]
            if current == "gesignaleerd":
                steps.append(("gesignaleerd", "in_beeld"))
                current = "in_beeld"
            target = OUTCOMES[outcome]
            if target not in ALLOWED[current]:
                err = _refused(loc.id, status[loc.id], target)
                problems.add("E-REGISTER-IMPORT", str(err), where=where,
                             fix="only locations gesignaleerd or in_beeld take an outcome.")
                continue
            steps.append((current, target))
            status[loc.id] = target
            plan.append((loc.id, day, team, findings, target, exploration, steps))
        problems.raise_if_any(
            InputError, title=f"Nothing imported: {len(problems)} problem(s) in the outcomes")

        with _writing(self.engine) as conn:
            for loc_id, day, team, findings, target, exploration, steps in plan:
                conn.execute(inspections.insert().values(
                    location_id=loc_id, date=day, team=team, findings=findings,
                    outcome=target, exploration=bool(exploration)))
                for frm, to in steps:
                    self._move(conn, loc_id, to, day=day, who=team, document=document,
                               note="inspectie (import)", expected=frm)
        return len(plan)

    # -- queries -----------------------------------------------------------------------------
    def status(self, location_id: str) -> str:
        """Return the current status of a location (``E-REGISTER-UNKNOWN`` if absent)."""
        with self.engine.connect() as conn:
            return self._current(conn, location_id)

    def locations(self) -> pd.DataFrame:
        """Return all locations, one row each, sorted by ``location_id``.

        Columns: ``location_id``, ``premise_id``, ``statcode``, ``theme``, ``source``,
        ``status``, ``x``, ``y`` (EPSG:28992), ``wkt``, ``created``. For a GeoDataFrame:
        ``gpd.GeoDataFrame(df, geometry=gpd.GeoSeries.from_wkt(df.wkt), crs="EPSG:28992")``.
        """
        cols = ["location_id", "premise_id", "statcode", "theme", "source", "status", "x", "y",
                "wkt", "created"]
        return self._frame(sa.select(locations.c.id.label("location_id"),
                                     *[locations.c[c] for c in cols[1:]])
                           .order_by(locations.c.id), cols)

    def transitions(self, location_id: str | None = None) -> pd.DataFrame:
        """Return the transition log (all, or of one location), oldest first."""
        q = sa.select(transitions).order_by(transitions.c.id)
        if location_id is not None:
            q = q.where(transitions.c.location_id == location_id)
        return self._frame(q, [c.name for c in transitions.columns])

    def inspections(self) -> pd.DataFrame:
        """Return all inspections, oldest record first."""
        return self._frame(sa.select(inspections).order_by(inspections.c.id),
                           [c.name for c in inspections.columns])

    def progress(self, targets: Mapping[str, float] | None = None) -> pd.DataFrame:
        """Count locations per status, per municipality and theme, with region totals.

        Returns
        -------
        pandas.DataFrame
            One row per ``statcode`` × ``theme`` present, then one row per theme with
            ``statcode == "regio"`` and the region total (``statcode == "regio"``,
            ``theme == "alle"``). Columns: ``statcode``, ``theme``, one count per status
            (:data:`STATUSES`) and ``total``. When ``targets`` is given, the assessment of
            :meth:`check_targets` is in ``result.attrs["targets"]``.
        """
        df = self.locations()[["statcode", "theme", "status"]]
        counts = (pd.crosstab([df.statcode, df.theme], df.status)
                  .reindex(columns=list(STATUSES), fill_value=0))
        counts.columns.name = None
        counts = counts.reset_index() if len(df) else pd.DataFrame(
            columns=["statcode", "theme", *STATUSES])
        per_theme = counts.groupby("theme", as_index=False)[list(STATUSES)].sum()
        per_theme.insert(0, "statcode", "regio")
        region = pd.DataFrame([{"statcode": "regio", "theme": "alle",
                                **{s: int(counts[s].sum()) for s in STATUSES}}])
        out = pd.concat([x for x in (counts, per_theme, region) if len(x)], ignore_index=True)
        out[list(STATUSES)] = out[list(STATUSES)].astype("int64")
        out["total"] = out[list(STATUSES)].sum(axis=1)
        if targets is not None:
            out.attrs["targets"] = self.check_targets(targets)
        return out

    def check_targets(self, targets: Mapping[str, float]) -> pd.DataFrame:
        """Assess the region's targets; one row per target given.

        Targets (all optional):

        - ``baseline``: at least this many locations in the register;
        - ``in_beeld_share``: the share of locations that ever reached ``in_beeld``, of the
          baseline (or of all locations when no baseline is given);
        - ``aangepakt_min_per_municipality``: every municipality in the register has at least
          this many locations ``aangepakt``;
        - ``bevestig_of_ontkracht``: at least this many locations ever confirmed or disproved;
        - ``aangepakt``: at least this many locations ``aangepakt``.

        Returns a DataFrame with ``target``, ``required``, ``actual``, ``met`` (bool) and
        ``detail`` (e.g. the municipalities below the minimum).
        """
        unknown = sorted(set(targets) - set(TARGET_KEYS))
        if unknown:
            msg = (f"Unknown target(s) {', '.join(unknown)}. Known targets: "
                   f"{', '.join(TARGET_KEYS)}.")
            raise InputError(msg, code="E-REGISTER-TARGET")
        locs = self.locations()
        log = self.transitions()
        reached = log.groupby("to_status")["location_id"].nunique().to_dict()
        ever = set(log.loc[log.to_status.isin(["bevestigd", "ontkracht"]), "location_id"])
        n = len(locs)
        aangepakt = locs.status.eq("aangepakt")
        rows = []
        for key in TARGET_KEYS:
            if key not in targets:
                continue
            req, detail = targets[key], ""
            if key == "baseline":
                actual: float = n
            elif key == "in_beeld_share":
                base = targets.get("baseline") or n
                actual = reached.get("in_beeld", 0) / base if base else 0.0
                detail = f"{reached.get('in_beeld', 0)} of {base}"
            elif key == "aangepakt_min_per_municipality":
                per = aangepakt.groupby(locs.statcode).sum()
                actual = int(per.min()) if len(per) else 0
                below = sorted(per.index[per < req])
                detail = ", ".join(below)
            elif key == "bevestig_of_ontkracht":
                actual = len(ever)
            else:
                actual = int(aangepakt.sum())
            rows.append({"target": key, "required": req, "actual": actual,
                         "met": bool(actual >= req), "detail": detail})
        return pd.DataFrame(rows, columns=["target", "required", "actual", "met", "detail"])

    def hit_rates(self) -> dict[str, dict[str, Any]]:
        """Share of inspections that confirmed a risk, exploration versus ranked.

        Returns ``{"exploration": {...}, "ranked": {...}, "all": {...}}``, each with
        ``inspected`` (inspections with a known outcome), ``bevestigd`` and ``hit_rate``
        (``bevestigd / inspected``; None when nothing was inspected).
        """
        df = self.inspections()
        df = df[df.outcome.notna()]
        out = {}
        for name, part in (("exploration", df[df.exploration.astype(bool)]),
                           ("ranked", df[~df.exploration.astype(bool)]), ("all", df)):
            k, n = int(part.outcome.eq("bevestigd").sum()), len(part)
            out[name] = {"inspected": n, "bevestigd": k, "hit_rate": k / n if n else None}
        return out

    def lead_times(self) -> pd.DataFrame:
        """Days from the signal to each later status, per municipality (median, and count).

        Columns: ``statcode``, ``to_status``, ``locations``, ``median_days``; a row
        ``statcode == "regio"`` per status for the whole register.
        """
        tr = self.transitions()
        cols = ["statcode", "to_status", "locations", "median_days"]
        if not len(tr):
            return pd.DataFrame(columns=cols)
        tr["date"] = pd.to_datetime(tr["date"])
        start = tr[tr["to_status"] == "gesignaleerd"].groupby("location_id")["date"].min()
        later = tr[tr["to_status"] != "gesignaleerd"].groupby(
            ["location_id", "to_status"])["date"].min().reset_index()
        later["days"] = (later["date"] - later["location_id"].map(start)).dt.days
        locs = self.locations().set_index("location_id")["statcode"]
        later["statcode"] = later["location_id"].map(locs)
        per = later.groupby(["statcode", "to_status"])["days"].agg(["count", "median"])
        region = later.groupby("to_status")["days"].agg(["count", "median"])
        region.index = pd.MultiIndex.from_product([["regio"], region.index])
        out = pd.concat([per, region]).reset_index()
        out.columns = cols
        return out

    # -- internals ---------------------------------------------------------------------------
    def _frame(self, query: sa.Select, columns: list[str]) -> pd.DataFrame:
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return pd.DataFrame([tuple(r) for r in rows], columns=columns)

    @staticmethod
    def _current(conn: Connection, location_id: str) -> str:
        current = conn.execute(sa.select(locations.c.status)
                               .where(locations.c.id == location_id)).scalar()
        if current is None:
            msg = f"Location {location_id!r} is not in the register. Add it with add_location()."
            raise InputError(msg, code="E-REGISTER-UNKNOWN")
        return current

    def _move(self, conn: Connection, location_id: str, to_status: str, *, day: dt.date,
              who: str, document: str, note: str, expected: str | None) -> None:
        current = self._current(conn, location_id)
        if expected is not None and current != expected:
            raise self._conflict(location_id, expected, current)
        if to_status not in ALLOWED[current]:
            raise _refused(location_id, current, to_status)
        done = conn.execute(locations.update()
                            .where(locations.c.id == location_id,
                                   locations.c.status == current)
                            .values(status=to_status)).rowcount
        if done != 1:
            raise self._conflict(location_id, current, None)
        conn.execute(transitions.insert().values(
            location_id=location_id, from_status=current, to_status=to_status, date=day,
            who=who, document=document, note=note))

    @staticmethod
    def _conflict(location_id: str, expected: str, now: str | None) -> InputError:
        now_txt = f" and is now {now!r}" if now else ""
        msg = (f"Location {location_id!r} was changed by someone else: it is no longer "
               f"{expected!r}{now_txt}. Reload the register and retry.")
        return InputError(msg, code="E-REGISTER-CONFLICT")
