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
buurten = "data/buurten_2021.geojson"   # outlines for the HTML maps (14 of 39 municipalities)

[opportunity]
layers = ["layers/buitengebied.toml", "layers/bedrijventerreinen.toml"]
data_dir = "data/demo"
normalise = "municipality"
classes = 5

# Police incidents (SYNTHETIC, drawn from the demo's opportunity surface plus noise).
# Leave bandwidth_m / half_life_days / window_days out: riskmap chooses them on the data.
[risk]
incidents = "data/demo/politie_incidenten.csv"
date_column = "datum"
x_column = "x"
y_column = "y"
crs = "EPSG:28992"
type_column = "soort"
id_column = "incident_id"
classes = 5
k = 5
"""


def write_demo_project(out: str | Path, *, scale: float = 0.1, seed: int = 2021) -> Path:
    """Write the demo data, layer sets and ``project.toml`` under ``out``; return the project.

    The synthetic data always cover all 39 municipalities, so that a map of one of them sees
    its surroundings (a motorway exit across the border) and does not depend on a selection.
    """
    from riskmap import io

    def copy(src: Path, dst: Path) -> None:
        with io.atomic_path(dst) as tmp:
            shutil.copyfile(src, tmp)

    out = Path(out)
    data = out / "data"
    data.mkdir(parents=True, exist_ok=True)
    for name in datasets.available():
        copy(datasets.get_path(name), data / datasets.get_path(name).name)
    copy(datasets.DATA_DIR / "SOURCES.md", data / "SOURCES.md")
    # always the whole region: the data around a selected municipality (the motorway exit
    # just across the border) must be there, and a selection must not change the data
    datasets.make_demo_data(data / "demo", seed=seed, scale=scale)
    (out / "layers").mkdir(exist_ok=True)
    for f in sorted(LAYERS_DIR.glob("*.toml")):
        copy(f, out / "layers" / f.name)
    project = out / "project.toml"
    with io.atomic_path(project) as tmp:
        tmp.write_text(PROJECT_TOML + SCORING_TOML + REGISTER_TOML, encoding="utf-8")
    make_demo_incidents(project, data / "demo" / "politie_incidenten.csv", seed=seed)
    make_demo_scoring(project, data / "demo", seed=seed)
    sources = data / "demo" / "SOURCES.md"
    text = sources.read_text(encoding="utf-8") + INCIDENTS_NOTE + SCORING_NOTE
    with io.atomic_path(sources) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return project


def run_demo(out: str | Path, *, scale: float = 0.1, seed: int = 2021,
             municipalities: Iterable[str] = (), overwrite: bool = False,
             progress: bool = False) -> list[Path]:
    """Write the demo and run every stage for the (selected) municipalities into ``out``."""
    from riskmap import config, pipeline

    municipalities = list(municipalities)
    existing = sorted([*Path(out).glob("*/opportunity.*"), *Path(out).glob("*/risk.*"),
                       *Path(out).glob("*/overlay.*"), *Path(out).glob("*/kaart.html"),
                       *Path(out).glob("*/ranglijst.*")])
    if existing and not overwrite:  # before the data are rewritten
        pipeline.check_outputs(out, [p.parent.name for p in existing], overwrite=False,
                               files=(existing[0].name,))
    path = write_demo_project(out, scale=scale, seed=seed)
    project = config.load_project(path)
    region = pipeline.load_region(project)
    pipeline.check_outputs(out, region.select(municipalities), overwrite=overwrite)
    region, maps = pipeline.opportunity_maps(project, municipalities=municipalities,
                                             region=region, progress=progress)
    written = pipeline.write_opportunity(maps, out, project=project, region=region,
                                         overwrite=overwrite, progress=progress)
    # risk maps as the municipalities get them: classes only, k-suppressed
    surface = pipeline.risk_surface(project, region, progress=progress)
    region, rmaps, meta = pipeline.risk_maps(project, municipalities=municipalities,
                                             audience="partners", region=region,
                                             progress=progress, surface=surface)
    written += pipeline.write_risk(rmaps, out, project=project, meta=meta, overwrite=overwrite,
                                   progress=progress)
    region, overlays, ometa = pipeline.overlay_maps(project, municipalities=municipalities,
                                                    audience="partners", region=region,
                                                    progress=progress, opportunity_maps_=maps,
                                                    surface=surface)
    written += pipeline.write_overlay(overlays, out, project=project, region=region,
                                      meta=ometa, overwrite=overwrite, progress=progress)
    # ranked premises per municipality and the inspection plan for the next quarter
    _, ranking = pipeline.rank_premises(project, audience="partners",
                                        municipalities=municipalities, region=region,
                                        opportunity_maps_=maps, surface=surface)
    # one HTML page per municipality (offline: works where CDNs are blocked) and an index
    written += pipeline.html_maps(project, out, municipalities=municipalities,
                                  audience="partners", offline=True, region=region,
                                  overwrite=overwrite, progress=progress,
                                  opportunity_maps_=maps, surface=surface, ranking=ranking)
    written += pipeline.write_ranking(ranking, out, project=project, audience="partners",
                                      overwrite=overwrite)
    plan = pipeline.plan_inspections(ranking, period="2022-Q1", capacity=DEMO_CAPACITY)
    written += pipeline.write_plan(plan, out, project=project, audience="partners",
                                   overwrite=overwrite)
    written.append(write_demo_report(out, ranking, plan, project=project))
    # the register: the plan's premises signalled, the (synthetic) outcomes imported, the
    # confirmed ones partly tackled, and the progress dashboard
    fill_demo_register(project, plan, seed=seed)
    written += pipeline.write_progress(project, Path(out) / "voortgang", overwrite=overwrite)
    return [path, *written]


def fill_demo_register(project, plan, *, seed: int = 2021) -> None:
    """Fill the demo's register from its plan with SYNTHETIC outcomes from the hidden truth."""
    import numpy as np
    import pandas as pd

    from riskmap import pipeline

    truth = set(pd.read_csv(project.data_dir / "grondwaarheid.csv", dtype=str)["premise_id"])
    rng = np.random.default_rng(seed + 11)
    p = plan.plan.reset_index(drop=True)
    reg_file = project.path_of("register.sqlite")
    for suffix in ("", "-wal", "-shm"):  # a fresh register for every demo run
        Path(f"{reg_file}{suffix}").unlink(missing_ok=True)
    with pipeline.open_project_register(project) as reg:
        for row in p.itertuples(index=False):  # a plan of ~100 premises
            theme = "bedrijventerrein" if row.scope == "bedrijventerrein" else "buitengebied"
            reg.add_location(str(row.premise_id), premise_id=str(row.premise_id),
                             statcode=str(row.statcode), theme=theme, source="inspectieplan",
                             x=float(row.x), y=float(row.y), date="2022-01-03",
                             who="analist RIEC (demo)")
        found = p["premise_id"].astype(str).isin(truth).to_numpy()
        days = rng.integers(7, 80, len(p))
        outcomes = pd.DataFrame({
            "premise_id": p["premise_id"].astype(str),
            "datum": (pd.Timestamp("2022-01-10") + pd.to_timedelta(days, "D")).strftime(
                "%Y-%m-%d"),
            "uitkomst": np.where(found, "bevestigd", np.where(rng.uniform(size=len(p)) < 0.5,
                                                              "ontkracht", "geen bevindingen")),
            "team": rng.choice(["team Utrecht", "team Flevoland", "team Gooi"], len(p)),
            "verkenning": np.where(p["soort"] == "verkenning", "ja", "nee"),
        })
        reg.import_outcomes(outcomes, today="2022-03-31", document="inspectieplan 2022-Q1")
        for pid, day in zip(outcomes["premise_id"][found], outcomes["datum"][found],
                            strict=True):
            if rng.uniform() < 0.7:  # most confirmed locations tackled within weeks
                reg.transition(pid, "aangepakt", date=(pd.Timestamp(day) + pd.Timedelta(
                    days=int(rng.integers(5, 40)))).date().isoformat(), who="gemeente (demo)",
                    document="bestuurlijke maatregel", note="sluiting (Opiumwet art. 13b)")


