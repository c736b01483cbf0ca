"""Service heartbeats: each long-running service says every few seconds that it is alive and
how it sees its dependencies; `run.py status` and the readiness endpoints read them."""

from __future__ import annotations

import json
import os
import socket
import time

from streams import keys
from streams.bus import BUS_DOWN, Bus

BEAT_EVERY_S = 5.0
FRESH_S = 15.0  # a heartbeat older than this is gone (the key expires then too)


class Heartbeat:
    """One service instance's heartbeat; `beat` at most every BEAT_EVERY_S (cheap to call)."""

    def __init__(self, bus: Bus, service: str, name: str | None = None):
        self.bus, self.service = bus, service
        self.name = name or f"{socket.gethostname()}-{os.getpid()}"
        self.started, self.last = time.time(), 0.0

    def beat(self, **state) -> None:
        """Record that this instance is alive, with what it reports (database: ok|away, ...).
        While Redis is away there is nowhere to write: the service's own outage line says so."""
        now = time.time()
        if now - self.last < BEAT_EVERY_S:
            return
        record = {"service": self.service, "name": self.name, "at": now,
                  "up_s": round(now - self.started), "pid": os.getpid(), **state}  # fmt: skip
        try:
            self.bus.client.set(
                keys.service_health(self.service, self.name, self.bus.namespace),
                json.dumps(record), ex=int(FRESH_S),
            )  # fmt: skip
        except BUS_DOWN:
            return
        self.last = now


def heartbeats(bus: Bus) -> list[dict]:
    """Every live service instance's last heartbeat, by service and name."""
    found = []
    for key in bus.client.scan_iter(match=keys.service_health_pattern(bus.namespace), count=200):
        raw = bus.client.get(key)
        if raw:
            found.append(json.loads(raw))
    return sorted(found, key=lambda r: (r["service"], r["name"]))
