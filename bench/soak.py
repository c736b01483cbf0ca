"""Soak: the whole demo (simulator, vision workers, dispatcher, API, cockpit) under extra load for
a long time; prints, per window, memory per service, open file descriptors, push latency and
dispatch latency as a wall sees them, so that a leak or a slow drift shows as a trend.

    python bench/soak.py [--minutes 60] [--window-min 5] [--reports-per-min 30] [--probe-s 10]

Load: hotline reports at `--reports-per-min` on 300 places (they merge into open tickets, which
the simulated crews work and close). Probes: every `--probe-s` a report at a fresh place. Push
latency: publish -> the probe in a wall's Socket.IO payload (bus -> cockpit -> Socket.IO).
Dispatch latency: publish -> the dispatcher filing it into a ticket (read from the database).
"lost" counts probes no wall showed within 2 minutes. Memory and descriptors are read from
/proc for every process of the demo.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests
import socketio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_stack import demo_config, start_demo, stop_demo  # noqa: E402
from sqlalchemy import select  # noqa: E402

from dispatch.store import EventLinkRow, Store, default_database_url  # noqa: E402
from sim.district import HEIGHT_M, WIDTH_M, to_lon_lat  # noqa: E402
from streams.bus import Bus, connect  # noqa: E402
from streams.records import Event  # noqa: E402

PROBES: list[tuple[str, float]] = []  # (probe id, when published)
SERVICES = ("dispatcher", "api", "cockpit", "vision", "sim", "redis-server", "demo")


def _tree(pid: int) -> list[int]:
    """`pid` and all its descendants (Linux /proc)."""
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                todo += [int(c) for c in task.read_text().split()]
            except OSError:
                continue
    return out


def _service(pid: int) -> str | None:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    words = [a.decode(errors="replace") for a in argv if a]
    if words and "redis-server" in words[0]:  # it names itself "redis-server HOST:PORT"
        return "redis-server"
    if len(words) > 2 and words[1].endswith("run.py"):
        return words[2] if words[2] in SERVICES else None
    return None


def resources(root: int) -> tuple[dict[str, float], int]:
    """RSS in MB per service (summed over its processes) and open descriptors of them all."""
    rss: dict[str, float] = {}
    fds = 0
    for pid in _tree(root):
        name = _service(pid)
        if name is None:
            continue
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            fds += len(os.listdir(f"/proc/{pid}/fd"))
        except OSError:
            continue
        kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS"))
        rss[name] = rss.get(name, 0.0) + kb / 1024
    return rss, fds


class Wall:
    """A kiosk's Socket.IO connection; times when probes show up in its payloads."""

    def __init__(self, kiosk_url: str, base: str):
        session = requests.Session()
        session.get(kiosk_url, allow_redirects=False, timeout=30).raise_for_status()
        cookie = "; ".join(f"{k}={v}" for k, v in session.cookies.items())
        self.lock = threading.Lock()
        self.sent: dict[str, float] = {}  # probe id -> when published
        self.push: list[tuple[float, float]] = []  # (sent, seconds)
        self.open_tickets = 0
        self.client = socketio.Client(reconnection=True)
        self.client.on("live", self.on_live)
        self.client.on("connect", lambda: self.client.emit("join", {"lang": "en"}))
        self.client.connect(base, headers={"Cookie": cookie}, transports=["websocket"])

    def on_live(self, payload: dict) -> None:
        now = time.time()
        with self.lock:
            self.open_tickets = payload["kpis"]["open"]
            for probe in payload["events"]["ids"]:
                if probe in self.sent:
                    self.push.append((self.sent[probe], now - self.sent.pop(probe)))

    def probe(self, bus: Bus, n: int) -> None:
        """A hotline report somewhere in the south-east quarter (it may merge into a ticket)."""
        lon, lat = to_lon_lat(WIDTH_M * 0.55 + (n * 37) % 900, HEIGHT_M * 0.6 + (n * 53) % 500)
        event = Event(event_id=f"soak-{n}", category="dirty_road", source="hotline",
                      lon=lon, lat=lat, detected_at=time.time())  # fmt: skip
        with self.lock:
            self.sent[event.event_id] = event.detected_at
        PROBES.append((event.event_id, event.detected_at))
        bus.publish(event)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, round(q * len(ordered)) - 1)] * 1000 if ordered else float("nan")


