"""How screens show the district: the wall kiosk's views and freshness."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from config.types import Strict


class WallConfig(Strict):
    """What a wall kiosk (`/wall`) shows: views in turn, and when its data counts as stale."""

    views: list[Literal["map", "cameras", "board"]] = Field(
        default_factory=lambda: ["map", "cameras", "board"],
        min_length=1,
        description="in turn: map (live map with the side panel), cameras (the camera wall), "
        "board (KPIs and warnings large)",
    )
    rotate_s: float = Field(default=30, ge=5, description="seconds each view stays")
    stale_s: float = Field(
        default=65, ge=10, description="'last update' turns red after this long without a push"
    )
    software_map_pixels: int = Field(
        default=700_000,
        ge=0,
        description="on a screen drawing WebGL in software (no graphics hardware), live maps are "
        "drawn with at most this many pixels and scaled up, so a 4K wall stays responsive (a "
        "frame costs about 0.1 ms per thousand pixels on 2 cores); 0 draws them at full "
        "resolution",
    )
