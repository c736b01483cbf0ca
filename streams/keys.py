"""Every Redis key the system uses, built from one namespace so deployments can share a Redis."""

from __future__ import annotations

import os

NAMESPACE = os.environ.get("SC_NAMESPACE", "sc")

EVENTS = "events"
CAMERA_HEALTH = "camera_health"
UNIT_POSITIONS = "unit_positions"
TICKET_CHANGES = "ticket_changes"
ZONE_CHECKS = "zone_checks"
ALERTS = "alerts"
ALL_STREAMS = (EVENTS, CAMERA_HEALTH, UNIT_POSITIONS, TICKET_CHANGES, ZONE_CHECKS, ALERTS)


def stream(name: str, namespace: str = NAMESPACE) -> str:
    """The Redis key of a stream, e.g. sc:stream:events."""
    return f"{namespace}:stream:{name}"


def dead_letters(name: str, namespace: str = NAMESPACE) -> str:
    """Where messages that failed too often are parked for an operator to inspect."""
    return f"{namespace}:dead:{name}"


def verify_pending(namespace: str = NAMESPACE) -> str:
    """Hash "camera/zone" -> ticket id of resolved tickets whose zone a camera must re-check."""
    return f"{namespace}:verify:pending"


def gps_last(namespace: str = NAMESPACE) -> str:
    """Hash unit id -> "fix_time lon lat" of the last fix the GPS ingest accepted."""
    return f"{namespace}:gps:last"


def camera_lease(camera_id: str, namespace: str = NAMESPACE) -> str:
    """The id of the vision worker analysing `camera_id` (expires unless renewed)."""
    return f"{namespace}:vision:lease:{camera_id}"


def zone_quiet(camera_id: str, namespace: str = NAMESPACE) -> str:
    """Hash zone id -> epoch until which the zone stays quiet after its last event (outlives
    the worker that fired it, so that the camera's next holder does not report it again)."""
    return f"{namespace}:vision:quiet:{camera_id}"


def vision_workers(namespace: str = NAMESPACE) -> str:
    """Sorted set of live vision workers, scored by the time their heartbeat expires."""
    return f"{namespace}:vision:workers"


def camera_frame(camera_id: str, namespace: str = NAMESPACE) -> str:
    """The latest downscaled, annotated frame of a camera for the camera wall (expires)."""
    return f"{namespace}:frame:{camera_id}"


def service_health(service: str, name: str, namespace: str = NAMESPACE) -> str:
    """A running service's last heartbeat (JSON; expires when the service stops beating)."""
    return f"{namespace}:health:{service}:{name}"


def service_health_pattern(namespace: str = NAMESPACE) -> str:
    """Every service's heartbeat key (for SCAN)."""
    return f"{namespace}:health:*"
