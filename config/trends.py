"""What leaders' trends count and how they grade: the standard classification the categories map
onto, the ranking weights and grades, repeat places and long-overdue cases."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator

from config.paths import PROJECT_ROOT
from config.types import Names, Strict

DEFAULT_CLASSIFICATION = PROJECT_ROOT / "config" / "standards" / "city_management_cn.yaml"
KINDS = ("event", "component")


class StandardClass(Strict):
    """One small class (小类) of the classification, inside its large class (大类)."""

    code: str = Field(
        pattern=r"^[0-9A-Za-z]{2,12}$", description="the code as the standard gives it"
    )
    group: Names = Field(description="the large class (大类) it belongs to")
    names: Names


class Classification(Strict):
    """A city's table of management events and components (部件和事件), replaceable without code."""

    name: Names
    events: list[StandardClass] = Field(min_length=1)
    components: list[StandardClass] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self):
        for kind in KINDS:
            codes = [c.code for c in getattr(self, f"{kind}s")]
            twice = sorted({c for c in codes if codes.count(c) > 1})
            if twice:
                raise ValueError(f"{kind} codes appear twice: {', '.join(twice)}")
        return self

    def find(self, reference: str) -> StandardClass | None:
        """The class a category's `standard` names (`event/0505`, `component/0101`)."""
        kind, _, code = reference.partition("/")
        if kind not in KINDS:
            return None
        return next((c for c in getattr(self, f"{kind}s") if c.code == code), None)


class RankingWeights(Strict):
    """How much each rate weighs in a unit's, grid's or department's score (they sum to 1)."""

    closure_rate: float = Field(default=0.3, ge=0, le=1, description="结案率")
    on_time_rate: float = Field(default=0.4, ge=0, le=1, description="按期结案率")
    precise_rate: float = Field(default=0.15, ge=0, le=1, description="precise-dispatch rate")
    rework_free: float = Field(default=0.15, ge=0, le=1, description="1 - 返工率")

    @model_validator(mode="after")
    def _sum(self):
        total = self.closure_rate + self.on_time_rate + self.precise_rate + self.rework_free
        if abs(total - 1) > 1e-6:
            raise ValueError(f"the weights sum to {total:g}; make them sum to 1")
        return self


class GradeThresholds(Strict):
    """The lowest score of each grade (优秀/良好/合格); below `passing` is 不合格."""

    excellent: float = Field(default=90, ge=0, le=100)
    good: float = Field(default=80, ge=0, le=100)
    passing: float = Field(default=60, ge=0, le=100)

    @model_validator(mode="after")
    def _order(self):
        if not self.excellent > self.good > self.passing:
            raise ValueError("grades must fall: excellent > good > passing")
        return self


class TrendsConfig(Strict):
    """Leaders' trends: classification, rankings, repeat places, long-overdue cases, hexagons."""

    classification: Path | None = Field(
        default=None,
        description="YAML table of standard event and component classes; none uses the shipped "
        "national classification (config/standards/city_management_cn.yaml)",
    )
    weights: RankingWeights = Field(default_factory=RankingWeights)
    grades: GradeThresholds = Field(default_factory=GradeThresholds)
    min_cases: int = Field(
        default=5, ge=1, description="cases due before a unit, grid or department is graded"
    )
    repeat_days: float = Field(
        default=30, gt=0, description="a new ticket this soon after one at the same spot repeats it"
    )
    repeat_radius_m: float = Field(default=30, gt=0, description="what counts as the same spot")
    long_overdue_hours: float = Field(
        default=72, gt=0, description="open this long past the resolve deadline: long overdue"
    )
    demo_history: int = Field(
        default=20_000,
        ge=0,
        description="tickets the demo generates over the two years before last fortnight when "
        "its store has no history yet (0: none)",
    )
    hex_resolution: int = Field(
        default=9, ge=5, le=12, description="H3 resolution of the hotspot hexagons (9: ~0.1 km2)"
    )
