"""Tests of riskmap.register: lifecycle, all-or-nothing import, progress, hit rates, races.

Runs on SQLite always and on PostgreSQL too when ``RISKMAP_TEST_POSTGRES_URL`` is set (the
parameter list is built conditionally, so nothing is reported as skipped without it).
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import threading

import pandas as pd
import pytest
import sqlalchemy as sa

from riskmap import register as rg
from riskmap.errors import InputError

PG_URL = os.environ.get("RISKMAP_TEST_POSTGRES_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])
TODAY = dt.date(2027, 3, 1)

# Written by hand from the lifecycle in the issue, not derived from rg.ALLOWED.
EXPECTED_ALLOWED = {
    ("gesignaleerd", "in_beeld"), ("gesignaleerd", "gesloten"),
    ("in_beeld", "bevestigd"), ("in_beeld", "ontkracht"), ("in_beeld", "gesloten"),
    ("bevestigd", "aangepakt"), ("bevestigd", "gesloten"),
    ("ontkracht", "gesloten"),
}
# The shortest way to reach each status from gesignaleerd.
PATH = {
    "gesignaleerd": [],
    "in_beeld": ["in_beeld"],
    "bevestigd": ["in_beeld", "bevestigd"],
    "ontkracht": ["in_beeld", "ontkracht"],
    "aangepakt": ["in_beeld", "bevestigd", "aangepakt"],
    "gesloten": ["gesloten"],
}


def _wipe(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for name in ("inspections", "transitions", "locations", "schema_version"):
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {name} CASCADE"))
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'register.sqlite'}"
    _wipe(PG_URL)
    return PG_URL


@pytest.fixture
def reg(url):
    with rg.open_register(url) as register:
        yield register


def add(reg, loc_id, *, statcode="GM0050", theme="bedrijventerrein", premise_id=None, x=0.0):
    reg.add_location(loc_id, premise_id=premise_id or f"P{loc_id}", statcode=statcode,
                     theme=theme, source="kaart", x=150_000 + x, y=450_000.0,
                     date="2027-01-04", who="analist")


def bring(reg, loc_id, status):
    for step in PATH[status]:
        reg.transition(loc_id, step, date="2027-01-10", who="analist", document="RIEC-1")


def counts(reg):
    with reg.engine.connect() as conn:
        return {t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar()
                for t in ("locations", "transitions", "inspections")}


# --------------------------------------------------------------------------- lifecycle

def test_allowed_table_matches_lifecycle():
    got = {(a, b) for a, nxt in rg.ALLOWED.items() for b in nxt}
    assert got == EXPECTED_ALLOWED


def test_happy_path_logs_every_step(reg):
    reg.add_location("L1", premise_id="P1", statcode="GM0050", theme="horeca", source="tip",
                     x=151_000, y=451_000, date=dt.date(2027, 1, 4), who="ana")
    assert reg.status("L1") == "gesignaleerd"
    reg.transition("L1", "in_beeld", date="2027-01-10", who="bob", document="RIEC-7",
                   note="bezoek gepland")
    reg.transition("L1", "bevestigd", date="2027-02-01", who="bob", document="PV-3")
    reg.transition("L1", "aangepakt", date="2027-02-20", who="burgemeester", document="B-9")
    assert reg.status("L1") == "aangepakt"
    log = reg.transitions("L1")
    assert pd.isna(log.from_status.iloc[0])
    assert list(zip(log.from_status[1:], log.to_status[1:], strict=True)) == [
        ("gesignaleerd", "in_beeld"), ("in_beeld", "bevestigd"), ("bevestigd", "aangepakt")]
    assert log.to_status.iloc[0] == "gesignaleerd"
    assert list(log.who) == ["ana", "bob", "bob", "burgemeester"]
    assert list(log.document)[1:] == ["RIEC-7", "PV-3", "B-9"]
    assert log.note.iloc[1] == "bezoek gepland"
    assert log.date.iloc[3] == dt.date(2027, 2, 20)
    loc = reg.locations().iloc[0]
    assert loc.wkt == "POINT (151000.0 451000.0)"
    assert loc.created == dt.date(2027, 1, 4)


def test_every_transition_checked_against_hand_table(reg):
    pairs = list(itertools.product(rg.STATUSES, rg.STATUSES))
    for i, (frm, to) in enumerate(pairs):
        loc = f"L{i}"
        add(reg, loc)
        bring(reg, loc, frm)
        assert reg.status(loc) == frm
        if (frm, to) in EXPECTED_ALLOWED:
            reg.transition(loc, to, date="2027-02-01", who="x")
            assert reg.status(loc) == to
        else:
            with pytest.raises(InputError, match=f"'{loc}' is '{frm}'.*'{to}'.*Allowed next"
                               ) as err:
                reg.transition(loc, to, date="2027-02-01", who="x")
            assert err.value.code == "E-REGISTER-TRANSITION"
            for nxt in rg.ALLOWED[frm]:
                assert nxt in str(err.value)
            assert reg.status(loc) == frm


def test_unknown_status_theme_location_and_duplicates(reg):
    add(reg, "L1", premise_id="P1")
    with pytest.raises(InputError, match="status 'bekeken' is not known") as err:
        reg.transition("L1", "bekeken", date="2027-02-01", who="x")
    assert err.value.code == "E-REGISTER-VALUE"
    with pytest.raises(InputError, match="theme 'haven' is not known.*horeca"):
        add(reg, "L2", theme="haven")
    with pytest.raises(InputError, match="'L9' is not in the register") as err:
        reg.transition("L9", "in_beeld", date="2027-02-01", who="x")
    assert err.value.code == "E-REGISTER-UNKNOWN"
    with pytest.raises(InputError, match="already in the register") as err:
        add(reg, "L1", premise_id="P7")
    with pytest.raises(InputError, match="already in the register"):
        add(reg, "L3", premise_id="P1")
    assert err.value.code == "E-REGISTER-DUPLICATE"
    with pytest.raises(InputError, match="YYYY-MM-DD"):
        reg.transition("L1", "in_beeld", date="1 januari", who="x")
    assert counts(reg) == {"locations": 1, "transitions": 1, "inspections": 0}


def test_expected_status_gives_conflict(reg):
    add(reg, "L1")
    reg.transition("L1", "in_beeld", date="2027-02-01", who="ana")
    with pytest.raises(InputError, match="changed by someone else.*retry") as err:
        reg.transition("L1", "gesloten", date="2027-02-01", who="bob", expected="gesignaleerd")
    assert err.value.code == "E-REGISTER-CONFLICT"
    assert reg.status("L1") == "in_beeld"


# --------------------------------------------------------------------------- import

def outcomes(*rows):
    return pd.DataFrame(rows, columns=["premise_id", "datum", "uitkomst", "team", "verkenning"])


@pytest.fixture
def filled(reg):
    add(reg, "A", premise_id="PA")          # gesignaleerd
    add(reg, "B", premise_id="PB")
    bring(reg, "B", "in_beeld")
    add(reg, "C", premise_id="PC")
    bring(reg, "C", "bevestigd")
    return reg


def test_import_good_batch_applies_all(filled):
    reg = filled
    frame = outcomes(("PA", "2027-02-01", "bevestigd", "team 1", "ja"),
                     ("PB", dt.date(2027, 2, 2), "geen bevindingen", "team 2", False))
    frame["bevindingen"] = ["hennep", None]
    before = counts(reg)
    assert reg.import_outcomes(frame, today=TODAY) == 2
    assert reg.status("A") == "bevestigd"
    assert reg.status("B") == "ontkracht"
    after = counts(reg)
    assert after["inspections"] == before["inspections"] + 2
    assert after["transitions"] == before["transitions"] + 3   # A: 2 steps, B: 1
    ins = reg.inspections().set_index("location_id")
    assert ins.loc["A", "findings"] == "hennep" and bool(ins.loc["A", "exploration"])
    assert ins.loc["B", "findings"] == "geen bevindingen" and ins.loc["B", "outcome"] == "ontkracht"
    assert list(reg.transitions("A").to_status) == ["gesignaleerd", "in_beeld", "bevestigd"]


BAD_ROWS = {
    "unknown premise": (("PX", "2027-02-01", "bevestigd", "t", "nee"), "'PX' is not in"),
    "unknown outcome": (("PB", "2027-02-01", "misschien", "t", "nee"), "'misschien' is not known"),
    "future date": (("PB", "2027-03-02", "ontkracht", "t", "nee"), "in the future"),
    "forbidden transition": (("PC", "2027-02-01", "ontkracht", "t", "nee"), "'C' is 'bevestigd'"),
}


@pytest.mark.parametrize("bad", list(BAD_ROWS))
def test_import_one_bad_row_changes_nothing(filled, bad):
    reg = filled
    row, match = BAD_ROWS[bad]
    frame = outcomes(("PA", "2027-02-01", "bevestigd", "t", "ja"), row)
    before, statuses = counts(reg), reg.locations().status.tolist()
    with pytest.raises(InputError, match=f"(?s)Nothing imported.*row 2: .*{match}") as err:
        reg.import_outcomes(frame, today=TODAY)
    assert err.value.code == "E-REGISTER-IMPORT"
    assert len(err.value.problems) == 1
    assert counts(reg) == before
    assert reg.locations().status.tolist() == statuses


def test_import_lists_every_bad_row(filled):
    reg = filled
    frame = outcomes(*(row for row, _ in BAD_ROWS.values()),
                     ("PA", "2027-02-01", "bevestigd", "t", "ja"),
                     ("PA", "2027-02-02", "ontkracht", "t", "ja"))   # 2nd outcome for A
    before = counts(reg)
    with pytest.raises(InputError) as err:
        reg.import_outcomes(frame, today=TODAY)
    text = str(err.value)
    for n, (_, match) in enumerate(BAD_ROWS.values(), start=1):
        assert f"row {n}: " in text
        assert match in text
    assert "row 5" not in text
    assert "row 6: " in text and "'A' is 'bevestigd'" in text
    assert len(err.value.problems) == 5
    assert counts(reg) == before


def test_import_missing_columns(filled):
    with pytest.raises(InputError, match="lack the column.*verkenning"):
        filled.import_outcomes(outcomes()[["premise_id", "datum", "uitkomst", "team"]],
                               today=TODAY)


def test_import_by_location_id(filled):
    frame = outcomes(("B", "2027-02-01", "bevestigd", "t", 0)).rename(
        columns={"premise_id": "location_id"})
    assert filled.import_outcomes(frame, today=TODAY) == 1
    assert filled.status("B") == "bevestigd"


# --------------------------------------------------------------------------- progress, rates

SCENARIO = [  # id, statcode, theme, status
    ("a1", "GM0050", "bedrijventerrein", "aangepakt"),
    ("a2", "GM0050", "bedrijventerrein", "in_beeld"),
    ("a3", "GM0050", "horeca", "ontkracht"),
    ("a4", "GM0050", "horeca", "gesloten"),
    ("b1", "GM0034", "buitengebied", "gesignaleerd"),
    ("b2", "GM0034", "buitengebied", "bevestigd"),
    ("b3", "GM0034", "buitengebied", "gesignaleerd"),
    ("b4", "GM0034", "vastgoed", "aangepakt"),
]


@pytest.fixture
def scenario(reg):
    for i, (loc, statcode, theme, status) in enumerate(SCENARIO):
        add(reg, loc, statcode=statcode, theme=theme, x=i)
        bring(reg, loc, status)
    return reg


def test_progress_counts(scenario):
    got = scenario.progress().set_index(["statcode", "theme"])
    assert list(got.columns) == [*rg.STATUSES, "total"]
    assert got.loc[("GM0034", "buitengebied"), "gesignaleerd"] == 2
    assert got.loc[("GM0034", "buitengebied"), "bevestigd"] == 1
    assert got.loc[("GM0034", "buitengebied"), "total"] == 3
    assert got.loc[("GM0050", "horeca")].tolist() == [0, 0, 0, 1, 0, 1, 2]
    assert got.loc[("regio", "buitengebied"), "total"] == 3
    assert got.loc[("regio", "alle")].tolist() == [2, 1, 1, 1, 2, 1, 8]
    assert len(got) == 4 + 4 + 1   # 4 statcode×theme, 4 themes, region
    # independent recount from the scenario
    for status in rg.STATUSES:
        assert got.loc[("regio", "alle"), status] == sum(s == status for *_, s in SCENARIO)


def test_targets_met_and_not_met(scenario):
    targets = {"baseline": 8, "in_beeld_share": 0.5, "aangepakt_min_per_municipality": 1,
               "bevestig_of_ontkracht": 4, "aangepakt": 3}
    result = scenario.progress(targets).attrs["targets"].set_index("target")
    # ever in_beeld: a1 a2 a3 b2 b4 = 5 of 8; confirmed or disproved ever: a1 a3 b2 b4 = 4
    assert result.loc["baseline", "actual"] == 8 and result.loc["baseline", "met"]
    assert result.loc["in_beeld_share", "actual"] == pytest.approx(5 / 8)
    assert result.loc["in_beeld_share", "met"]
    assert result.loc["aangepakt_min_per_municipality", "met"]
    assert result.loc["bevestig_of_ontkracht", "actual"] == 4
    assert result.loc["bevestig_of_ontkracht", "met"]
    assert result.loc["aangepakt", "actual"] == 2 and not result.loc["aangepakt", "met"]

    harder = scenario.check_targets({"baseline": 142, "in_beeld_share": 0.30,
                                     "aangepakt_min_per_municipality": 2})
    harder = harder.set_index("target")
    assert not harder.loc["baseline", "met"]
    assert harder.loc["in_beeld_share", "actual"] == pytest.approx(5 / 142)
    assert not harder.loc["in_beeld_share", "met"]
    assert not harder.loc["aangepakt_min_per_municipality", "met"]
    assert harder.loc["aangepakt_min_per_municipality", "detail"] == "GM0034, GM0050"
    with pytest.raises(InputError, match="Unknown target.*aangepak.*Known targets"):
        scenario.check_targets({"aangepak": 1})


def test_progress_empty_register(reg):
    got = reg.progress()
    assert got.iloc[-1].tolist() == ["regio", "alle", 0, 0, 0, 0, 0, 0, 0]


def test_hit_rates(reg):
    for loc in "ABCDEFG":
        add(reg, loc)
    # exploration: 1 of 3 confirmed; ranked: 3 of 4
    for loc, findings, exploration in [("A", "hennep", True), ("B", "geen bevindingen", True),
                                       ("C", "geen bevindingen", True), ("D", "drugslab", False),
                                       ("E", "milieu", False), ("F", "arbeidsuitbuiting", False),
                                       ("G", "geen bevindingen", False)]:
        reg.record_inspection(loc, date="2027-02-01", team="t", findings=findings,
                              exploration=exploration)
    rates = reg.hit_rates()
    assert rates["exploration"] == {"inspected": 3, "bevestigd": 1, "hit_rate": 1 / 3}
    assert rates["ranked"] == {"inspected": 4, "bevestigd": 3, "hit_rate": 3 / 4}
    assert rates["all"]["hit_rate"] == pytest.approx(4 / 7)
    with pytest.raises(InputError, match="findings 'wiet' is not known"):
        reg.record_inspection("A", date="2027-02-01", team="t", findings="wiet")
    with pytest.raises(InputError, match="not in the register"):
        reg.record_inspection("Z", date="2027-02-01", team="t", findings="hennep")


def test_hit_rates_empty(reg):
    assert reg.hit_rates()["exploration"] == {"inspected": 0, "bevestigd": 0, "hit_rate": None}


# --------------------------------------------------------------------------- concurrency

def _run_threads(targets):
    errors = []

    def wrap(fn):
        def run():
            try:
                fn()
            except Exception as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(exc)
        return run

    threads = [threading.Thread(target=wrap(fn)) for fn in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return errors


def test_two_analysts_lose_nothing(url, reg):
    for i in range(100):
        add(reg, f"L{i:03d}", x=i)

    def analyst(offset):
        with rg.open_register(url) as mine:   # own engine and connections
            for i in range(offset, 100, 2):
                loc = f"L{i:03d}"
                mine.transition(loc, "in_beeld", date="2027-02-01", who=f"analist{offset}")
                mine.record_inspection(loc, date="2027-02-02", team=f"team{offset}",
                                       findings="hennep")

    errors = _run_threads([lambda: analyst(0), lambda: analyst(1)])
    assert errors == []
    assert (reg.locations().status == "in_beeld").all()
    assert counts(reg) == {"locations": 100, "transitions": 200, "inspections": 100}
    assert reg.inspections().team.value_counts().to_dict() == {"team0": 50, "team1": 50}


def test_racing_the_same_transition_one_wins(url, reg):
    for i in range(10):
        add(reg, f"R{i}", x=i)
    barrier = threading.Barrier(2)
    won = {"bevestigd": 0, "ontkracht": 0}

    def analyst(to):
        with rg.open_register(url) as mine:
            for i in range(10):
                barrier.wait(timeout=30)
                try:
                    mine.transition(f"R{i}", "in_beeld", date="2027-02-01", who=to)
                    won[to] += 1
                except InputError as exc:
                    assert exc.code in {"E-REGISTER-CONFLICT", "E-REGISTER-TRANSITION"}

    errors = _run_threads([lambda: analyst("bevestigd"), lambda: analyst("ontkracht")])
    assert errors == []
    assert sum(won.values()) == 10            # exactly one winner per location
    log = reg.transitions()
    assert (log.to_status == "in_beeld").sum() == 10
    assert (reg.locations().status == "in_beeld").all()


# --------------------------------------------------------------------------- schema

def test_migrate_idempotent(url, reg):
    assert rg.migrate(reg.engine) == rg.SCHEMA_VERSION
    assert rg.migrate(reg.engine) == rg.SCHEMA_VERSION
    add(reg, "L1")
    with rg.open_register(url) as again:
        assert again.status("L1") == "gesignaleerd"
    with reg.engine.connect() as conn:
        versions = conn.execute(sa.text("SELECT version FROM schema_version")).scalars().all()
    assert versions == [rg.SCHEMA_VERSION]
    assert set(sa.inspect(reg.engine).get_table_names()) >= {
        "locations", "transitions", "inspections", "schema_version"}


def test_newer_schema_refused(url, reg):
    with reg.engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO schema_version (version, applied) "
                             "VALUES (99, CURRENT_TIMESTAMP)"))
    with pytest.raises(InputError, match="schema version 99, newer") as err:
        rg.open_register(url)
    assert err.value.code == "E-REGISTER-SCHEMA"


def test_sqlite_uses_wal(tmp_path):
    with rg.open_register(f"sqlite:///{tmp_path / 'r.sqlite'}") as reg, reg.engine.connect() as c:
        assert c.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert c.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
