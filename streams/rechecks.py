"""Pending camera re-checks: which camera zone must be looked at again for which resolved ticket.

The dispatcher marks a zone when its ticket is resolved and clears it when the ticket moves on;
vision workers (and the demo's simulated cameras) read the list and answer with `ZoneCheck`
records on the bus. This module owns the Redis hash; nobody else reads or writes it.
"""

from __future__ import annotations

from dataclasses import dataclass

from streams import keys
from streams.bus import Bus


@dataclass(frozen=True)
class PendingRecheck:
    """A camera zone to look at again, and the ticket waiting on the answer."""

    camera_id: str
    zone_id: str
    ticket_id: str


def _field(camera_id: str, zone_id: str) -> str:
    return f"{camera_id}/{zone_id}"


class Rechecks:
    """The pending re-checks of one deployment (its bus namespace)."""

    def __init__(self, bus: Bus):
        self.bus = bus
        self.key = keys.verify_pending(bus.namespace)

    def mark(self, camera_id: str, zone_id: str, ticket_id: str) -> None:
        """Ask the camera to re-check the zone for the ticket."""
        self.bus.client.hset(self.key, _field(camera_id, zone_id), ticket_id)

    def clear(self, camera_id: str, zone_id: str) -> None:
        """No camera needs to re-check the zone any more."""
        self.bus.client.hdel(self.key, _field(camera_id, zone_id))

    def pending(self) -> list[PendingRecheck]:
        """Every zone waiting for a re-check, ordered by camera and zone."""
        out = []
        for field, ticket_id in self.bus.client.hgetall(self.key).items():
            camera_id, _, zone_id = field.decode().partition("/")
            out.append(PendingRecheck(camera_id, zone_id, ticket_id.decode()))
        return sorted(out, key=lambda p: (p.camera_id, p.zone_id))
