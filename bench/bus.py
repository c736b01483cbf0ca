"""Bus benchmark: events/s and latency through a consumer group with ack, beside raw XADD.

    python bench/bus.py [--events 50000] [--rate 2000] [--seconds 10]

Uses REDIS_URL when set, else starts a private redis-server (as the demo does). The producer
and the consumer run in separate processes, as the vision workers and dispatcher do.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from streams import keys  # noqa: E402
from streams.bus import Bus, connect  # noqa: E402
from streams.embedded import EmbeddedRedis  # noqa: E402
from streams.records import Event  # noqa: E402

BATCH = 100


def _event(n: int) -> Event:
    return Event(
        event_id=f"bench-{n}",
        category="bin_overflow",
        lon=120.17,
        lat=30.27,
        camera_id="cam-01",
        zone_id="bin-1",
        detected_at=time.time(),
    )


def raw_xadd(url: str, count: int) -> float:
    """Raw redis-py XADD of the same payload, pipelined in the same batches: entries/s."""
    client = connect(url)
    fields = _event(0).to_fields()
    started = time.perf_counter()
    for start in range(0, count, BATCH):
        pipe = client.pipeline(transaction=False)
        for _ in range(min(BATCH, count - start)):
            pipe.xadd("bench:raw", fields, maxlen=100_000, approximate=True)
        pipe.execute()
    elapsed = time.perf_counter() - started
    client.delete("bench:raw")
    return count / elapsed


def _consume(url: str, count: int, results) -> None:
    """Child process: read `count` events through the group, ack each batch, report latencies."""
    bus = Bus(connect(url))
    latencies: list[float] = []
    first: list[float] = []

    def handle(record):
        now = time.time()
        if not first:
            first.append(now)
        latencies.append(now - record.detected_at)

    consumer = bus.consumer(keys.EVENTS, "bench", "c1", handle, batch=500, block_ms=100)
    results.put("ready")
    consumer.run(max_messages=count)
    results.put((first[0], time.time(), latencies))


def through_group(url: str, count: int, rate: float | None) -> dict:
    """Publish `count` events (paced at `rate`/s, or flat out) and time them through the group."""
    bus = Bus(connect(url))
    bus.client.delete(bus.key(keys.EVENTS))
    results = mp.get_context("spawn").Queue()
    child = mp.get_context("spawn").Process(target=_consume, args=(url, count, results))
    child.start()
    assert results.get(timeout=60) == "ready"
    started = time.time()
    for start in range(0, count, BATCH):
        if rate:
            delay = started + start / rate - time.time()
            if delay > 0:
                time.sleep(delay)
        bus.publish_many(_event(n) for n in range(start, min(start + BATCH, count)))
    published = time.time()
    _, finished, latencies = results.get(timeout=600)
    child.join()
    ms = np.asarray(latencies) * 1000
    return {
        "events_per_s": count / (finished - started),
        "publish_per_s": count / (published - started),
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
    }


def main() -> None:
    """Run the three measurements and print a small report."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=50_000, help="events for the flat-out run")
    parser.add_argument("--rate", type=float, default=2000, help="paced run: events per second")
    parser.add_argument("--seconds", type=float, default=10, help="paced run: duration")
    args = parser.parse_args()

    server = None
    url = os.environ.get("REDIS_URL")
    if not url:
        server = EmbeddedRedis(Path(tempfile.mkdtemp(prefix="bench-redis-")), persist=False)
        url = server.start()
    try:
        print(
            f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
            f"{platform.python_version()}; redis: {url}",
            flush=True,
        )
        raw = raw_xadd(url, args.events)
        print(f"raw redis-py XADD (pipelined x{BATCH}):        {raw:10,.0f} entries/s", flush=True)
        flat = through_group(url, args.events, rate=None)
        print(
            f"bus end to end, flat out ({args.events:,} events):  "
            f"{flat['events_per_s']:10,.0f} events/s  (publish {flat['publish_per_s']:,.0f}/s)"
        )
        print(f"ratio end-to-end / raw XADD:                 {flat['events_per_s'] / raw:10.2f}")
        paced = through_group(url, int(args.rate * args.seconds), rate=args.rate)
        print(
            f"bus at {args.rate:,.0f} events/s for {args.seconds:.0f} s: "
            f"{paced['events_per_s']:,.0f} events/s, latency p50 {paced['p50_ms']:.1f} ms, "
            f"p99 {paced['p99_ms']:.1f} ms"
        )
        print(
            f"latency under flat-out load: p50 {flat['p50_ms']:.0f} ms, "
            f"p99 {flat['p99_ms']:.0f} ms (queueing behind the backlog)"
        )
    finally:
        if server:
            server.stop()


if __name__ == "__main__":
    main()
