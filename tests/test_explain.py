"""`riskmap explain`: the Algoritmeregister-shaped description of a project, in Dutch Markdown."""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import json
import re
import shutil
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
from conftest import invoke

from riskmap import config, explain

REPO = Path(__file__).resolve().parents[1]

SECTIONS = [
    "## Naam", "## Korte omschrijving", "## Doel en impact", "## Wettelijke grondslag",
    "## Werking", "## Gegevensbronnen", "## Doelgroepen en wat zij zien",
    "## Menselijke tussenkomst", "## Risicobeheer", "## Bekende beperkingen", "## Evaluatie",
    "## Contact en verantwoordelijke", "## Versie",
]


def _plain(markdown: str) -> str:
    """Undo Markdown backslash escapes and HTML entities: the text a reader sees."""
    return html.unescape(re.sub(r"\\(.)", r"\1", markdown))


def _headings(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("#")]


def _digest(project_file: Path, layer_files: list[Path]) -> str:
    h = hashlib.sha256(project_file.read_bytes())
    for f in layer_files:
        h.update(f.read_bytes())
    return h.hexdigest()


def _unescaped_pipes(line: str) -> int:
    return len(re.findall(r"(?<!\\)\|", line))


@pytest.fixture
def real_layers_project(tiny_project):
    """The tiny region with the two layer sets riskmap ships (their sources are absent)."""
    layers = tiny_project.parent / "layers"
    for f in sorted((REPO / "layers").glob("*.toml")):
        shutil.copyfile(f, layers / f.name)
    text = tiny_project.read_text().replace(
        'layers = ["layers/test.toml"]',
        'layers = ["layers/buitengebied.toml", "layers/bedrijventerreinen.toml"]')
    tiny_project.write_text('[project]\nname = "RIEC Proef"\nlegal_basis = "Art. 20 Wpg; '
                            'RIEC-convenant 2024"\norganisation = "RIEC Midden-Nederland"\n'
                            'contact = "analist@riec.example"\n\n' + text)
    return tiny_project


def test_sections_weights_rationales_and_version(real_layers_project):
    project = config.load_project(real_layers_project)
    text = explain.describe(project)
    heads = _headings(text)
    assert heads[0] == "# Algoritmebeschrijving: RIEC Proef"
    assert [h for h in heads if h.startswith("## ")] == SECTIONS
    plain = _plain(text)
    assert "DPIA" in plain and "IAMA" in plain and "startpunt" in plain
    assert "Art. 20 Wpg; RIEC-convenant 2024" in plain
    assert "RIEC Midden-Nederland" in plain and "analist@riec.example" in plain
    # every indicator of the shipped layer sets, read here with tomllib
    files = [REPO / "layers" / "buitengebied.toml", REPO / "layers" / "bedrijventerreinen.toml"]
    n = 0
    for f in files:
        spec = tomllib.loads(f.read_text(encoding="utf-8"))
        theme = f.stem
        assert f"#### Thema `{theme}` — {spec['title']}" in heads
        total = sum(i["weight"] for i in spec["indicator"])
        for ind in spec["indicator"]:
            weight = f"{ind['weight']:g}".replace(".", ",")
            share = f"{100 * ind['weight'] / total:.0f} %"
            line = next(x for x in plain.splitlines() if f"(`{ind['name']}`)" in x
                        and ind["label"] in x)
            assert f"gewicht {weight} ({share} van het thema)" in line, line
            assert f"Onderbouwing: {' '.join(ind['rationale'].split())}" in plain
            n += 1
    assert n == 13
    # the version section: riskmap version and the config hash of project + layer files
    digest = _digest(real_layers_project, [real_layers_project.parent / "layers" / f.name
                                           for f in files])
    assert project.digest == digest
    tail = text[text.index("## Versie"):]
    assert f"riskmap-versie: {version('riskmap')}" in _plain(tail)
    assert f"`{digest}`" in tail
    # sources that are not there are named, not hidden
    assert "bag.gpkg | kandidaat-panden" not in plain  # no scoring in this project
    row = next(x for x in plain.splitlines() if x.startswith("| bag.gpkg |"))
    assert "bestand niet gevonden" in row
    assert "geen back-test beschikbaar" in plain
    # the same project gives the same text (no time stamp)
    assert explain.describe(project) == text


