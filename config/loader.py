"""Load the YAML config into AppConfig; every error names the file, the key path and the line."""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import yaml
from pydantic import BaseModel, ValidationError

from config.checks import CrossFieldError, check_references
from config.paths import DEMO_CONFIG
from config.schema import AppConfig
from config.trends import DEFAULT_CLASSIFICATION, Classification


class ConfigError(Exception):
    """A configuration problem: one line per problem, each `file:line: key.path: message`."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


def format_path(loc: tuple) -> str:
    """Render a key path like cameras[2].zones[0].polygon."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _to_python(
    node: yaml.Node, path: tuple, lines: dict[tuple, int], file: Path, loader: yaml.SafeLoader
):
    """Convert a composed YAML node to plain Python, recording each key path's line."""
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        result = {}
        for key_node, value_node in node.value:
            key = key_node.value
            if key in result:
                loc = format_path(path + (key,))
                raise ConfigError(
                    [f"{file}:{key_node.start_mark.line + 1}: {loc}: key appears twice; keep one"]
                )
            lines[path + (key,)] = key_node.start_mark.line + 1
            result[key] = _to_python(value_node, path + (key,), lines, file, loader)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [
            _to_python(item, path + (i,), lines, file, loader) for i, item in enumerate(node.value)
        ]
    # Scalars carry their resolved tag (int, float, bool, null, str): let PyYAML build them.
    return loader.construct_object(node)


def _line_for(loc: tuple, lines: dict[tuple, int]) -> int:
    """The line of the deepest part of loc that exists in the file (a missing key: its parent)."""
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return 1


def _model_at(loc: tuple) -> type[BaseModel] | None:
    """The config model class that owns the last key of loc (for spelling suggestions)."""
    model: type[BaseModel] | None = AppConfig
    for part in loc[:-1]:
        if model is None or isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        if field is None:
            return None
        model = _inner_model(field.annotation)
    return model


def _inner_model(annotation) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _inner_model(arg)
        if found:
            return found
    return None


def _describe(error: dict) -> str:
    loc = tuple(error["loc"])
    if error["type"] == "extra_forbidden":
        model = _model_at(loc)
        known = sorted(model.model_fields) if model else []
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"allowed keys: {', '.join(known)}"
        return f"unknown key {loc[-1]!r}; {hint}"
    if error["type"] == "missing":
        return "required key is missing; add it"
    message = error["msg"].removeprefix("Value error, ")
    value = error.get("input")
    if error["type"].endswith(("_type", "_parsing")) and not isinstance(value, (dict, list)):
        message += f" (got {value!r})"
    return message


def _apply_environment(data: dict) -> None:
    """Environment variables override the services section (12-factor style deployment)."""
    if not isinstance(data, dict):
        return
    services = data.setdefault("services", {})
    if not isinstance(services, dict):
        return
    for env, key in (
        ("REDIS_URL", "redis_url"),
        ("DATABASE_URL", "database_url"),
        ("SC_DATA_DIR", "data_dir"),
        ("COCKPIT_PORT", "cockpit_port"),
        ("COCKPIT_HOST", "cockpit_host"),
    ):
        if os.environ.get(env):
            services[key] = os.environ[env]
    api = data.setdefault("api", {})
    if isinstance(api, dict):
        for env, key in (("API_PORT", "port"), ("API_HOST", "host")):
            if os.environ.get(env):
                api[key] = os.environ[env]


def _resolve_paths(cfg: AppConfig, base: Path) -> AppConfig:
    """Make file paths in the config absolute, relative to the config file's folder."""
    layers = [
        layer.model_copy(update={"path": (base / layer.path).resolve()}) for layer in cfg.map.layers
    ]
    sim = cfg.sim
    if sim.scenario is not None:
        sim = sim.model_copy(update={"scenario": (base / sim.scenario).resolve()})
    trends = cfg.trends
    if trends.classification is not None:
        resolved = (base / trends.classification).resolve()
        trends = trends.model_copy(update={"classification": resolved})
    return cfg.model_copy(
        update={"map": cfg.map.model_copy(update={"layers": layers}), "sim": sim, "trends": trends}
    )


