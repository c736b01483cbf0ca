"""What a vision worker checks in each camera's picture, beyond whether frames arrive."""

from __future__ import annotations

from pydantic import Field

from config.types import Strict


class PictureConfig(Strict):
    """Frozen, too dark, blurred, or turned away from where its zones were drawn."""

    check_every_s: float = Field(
        default=5, gt=0, description="look at a camera's picture this often"
    )
    frozen_s: float = Field(
        default=60, gt=0, description="the very same picture this long: frozen (a stuck encoder)"
    )
    dark_level: float = Field(
        default=18, ge=0, le=255, description="mean brightness (0-255) below this: too dark"
    )
    blur_ratio: float = Field(
        default=0.3,
        gt=0,
        lt=1,
        description="sharpness below this share of the reference picture's: blurred (defocus, "
        "a wet or dirty lens)",
    )
    shift_ratio: float = Field(
        default=0.04,
        gt=0,
        lt=1,
        description="the view moved by more than this share of the picture's width against the "
        "reference (turned or zoomed): its zones no longer lie where they were drawn, so its "
        "rules pause",
    )
    min_matches: int = Field(
        default=12,
        ge=4,
        description="fewer landmarks than this found again in the reference: the view has "
        "changed beyond recognition (counted as shifted)",
    )