@pytest.mark.filterwarnings("ignore::riskmap.errors.RiskmapWarning")
def test_sources_with_hashes_and_feedback_settings(scoring_project):
    project = config.load_project(scoring_project)
    text = explain.describe(project)
    plain = _plain(text)
    data = scoring_project.parent / "data"
    for name in ("gemeenten.gpkg", "bronnen.gpkg", "licht.tif", "incidenten.csv",
                 "panden.gpkg", "terreinen.gpkg", "signalen.csv", "inspecties.csv"):
        path = data / name
        row = next(x for x in plain.splitlines() if x.startswith(f"| {name} |"))
        assert hashlib.sha256(path.read_bytes()).hexdigest() in row
        assert dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).isoformat(
            timespec="seconds") in row
        assert row.endswith("| nee |")  # the fixtures are not marked synthetic
    assert "bronnen.gpkg | indicator test_afstand_weg, indicator test_dichtheid" in plain
    # scoring features with their weights; the planner's exploration share; k
    assert "**Inschrijvingen op het adres** (`inschrijvingen`): gewicht 2 (40 %)" in plain
    assert "verkenningsplaatsen** (standaard 15 %)" in plain
    assert "k = 5" in plain
    assert "risicokaart staat uit (standaard)" in plain
    assert "Wettelijke grondslag\n\n**Niet opgegeven.**" in text
    # turning outcomes into incidents is named as a risk
    scoring_project.write_text(scoring_project.read_text().replace(
        'k = 5\n', 'k = 5\nregister_outcomes_as_incidents = true\n', 1))
    plain = _plain(explain.describe(config.load_project(scoring_project)))
    assert "**staat aan** in dit project" in plain


def test_names_from_toml_cannot_break_the_document(tiny_project):
    hostile = "Kwaad\\n# Kop | cel <script>alert(1)</script> [klik](javascript:alert(1)) `x` *"
    layer = tiny_project.parent / "layers" / "test.toml"
    layer.write_text(layer.read_text().replace('title = "Test"', f'title = "{hostile}"')
                     .replace('rationale = "test"', f'rationale = "{hostile}"', 1)
                     .replace('label = "Afstand tot weg"', f'label = "{hostile}"'))
    tiny_project.write_text(f'[project]\nname = "{hostile}"\nlegal_basis = "{hostile}"\n'
                            f'organisation = "{hostile}"\n\n' + tiny_project.read_text())
    benign = explain.describe(config.load_project(tiny_project).model_copy(update={
        "project": config.ProjectMeta(name="x", legal_basis="y", organisation="z")}))
    text = explain.describe(config.load_project(tiny_project))
    # the structure is that of the benign document: the same headings, nothing added
    assert [h.split(":")[0].split("—")[0] for h in _headings(text)] == \
        [h.split(":")[0].split("—")[0] for h in _headings(benign)]
    assert not any(line.startswith("# Kop") for line in text.splitlines())
    assert "<script" not in text and "</script" not in text
    assert "[klik](" not in text and "\\[klik\\]" in text
    assert "`x`" not in text
    # table rows keep their columns
    for line in text.splitlines():
        if line.startswith("| "):
            assert _unescaped_pipes(line) in (3, 6), line
    # and the reader still sees the words
    plain = _plain(text)
    assert "Kwaad # Kop | cel <script>alert(1)</script> [klik](javascript:alert(1))" in plain


def test_backtest_figures(tiny_project, tmp_path):
    bt = {"incidents": "inc.csv", "n_train": 300, "n_test": 100, "cell_size": 150.0,
          "train_period": ["2020-01-01", "2021-06-30"],
          "test_period": ["2021-07-01", "2021-12-31"],
          "results": {"riskmap": {"0.05": {"hit_rate": 0.4, "pai": 8.0, "pei": 0.5},
                                  "0.01": {"hit_rate": 0.125, "pai": 12.5, "pei": 0.75},
                                  "auc": 0.8125},
                      "kde": {"0.05": {"hit_rate": 0.25, "pai": 5.0, "pei": 0.3125},
                              "auc": 0.75}}}
    path = tmp_path / "bt.json"
    path.write_text(json.dumps(bt))
    text = explain.describe(config.load_project(tiny_project),
                            backtest=explain.read_backtest(path))
    plain = _plain(text[text.index("## Evaluatie"):text.index("## Contact")])
    assert "| riskmap | 5 % | 0,4 | 8 | 0,5 |" in plain
    assert "| riskmap | 1 % | 0,125 | 12,5 | 0,75 |" in plain
    assert "| kde | 5 % | 0,25 | 5 | 0,312 |" in plain
    assert "AUC): riskmap 0,812, kde 0,75" in plain
    assert hashlib.sha256(path.read_bytes()).hexdigest() in plain
    assert "300 incidenten" in plain and "geen back-test" not in plain


def test_cli_writes_atomically_and_refuses_to_overwrite(tiny_project, tmp_path):
    out = tmp_path / "doc" / "algoritme.md"
    res = invoke("explain", str(tiny_project), "--out", str(out))
    assert res.exit_code == 0, res.output
    assert res.stdout.strip() == str(out)
    assert out.read_text(encoding="utf-8") == explain.describe(config.load_project(tiny_project))
    assert [p.name for p in out.parent.iterdir()] == ["algoritme.md"]  # no temporary left
    res = invoke("explain", str(tiny_project), "--out", str(out))
    assert res.exit_code == 2 and "E-OUTPUT-EXISTS" in res.stderr
    assert invoke("explain", str(tiny_project), "--out", str(out), "--overwrite").exit_code == 0
    res = invoke("explain", str(tiny_project))
    assert res.exit_code == 0 and res.stdout.startswith("# Algoritmebeschrijving: riskmap")
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    res = invoke("explain", str(tiny_project), "--backtest", str(bad))
    assert res.exit_code == 2 and "E-INPUT-READ" in res.stderr
