"""How long evidence files (camera snapshots, field photos) are kept, and how much disk they may
take."""

from __future__ import annotations

from pydantic import Field

from config.types import Strict


class RetentionConfig(Strict):
    """Evidence of closed tickets is removed after `keep_days`; past `max_gb` the oldest such
    evidence goes first. Evidence of open tickets is never removed."""

    keep_days: float = Field(
        default=180, gt=0, description="evidence of tickets closed this long ago is removed"
    )
    max_gb: float | None = Field(
        default=None,
        gt=0,
        description="disk cap for snapshots and photos; over it, the oldest closed evidence "
        "goes first (none: no cap)",
    )
    every_min: float = Field(default=60, gt=0, description="how often the dispatcher sweeps")
