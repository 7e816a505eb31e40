"""Risk maps: surfaces, automatic settings, audiences (files read back), CLI and back-tests."""

from __future__ import annotations

import json
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import rasterio
import shapely
from conftest import NOORD, ZUID, incidents_frame, invoke
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import CRS

from riskmap import risk
from riskmap.grid import Grid
from riskmap.incidents import Incidents

RD = CRS.from_epsg(28992)
def _run(*args):
    return invoke(*args, "--no-progress") if args[0] == "risk" else invoke(*args)


def _inc(df):
    return Incidents(x=df.x.to_numpy(float), y=df.y.to_numpy(float),
                     date=pd.to_datetime(df.datum).to_numpy(), weight=np.ones(len(df)),
                     type=df.soort.to_numpy(), crs=RD)


def test_surface_decay_weights_and_counts_by_hand():
    df = incidents_frame(n=60)
    inc = _inc(df)
    grid = Grid.from_bounds(149_000, 446_000, 155_000, 455_000, cell_size=100)
    mask = np.ones(grid.shape, dtype=bool)
    st = risk.RiskSettings(bandwidth_m=0.0, half_life_days=100.0, window_days=None,
                           reference="2022-01-01")
    surf = risk.surface(inc, grid, mask=mask, settings=st)
    age = (pd.Timestamp("2022-01-01") - pd.to_datetime(df.datum)).dt.days.to_numpy()
    w = 0.5 ** (age / 100.0)
    r, c, _ = grid.rowcol(inc.x, inc.y)
    expected = np.zeros(grid.shape)
    np.add.at(expected, (r, c), w)
    np.testing.assert_allclose(surf.weighted, expected, rtol=1e-9)
    np.testing.assert_allclose(surf.density, expected / 0.01, rtol=1e-9)  # per km²
    assert surf.counts.sum() == len(df)
    assert np.nanmax(surf.score) == 1.0 and np.nanmin(surf.score) == 0.0


def test_window_and_reference_select_the_past_only():
    inc = _inc(incidents_frame(n=100))
    grid = Grid.from_bounds(149_000, 446_000, 155_000, 455_000, cell_size=100)
    st = risk.RiskSettings(bandwidth_m=0, window_days=90, reference="2021-01-01")
    surf = risk.surface(inc, grid, mask=np.ones(grid.shape, bool), settings=st)
    expected = ((inc.date >= np.datetime64("2020-10-03")) &
                (inc.date < np.datetime64("2021-01-01"))).sum()
    assert surf.n_incidents == expected == surf.counts.sum()


def test_choose_settings_uses_training_only_and_follows_parsimony():
    inc = _inc(incidents_frame(n=600))
    grid = Grid.from_bounds(149_000, 446_000, 155_000, 455_000, cell_size=100)
    mask = np.ones(grid.shape, bool)
    st, table = risk.choose_settings(inc, grid, mask=mask, folds=2)
    assert table["chosen"].sum() == 1
    chosen = table[table["chosen"]].iloc[0]
    best = table["pei_mean"].max()
    near = table[table["pei_mean"] >= best * 0.99]
    assert chosen["pei_mean"] >= best * 0.99
    assert chosen["complexity"] == near["complexity"].min()
    # Gaussian clusters of 200 m: a kernel beats raw counts on held-out months
    assert st.bandwidth_m > 0
    assert pd.Timestamp(st.reference) == pd.Timestamp(inc.date.max()).normalize() + \
        pd.Timedelta(days=1)


