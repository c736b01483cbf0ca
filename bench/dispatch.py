"""Dispatch benchmark: event -> assigned ticket latency, and sustained events/s with merging.

    python bench/dispatch.py [--rate 200] [--seconds 10] [--backlog 5000] [--dispatchers 3]
                             [--processes 3] [--no-merge]

Runs the real dispatcher (bus consumer, routing, merging, deadlines, audit, ticket-change
publishing) against a private redis-server and the default SQLite store in a temporary data dir,
or the database in DATABASE_URL. Units report fresh positions; workload caps are lifted so every
new ticket gets a unit. Events land on a pool of places, so about half of them merge.

1. paced: `rate` events/s for `seconds`; latency from publish to the ticket change on the bus
   that shows the event filed (new ticket dispatched to a unit, or merged);
2. flat out: `backlog` events published first, then the time for `dispatchers` fresh
   dispatchers (threads of this process, each its own consumer and database connections) to
   drain them together (sustained events/s); with `--processes N`, N `run.py dispatcher`
   processes instead, all reading before the backlog is published.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import yaml  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from config.loader import load_config  # noqa: E402
from config.paths import DEMO_CONFIG, PROJECT_ROOT  # noqa: E402
from dispatch.dispatcher import (  # noqa: E402
    GROUP,  # noqa: E402
    Dispatcher,
    run_dispatcher,
)
from dispatch.routing import Router  # noqa: E402
from dispatch.store import EventLinkRow, Store, TicketRow, default_database_url  # noqa: E402
from geo.index import DistrictIndex  # noqa: E402
from geo.layers import load_layers  # noqa: E402
from sim.district import HEIGHT_M, WIDTH_M, to_lon_lat  # noqa: E402
from streams import keys  # noqa: E402
from streams.bus import Bus, connect  # noqa: E402
from streams.embedded import EmbeddedRedis  # noqa: E402
from streams.records import Event, UnitPosition, decode  # noqa: E402


def bench_config(data_dir: Path, merge_radius_m: float | None = None):
    cfg = load_config()
    types = [t.model_copy(update={"workload_cap": 1_000_000}) for t in cfg.unit_types]
    services = cfg.services.model_copy(update={"data_dir": data_dir})
    update = {"unit_types": types, "services": services}
    if merge_radius_m is not None:
        update["dispatch"] = cfg.dispatch.model_copy(update={"merge_radius_m": merge_radius_m})
    return cfg.model_copy(update=update)


def places(rng: random.Random, count: int) -> list[tuple[float, float]]:
    """A pool of problem places; repeated picks within 250 m merge."""
    return [
        to_lon_lat(rng.uniform(30, WIDTH_M - 30), rng.uniform(30, HEIGHT_M - 30))
        for _ in range(count)
    ]


def make_event(rng, pool, n: int) -> Event:
    lon, lat = rng.choice(pool)
    category = rng.choice(["bin_overflow", "dirty_road", "illegal_parking"])
    return Event(event_id=f"b{n}", category=category, source="patrol", lon=lon, lat=lat)


class Watcher(threading.Thread):
    """Reads ticket changes and notes when each event's filing showed up on the bus."""

    def __init__(self, bus: Bus):
        super().__init__(daemon=True)
        self.bus, self.seen, self.stop = bus, {}, threading.Event()
        self.last_id = "$"

    def run(self) -> None:
        key = self.bus.key(keys.TICKET_CHANGES)
        while not self.stop.is_set():
            reply = self.bus.client.xread({key: self.last_id}, count=500, block=200)
            now = time.perf_counter()
            for _, entries in reply or []:
                for entry_id, fields in entries:
                    self.last_id = entry_id
                    change = decode(fields)
                    self.seen.setdefault(change.ticket_id, []).append((now, change))


@dataclass
class Rig:
    """What one benchmark run works on: config, bus, store, district index and event places."""

    cfg: object
    bus: Bus
    store: Store
    index: DistrictIndex
    rng: random.Random
    pool: list