DEMO_CAPACITY = 100


def demo_report(ranking, plan, truth: set[str], *, seed: int = 0) -> dict:
    """Precision of the plan against the demo's hidden truth, beside random inspection and
    the same plan without exploration slots (what the demo reports)."""
    import numpy as np

    from riskmap import pipeline, planner

    table = ranking.table
    eligible = table["premise_id"]
    random_precision = float(eligible.isin(truth).mean())  # expected precision of random picks
    no_explore = pipeline.plan_inspections(ranking, period=plan.settings["period"],
                                           capacity=len(plan.plan), exploration_share=0.0,
                                           seed=seed)
    explore = plan.plan[plan.plan["soort"] == "verkenning"]["premise_id"]
    rng = np.random.default_rng(seed)
    draws = [planner.precision_at_k(rng.choice(eligible, size=len(plan.plan), replace=False),
                                    truth) for _ in range(200)]
    return {
        "capacity": len(plan.plan),
        "plan_precision": planner.precision_at_k(plan.plan["premise_id"], truth),
        "plan_without_exploration_precision": planner.precision_at_k(
            no_explore.plan["premise_id"], truth),
        "random_precision_expected": random_precision,
        "random_precision_p95": float(np.quantile(draws, 0.95)),
        "exploration_slots": int(len(explore)),
        "exploration_precision": planner.precision_at_k(explore, truth) if len(explore) else None,
        "candidates": int(len(table)),
        "true_cases_among_candidates": int(eligible.isin(truth).sum()),
    }


