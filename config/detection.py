"""Where a vision worker looks (crops around zones) and what sizes it believes (the ground-size
check on calibrated cameras)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from config.types import Strict


class CropConfig(Strict):
    """Run the detector on crops around each camera's zones instead of on the whole frame."""

    mode: Literal["zones", "frame"] = Field(
        default="zones",
        description="'zones': crops around the zones at the camera's own resolution (small, far "
        "things stay visible); 'frame': the whole frame shrunk to the model's input",
    )
    margin: float = Field(
        default=0.25, ge=0, le=2, description="room around each zone, as a share of its size"
    )
    scale: float = Field(
        default=1.5,
        ge=1,
        le=4,
        description="frame pixels per model input pixel in a crop, at least: 1 looks at the "
        "camera's own resolution; the bundled model is trained on things at about half their "
        "rendered size and is surest at 1.5 to 2",
    )


class GroundSize(Strict):
    """Real-world extent a thing of one class can have, in metres."""

    min_width_m: float = Field(ge=0, description="narrowest footprint")
    max_width_m: float = Field(gt=0, description="widest footprint (length seen side-on)")
    max_height_m: float = Field(gt=0, description="tallest the box can stand")

    @model_validator(mode="after")
    def _ordered(self) -> GroundSize:
        if self.min_width_m >= self.max_width_m:
            raise ValueError("min_width_m must be below max_width_m")
        return self


def _size(low: float, high: float, tall: float) -> GroundSize:
    return GroundSize(min_width_m=low, max_width_m=high, max_height_m=tall)


DEFAULT_GROUND_SIZES = {
    "car": _size(1.2, 7.5, 4.0),
    "van": _size(1.2, 8.5, 5.0),
    "truck": _size(1.5, 14.0, 7.0),
    "person": _size(0.2, 1.6, 2.6),
    "bin": _size(0.25, 2.5, 2.5),
    "bin_overflow": _size(0.25, 3.5, 3.0),
    "litter": _size(0.05, 4.0, 2.0),
    "stall": _size(0.4, 6.0, 3.0),
    "bicycle": _size(0.3, 2.4, 1.8),
}


class GroundConfig(Strict):
    """On a camera with a `homography`, boxes whose real size is impossible for their class are
    dropped (a 'bin' 6 m wide is a shop window) and counted per camera and class."""

    enabled: bool = Field(default=True, description="check sizes on calibrated cameras")
    sizes: dict[str, GroundSize] = Field(
        default_factory=lambda: dict(DEFAULT_GROUND_SIZES),
        description="class name -> plausible size; classes not listed are not checked",
    )