def _random_incidents(rng, n, grid, kind):
    """Incidents over two years: clustered, spread, or a few far-apart groups; some outside."""
    xmin, ymin, xmax, ymax = grid.bounds
    if kind == "spread":
        x, y = rng.uniform(xmin - 300, xmax + 300, n), rng.uniform(ymin - 300, ymax + 300, n)
    else:
        k = 3 if kind == "clustered" else 8
        cx, cy = rng.uniform(xmin, xmax, k), rng.uniform(ymin, ymax, k)
        which = rng.integers(0, k, n)
        sd = 150 if kind == "clustered" else 40
        x, y = cx[which] + rng.normal(0, sd, n), cy[which] + rng.normal(0, sd, n)
    dates = (np.datetime64("2020-01-01") + rng.integers(0, 730, n).astype("timedelta64[D]")
             ).astype("datetime64[ns]")
    weight = rng.choice([1.0, 0.5, 2.0], n) if rng.uniform() < 0.5 else np.ones(n)
    return Incidents(x=x, y=y, date=dates, weight=weight, type=np.full(n, "a", dtype=object),
                     crs=RD)


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), kind=st.sampled_from(["clustered", "spread", "groups"]),
       n=st.integers(30, 400), cell_size=st.sampled_from([25.0, 100.0]),
       share=st.sampled_from([0.01, 0.05, 0.2]))
def test_choose_settings_table_equals_the_dense_search(seed, kind, n, cell_size, share):
    """Every PEI* of the candidate table, the order and the choice equal those of the dense
    search of 200830a (dense kernel density and pei_at per candidate), bit for bit."""
    from reference_risk import choose_settings_dense

    rng = np.random.default_rng(seed)
    grid = Grid.from_bounds(149_000, 446_000, 155_000, 452_000 if cell_size == 25 else 455_000,
                            cell_size=cell_size)
    inc = _random_incidents(rng, n, grid, kind)
    mask = rng.uniform(size=grid.shape) < 0.9
    mask[:, : grid.width // 5] = False  # a study area smaller than the grid
    kwargs = {"mask": mask, "area_share": share, "seed": int(seed % 5)}
    if cell_size == 25:  # keep the dense reference quick on 58 k cells
        kwargs.update(half_lives=[None, 90.0], windows=[None, 180.0])
    got_st, got = risk.choose_settings(inc, grid, **kwargs)
    want_st, want = choose_settings_dense(inc, grid, **kwargs)
    assert got_st == want_st
    pd.testing.assert_frame_equal(got, want, check_exact=True)


def test_density_cells_equal_the_dense_density():
    rng = np.random.default_rng(3)
    grid = Grid.from_bounds(149_000, 446_000, 155_000, 452_000, cell_size=25)
    inc = _random_incidents(rng, 200, grid, "groups")
    weights = np.stack([rng.uniform(0, 2, len(inc)), np.ones(len(inc)),
                        np.where(rng.uniform(size=len(inc)) < 0.5, 0.0, 0.25)])
    for bw in (0.0, 25.0, 100.0):
        cells, values = risk._density_cells(inc.x, inc.y, weights, grid, bw)  # one batch
        assert np.unique(cells).size == cells.size
        for w, got in zip(weights, values, strict=True):
            dense = risk.density_of(inc.x, inc.y, w, grid, bw, oversample=1)
            np.testing.assert_array_equal(got, dense.ravel()[cells])
            rest = np.ones(dense.size, dtype=bool)
            rest[cells] = False
            assert not dense.ravel()[rest].any()


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 150),
       cell_size=st.sampled_from([25.0, 100.0]), on_lattice=st.booleans(),
       radius_cells=st.sampled_from([1.5, 2.0, 3.7, 8.0, 12.0]))
def test_support_equals_the_density_count(seed, n, cell_size, on_lattice, radius_cells):
    """The incident-by-incident count equals indicators.density's count (200830a), also for
    incidents exactly at the radius, outside the grid, or reaching no cell."""
    from reference_risk import support_dense

    rng = np.random.default_rng(seed)
    grid = Grid.from_bounds(150_000, 450_000, 150_000 + cell_size * rng.integers(3, 60),
                            450_000 + cell_size * rng.integers(3, 60), cell_size=cell_size)
    xmin, ymin, xmax, ymax = grid.bounds
    x = rng.uniform(xmin - 600, xmax + 600, n)
    y = rng.uniform(ymin - 600, ymax + 600, n)
    if on_lattice:  # on cell centres and edges: distances exactly at the radius
        x, y = np.round(x / (cell_size / 2)) * cell_size / 2, np.round(y / (cell_size / 2)) * \
            cell_size / 2
    inc = Incidents(x=x, y=y, date=np.zeros(n, "datetime64[ns]"), weight=np.ones(n),
                    type=np.full(n, "a", dtype=object), crs=RD)
    radius = radius_cells * cell_size
    np.testing.assert_array_equal(risk.support(inc, grid, radius_m=radius),
                                  support_dense(inc, grid, radius_m=radius))


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 300),
       bandwidth=st.sampled_from([0.0, 100.0, 250.0]))
