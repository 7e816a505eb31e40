"""The partitioned engine (one municipality at a time, on Dask) equals the single-process run."""

from __future__ import annotations

import datetime as dt
import os

import numpy as np
import pytest
from outputs import assert_same_outputs

from riskmap import clock, config, hotspots, pipeline
from riskmap.engine import DaskEngine, LocalEngine, get_engine, partitions
from riskmap.errors import ConfigError, InputError, RiskmapError


@pytest.fixture
def project(scoring_project):
    return config.load_project(scoring_project)


def test_partitions_are_the_municipality_windows(project):
    region = pipeline.load_region(project)
    parts = partitions(region)
    assert [p.code for p in parts] == region.codes
    for p in parts:
        assert (p.rows, p.cols) == region.window(p.code)
        rows, cols = p.widened(3, region.grid.shape)
        assert rows.start == max(p.rows.start - 3, 0) and cols.stop == min(
            p.cols.stop + 3, region.grid.width)


def test_partitioned_measures_equal_the_region_measures(project):
    region = pipeline.load_region(project)
    whole = pipeline.compute_measures(project, region)
    parts = pipeline.compute_measures(project, region, engine=LocalEngine(partitioned=True))
    cells = region.labels >= 0
    for theme, arrays in whole.items():
        for name, arr in arrays.items():
            for code in region.codes:  # every municipality's cells, as its map uses them
                rows, cols = region.window(code)
                mask = region.mask(code)
                np.testing.assert_array_equal(parts[theme][name][rows, cols][mask],
                                              arr[rows, cols][mask], err_msg=name)
            assert np.isfinite(parts[theme][name][cells]).sum() == np.isfinite(
                arr[cells]).sum()


def test_partitioned_risk_surface_equals_the_region_surface(project):
    region = pipeline.load_region(project)
    surf, _ = pipeline.risk_surface(project, region)
    psurf, _ = pipeline.risk_surface(project, region, engine=LocalEngine(partitioned=True))
    covered = np.zeros(region.grid.shape, dtype=bool)
    for p in partitions(region):
        covered[p.rows, p.cols] = True
    np.testing.assert_array_equal(psurf.density[covered], surf.density[covered])
    np.testing.assert_array_equal(psurf.score, surf.score)
    np.testing.assert_array_equal(psurf.gi.z, surf.gi.z)
    np.testing.assert_array_equal(psurf.gi.bin, surf.gi.bin)
    assert np.isnan(psurf.density[~covered]).all()


def test_gistar_window_with_global_moments_equals_esda_lattice(rng=None):
    """A window of a lattice, widened by the band, gives the whole lattice's z in its core."""
    rng = np.random.default_rng(7)
    x = rng.poisson(1.0, (60, 70)).astype(float)
    x[20:25, 30:36] += 6
    mask = np.ones_like(x, dtype=bool)
    mask[:5, :8] = False
    whole = hotspots.gistar(x, cell_size=100, radius_m=300, mask=mask)
    moments = hotspots.gistar_moments(x, mask=mask)
    rows, cols = slice(12, 40), slice(20, 55)  # core; band = 3 cells
    wide = slice(9, 43), slice(17, 58)
    z = hotspots.gistar_partition(x[wide], mask=mask[wide], cell_size=100, radius_m=300,
                                  moments=moments, max_half=(59, 69))
    np.testing.assert_allclose(z[3:-3, 3:-3], whole.z[rows, cols], rtol=0, atol=1e-12)
    # without the halo the edge cells lose neighbours and differ
    z0 = hotspots.gistar_partition(x[rows, cols], mask=mask[rows, cols], cell_size=100,
                                   radius_m=300, moments=moments, max_half=(59, 69))
    assert not np.allclose(z0, whole.z[rows, cols])
    with pytest.raises(InputError) as e:
        hotspots.gistar_moments(np.ones((5, 5)))
    assert e.value.code == "E-HOTSPOT-CONSTANT"


def test_get_engine_refuses_bad_choices():
    with pytest.raises(ConfigError):
        get_engine("spark")
    with pytest.raises(ConfigError):
        get_engine("local", scheduler="tcp://127.0.0.1:1")
    with pytest.raises(ConfigError) as e:
        DaskEngine("tcp://127.0.0.1:9", timeout=1)
    assert e.value.code == "E-ENGINE-SCHEDULER" and "tcp://127.0.0.1:9" in str(e.value)


