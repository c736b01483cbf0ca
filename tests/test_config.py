"""Config validation: malformed files name the file, key path and line, and suggest a fix."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from config.loader import ConfigError, load_config
from config.paths import DEMO_CONFIG, PROJECT_ROOT


@pytest.fixture
def config_copy(tmp_path) -> Path:
    """A copy of the demo config folder that a test may break."""
    folder = tmp_path / "cfg"
    shutil.copytree(DEMO_CONFIG.parent, folder)
    return folder / "district.yaml"


def _break(path: Path, old: str, new: str, count: int = 1) -> int:
    """Replace text in the file; return the 1-based line of the first change."""
    text = path.read_text(encoding="utf-8")
    assert old in text, f"test setup: {old!r} not in the demo config"
    line = text[: text.index(old)].count("\n") + 1
    path.write_text(text.replace(old, new, count), encoding="utf-8")
    return line


def _problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return caught.value.problems


def test_demo_config_is_valid(demo_cfg):
    assert len(demo_cfg.cameras) == 9  # eight synthetic clips and one optional real footage
    rules = {r.id: r for r in demo_cfg.rules}
    pavement = next(c for c in demo_cfg.cameras if c.id == "cam-09")
    assert {rules[z.rule].kind for z in pavement.zones} == {"street_vending", "bike_parking"}
    assert [len(z.bays) for z in pavement.zones] == [0, 1]  # the bicycle bay on the pavement
    routed = {(r.category, r.unit_type) for r in demo_cfg.routing if r.area == "*"}
    assert {("street_vending", "citymgmt"), ("bike_parking", "gridworker")} <= routed
    assert [c.id for c in demo_cfg.cameras if c.optional] == ["cam-08"]
    assert len(demo_cfg.units) == 21  # 18 crews and 3 duty supervisors
    assert {u.type for u in demo_cfg.units} == {
        "sanitation",
        "citymgmt",
        "gridworker",
        "supervisor",
    }
    assert all(d.supervisor for d in demo_cfg.departments)
    assert all(layer.path.is_absolute() and layer.path.exists() for layer in demo_cfg.map.layers)


BROKEN = [
    # (description, old text, new text, expected key path, expected words in the message)
    (
        "list attribute without choices",
        "    values:\n"
        "    - {key: manhole, names: {zh: 井盖, en: Manhole cover}}\n"
        "    - {key: streetlight, names: {zh: 路灯, en: Street light}}\n"
        "    - {key: railing, names: {zh: 护栏, en: Railing}}\n"
        "    - {key: bench, names: {zh: 座椅, en: Bench}}\n"
        "    - {key: sign, names: {zh: 标志牌, en: Sign}}\n",
        "",
        "categories[5].attributes[0]",
        "needs `values`",
    ),
    (
        "unknown attribute type",
        "  - code: plate\n",
        "  - code: plate\n    datatype: photo\n",
        "categories[0].attributes[0].datatype",
        "singlevaluelist",
    ),
    (
        "misspelt key",
        "  direction_deg: 93\n",
        "  directon_deg: 93\n",
        "cameras[0].directon_deg",
        "did you mean 'direction_deg'",
    ),
    (
        "wrong type",
        "analysis_fps: 2\n",
        "analysis_fps: fast\n",
        "cameras[0].analysis_fps",
        "valid number",
    ),
    (
        "polygon with two points",
        "polygon:\n    - [446, 489]\n    - [581, 489]\n    - [443, 304]\n    - [379, 304]",
        "polygon:\n    - [446, 489]\n    - [581, 489]",
        "cameras[0].zones[0].polygon",
        "at least 3 vertices",
    ),
    (
        "self-crossing polygon",
        "- [446, 489]\n    - [581, 489]\n    - [443, 304]\n    - [379, 304]",
        "- [446, 489]\n    - [443, 304]\n    - [581, 489]\n    - [379, 304]",
        "cameras[0].zones[0].polygon",
        "edges cross",
    ),
    (
        "zone outside the frame",
        "- [581, 489]",
        "- [920, 489]",
        "cameras[0].zones[0].polygon[1]",
        "outside the 640x576 frame",
    ),
    (
        "unknown unit type in the routing matrix",
        "- {category: bin_overflow, department: dept-sanitation, unit_type: sanitation}",
        "- {category: bin_overflow, department: dept-sanitation, unit_type: sanitaton}",
        "routing[1].unit_type",
        "did you mean 'sanitation'",
    ),
    (
        "unknown area in the routing matrix",
        "area: G03",
        "area: G99",
        "routing[",
        "unknown area 'G99'",
    ),
    (
        "unknown rule on a zone",
        "rule: no-parking",
        "rule: no-parkin",
        "cameras[0].zones[0].rule",
        "did you mean 'no-parking'",
    ),
    (
        "unit with unknown department",
        "department: dept-sanitation\n",
        "department: dept-sanit\n",
        "units[0].department",
        "unknown department",
    ),
    (
        "department supervisor who is not a unit",
        "supervisor: sup-san\n",
        "supervisor: sup-sanx\n",
        "departments[0].supervisor",
        "unknown supervisor unit 'sup-sanx'",
    ),
    (
        "escalation delay of the wrong type",
        "  merge_radius_m: 250\n",
        "  merge_radius_m: 250\n  escalate_after_min: soon\n",
        "dispatch.escalate_after_min",
        "valid number",
    ),
    (
        "bad coordinates",
        "center: [120.1721898, 30.276613]",
        "center: [320.17, 30.27]",
        "district.center",
        "not a WGS-84",
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "key_path", "words"),
    [case[1:] for case in BROKEN],
    ids=[case[0] for case in BROKEN],
)
def test_broken_config_names_file_key_and_line(config_copy, old, new, key_path, words):
    line = _break(config_copy, old, new)
    problems = _problems(config_copy)
    match = [p for p in problems if key_path in p and words in p]
    assert match, f"no problem mentions {key_path!r} and {words!r}: {problems}"
    file_part, line_part = match[0].split(":")[0:2]
    assert file_part == str(config_copy)
    assert abs(int(line_part) - line) <= 6, f"line {line_part} is far from the edit at {line}"


def test_misspelt_key_points_at_its_exact_line(config_copy):
    line = _break(config_copy, "  direction_deg: 93\n", "  directon_deg: 93\n")
    problems = _problems(config_copy)
    assert f"{config_copy}:{line}: cameras[0].directon_deg: unknown key" in "\n".join(problems)


def test_duplicate_key_is_an_error(config_copy):
    _break(config_copy, "  zoom: 15.2\n", "  zoom: 15.2\n  zoom: 16\n")
    assert any("district.zoom: key appears twice" in p for p in _problems(config_copy))


def test_missing_layer_file_is_named(config_copy):
    (config_copy.parent / "grids.geojson").unlink()
    problems = _problems(config_copy)
    assert any("map.layers[2].path" in p and "grids.geojson does not exist" in p for p in problems)


def test_not_yaml_is_reported_with_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("district:\n  name: [unclosed\n", encoding="utf-8")
    problems = _problems(bad)
    assert problems[0].startswith(f"{bad}:") and "not valid YAML" in problems[0]


def test_environment_overrides_services(monkeypatch, tmp_path):
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6999/3")
    monkeypatch.setenv("SC_DATA_DIR", str(tmp_path))
    cfg = load_config(DEMO_CONFIG)
    assert cfg.services.redis_url == "redis://127.0.0.1:6999/3"
    assert cfg.services.data_dir == tmp_path


def _check_config(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "run.py"), "check-config", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=PROJECT_ROOT,
    )


def test_check_config_cli_accepts_the_demo():
    result = _check_config()
    assert result.returncode == 0, result.stderr
    assert "OK (9 cameras, 21 units)" in result.stdout


def test_check_config_cli_rejects_a_misspelt_key(config_copy):
    line = _break(config_copy, "  direction_deg: 93\n", "  directon_deg: 93\n")
    result = _check_config(str(config_copy))
    assert result.returncode != 0
    assert f"{config_copy}:{line}: cameras[0].directon_deg" in result.stderr
    assert "did you mean 'direction_deg'" in result.stderr


def test_unquoted_clock_times_are_read_as_times(config_copy):
    """YAML 1.1 turns 17:30 into 1050; the config still means half past five."""
    _break(config_copy, "day_end: '17:30'", "day_end: 17:30")
    _break(
        config_copy,
        "active_hours: {start: '07:00', end: '22:00'}",
        "active_hours: {start: 07:00, end: 22:00}",
    )
    cfg = load_config(config_copy)
    assert cfg.dispatch.calendar.day_end == "17:30"
    assert cfg.rules[0].active_hours.end == "22:00"


def test_unit_names_in_both_languages_or_one_string_for_both(config_copy):
    _break(
        config_copy,
        "name: {zh: 环卫2组·张, en: Sanitation crew 2 · Zhang}",
        "name: Zhang Wei",
    )
    cfg = load_config(config_copy)
    assert (cfg.unit("san-01").label("zh"), cfg.unit("san-01").label("en")) == (
        "环卫1组·李",
        "Sanitation crew 1 · Li",
    )
    assert cfg.unit("san-02").label("zh") == cfg.unit("san-02").label("en") == "Zhang Wei"
    _break(config_copy, "name: {zh: 环卫3组·刘, en: Sanitation crew 3 · Liu}", "name: {zh: 刘}")
    assert any("units[2].name" in problem for problem in _problems(config_copy))


def test_categories_name_classes_of_the_standard_table(config_copy):
    line = _break(config_copy, "standard: event/0505", "standard: event/0599")
    (problem,) = _problems(config_copy)
    assert problem.startswith(f"{config_copy}:{line}: categories[0].standard: 'event/0599'")
    assert "not in the classification" in problem


def test_a_city_replaces_the_classification_without_code(config_copy):
    table = config_copy.parent / "our-table.yaml"
    table.write_text(
        "name: {zh: 本市分类, en: Our city's table}\n"
        "events:\n"
        "- {code: '9001', group: {zh: 街面, en: Street}, names: {zh: 乱停车, en: Bad parking}}\n",
        encoding="utf-8",
    )
    text = config_copy.read_text(encoding="utf-8")
    config_copy.write_text(text + "trends: {classification: our-table.yaml}\n", encoding="utf-8")
    problems = _problems(config_copy)  # the demo's categories name national codes
    assert any(
        "'event/0505' is not in the classification \"Our city's table\"" in p for p in problems
    )
    for code in (
        "event/0505",
        "event/0102",
        "event/0104",
        "event/0504",
        "event/0506",
        "event/0601",
    ):
        _break(config_copy, f"standard: {code}", "standard: event/9001")
    cfg = load_config(config_copy)
    assert cfg.classification.find("event/9001").names.zh == "乱停车"


def test_a_broken_classification_names_its_file_and_line(config_copy):
    table = config_copy.parent / "bad.yaml"
    table.write_text("name: {zh: 表, en: Table}\nevents:\n- {code: '01', group: {zh: a, en: a}}\n")
    text = config_copy.read_text(encoding="utf-8")
    config_copy.write_text(text + "trends: {classification: bad.yaml}\n", encoding="utf-8")
    (problem,) = _problems(config_copy)
    assert problem.startswith(f"{table}:3: events[0].names: required key is missing")