def start_dispatcher(rig: Rig, name: str):
    """A dispatcher thread with every unit on a fresh fix; returns (stop event, thread)."""
    dispatcher = Dispatcher(rig.cfg, rig.store, rig.bus, Router(rig.cfg, rig.index))
    for unit in rig.cfg.units:
        dispatcher.on_position(
            UnitPosition(
                unit_id=unit.id, lon=unit.home[0], lat=unit.home[1], fix_time=time.time() + 3600
            )
        )
    stop = threading.Event()
    thread = threading.Thread(target=run_dispatcher, args=(dispatcher, name, stop), daemon=True)
    thread.start()
    return stop, thread


def linked_count(rig: Rig) -> int:
    """Events filed so far."""
    with rig.store.session() as session:
        return session.scalar(select(func.count()).select_from(EventLinkRow))


def paced(rig: Rig, args) -> dict[str, list[str]]:
    """Publish at a steady rate; print latency to the filed ticket; return ticket -> events."""
    watcher = Watcher(rig.bus)
    watcher.start()
    stop, thread = start_dispatcher(rig, "bench-paced")
    time.sleep(1.0)
    sent: dict[str, float] = {}
    total = int(args.rate * args.seconds)
    started = time.perf_counter()
    for n in range(total):
        due = started + n / args.rate
        while (delay := due - time.perf_counter()) > 0:
            time.sleep(delay)
        event = make_event(rig.rng, rig.pool, n)
        sent[event.event_id] = time.perf_counter()
        rig.bus.publish(event)
    deadline = time.perf_counter() + 60
    while linked_count(rig) < total and time.perf_counter() < deadline:
        time.sleep(0.1)
    with rig.store.session() as session:
        links = {link.event_id: link.ticket_id for link in session.scalars(select(EventLinkRow))}
        tickets = {t.id: t for t in session.scalars(select(TicketRow))}
    time.sleep(0.5)
    watcher.stop.set()
    watcher.join()
    stop.set()
    thread.join(timeout=10)
    order: dict[str, list[str]] = {}
    for event_id in sorted(sent, key=sent.get):
        order.setdefault(links[event_id], []).append(event_id)
    report_latency(args, total, order, tickets, watcher, sent)
    return order


def report_latency(args, total: int, order, tickets, watcher, sent) -> None:
    """A ticket change showing `reports` >= k means its k-th event is filed (one change may
    cover several events that arrived in the same batch)."""
    latencies, assigned = [], 0
    for ticket_id, event_ids in order.items():
        changes = sorted(watcher.seen.get(ticket_id, []), key=lambda c: c[0])
        for k, event_id in enumerate(event_ids, start=1):
            shown = next((at for at, change in changes if change.reports >= k), None)
            if shown is not None:
                latencies.append((shown - sent[event_id]) * 1000)
        assigned += tickets[ticket_id].unit_id is not None
    lat = np.array(latencies)
    merged = total - len(order)
    print(
        f"paced: {total} events at {args.rate}/s -> {len(order)} tickets ({assigned} assigned), "
        f"{merged} merged ({merged / total:.0%})"
    )
    print(
        f"latency publish -> filed ticket on the bus: p50 {np.percentile(lat, 50):.1f} ms, "
        f"p99 {np.percentile(lat, 99):.1f} ms, max {lat.max():.1f} ms ({len(lat)} measured)"
    )


def flat_out(rig: Rig, args, filed_before: int, tickets_before: int) -> None:
    """A backlog drained by a fresh dispatcher, as fast as it goes."""
    backlog = [make_event(rig.rng, rig.pool, filed_before + n) for n in range(args.backlog)]
    for start in range(0, len(backlog), 200):
        rig.bus.publish_many(backlog[start : start + 200])
    began = time.perf_counter()
    running = [start_dispatcher(rig, f"bench-flat-{n}") for n in range(args.dispatchers)]
    while linked_count(rig) < filed_before + args.backlog:
        time.sleep(0.05)
    elapsed = time.perf_counter() - began
    for stop, thread in running:
        stop.set()
        thread.join(timeout=10)
    with rig.store.session() as session:
        made = session.scalar(select(func.count()).select_from(TicketRow)) - tickets_before
    mode = "merge radius 0" if args.no_merge else "merging on"
    mode += f", {args.dispatchers} dispatcher{'s' if args.dispatchers > 1 else ''}"
    print(
        f"flat out: {args.backlog} events drained in {elapsed:.2f} s = "
        f"{args.backlog / elapsed:,.0f} events/s ({mode}; {made} new tickets, "
        f"{args.backlog - made} merged)"
    )


