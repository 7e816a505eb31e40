"""Killing `riskmap run` at any moment leaves every output old or new, never half-written,
and never a complete MANIFEST.json beside files it does not describe."""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest
from conftest import RUN_ALL, invoke, riskmap_subprocess

from riskmap import io

KILLS = 20
SEED = 8


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _tree(out: Path) -> dict[str, Path]:
    return {p.relative_to(out).as_posix(): p for p in sorted(out.rglob("*")) if p.is_file()}


def _start(project: Path, out: Path, log: Path) -> subprocess.Popen:
    # own process group: the kill reaches any helper process the run may start
    with open(log, "wb") as err:
        return riskmap_subprocess("run", str(project), "--out", str(out), "--overwrite",
                                  *RUN_ALL, env={"SOURCE_DATE_EPOCH": "1700000000"},
                                  stdout=subprocess.DEVNULL, stderr=err,
                                  start_new_session=True)


def _complete_run(project: Path, out: Path, log: Path) -> tuple[float, float, float]:
    """Run to the end: its duration, and when (seconds after the start) it replaced its
    first and its last output (the files' modification times)."""
    start, wall = time.monotonic(), time.time()
    proc = _start(project, out, log)
    assert proc.wait(timeout=300) == 0, log.read_text()[-3000:]
    written = [p.stat().st_mtime - wall for p in _tree(out).values()]
    return time.monotonic() - start, min(written), max(written)


def _check(out: Path, expected: dict[str, dict[str, str]], configs: dict[str, str], *,
           when: str) -> dict[str, str]:
    """Every output is some complete run's version; a MANIFEST.json vouches only for what is
    on disk; anything else is a temporary file. Return which version each output is."""
    names = set(expected["0"])
    tree = _tree(out)
    missing = sorted(names - set(tree))
    assert not missing, f"{when}: outputs missing: {missing}"
    version = {}
    for rel in sorted(names):
        sha = _sha(tree[rel])
        found = [c for c, files in expected.items() if files[rel] == sha]
        assert found, f"{when}: {rel} is neither the previous nor the new complete version"
        version[rel] = found[0] if len(found) == 1 else "either"
    others = sorted(set(tree) - names - {io.MANIFEST})
    stray = [r for r in others if r != io.PREVIOUS_MANIFEST and not io.is_temporary(r)]
    assert not stray, f"{when}: files that are neither outputs nor temporary names: {stray}"
    if io.MANIFEST in tree:
        manifest = json.loads(tree[io.MANIFEST].read_text(encoding="utf-8"))
        assert manifest["complete"] is True
        config = configs[manifest["provenance"]["config_sha256"]]
        listed = manifest["files"]
        assert set(listed) == names, f"{when}: the manifest lists {sorted(listed)}"
        wrong = [r for r, e in listed.items() if _sha(tree[r]) != e["sha256"]]
        assert not wrong, f"{when}: MANIFEST.json is present but these files differ: {wrong}"
        stale = [r for r, e in listed.items() if e["sha256"] != expected[config][r]]
        assert not stale, f"{when}: the manifest of configuration {config} lists {stale}"
    return version