def test_emerging_labels_equal_the_stack_version(seed, n, bandwidth):
    """One period at a time on the study cells: the labels of the whole stack (200830a)."""
    import warnings

    from reference_risk import emerging_dense

    rng = np.random.default_rng(seed)
    grid = Grid.from_bounds(149_000, 446_000, 153_000, 450_000, cell_size=100)
    inc = _random_incidents(rng, n, grid, "groups")
    mask = rng.uniform(size=grid.shape) < 0.85
    st_ = risk.RiskSettings(bandwidth_m=bandwidth, reference="2022-01-01")
    with warnings.catch_warnings():  # periods without incidents warn in both
        warnings.simplefilter("ignore")
        got, _ = risk.emerging(inc, grid, mask=mask, settings=st_)
        want = emerging_dense(inc, grid, mask=mask, settings=st_)
    assert got.dtype == want.dtype == object
    np.testing.assert_array_equal(got, want)


def _support(df, x, y, radius):
    d = np.hypot(x[..., None] - df.x.to_numpy(), y[..., None] - df.y.to_numpy())
    return (d <= radius).sum(-1)


@pytest.mark.parametrize("audience", ["partners", "public"])
def test_partner_outputs_hold_classes_only_and_no_small_groups(risk_project, tmp_path,
                                                               audience):
    out = tmp_path / "out"
    res = _run("risk", str(risk_project), "--out", str(out), "--audience", audience)
    assert res.exit_code == 0, res.output
    df = pd.read_csv(risk_project.parent / "data" / "incidenten.csv")
    for code, poly in (("GM9001", NOORD), ("GM9002", ZUID)):
        cells = gpd.read_file(out / code / "risk.gpkg", layer="cells")
        assert list(cells.columns) == ["cell_id", "statcode", "klasse", "geometry"]
        assert shapely.union_all(cells.geometry.values).covers(poly)
        # geometry: grid squares only, no incident coordinates
        xy = shapely.get_coordinates(cells.geometry.values)
        assert np.all(np.mod(xy, 100) == 0)
        meta = pyogrio.read_info(out / code / "risk.gpkg", layer="cells")["layer_metadata"]
        text = json.dumps(meta)
        assert "n_incidents" not in text and "candidates" not in text
        assert meta["RISKMAP_AUDIENCE"] == audience and '"k": 5' in meta["RISKMAP_RISK"]
        with rasterio.open(out / code / "risk.tif") as ds:
            assert ds.count == 1 and ds.dtypes[0] == "uint8"
            band = ds.read(1)
            assert set(np.unique(band)) <= set(range(0, 6))
            assert "n_incidents" not in json.dumps(ds.tags())
        # independently: every cell above the lowest class rests on >= k incidents within
        # the suppression radius (settings are in the provenance)
        settings = json.loads(meta["RISKMAP_RISK"])["settings"]
        radius = max(2 * settings["bandwidth_m"], 150.0)
        c = shapely.centroid(cells.geometry.values)
        n = _support(df, shapely.get_x(c), shapely.get_y(c), radius)
        high = cells["klasse"].to_numpy() > 1
        assert high.any()
        assert (n[high] >= 5).all()
        # and the three isolated incidents do not show
        for x, y in [(153_700, 453_000), (150_300, 450_400), (152_600, 447_300)]:
            hit = shapely.contains_xy(cells.geometry.values, x, y)
            if hit.any():
                assert cells.loc[hit, "klasse"].max() == 1


