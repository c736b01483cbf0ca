"""Scenario files: a timeline of events and unit movements, validated like the main config."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from config.loader import ConfigError, format_path
from config.schema import AppConfig, LonLat
from streams.records import EventSource


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScenarioEvent(_Strict):
    """An event at a time: at a camera zone, or at a map position."""

    at_s: float = Field(ge=0, description="seconds from the start of the timeline")
    category: str
    camera: str | None = None
    zone: str | None = None
    position: LonLat | None = None
    source: EventSource | None = None
    description: str = ""

    @model_validator(mode="after")
    def _where(self) -> ScenarioEvent:
        if (self.camera is None) == (self.position is None):
            raise ValueError("give either camera + zone, or position, for each event")
        if self.camera is not None and self.zone is None:
            raise ValueError(f"event on camera {self.camera!r} needs a zone")
        return self


class Track(_Strict):
    """A unit following waypoints (a closed loop) at a constant speed."""

    unit: str
    speed_mps: float = Field(gt=0, le=40)
    waypoints: list[LonLat] = Field(min_length=2)


class Outage(_Strict):
    """A simulated camera stops delivering frames for a while."""

    camera: str
    from_s: float = Field(ge=0)
    to_s: float = Field(gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> Outage:
        if self.to_s <= self.from_s:
            raise ValueError(f"outage of {self.camera!r} must end after it starts")
        return self


class Scenario(_Strict):
    """A replayable timeline."""

    duration_s: float = Field(gt=0)
    position_interval_s: float = Field(default=2, gt=0)
    patrol: dict[str, float] = Field(
        default_factory=dict, description="unit type -> patrol speed (m/s) for units with no track"
    )
    seed: int = 0
    events: list[ScenarioEvent] = Field(default_factory=list)
    tracks: list[Track] = Field(default_factory=list)
    cameras_online: bool = Field(
        default=True, description="simulate camera health for every configured camera"
    )
    outages: list[Outage] = Field(default_factory=list)


def check_against(scenario: Scenario, cfg: AppConfig, file: Path) -> None:
    """Every camera, zone, category, unit and unit type in the scenario exists in the config."""
    cameras = {c.id: {z.id for z in c.zones} for c in cfg.cameras}
    categories = {c.id for c in cfg.categories}
    units = {u.id for u in cfg.units}
    problems = []
    for i, event in enumerate(scenario.events):
        where = f"{file}: events[{i}]"
        if event.category not in categories:
            problems.append(f"{where}.category: unknown category {event.category!r}")
        if event.camera is not None and event.camera not in cameras:
            problems.append(f"{where}.camera: unknown camera {event.camera!r}")
        elif event.camera is not None and event.zone not in cameras[event.camera]:
            problems.append(f"{where}.zone: camera {event.camera!r} has no zone {event.zone!r}")
    for i, track in enumerate(scenario.tracks):
        if track.unit not in units:
            problems.append(f"{file}: tracks[{i}].unit: unknown unit {track.unit!r}")
    for i, outage in enumerate(scenario.outages):
        if outage.camera not in cameras:
            problems.append(f"{file}: outages[{i}].camera: unknown camera {outage.camera!r}")
    for unit_type in scenario.patrol:
        if unit_type not in {t.id for t in cfg.unit_types}:
            problems.append(f"{file}: patrol.{unit_type}: unknown unit type")
    if problems:
        raise ConfigError(problems)


def load_scenario(path: Path, cfg: AppConfig) -> Scenario:
    """Read and validate a scenario file against the config."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        scenario = Scenario.model_validate(data)
    except yaml.YAMLError as exc:
        raise ConfigError([f"{path}: not valid YAML: {exc}"]) from None
    except ValidationError as exc:
        raise ConfigError(
            [f"{path}: {format_path(tuple(e['loc']))}: {e['msg']}" for e in exc.errors()]
        ) from None
    check_against(scenario, cfg, Path(path))
    return scenario
