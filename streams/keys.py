"""Every Redis key the system uses, built from one namespace so deployments can share a Redis."""

from __future__ import annotations

import os

NAMESPACE = os.environ.get("SC_NAMESPACE", "sc")

EVENTS = "events"
CAMERA_HEALTH = "camera_health"
UNIT_POSITIONS = "unit_positions"
TICKET_CHANGES = "ticket_changes"
ALL_STREAMS = (EVENTS, CAMERA_HEALTH, UNIT_POSITIONS, TICKET_CHANGES)


def stream(name: str, namespace: str = NAMESPACE) -> str:
    """The Redis key of a stream, e.g. sc:stream:events."""
    return f"{namespace}:stream:{name}"


def dead_letters(name: str, namespace: str = NAMESPACE) -> str:
    """Where messages that failed too often are parked for an operator to inspect."""
    return f"{namespace}:dead:{name}"