def write_demo_report(out: str | Path, ranking, plan, *, project) -> Path:
    """``out/demo_verslag.json``: the demo plan scored against the hidden truth."""
    import json

    import pandas as pd

    from riskmap import io

    truth = set(pd.read_csv(project.data_dir / "grondwaarheid.csv", dtype=str)["premise_id"])
    report = demo_report(ranking, plan, truth)
    from riskmap import pipeline

    report["provenance"] = pipeline.provenance(project, audience="partners")
    path = Path(out) / "demo_verslag.json"
    with io.atomic_path(path) as tmp:
        tmp.write_text(json.dumps(report, indent=1), encoding="utf-8")
    return path


INCIDENTS_NOTE = """
## politie_incidenten.csv — SYNTHETIC police incidents

Made by `riskmap.demo.make_demo_incidents` from the demo's own opportunity surface plus
noise (hot spots drawn where opportunity is high, some emerging or fading over 2019–2021,
a quarter scattered in proportion to opportunity). Columns: incident_id, datum, soort
(hennepkwekerij, drugslab, drugsafval, signaal), x, y (EPSG:28992). No real incident,
person or place is described. Real police data never leave the police environment: for
partners and the public riskmap writes classes only (see the README, audiences).
"""

INCIDENT_TYPES = ("hennepkwekerij", "drugslab", "drugsafval", "signaal")
INCIDENT_SHARES = (0.35, 0.1, 0.15, 0.4)