def filing_delays(store: Store, since: float) -> list[float]:
    """Seconds from publishing each probe sent after `since` to the dispatcher filing it."""
    with store.session() as session:
        links = session.scalars(
            select(EventLinkRow).where(EventLinkRow.event_id.like("soak-%"))
        ).all()
        sent = dict(PROBES)
    return [
        link.linked_at.timestamp() - sent[link.event_id]
        for link in links
        if sent.get(link.event_id, 0) >= since
    ]


def _row(minute: float, samples: list, wall: Wall, since: float, store: Store) -> list[str]:
    rss = {k: statistics.mean(s[0].get(k, 0) for s in samples) for k in SERVICES}
    push = [s for t, s in wall.push if t >= since]
    dispatch = filing_delays(store, since)
    lost = sum(1 for t in wall.sent.values() if time.time() - t > 120)
    return [f"{minute:6.0f}", f"{sum(rss.values()):7.0f}",
            *(f"{rss[k]:6.0f}" for k in SERVICES[:-1]),
            f"{statistics.mean(s[1] for s in samples):5.0f}",
            f"{_pct(push, .5):6.0f}", f"{_pct(push, .95):6.0f}",
            f"{_pct(dispatch, .5):6.0f}", f"{_pct(dispatch, .95):6.0f}",
            f"{wall.open_tickets:5d}", f"{lost:4d}"]  # fmt: skip


def soak(args) -> None:
    """Run the demo for `args.minutes`, printing one row per window."""
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}")
    print(f"soak: {args.minutes} min, {args.reports_per_min} reports/min, probe every "
          f"{args.probe_s} s; memory MB, latencies ms")  # fmt: skip
    head = ["min", "rss", *SERVICES[:-1], "fds", "push50", "push95", "disp50", "disp95",
            "open", "lost"]  # fmt: skip
    print(" ".join(f"{h:>6}" for h in head), flush=True)
    rng = random.Random(7)
    spots = [to_lon_lat(rng.uniform(100, WIDTH_M - 100), rng.uniform(100, HEIGHT_M * 0.5))
             for _ in range(300)]  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        config, _cfg = demo_config(Path(tmp) / "config")
        demo = start_demo(config, Path(tmp) / "data", flags=())
        try:
            bus = Bus(connect(demo.redis_url))
            store = Store(default_database_url(demo.data))
            wall = Wall(demo.kiosk_url(), demo.url)
            started = time.monotonic()
            window_start, samples, n, next_probe, next_report = time.time(), [], 0, 0.0, 0.0
            gap = 60 / args.reports_per_min if args.reports_per_min else float("inf")
            while (elapsed := time.monotonic() - started) < args.minutes * 60:
                if elapsed >= next_probe:
                    wall.probe(bus, n)
                    n, next_probe = n + 1, next_probe + args.probe_s
                if elapsed >= next_report:
                    lon, lat = rng.choice(spots)
                    bus.publish(Event(category="bin_overflow", source="hotline", lon=lon, lat=lat))
                    next_report += gap
                if not samples or time.time() - samples[-1][2] >= 15:
                    samples.append((*resources(demo.process.pid), time.time()))
                if time.time() - window_start >= args.window_min * 60:
                    with wall.lock:
                        row = _row(elapsed / 60, samples, wall, window_start, store)
                    print(" ".join(f"{c:>6}" for c in row), flush=True)
                    window_start, samples = time.time(), []
                time.sleep(0.2)
            if samples:  # the last window, however short
                with wall.lock:
                    row = _row(args.minutes, samples, wall, window_start, store)
                print(" ".join(f"{c:>6}" for c in row), flush=True)
            wall.client.disconnect()
        finally:
            stop_demo(demo)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60)
    parser.add_argument("--window-min", type=float, default=5)
    parser.add_argument("--reports-per-min", type=float, default=30)
    parser.add_argument("--probe-s", type=float, default=10)
    soak(parser.parse_args())


if __name__ == "__main__":
    main()