def flat_out_processes(rig: Rig, args, filed_before: int, redis_url: str, url: str) -> None:
    """The backlog drained by `args.processes` `run.py dispatcher` processes, timed from the
    first event published to the last filed (they are all reading before it starts)."""
    folder = Path(tempfile.mkdtemp(prefix="sc-bench-cfg-"))
    shutil.copytree(DEMO_CONFIG.parent, folder, dirs_exist_ok=True)
    tree = yaml.safe_load((folder / DEMO_CONFIG.name).read_text())
    for unit_type in tree["unit_types"]:
        unit_type["workload_cap"] = 1_000_000
    if args.no_merge:
        tree["dispatch"]["merge_radius_m"] = 0
    (folder / DEMO_CONFIG.name).write_text(yaml.safe_dump(tree, allow_unicode=True))
    env = {**os.environ, "REDIS_URL": redis_url, "DATABASE_URL": url,
           "SC_DATA_DIR": str(rig.cfg.services.data_dir)}  # fmt: skip
    argv = [sys.executable, str(PROJECT_ROOT / "run.py"), "dispatcher", "--config",
            str(folder / DEMO_CONFIG.name)]  # fmt: skip
    workers = [subprocess.Popen([*argv, "--name", f"bench-proc-{n}"], env=env)
               for n in range(args.processes)]  # fmt: skip

    def reading() -> int:
        consumers = rig.bus.client.xinfo_consumers(rig.bus.key(keys.EVENTS), GROUP)
        return sum(1 for c in consumers if str(c["name"]).find("bench-proc-") >= 0)

    while reading() < args.processes:
        time.sleep(0.1)  # each process joins the group when it starts reading
    backlog = [make_event(rig.rng, rig.pool, filed_before + n) for n in range(args.backlog)]
    began = time.perf_counter()
    for start in range(0, len(backlog), 200):
        rig.bus.publish_many(backlog[start : start + 200])
    while linked_count(rig) < filed_before + args.backlog:
        time.sleep(0.05)
    elapsed = time.perf_counter() - began
    for worker in workers:
        worker.terminate()
        worker.wait(30)
    print(
        f"flat out: {args.backlog} events drained in {elapsed:.2f} s = "
        f"{args.backlog / elapsed:,.0f} events/s ({args.processes} dispatcher processes)"
    )


def run(args) -> None:
    """Both measurements on a private Redis and the configured (or a scratch) database."""
    tmp = Path(tempfile.mkdtemp(prefix="sc-bench-"))
    cfg = bench_config(tmp / "data", 0 if args.no_merge else None)
    redis = EmbeddedRedis(tmp / "redis", persist=False)
    bus = Bus(connect(redis.start()))
    url = os.environ.get("DATABASE_URL") or default_database_url(cfg.services.data_dir)
    store = Store(url)
    store.create_schema()
    index = DistrictIndex(load_layers(cfg), cfg.district.crs)
    rng = random.Random(7)
    rig = Rig(cfg, bus, store, index, rng, places(rng, 300))
    order = paced(rig, args)
    if args.processes:
        flat_out_processes(rig, args, int(args.rate * args.seconds), redis.url, url)
    else:
        flat_out(rig, args, int(args.rate * args.seconds), len(order))
    print(
        f"database: {store.engine.dialect.name}; machine: {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}"
    )
    store.dispose()
    redis.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=200, help="paced events per second")
    parser.add_argument("--seconds", type=float, default=10, help="paced duration")
    parser.add_argument("--backlog", type=int, default=5000, help="events for the flat-out run")
    parser.add_argument(
        "--dispatchers", type=int, default=1, help="dispatchers draining the backlog together"
    )
    parser.add_argument(
        "--processes", type=int, default=0, help="drain with N run.py dispatcher processes"
    )
    parser.add_argument(
        "--no-merge", action="store_true", help="merge radius 0: every event makes a new ticket"
    )
    run(parser.parse_args())