def make_demo_incidents(project_path: str | Path, out_csv: str | Path, *, seed: int = 2021,
                        n: int = 2400, start: str = "2019-01-01", end: str = "2022-01-01"
                        ) -> Path:
    """Write SYNTHETIC police incidents drawn from the demo's own opportunity surface.

    Places of crime follow opportunity, plus noise: ~60 hot spots are drawn with probability
    rising with the region-wide opportunity score (exp(3·score)), some active the whole
    period and some emerging or fading; incidents scatter around them (Gaussian, 250 m) and
    a quarter fall anywhere in proportion to opportunity. So back-tests on the demo mean
    something, while nothing describes a real incident.
    """
    import numpy as np
    import pandas as pd

    from riskmap import config, opportunity, pipeline

    project = config.load_project(project_path)
    region = pipeline.load_region(project)
    measures = pipeline.compute_measures(project, region)
    unit = region.labels >= 0
    scores = [opportunity.score_theme(measures[ls.theme], ls, unit=unit)[0]
              for ls in project.layer_sets]
    score = np.where(unit, np.max(scores, axis=0), 0.0)
    rng = np.random.default_rng(seed)
    p = np.where(unit, np.exp(3.0 * score), 0.0).ravel()
    p /= p.sum()
    g = region.grid
    t0, t1 = pd.Timestamp(start), pd.Timestamp(end)
    days = (t1 - t0).days
    n_hot = 60
    hot = rng.choice(p.size, size=n_hot, replace=False, p=p)
    hot_r, hot_c = np.divmod(hot, g.width)
    hx = g.x0 + (hot_c + 0.5) * g.cell_size
    hy = g.y1 - (hot_r + 0.5) * g.cell_size
    # activity window of each hot spot: 60 % whole period, 25 % emerging, 15 % fading
    kind = rng.choice(3, size=n_hot, p=[0.6, 0.25, 0.15])
    on = np.where(kind == 1, rng.uniform(0.3, 0.8, n_hot) * days, 0.0)
    off = np.where(kind == 2, rng.uniform(0.3, 0.7, n_hot) * days, days)
    strength = rng.gamma(2.0, 1.0, n_hot)
    n_hotspot = int(0.75 * n)
    rate = strength * (off - on)
    which = rng.choice(n_hot, size=n_hotspot, p=rate / rate.sum())
    t_hot = on[which] + rng.uniform(0, 1, n_hotspot) * (off[which] - on[which])
    x_hot = hx[which] + rng.normal(0, 250, n_hotspot)
    y_hot = hy[which] + rng.normal(0, 250, n_hotspot)
    n_bg = n - n_hotspot
    bg = rng.choice(p.size, size=n_bg, p=p)
    bg_r, bg_c = np.divmod(bg, g.width)
    x_bg = g.x0 + (bg_c + rng.uniform(0, 1, n_bg)) * g.cell_size
    y_bg = g.y1 - (bg_r + rng.uniform(0, 1, n_bg)) * g.cell_size
    t_bg = rng.uniform(0, days, n_bg)
    x = np.concatenate([x_hot, x_bg])
    y = np.concatenate([y_hot, y_bg])
    t = np.concatenate([t_hot, t_bg])
    order = np.argsort(t, kind="stable")
    dates = (t0 + pd.to_timedelta(np.floor(t[order]), unit="D")).strftime("%Y-%m-%d")
    df = pd.DataFrame({
        "incident_id": [f"SYN-{i:06d}" for i in range(n)],
        "datum": dates,
        "soort": rng.choice(INCIDENT_TYPES, size=n, p=INCIDENT_SHARES),
        "x": np.round(x[order]), "y": np.round(y[order]),
    })
    from riskmap import io

    out_csv = Path(out_csv)
    with io.atomic_path(out_csv) as tmp:
        df.to_csv(tmp, index=False)
    return out_csv


REGISTER_TOML = """
# The register of risk locations: a SQLite file beside this project file.
[register]
url = "sqlite:///register.sqlite"

[register.targets]
baseline = 100
in_beeld_share = 0.30
aangepakt_min_per_municipality = 1
bevestig_of_ontkracht = 15
aangepakt = 10
"""

