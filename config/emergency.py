"""Incident types and how an emergency analysis measures a district (geo/emergency.py)."""

from __future__ import annotations

from itertools import pairwise

from pydantic import Field, field_validator

from config.types import Identifier, Names, Strict


class IncidentType(Strict):
    """A kind of incident and the rings drawn around its site."""

    id: Identifier
    names: Names
    rings_m: list[float] = Field(
        default_factory=lambda: [100.0, 300.0, 500.0],
        min_length=1,
        max_length=6,
        description="ring radii in metres, inner first; streets crossing the first are closed",
    )

    @field_validator("rings_m")
    @classmethod
    def _rising(cls, rings: list[float]) -> list[float]:
        if any(r <= 0 for r in rings) or any(b <= a for a, b in pairwise(rings)):
            raise ValueError("ring radii must be positive and rise, e.g. [100, 300, 500]")
        return rings


def _default_types() -> list[IncidentType]:
    return [
        IncidentType(id="road_collapse", names=Names(zh="路面塌陷", en="Road collapse")),
        IncidentType(
            id="gas_leak", names=Names(zh="燃气泄漏", en="Gas leak"), rings_m=[50, 200, 500]
        ),
        IncidentType(id="fire", names=Names(zh="火灾", en="Fire"), rings_m=[50, 150, 300]),
        IncidentType(id="flood", names=Names(zh="内涝", en="Flooding"), rings_m=[200, 500, 1000]),
    ]


class EmergencyConfig(Strict):
    """Incident types and the speeds and camera reach an analysis assumes."""

    types: list[IncidentType] = Field(default_factory=_default_types, min_length=1)
    walk_mps: float = Field(default=1.2, gt=0, description="evacuees' walking speed along streets")
    unit_mps: float = Field(
        default=4.0, gt=0, description="field units' speed along streets (e-bikes in traffic)"
    )
    camera_view_m: float = Field(default=60, gt=0, description="how far a camera sees a site")
    camera_view_deg: float = Field(default=60, gt=0, le=360, description="a camera's view width")
    task_category: Identifier | None = Field(
        default=None,
        description="category of the tickets that summon field units to an incident "
        "(default: the first category)",
    )

    def type(self, type_id: str) -> IncidentType | None:
        """The incident type with this id, if configured."""
        return next((t for t in self.types if t.id == type_id), None)