def test_police_output_has_detail(risk_project, tmp_path):
    out = tmp_path / "out"
    res = _run("risk", str(risk_project), "--out", str(out), "--audience", "police")
    assert res.exit_code == 0, res.output
    cells = gpd.read_file(out / "GM9001" / "risk.gpkg", layer="cells")
    assert {"score", "klasse", "dichtheid", "aantal", "gi_z", "gi_p", "gi_bin", "trend"} <= set(
        cells.columns)
    assert cells["score"].between(0, 1).all()
    assert set(cells["trend"]) <= set(risk.TREND_LABELS.values())
    assert cells["trend"].str.endswith("hotspot").any()
    with rasterio.open(out / "GM9001" / "risk.tif") as ds:
        assert ds.descriptions[:2] == ("score", "klasse")
        assert ds.transform.c % 100 == 0 and ds.transform.f % 100 == 0


def test_k_below_three_is_refused_for_partners(risk_project, tmp_path):
    risk_project.write_text(risk_project.read_text().replace("k = 5", "k = 2"))
    res = _run("risk", str(risk_project), "--out", str(tmp_path / "o"), "--audience",
               "partners")
    assert res.exit_code == 2 and "E-PRIVACY-K" in res.stderr
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("change, code, text", [
    (("crs = \"EPSG:28992\"\n", ""), "E-CONFIG", "need crs"),
    (None, "E-INCIDENTS-DATE", "dates are not parseable"),
    (("type_column = \"soort\"", "type_column = \"soort\"\ntypes = [\"xtc\"]"),
     "E-INCIDENTS-EMPTY", "no incidents in the period"),
    (("x_column = \"x\"\ny_column = \"y\"", "x_column = \"y\"\ny_column = \"x\""),
     "E-CRS-BOUNDS", "outside the area of use"),
])
def test_bad_incident_input_exit_2_nothing_written(risk_project, tmp_path, change, code, text):
    if change is None:
        csv = risk_project.parent / "data" / "incidenten.csv"
        df = pd.read_csv(csv)
        df.loc[3, "datum"] = "32-01-2021"
        df.to_csv(csv, index=False)
    else:
        risk_project.write_text(risk_project.read_text().replace(*change))
    out = tmp_path / "out"
    res = _run("risk", str(risk_project), "--out", str(out))
    assert res.exit_code == 2, res.output
    assert code in res.stderr and text in res.stderr and "Traceback" not in res.stderr
    assert not out.exists()


def test_ready_police_layer(tiny_project, tmp_path):
    polys = gpd.GeoDataFrame({"klasse": [1, 3, 5]}, geometry=[
        shapely.box(150_000, 447_000, 154_500, 454_100), shapely.box(151_000, 451_000,
                                                                   152_000, 452_000),
        shapely.box(152_500, 448_000, 153_500, 449_000)], crs=RD)
    polys.to_file(tiny_project.parent / "data" / "politie_risico.gpkg")
    tiny_project.write_text(tiny_project.read_text() + '\n[risk]\nlayer = { file = '
                            '"data/politie_risico.gpkg", column = "klasse" }\n')
    out = tmp_path / "out"
    res = _run("risk", str(tiny_project), "--out", str(out), "--audience", "partners")
    assert res.exit_code == 0, res.output
    cells = gpd.read_file(out / "GM9001" / "risk.gpkg", layer="cells")
    c = shapely.centroid(cells.geometry.values)
    inside5 = shapely.contains_xy(shapely.box(151_000, 451_000, 152_000, 452_000),
                                  shapely.get_x(c), shapely.get_y(c))
    assert cells.loc[inside5, "klasse"].min() > cells.loc[~inside5, "klasse"].median()


# ------------------------------------------------------------------ back-tests on real data

CINCINNATI = ["data/incidents/cincinnati_burglary.csv.gz", "--date-col", "offense_date",
              "--lon-col", "longitude", "--lat-col", "latitude", "--split", "2018-01-01"]
