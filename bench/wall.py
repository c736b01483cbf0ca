"""Wall benchmark: push-to-paint latency of a 4K kiosk wall under a busy district.

    python bench/wall.py [--tickets 500] [--units 60] [--samples 40] [--size 3840x2160]
                         [--warmup 3] [--full-resolution | --software-map-pixels N]
                         [--trace FILE]

Starts the demo stack (no simulator, no vision) on the demo district with report merging off,
files `--tickets` open tickets and puts `--units` units on the map, opens the wall through its
display token in headless Chromium, then publishes one new camera finding at a time and times
how long it takes from the publish to the browser's next animation frame after the finding is
on the map (bus -> cockpit -> Socket.IO -> Dash -> Plotly). Prints p50, p95 and max.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_stack import CHROMIUM, demo_config, start_demo, stop_demo  # noqa: E402

from sim.district import HEIGHT_M, WIDTH_M, to_lon_lat  # noqa: E402
from streams.bus import Bus, connect  # noqa: E402
from streams.records import Event, UnitPosition  # noqa: E402

ON_MAP = """(id) => {
    const gd = document.querySelector('#live-map .js-plotly-plot');
    const trace = gd && gd.data.find(t => t.meta === 'events');
    if (!trace || !trace.customdata || !Array.from(trace.customdata).includes(id)) return false;
    return new Promise(done => requestAnimationFrame(() => done(Date.now())));
}"""


def _fill(bus: Bus, unit_ids: list[str], tickets: int) -> None:
    step = 25  # metres between reports: a grid over the district
    per_row = (WIDTH_M - 100) // step
    events = []
    for n in range(tickets):
        x, y = 50 + (n % per_row) * step, 50 + (n // per_row) * step % (HEIGHT_M - 100)
        lon, lat = to_lon_lat(x, y)
        events.append(Event(category="bin_overflow", source="hotline", lon=lon, lat=lat))
    for start in range(0, len(events), 100):
        bus.publish_many(events[start : start + 100])
    units = []
    for n, unit_id in enumerate(unit_ids):
        lon, lat = to_lon_lat(100 + (n * 37) % (WIDTH_M - 200), 100 + (n * 53) % (HEIGHT_M - 200))
        units.append(UnitPosition(unit_id=unit_id, lon=lon, lat=lat))
    bus.publish_many(units)


def measure(args) -> list[float]:
    """Push-to-paint latencies in milliseconds."""
    from playwright.sync_api import sync_playwright

    width, height = (int(v) for v in args.size.split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        config, cfg = demo_config(Path(tmp) / "config", units=args.units, merge_m=0)
        # The wall stays on its live map, the view that costs most to paint (a rotating wall
        # would show the camera wall or the board for two thirds of the samples).
        tree = yaml.safe_load(config.read_text())
        tree["wall"] = {**tree.get("wall", {}), "views": ["map"]}
        if args.full_resolution:
            tree["wall"]["software_map_pixels"] = 0
        elif args.software_map_pixels is not None:
            tree["wall"]["software_map_pixels"] = args.software_map_pixels
        config.write_text(yaml.safe_dump(tree, allow_unicode=True, sort_keys=False))
        demo = start_demo(config, Path(tmp) / "data")
        try:
            bus = Bus(connect(demo.redis_url))
            _fill(bus, [u.id for u in cfg.units], args.tickets)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
                )
                page = browser.new_page(viewport={"width": width, "height": height})
                page.goto(demo.kiosk_url())
                page.wait_for_selector(".link.up", timeout=60_000)
                page.wait_for_function(
                    "(n) => parseInt(document.querySelector('#kpi-open').textContent) >= n",
                    arg=args.tickets,
                    timeout=180_000,
                )
                latencies = []
                if args.trace:
                    browser.start_tracing(page=page, path=args.trace, screenshots=False)
                for n in range(args.warmup + args.samples):
                    lon, lat = to_lon_lat(1200 + n * 5, 700)
                    event = Event(
                        event_id=f"wall-bench-{n}", category="dirty_road", lon=lon, lat=lat
                    )
                    sent = time.time() * 1000
                    bus.publish(event)
                    painted = page.wait_for_function(
                        ON_MAP, arg=event.event_id, polling="raf", timeout=30_000
                    ).json_value()
                    latencies.append(painted - sent)
                    time.sleep(0.6)  # one change per push interval, as live news arrives
                if args.trace:
                    browser.stop_tracing()
                browser.close()
            return latencies
        finally:
            stop_demo(demo)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=500)
    parser.add_argument("--units", type=int, default=60)
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--size", default="3840x2160")
    parser.add_argument(
        "--warmup", type=int, default=3, help="first findings not counted (the map's first tiles)"
    )
    parser.add_argument(
        "--full-resolution",
        action="store_true",
        help="draw the map at full resolution even in software WebGL (wall.software_map_pixels: 0)",
    )
    parser.add_argument(
        "--software-map-pixels",
        type=int,
        help="wall.software_map_pixels for this run (default: the configured one)",
    )
    parser.add_argument("--trace", help="write a Chromium performance trace of the samples here")
    args = parser.parse_args()
    in_order = measure(args)
    print("warm-up, ms:", " ".join(f"{v:.0f}" for v in in_order[: args.warmup]))
    print("each sample, ms:", " ".join(f"{v:.0f}" for v in in_order[args.warmup :]))
    latencies = sorted(in_order[args.warmup :])
    p95 = latencies[max(0, round(0.95 * len(latencies)) - 1)]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}")
    print(
        f"wall {args.size}, {args.tickets} open tickets, {args.units} units, "
        f"{len(latencies)} samples"
    )
    print(
        f"push-to-paint ms: p50 {statistics.median(latencies):.0f}  p95 {p95:.0f}  "
        f"max {latencies[-1]:.0f}"
    )


if __name__ == "__main__":
    main()