def _missing_files(cfg: AppConfig, file: Path, lines: dict[tuple, int]) -> list[str]:
    problems = []
    for index, layer in enumerate(cfg.map.layers):
        if not layer.path.exists():
            loc = ("map", "layers", index, "path")
            problems.append(
                f"{file}:{_line_for(loc, lines)}: {format_path(loc)}: file {layer.path} "
                "does not exist; the path is relative to the config file"
            )
    if cfg.trends.classification is not None and not cfg.trends.classification.exists():
        loc = ("trends", "classification")
        problems.append(
            f"{file}:{_line_for(loc, lines)}: {format_path(loc)}: file "
            f"{cfg.trends.classification} does not exist; the path is relative to the config file"
        )
    if cfg.sim.scenario is not None and not cfg.sim.scenario.exists():
        loc = ("sim", "scenario")
        problems.append(
            f"{file}:{_line_for(loc, lines)}: {format_path(loc)}: file {cfg.sim.scenario} "
            "does not exist; the path is relative to the config file"
        )
    return problems


def _read_yaml(file: Path, what: str) -> tuple[object, dict[tuple, int]]:
    """A YAML file as plain Python, and the line of each key path."""
    if not file.exists():
        raise ConfigError([f"{file}: {what} not found; pass a path to an existing YAML file"])
    try:
        node = yaml.compose(file.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        problem = getattr(exc, "problem", exc)
        raise ConfigError([f"{file}:{line}: not valid YAML: {problem}"]) from None
    if node is None:
        raise ConfigError([f"{file}:1: the file is empty; start from config/demo/district.yaml"])
    lines: dict[tuple, int] = {}
    return _to_python(node, (), lines, file, yaml.SafeLoader("")), lines


def _validate(model: type[BaseModel], data, file: Path, lines: dict[tuple, int]):
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [
            f"{file}:{_line_for(tuple(e['loc']), lines)}: {format_path(tuple(e['loc']))}: "
            f"{_describe(e)}"
            for e in exc.errors()
        ]
        raise ConfigError(problems) from None


def load_config(path: str | Path | None = None, check_areas: bool = True) -> AppConfig:
    """Read, validate and cross-check a config file; raise ConfigError naming file, key and line."""
    file = Path(path) if path else DEMO_CONFIG
    data, lines = _read_yaml(file, "config file")
    _apply_environment(data)
    cfg = _validate(AppConfig, data, file, lines)
    cfg = _resolve_paths(cfg, file.resolve().parent)
    problems = _missing_files(cfg, file, lines)
    if problems:
        raise ConfigError(problems)
    try:
        check_references(cfg, _area_ids(cfg, file) if check_areas else None)
    except CrossFieldError as exc:
        raise ConfigError(
            [f"{file}:{_line_for(exc.loc, lines)}: {format_path(exc.loc)}: {exc}"]
        ) from None
    table = load_classification(cfg.trends.classification or DEFAULT_CLASSIFICATION)
    problems = _unknown_standards(cfg, table, file, lines)
    if problems:
        raise ConfigError(problems)
    return cfg.model_copy(update={"source_path": file.resolve(), "classification": table})


def load_classification(path: Path) -> Classification:
    """A standard classification table (`trends.classification`), checked like the config."""
    data, lines = _read_yaml(Path(path), "classification table")
    return _validate(Classification, data, Path(path), lines)


def _unknown_standards(cfg: AppConfig, table: Classification, file: Path, lines) -> list[str]:
    problems = []
    for index, category in enumerate(cfg.categories):
        if category.standard and table.find(category.standard) is None:
            loc = ("categories", index, "standard")
            problems.append(
                f"{file}:{_line_for(loc, lines)}: {format_path(loc)}: {category.standard!r} is "
                f"not in the classification {table.name.en!r}; name an event/CODE or "
                "component/CODE from that table"
            )
    return problems


def _area_ids(cfg: AppConfig, file: Path) -> set[str]:
    """Ids of grid and community features, which routing entries may name."""
    import pyogrio  # the attribute tables only: no geometry, no geo layer code

    ids: set[str] = set()
    for index, layer in enumerate(cfg.map.layers):
        if layer.kind not in ("grids", "communities"):
            continue
        try:
            table = pyogrio.read_dataframe(
                layer.path, columns=[layer.id_field], read_geometry=False
            )
        except Exception as exc:  # pyogrio raises several types; all mean "cannot read"
            raise ConfigError(
                [f"{file}: map.layers.{index}.path: cannot read {layer.path}: {exc}"]
            ) from None
        if layer.id_field not in table.columns:
            raise ConfigError(
                [
                    f"{file}: map.layers.{index}.id_field: {layer.path} has no attribute "
                    f"{layer.id_field!r}; set id_field to the attribute holding feature ids"
                ]
            )
        ids |= {str(value) for value in table[layer.id_field]}
    return ids