@pytest.mark.filterwarnings("ignore::riskmap.errors.RiskmapWarning")
def test_killed_runs_leave_old_or_new_files_and_an_honest_manifest(full_project, tmp_path):
    text = {"0": full_project.read_text(encoding="utf-8")}
    text["1"] = text["0"]  # other classes, k, scoring weight and target: (nearly) every file
    for old, new in (("classes = 5", "classes = 4"), ("k = 5", "k = 6"),
                     ("weight = 2", "weight = 3"), ("baseline = 10", "baseline = 12")):
        assert f"\n{old}\n" in text["1"], old
        text["1"] = text["1"].replace(f"\n{old}\n", f"\n{new}\n", 1)
    assert text["1"] != text["0"]
    out, log = tmp_path / "out", tmp_path / "stderr.txt"
    expected: dict[str, dict[str, str]] = {}
    configs: dict[str, str] = {}
    durations = []
    for config in ("0", "1"):  # run A, then the other configuration, both complete
        full_project.write_text(text[config], encoding="utf-8")
        durations.append(_complete_run(full_project, out, log))
        tree = _tree(out)
        manifest = json.loads(tree.pop(io.MANIFEST).read_text(encoding="utf-8"))
        assert not [r for r in tree if io.is_temporary(r) or r == io.PREVIOUS_MANIFEST]
        expected[config] = {rel: _sha(p) for rel, p in tree.items()}
        configs[manifest["provenance"]["config_sha256"]] = config
    assert set(expected["0"]) == set(expected["1"])
    kinds = {Path(r).suffix for r in expected["0"]}
    assert {".tif", ".gpkg", ".png", ".html", ".xlsx", ".csv"} <= kinds
    changed = [r for r in expected["0"] if expected["0"][r] != expected["1"][r]]
    assert len(changed) >= 0.85 * len(expected["0"]), f"only {changed} differ"

    rng = random.Random(SEED)
    duration, first, last = durations[0]
    mixed = withdrawn = 0
    for i in range(KILLS):
        config = "0" if i % 2 else "1"  # every run changes the files: 1, 0, 1, …
        full_project.write_text(text[config], encoding="utf-8")
        # three kills in four while the files are replaced (the run's workers write them in
        # a burst after the computing), the others at any moment of the run
        delay = (rng.uniform(0.8 * first, last) if rng.random() < 0.75
                 else rng.uniform(0.02, 1.0) * duration)
        proc = _start(full_project, out, log)
        time.sleep(delay)  # the kill timing: the one sleep in this test
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
        version = _check(out, expected, configs,
                         when=f"kill {i + 1} after {delay:.2f} s (configuration {config})")
        mixed += len(set(version.values()) - {"either"}) > 1
        withdrawn += not (out / io.MANIFEST).exists()
    # the kills hit the interesting moments: while files were being replaced
    assert mixed >= 1 and withdrawn >= 1, (mixed, withdrawn)

    # the next complete run clears what the killed ones left, and its manifest is whole
    full_project.write_text(text["0"], encoding="utf-8")
    _complete_run(full_project, out, log)
    version = _check(out, expected, configs, when="after the last complete run")
    assert set(version.values()) <= {"0", "either"}
    leftovers = [r for r in _tree(out) if io.is_temporary(r) or r == io.PREVIOUS_MANIFEST]
    assert not leftovers, leftovers


@pytest.mark.filterwarnings("ignore::riskmap.errors.RiskmapWarning")
def test_resume_after_an_interrupted_run_uses_the_previous_manifest(scoring_project, tmp_path):
    out = tmp_path / "out"
    assert invoke("run", str(scoring_project), "--out", str(out), "--no-progress").exit_code == 0
    # as a killed run leaves it: the manifest withdrawn, one municipality half replaced
    with io.atomic_path(out / "GM9002" / "risk.tif") as tmp:
        tmp.write_bytes(b"another run's file")
    assert not (out / io.MANIFEST).exists() and (out / io.PREVIOUS_MANIFEST).exists()
    (out / "GM9002" / ".risk.gpkg.riskmap-tmp-abcd1234.gpkg-journal").write_bytes(b"half")
    res = invoke("run", str(scoring_project), "--out", str(out), "--resume", "--no-progress")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout[: res.stdout.rindex("}") + 1])["reused"] == ["GM9001"]
    assert not (out / io.PREVIOUS_MANIFEST).exists()
    assert not [p for p in out.rglob("*") if io.is_temporary(p)]
    manifest = json.loads((out / io.MANIFEST).read_text(encoding="utf-8"))
    assert _sha(out / "GM9002" / "risk.tif") == manifest["files"]["GM9002/risk.tif"]["sha256"]