SCORING_TOML = """
# Ranked premises and inspection planning. Premises, signals and past inspections are
# SYNTHETIC; data/demo/grondwaarheid.csv holds the demo's hidden truth for evaluation only.
[scoring]
premises = "data/demo/bag.gpkg"
layer = "verblijfsobject"
id_column = "identificatie"
where = "gebruiksdoel <> 'woonfunctie'"
estates = "data/demo/ibis_bedrijventerreinen.gpkg"
estates_layer = "bedrijventerreinen"
scopes = ["bedrijventerrein", "buitengebied"]
signals = "data/demo/politie_signalen.csv"
inspections = "data/demo/inspecties.csv"
top_k = 50

[[scoring.feature]]
name = "prioriteitszone"
label = "Ligt in een prioriteitszone"
reason = "ligt in een prioriteitszone"
kind = "map"
map = "prioriteitszone"
transform = { method = "threshold", value = 1 }
weight = 0.15

[[scoring.feature]]
name = "gelegenheid"
label = "Gelegenheidsscore van de omgeving"
reason = "veel gelegenheid in de omgeving (score {waarde})"
kind = "map"
map = "gelegenheid"
transform = "minmax"
weight = 0.2

[[scoring.feature]]
name = "afgelegen"
label = "Afgelegen (weinig woningen in de buurt)"
reason = "afgelegen: weinig woningen in de buurt"
kind = "map"
map = "indicator"
indicator = "buitengebied_isolatie"
transform = { method = "threshold", value = 0.5 }
weight = 0.05

[[scoring.feature]]
name = "inschrijvingen"
label = "KvK-inschrijvingen op het adres"
reason = "{waarde} inschrijvingen op dit adres"
kind = "column"
column = "kvk_inschrijvingen"
transform = { method = "threshold", value = 5 }
weight = 0.15

[[scoring.feature]]
name = "leegstand"
label = "Leegstaand pand"
reason = "leegstaand pand"
kind = "column"
column = "status"
equals = "Verblijfsobject buiten gebruik"
transform = { method = "threshold", value = 1 }
weight = 0.15

[[scoring.feature]]
name = "oppervlakte"
label = "Grote bedrijfsruimte"
reason = "grote bedrijfsruimte ({waarde} m²)"
kind = "column"
column = "oppervlakte"
transform = "rank"
weight = 0.1

[[scoring.feature]]
name = "signalen"
label = "Politiesignalen op dit adres (laatste jaar)"
reason = "{waarde} politiesignalen op dit adres in het afgelopen jaar"
kind = "signals"
window_days = 365
transform = { method = "threshold", value = 1 }
weight = 0.2

[[scoring.feature]]
name = "eerdere_bevinding"
label = "Eerdere inspectie met bevindingen"
reason = "eerdere inspectie met bevindingen"
kind = "history"
history = "laatste_bevinding"
transform = { method = "threshold", value = 1 }
weight = 0.05
"""

SCORING_NOTE = """
## Premises scoring: politie_signalen.csv, inspecties.csv, grondwaarheid.csv — SYNTHETIC

Made by `riskmap.demo.make_demo_scoring`. A hidden ground truth plants misuse (labs, hemp,
storage) at about 5 % of the candidate premises (non-residential objects on estates and in
the countryside), more likely where opportunity is high, at vacant premises and letterbox
addresses — and some in places the police never looked. Police signals (2021) hit 40 % of
the true cases and 3 % of the others. 300 past inspections of farm buildings and estate
premises (2019–2021) followed old police attention (85 %, near earlier incidents) with
15 % random exploration; their
outcomes come from the truth. `grondwaarheid.csv` is for evaluating plans only and is never
an input of the scoring.
"""


