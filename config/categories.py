"""Problem categories (Open311 services) and the extra fields a report of each carries."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from config.types import Identifier, Names, Strict


class AttributeValue(Strict):
    """One choice of a list attribute (Open311 `values`)."""

    key: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    names: Names


AttributeType = Literal["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"]


class ServiceAttribute(Strict):
    """An extra field a report of this category carries (Open311 service definition), sent as
    `attribute[CODE]` (a multivaluelist as `attribute[CODE][]`, repeated)."""

    code: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    datatype: AttributeType = "string"
    required: bool = False
    names: Names = Field(description="the question shown to the reporter")
    max_length: int = Field(default=100, ge=1, le=2000, description="for string and text")
    values: list[AttributeValue] = Field(
        default_factory=list, description="the choices of a singlevaluelist or multivaluelist"
    )

    @model_validator(mode="after")
    def _choices(self):
        is_list = self.datatype.endswith("valuelist")
        if is_list and not self.values:
            raise ValueError(f"a {self.datatype} needs `values` to choose from")
        if self.values and not is_list:
            raise ValueError(f"`values` apply to list datatypes only, not {self.datatype}")
        keys = [v.key for v in self.values]
        if len(set(keys)) != len(keys):
            raise ValueError("value keys must be unique")
        return self


class CategoryConfig(Strict):
    """A problem category (the Open311 service_code)."""

    id: Identifier
    names: Names
    confirm_timeout_min: float | None = Field(
        default=None,
        gt=0,
        description="with auto_dispatch false: dispatched anyway when no operator confirmed or "
        "rejected the finding within this many minutes; none waits for a person",
    )
    attributes: list[ServiceAttribute] = Field(
        default_factory=list,
        description="extra fields reports of this category carry (Open311 metadata)",
    )

    @field_validator("attributes")
    @classmethod
    def _unique_codes(cls, attributes: list[ServiceAttribute]) -> list[ServiceAttribute]:
        codes = [a.code for a in attributes]
        if len(set(codes)) != len(codes):
            raise ValueError("attribute codes must be unique within a category")
        return attributes

    auto_dispatch: bool = Field(
        default=True, description="dispatch at once, or propose and wait for an operator"
    )
    priority: int = Field(default=2, ge=1, le=3, description="1 urgent, 2 normal, 3 low")
    standard: str | None = Field(
        default=None,
        pattern=r"^(event|component)/[0-9A-Za-z]{2,12}$",
        description="the class of the standard classification it counts as (trends), "
        "e.g. event/0505 for 机动车乱停放",
    )
