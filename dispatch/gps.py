"""GPS ingest filters: drop fixes that would put a unit in the wrong place on the wall.

Phones and vehicle trackers send duplicates (retries), fixes from the future (a wrong clock),
stale fixes (a buffer flushed hours later, or out of order) and jumps (a cell-tower fix miles
away). Each fix is checked against the unit's last accepted one, kept in Redis so that every
API process sees the same history.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from config.api import GpsFilterConfig
from streams.bus import Bus
from streams.last_fixes import LastFixes


@dataclass(frozen=True)
class RawFix:
    """One fix as received, before filtering."""

    lon: float
    lat: float
    fix_time: float
    speed_mps: float | None = None
    heading_deg: float | None = None
    accuracy_m: float | None = None


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_000 * math.asin(min(1.0, math.sqrt(a)))


class FixFilter:
    """Accepts or drops fixes per unit; accepted ones become the unit's new reference."""

    def __init__(self, cfg: GpsFilterConfig, bus: Bus):
        self.cfg, self.last = cfg, LastFixes(bus)

    def filter(self, unit_id: str, fixes: list[RawFix], now: float) -> list[str | None]:
        """Per fix, in time order: None if accepted, else why it was dropped. The last accepted
        fix becomes the unit's reference (one read and at most one write to Redis)."""
        reference = self.last.get(unit_id)
        verdicts = []
        for fix in fixes:
            reason = self._reason(fix, reference, now)
            if reason is None:
                reference = (fix.fix_time, fix.lon, fix.lat)
            verdicts.append(reason)
        if reference is not None and any(v is None for v in verdicts):
            self.last.set(unit_id, reference)
        return verdicts

    def _reason(self, fix: RawFix, reference: tuple | None, now: float) -> str | None:
        cfg = self.cfg
        if not (-180 <= fix.lon <= 180 and -90 <= fix.lat <= 90) or (fix.lon == fix.lat == 0):
            return "invalid_position"
        if fix.fix_time > now + cfg.max_future_s:
            return "future"
        if fix.fix_time < now - cfg.max_age_s:
            return "stale"
        if fix.accuracy_m is not None and fix.accuracy_m > cfg.max_accuracy_m:
            return "inaccurate"
        if fix.speed_mps is not None and fix.speed_mps > cfg.max_speed_mps:
            return "impossible_speed"
        if reference is None:
            return None
        last_time, last_lon, last_lat = reference
        if fix.fix_time == last_time:
            return "duplicate"
        if fix.fix_time < last_time:
            return "out_of_order"
        metres = haversine_m(last_lon, last_lat, fix.lon, fix.lat)
        # A little slack for GPS noise between fixes a second apart.
        if metres > 50 and metres / (fix.fix_time - last_time) > cfg.max_speed_mps:
            return "impossible_speed"
        return None
