"""Each long-running service beats its heartbeat from a thread of its own, so a service busy
with a long batch (or waiting for a dependency) still says it is alive and how it sees them."""

from __future__ import annotations

import threading
from collections.abc import Callable

from streams.bus import Bus
from streams.health import BEAT_EVERY_S, Heartbeat


def keep_beating(bus: Bus, service: str, stop: threading.Event, name: str | None = None,
                 report: Callable[[], dict] | None = None) -> threading.Thread:  # fmt: skip
    """Beat `service`'s heartbeat (with what `report` says) every few seconds until `stop`."""
    heart = Heartbeat(bus, service, name)

    def loop() -> None:
        while not stop.is_set():
            try:
                state = report() if report else {}
            except Exception as exc:  # noqa: BLE001 - a failing report is itself news
                state = {"report": f"failed: {type(exc).__name__}"}
            heart.beat(**state)
            stop.wait(BEAT_EVERY_S)

    thread = threading.Thread(target=loop, name=f"{service}-heartbeat", daemon=True)
    thread.start()
    return thread


def serve_metrics(*collectors) -> int | None:
    """Expose this process's Prometheus metrics on SC_METRICS_HOST:SC_METRICS_PORT (loopback
    unless told otherwise) with `collectors` read at scrape time; nothing when the port is unset.
    One port per process: several dispatchers on one host each get their own."""
    import os

    from prometheus_client import REGISTRY, start_http_server

    from stack.context import ServiceError

    port = os.environ.get("SC_METRICS_PORT", "").strip()
    if not port:
        return None
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ServiceError(f"SC_METRICS_PORT={port!r} is not a port; give a number like 9101")
    for collector in collectors:
        REGISTRY.register(collector)
    start_http_server(int(port), addr=os.environ.get("SC_METRICS_HOST", "127.0.0.1"))
    return int(port)


def database_state(store) -> dict:
    """What a heartbeat says of the ticket database."""
    return {"database": "ok" if store.reachable() else "away"}


def show_status(cfg) -> int:
    """`run.py status`: the bus, the database and every service's last heartbeat; exit status
    0 when the bus, the database and at least one dispatcher are up, else 1 (for scripts)."""
    import time

    from dispatch.store import Store, default_database_url
    from streams.bus import connect
    from streams.health import heartbeats

    url = cfg.services.redis_url
    demo_url = cfg.services.data_dir / "redis" / "url"  # a demo's embedded Redis
    if not url and demo_url.exists():
        url = demo_url.read_text(encoding="utf-8").strip()
    database_url = cfg.services.database_url or default_database_url(cfg.services.data_dir)
    store = Store(database_url)
    database = store.reachable()
    store.dispose()
    bus = Bus(connect(url)) if url else None
    bus_up = bool(bus and bus.reachable())
    print(f"bus       {_hide(url or 'not configured (REDIS_URL)')}  {'up' if bus_up else 'DOWN'}")
    print(f"database  {_hide(database_url)}  {'up' if database else 'DOWN'}")
    beats = heartbeats(bus) if bus_up else []
    now = time.time()
    for beat in beats:
        extra = {k: v for k, v in beat.items() if k not in ("service", "name", "at", "up_s", "pid")}
        said = ", ".join(f"{k} {v}" for k, v in extra.items())
        print(f"{beat['service']:<10} {beat['name']:<34} up {_span(beat['up_s'])}, "
              f"beat {now - beat['at']:.0f} s ago{'; ' + said if said else ''}")  # fmt: skip
    if bus_up and not beats:
        print("no service has reported in the last 15 s")
    missing = [] if any(b["service"] == "dispatcher" for b in beats) else ["dispatcher"]
    healthy = bus_up and database and not missing
    if not healthy:
        down = [n for n, ok in (("bus", bus_up), ("database", database)) if not ok] + missing
        print(f"NOT READY: {', '.join(down)} down (tickets are not filed without them)")
    return 0 if healthy else 1


def _hide(url: str) -> str:
    """A URL without its password."""
    import re

    return re.sub(r"(://[^:/@]+):[^@/]+@", r"\1:***@", url)


def _span(seconds: float) -> str:
    minutes = int(seconds // 60)
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"
