"""Project and layer files: strict schema, every problem reported at once with where and fix."""

from __future__ import annotations

import pytest
from conftest import LAYERS_TOML, write

from riskmap.config import load_layer_set, load_project
from riskmap.errors import ConfigError

ONE = """\
[[indicator]]
name = "afstand_afrit"
label = "Afstand tot afrit"
source = { file = "nwb.gpkg", layer = "wegvakken" }
measure = "distance"
transform = { method = "decay", influence_m = 5000 }
direction = "lower"
weight = 0.2
rationale = "r"
"""


def test_valid_layer_set(tmp_path):
    ls = load_layer_set(write(tmp_path / "buiten-gebied.toml", LAYERS_TOML))
    assert ls.theme == "buiten_gebied"
    assert [i.measure for i in ls.indicator] == ["distance", "density", "coverage", "count",
                                                  "attribute", "raster"]
    assert ls.indicator[0].transform.influence_m == 2000
    assert ls.indicator[1].source.where == "soort = 'a'"


def test_repo_layer_sets_are_valid():
    from riskmap.demo import LAYERS_DIR

    sets = [load_layer_set(p) for p in sorted(LAYERS_DIR.glob("*.toml"))]
    assert {s.theme for s in sets} >= {"buitengebied", "bedrijventerreinen"}
    for s in sets:
        for ind in s.indicator:
            assert ind.label and ind.rationale and "Bron" in ind.rationale


def test_unknown_key_suggests_the_right_one(tmp_path):
    p = write(tmp_path / "l.toml", ONE.replace("weight = 0.2", "wieght = 0.2"))
    with pytest.raises(ConfigError) as e:
        load_layer_set(p)
    text = str(e.value)
    assert "[[indicator]] #1 (afstand_afrit)" in text
    assert "unknown key 'wieght'" in text and "did you mean 'weight'" in text
    assert "E-CONFIG-KEY" in {p.code for p in e.value.problems}


def test_unknown_measure_lists_choices(tmp_path):
    p = write(tmp_path / "l.toml", ONE.replace('"distance"', '"afstand"'))
    with pytest.raises(ConfigError, match="measure = 'afstand'.*'distance'") as e:
        load_layer_set(p)
    assert e.value.code == "E-CONFIG-MEASURE"


@pytest.mark.parametrize("weight", ["-0.5", "0"])
def test_negative_or_all_zero_weights(tmp_path, weight):
    p = write(tmp_path / "l.toml", ONE.replace("weight = 0.2", f"weight = {weight}"))
    with pytest.raises(ConfigError, match="weight") as e:
        load_layer_set(p)
    assert e.value.code in {"E-CONFIG-WEIGHT", "E-CONFIG-VALUE"}


def test_all_problems_reported_together(tmp_path):
    text = ONE + ONE.replace("afstand_afrit", "tweede").replace('"distance"', '"density"')
    text = text.replace("rationale = \"r\"\n", "", 1)
    p = write(tmp_path / "l.toml", text)
    with pytest.raises(ConfigError) as e:
        load_layer_set(p)
    msg = str(e.value)
    assert "required key 'rationale' is missing" in msg
    assert "[[indicator]] #2 (tweede)" in msg and "needs radius_m" in msg
    assert len(e.value.problems) == 2


def test_parameter_of_another_measure_is_refused(tmp_path):
    p = write(tmp_path / "l.toml", ONE.replace("weight = 0.2", "weight = 0.2\nradius_m = 50"))
    with pytest.raises(ConfigError, match="radius_m does not apply to measure 'distance'"):
        load_layer_set(p)


def test_decay_needs_lower_direction(tmp_path):
    p = write(tmp_path / "l.toml", ONE.replace('"lower"', '"higher"'))
    with pytest.raises(ConfigError, match='decay .* needs direction = "lower"'):
        load_layer_set(p)


def test_toml_syntax_error_names_the_line(tmp_path):
    p = write(tmp_path / "l.toml", ONE.replace('name = "afstand_afrit"', "name = afstand_afrit"))
    with pytest.raises(ConfigError, match=r"TOML syntax error.*line 2") as e:
        load_layer_set(p)
    assert e.value.code == "E-CONFIG-TOML"


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="file not found") as e:
        load_layer_set(tmp_path / "nope.toml")
    assert e.value.code == "E-CONFIG-NOTFOUND"


def test_project_collects_problems_of_project_and_layer_sets(tmp_path):
    write(tmp_path / "layers" / "a.toml", ONE.replace("weight = 0.2", "weight = -1"))
    p = write(tmp_path / "project.toml", """\
        [region]
        municipalities = "g.geojson"
        cell_size = 0
        kleur = "rood"

        [opportunity]
        layers = ["layers/a.toml", "layers/missing.toml"]
        normalise = "gemeente"
        """)
    with pytest.raises(ConfigError) as e:
        load_project(p)
    msg = str(e.value)
    assert "[region]" in msg and "cell_size" in msg
    assert "unknown key 'kleur'" in msg
    assert "normalise = 'gemeente'" in msg
    # the layer sets are only read once the project table itself is valid
    fixed = p.read_text().replace("cell_size = 0", "cell_size = 100").replace(
        'kleur = "rood"\n', "").replace('"gemeente"', '"municipality"')
    p.write_text(fixed)
    with pytest.raises(ConfigError) as e:
        load_project(p)
    msg = str(e.value)
    assert "a.toml [[indicator]] #1 (afstand_afrit)" in msg and "weight" in msg
    assert "missing.toml: file not found" in msg


def test_project_resolves_paths_relative_to_itself(tiny_project):
    project = load_project(tiny_project)
    assert project.municipalities_path == (tiny_project.parent / "data" / "gemeenten.gpkg")
    assert project.data_dir == tiny_project.parent / "data"
    assert len(project.digest) == 64
    assert project.layer_sets[0].theme == "test"


def test_breaks_must_rise_within_unit_interval(tmp_path):
    write(tmp_path / "layers" / "a.toml", ONE)
    p = write(tmp_path / "project.toml", """\
        [region]
        municipalities = "g.geojson"
        [opportunity]
        layers = ["layers/a.toml"]
        breaks = [0.5, 0.2, 1.5]
        """)
    with pytest.raises(ConfigError, match="breaks must rise strictly"):
        load_project(p)