VANCOUVER = ["data/incidents/vancouver_thefts.csv.gz", "--date-col",
             "YEAR,MONTH,DAY,HOUR,MINUTE", "--x-col", "X", "--y-col", "Y", "--crs",
             "EPSG:32610", "--split", "2020-10-01", "--area",
             "data/incidents/vancouver_neighbourhoods.geojson"]


@pytest.mark.filterwarnings("ignore::riskmap.errors.RiskmapWarning")
@pytest.mark.parametrize("args, crs", [(CINCINNATI, "EPSG:32616"), (VANCOUVER, "EPSG:32610")])
def test_backtest_on_real_data_riskmap_at_least_as_good(args, crs, tmp_path):
    from riskmap.evaluate import evaluate  # noqa: F401  (the metrics under test elsewhere)

    out = tmp_path / "bt.json"
    res = _run("backtest", *args, "--cell-size", "150", "--json", str(out))
    assert res.exit_code == 0, res.output
    d = json.loads(out.read_text())
    assert d["crs"] == crs and d["cell_size"] == 150
    assert {"n_train", "n_test", "cells", "results"} <= set(d)
    for m in ("riskmap", "counts", "kde"):
        for key in ("0.01", "0.05", "0.10", "0.20"):
            assert {"hit_rate", "pai", "pei"} <= set(d["results"][m][key])
        assert 0 < d["results"][m]["auc"] <= 1
    pei = {m: d["results"][m]["0.05"]["pei"] for m in ("riskmap", "counts", "kde")}
    assert pei["riskmap"] >= max(pei["counts"], pei["kde"]) - 1e-12
    assert "why" in d["results"]["riskmap"]["settings"]
    prov = d["provenance"]
    assert prov["riskmap_version"] and len(next(iter(prov["inputs"].values()))["sha256"]) == 64
    assert out.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"
    assert math.isfinite(d["results"]["riskmap"]["0.05"]["pai"])


def test_validate_reads_theincidents_frame(risk_project):
    res = _run("validate", str(risk_project))
    assert res.exit_code == 0, res.output
    assert "risk: 403 incidents from 2020-" in res.stdout


def test_ready_police_raster_layer(tiny_project, tmp_path):
    from rasterio.transform import from_origin

    data = np.ones((90, 60), dtype="float32")
    data[20:30, 10:20] = 9.0  # a hot block around x 151 000-152 000, y 452 000-453 000
    with rasterio.open(tiny_project.parent / "data" / "risico.tif", "w", driver="GTiff",
                       width=60, height=90, count=1, dtype="float32", crs="EPSG:28992",
                       transform=from_origin(150_000, 455_000, 100, 100)) as ds:
        ds.write(data, 1)
    tiny_project.write_text(tiny_project.read_text() + '\n[risk]\nlayer = { file = '
                            '"data/risico.tif" }\n')
    out = tmp_path / "out"
    res = _run("risk", str(tiny_project), "--out", str(out), "--audience", "public")
    assert res.exit_code == 0, res.output
    cells = gpd.read_file(out / "GM9001" / "risk.gpkg", layer="cells")
    c = shapely.centroid(cells.geometry.values)
    hot = shapely.contains_xy(shapely.box(151_000, 452_000, 152_000, 453_000),
                              shapely.get_x(c), shapely.get_y(c))
    assert (cells.loc[hot, "klasse"] == cells["klasse"].max()).all()


@pytest.mark.parametrize("args, code", [
    (["--x-col", "x", "--y-col", "y"], "E-CRS-MISSING"),
    (["--x-col", "x", "--y-col", "y", "--crs", "EPSG:28992", "--split", "2030-01-01"],
     "E-INCIDENTS-EMPTY"),
])
def test_backtest_bad_input(risk_project, tmp_path, args, code):
    csv = risk_project.parent / "data" / "incidenten.csv"
    base = [str(csv), "--date-col", "datum"]
    if "--split" not in args:
        args = [*args, "--split", "2021-01-01"]
    out = tmp_path / "bt.json"
    res = _run("backtest", *base, *args, "--json", str(out))
    assert res.exit_code == 2 and code in res.stderr and "Traceback" not in res.stderr
    assert not out.exists()