def make_demo_scoring(project_path: str | Path, folder: str | Path, *, seed: int = 2021
                      ) -> dict[str, Path]:
    """Write SYNTHETIC signals, past inspections and the hidden truth for the demo premises."""
    import numpy as np
    import pandas as pd
    import shapely

    from riskmap import config, indicators, io, opportunity, pipeline

    folder = Path(folder)
    project = config.load_project(project_path)
    region = pipeline.load_region(project)
    measures = pipeline.compute_measures(project, region)
    unit = region.labels >= 0
    opp = np.max([opportunity.score_theme(measures[ls.theme], ls, unit=unit)[0]
                  for ls in project.layer_sets], axis=0)
    g = region.grid
    prem = io.read_vector(folder / "bag.gpkg", layer="verblijfsobject", crs=g.crs,
                          where="gebruiksdoel <> 'woonfunctie'",
                          columns=["identificatie", "status", "kvk_inschrijvingen",
                                   "agrarisch"], what="demo premises")
    x, y = indicators.points_of(prem.geometry.values)
    r, c, inside = g.rowcol(x, y)
    o = np.where(inside, opp[np.clip(r, 0, None), np.clip(c, 0, None)], 0.0)
    vacant = (prem["status"] == "Verblijfsobject buiten gebruik").to_numpy()
    letterbox = (prem["kvk_inschrijvingen"].to_numpy(dtype=float) >= 10)
    rng = np.random.default_rng(seed + 7)
    logit = -4.3 + 4.0 * o + 1.6 * vacant + 1.8 * letterbox + rng.normal(0, 0.6, len(prem))
    truth = rng.uniform(size=len(prem)) < 1 / (1 + np.exp(-logit))
    ids = prem["identificatie"].astype(str).to_numpy()
    inc = pd.read_csv(folder / "politie_incidenten.csv")
    # old police attention: incidents within 1 km of the premise
    tree = shapely.STRtree(shapely.points(inc["x"], inc["y"]))
    ip, _ = tree.query(shapely.points(x, y), predicate="dwithin", distance=1000)
    near = np.bincount(ip, minlength=len(prem)).astype(float)
    # signals in 2021: 40 % of the true cases, 3 % of the others
    has_signal = rng.uniform(size=len(prem)) < np.where(truth, 0.4, 0.03)
    n_sig = np.where(has_signal, rng.integers(1, 4, len(prem)), 0)
    sig_ids = np.repeat(ids, n_sig)
    sig_dates = pd.Timestamp("2021-01-01") + pd.to_timedelta(
        rng.integers(0, 365, sig_ids.size), unit="D")
    signals = pd.DataFrame({"premise_id": sig_ids, "datum": sig_dates.strftime("%Y-%m-%d"),
                            "soort": rng.choice(["melding", "tip", "waarneming"], sig_ids.size)})
    # past inspections of farm buildings and estate premises: 85 % follow police attention,
    # 15 % random exploration
    estates = io.read_vector(folder / "ibis_bedrijventerreinen.gpkg", layer="bedrijventerreinen",
                             crs=g.crs, columns=[], what="demo estates")
    on_estate = shapely.contains_xy(shapely.union_all(estates.geometry.values), x, y)
    candidate = on_estate | (prem["agrarisch"].to_numpy(dtype=float) == 1)
    n_insp = 300
    p_att = np.where(candidate, (near + 1) ** 1.5, 0.0)
    p_att /= p_att.sum()
    followed = rng.choice(len(prem), size=int(0.85 * n_insp), replace=False, p=p_att)
    rest = np.setdiff1d(np.flatnonzero(candidate), followed)
    explored = rng.choice(rest, size=n_insp - followed.size, replace=False)
    chosen = np.concatenate([followed, explored])
    found = truth[chosen] & (rng.uniform(size=chosen.size) < 0.9)
    outcome = np.where(found, "bevestigd", np.where(rng.uniform(size=chosen.size) < 0.5,
                                                    "ontkracht", "geen bevindingen"))
    dates = pd.Timestamp("2019-01-01") + pd.to_timedelta(
        rng.integers(0, 3 * 365, chosen.size), unit="D")
    insp = pd.DataFrame({"premise_id": ids[chosen], "datum": dates.strftime("%Y-%m-%d"),
                         "uitkomst": outcome,
                         "verkenning": np.where(np.arange(chosen.size) >= followed.size, "ja",
                                                "nee")}).sort_values("datum")
    out = {}
    for name, frame in (("politie_signalen.csv", signals), ("inspecties.csv", insp),
                        ("grondwaarheid.csv", pd.DataFrame({"premise_id": ids[truth]}))):
        with io.atomic_path(folder / name) as tmp:
            frame.to_csv(tmp, index=False)
        out[name] = folder / name
    return out
