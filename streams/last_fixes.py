"""The last GPS fix the ingest accepted per unit: the reference the next fixes are judged by.

Shared by every API process through Redis, so a unit's phone may reach any of them. This module
owns the Redis hash.
"""

from __future__ import annotations

from streams import keys
from streams.bus import Bus

Reference = tuple[float, float, float]  # fix_time, lon, lat


class LastFixes:
    """Per unit: (fix time, lon, lat) of the last accepted fix."""

    def __init__(self, bus: Bus):
        self.bus = bus
        self.key = keys.gps_last(bus.namespace)

    def get(self, unit_id: str) -> Reference | None:
        """The unit's reference fix, or None before its first accepted fix."""
        raw = self.bus.client.hget(self.key, unit_id)
        if not raw:
            return None
        fix_time, lon, lat = (float(v) for v in raw.split())
        return fix_time, lon, lat

    def set(self, unit_id: str, reference: Reference) -> None:
        """Make this fix the unit's reference."""
        self.bus.client.hset(self.key, unit_id, " ".join(str(v) for v in reference))