def test_errors_keep_their_code_across_processes():
    import pickle

    err = pickle.loads(pickle.dumps(InputError("kapot", code="E-INPUT-X")))
    assert isinstance(err, InputError) and err.code == "E-INPUT-X" and str(err) == "kapot"
    assert isinstance(err, RiskmapError)


@pytest.mark.filterwarnings("ignore::riskmap.errors.RiskmapWarning")
def test_dask_run_equals_single_process_run(project, tmp_path, monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)  # each run its own time stamp
    one = tmp_path / "local"
    pipeline.run_project(project, one, capacity=6, period="2022-Q1")
    two = tmp_path / "dask"
    with DaskEngine(workers=2) as eng:
        assert len(eng.client.scheduler_info()["workers"]) == 2
        _, summary = pipeline.run_project(project, two, capacity=6, period="2022-Q1",
                                          engine=eng)
    assert summary["municipalities"] == 2
    assert_same_outputs(one, two)


def test_cli_engine_options(scoring_project, tmp_path):
    from conftest import invoke

    res = invoke("run", str(scoring_project), "--out", str(tmp_path / "x"),
                 "--scheduler", "tcp://127.0.0.1:9", "--no-progress")
    assert res.exit_code == 2
    assert "E-ENGINE" in res.output and "--engine dask" in res.output
    assert "Traceback" not in res.output
    assert not (tmp_path / "x").exists()


@pytest.mark.filterwarnings("ignore::riskmap.errors.RiskmapWarning")
def test_dask_run_is_byte_identical_with_one_time_stamp(project, tmp_path, monkeypatch):
    """With SOURCE_DATE_EPOCH the two engines write the very same bytes, MANIFEST included."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1800000000")
    one, two = tmp_path / "local", tmp_path / "dask"
    pipeline.run_project(project, one, audience="police")
    with DaskEngine(workers=2) as eng:
        pipeline.run_project(project, two, audience="police", engine=eng)
    files = sorted(p.relative_to(one) for p in one.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(two) for p in two.rglob("*") if p.is_file())
    differ = [str(f) for f in files if (one / f).read_bytes() != (two / f).read_bytes()]
    assert differ == []


@pytest.mark.filterwarnings("ignore::riskmap.errors.RiskmapWarning")
def test_forked_writers_write_the_same_bytes(project, tmp_path, monkeypatch):
    """--engine local with 2 worker processes: the same files, byte for byte, as in-process,
    and every file dated by the one run clock (not the time each worker wrote it)."""
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    one, two = tmp_path / "serial", tmp_path / "forked"
    with clock.at(dt.datetime(2027, 3, 1, 12, tzinfo=dt.UTC)):
        pipeline.run_project(project, one, audience="police", capacity=6, period="2022-Q1")
    eng = LocalEngine(workers=2)
    assert eng.parallel and not eng.partitioned
    with clock.at(dt.datetime(2027, 3, 1, 12, tzinfo=dt.UTC)):
        pipeline.run_project(project, two, audience="police", capacity=6, period="2022-Q1",
                             engine=eng)
    files = sorted(p.relative_to(one) for p in one.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(two) for p in two.rglob("*") if p.is_file())
    differ = [str(f) for f in files if (one / f).read_bytes() != (two / f).read_bytes()]
    assert differ == []


def _fails_on_two(i: int) -> int:
    if i == 2:
        raise InputError("item 2 is kapot", code="E-INPUT-X")
    return os.getpid()


def test_forked_map_keeps_order_and_raises_the_items_error():
    eng = LocalEngine(workers=2)
    pids = eng.map(lambda i: (i, os.getpid()), list(range(6)))
    assert [i for i, _ in pids] == list(range(6))
    assert os.getpid() not in {p for _, p in pids}  # the items ran in other processes
    with pytest.raises(InputError, match="item 2 is kapot") as e:
        eng.map(_fails_on_two, [0, 1, 2, 3])
    assert e.value.code == "E-INPUT-X"
    assert LocalEngine(workers=1).map(lambda i: os.getpid(), [0, 1]) == [os.getpid()] * 2


def _warns(i: int) -> int:
    import warnings

    from riskmap.errors import RiskmapWarning

    warnings.warn(f"let op {i}", RiskmapWarning, stacklevel=1)
    return i


def test_forked_items_warnings_reach_the_caller():
    from riskmap.errors import RiskmapWarning

    with pytest.warns(RiskmapWarning) as caught:
        assert LocalEngine(workers=2).map(_warns, [0, 1, 2]) == [0, 1, 2]
    assert sorted(str(w.message) for w in caught) == ["let op 0", "let op 1", "let op 2"]
