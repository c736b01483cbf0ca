"""Building blocks of the config tree: the strict base model and the small value types."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from shapely.geometry import Polygon

ANY_AREA = "*"


class Strict(BaseModel):
    """Base for every config section: unknown keys are errors, values are not coerced silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def check_lon_lat(value: tuple[float, float]) -> tuple[float, float]:
    lon, lat = value
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise ValueError(f"[{lon}, {lat}] is not a WGS-84 [longitude, latitude] pair")
    return value


def _yaml_clock(value):
    """YAML 1.1 reads an unquoted 17:30 as the base-60 integer 1050; turn it back into "17:30"."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 24 * 60 + 1:
        return f"{value // 60:02d}:{value % 60:02d}"
    return value


Clock = Annotated[str, BeforeValidator(_yaml_clock), Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
ClockEnd = Annotated[str, BeforeValidator(_yaml_clock), Field(pattern=r"^([01]\d|2[0-4]):[0-5]\d$")]

LonLat = Annotated[
    tuple[float, float],
    Field(description="WGS-84 [longitude, latitude] in degrees"),
]
Identifier = Annotated[
    str,
    Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$", description="a stable id"),
]


def same_in_both(value):
    """A person's name given as one string reads the same in both languages."""
    return {"zh": value, "en": value} if isinstance(value, str) else value


class Names(Strict):
    """A display name in the two UI languages."""

    zh: str = Field(min_length=1, description="Chinese name (default UI language)")
    en: str = Field(min_length=1, description="English name")


# What a district layer holds; grids and communities drive routing, the rest is drawn and analysed.
LayerKind = Literal[
    "boundary",
    "streets",
    "communities",
    "grids",
    "pois",
    "shelters",
    "buildings",
    "water",
    "bridges",
    "metro",
]


def _simple_polygon(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    if len(points) < 3:
        raise ValueError(f"a zone polygon needs at least 3 vertices, got {len(points)}")
    shape = Polygon(points)
    if not shape.is_valid or shape.area <= 0:
        raise ValueError(
            "polygon is not a simple shape (edges cross or it has no area); "
            "list the vertices in order around the zone"
        )
    return points


PixelPolygon = Annotated[list[tuple[float, float]], AfterValidator(_simple_polygon)]
