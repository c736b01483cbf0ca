"""Zone rules with time: what a rule consumes, how long a condition must hold, and when."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from config.types import Clock, ClockEnd, Identifier, Strict


class ActiveHours(Strict):
    """Daily window in which a rule fires, local time; start > end spans midnight."""

    start: Clock = Field(description="HH:MM")
    end: ClockEnd = Field(description="HH:MM")

    @model_validator(mode="after")
    def _not_empty(self) -> ActiveHours:
        if self.start == self.end:
            raise ValueError(
                f"start and end are both {self.start}: an empty window; leave active_hours out "
                "for a rule that runs all day"
            )
        return self


class RuleConfig(Strict):
    """A zone rule with time: dwell, grace periods and cooldown."""

    id: Identifier
    kind: Literal["illegal_parking", "bin_overflow", "dirty_road", "street_vending", "bike_parking"]
    category: Identifier = Field(description="category of the events this rule raises")
    classes: list[str] = Field(min_length=1, description="detector class names the rule consumes")
    dwell_s: float = Field(gt=0, description="seconds the condition must hold before an event")
    enter_frames: int = Field(default=3, ge=1, description="frames seen before a track counts")
    exit_grace_s: float = Field(default=5, ge=0, description="absence tolerated without reset")
    cooldown_s: float = Field(default=600, ge=0, description="quiet time after an event")
    pixel_tolerance: float = Field(default=20, gt=0, description="movement allowed while parked")
    threshold: float = Field(
        default=1, gt=0, description="count or area needed (dirty_road), bicycles (bike_parking)"
    )
    active_hours: ActiveHours | None = Field(default=None, description="none means always")
