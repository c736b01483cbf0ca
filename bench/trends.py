"""Trends benchmark: every trends-page query and the brief on a generated multi-year history.

    python bench/trends.py [--tickets 1000000] [--years 3] [--repeat 10] [--database-url URL]

Without --database-url it starts a private PostgreSQL (as the test suite does) and generates
the history into it with `sim.history` (COPY, then clustered by day as a live history is
stored). It then times each query the trends page runs, for a week, a month, a quarter and a
year (and a year narrowed to one grid), and the weekly and monthly briefs, and prints p50/p95.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from config.loader import load_config  # noqa: E402
from dispatch.store import Store  # noqa: E402
from dispatch.trends import DIMENSIONS, STEPS, TrendFilter, Trends  # noqa: E402
from geo.layers import load_layers  # noqa: E402
from sim.history import HistorySpec, generate, write  # noqa: E402
from stack.reports import brief_bytes  # noqa: E402


def _queries(trends: Trends, flt: TrendFilter, now: dt.datetime) -> dict:
    """Each query the trends page runs for one filter (the headline is three `counts`)."""
    found = {"counts": lambda: trends.counts(flt, now)}
    found.update({f"cut:{by}": (lambda by=by: trends.cut(flt, by, now)) for by in DIMENSIONS})
    found.update({f"series:{s}": (lambda s=s: trends.series(flt, s, now)) for s in STEPS})
    found["durations (3 queries)"] = lambda: trends.durations(flt)
    found["hour_by_weekday"] = lambda: trends.hour_by_weekday(flt)
    found["hexagons"] = lambda: trends.hexagons(flt)
    found["repeat_places"] = lambda: trends.repeat_places(flt)
    found["supervised"] = lambda: trends.supervised(flt)
    found["long_overdue"] = lambda: trends.long_overdue(flt, now)
    return found


def _ranges(last: dt.date) -> dict[str, TrendFilter]:
    """The last whole ISO week and calendar month, the last 91 days and 365 days."""
    week_end = last - dt.timedelta(days=(last.weekday() + 1) % 7)
    month_end = last.replace(day=1) - dt.timedelta(days=1)
    return {
        "week": TrendFilter(week_end - dt.timedelta(days=6), week_end),
        "month": TrendFilter(month_end.replace(day=1), month_end),
        "quarter": TrendFilter(last - dt.timedelta(days=90), last),
        "year": TrendFilter(last - dt.timedelta(days=364), last),
        "year, one grid": TrendFilter(last - dt.timedelta(days=364), last, grid="G03"),
    }


def _ms(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p95 * 1000


def run(args) -> None:
    private = None
    url = args.database_url or os.environ.get("BENCH_DATABASE_URL")
    if not url:
        from tests.support.postgres import PrivatePostgres

        private = PrivatePostgres()
        url = private.start()
    try:
        _bench(url, args)
    finally:
        if private:
            private.stop()


def _bench(url: str, args) -> None:
    cfg = load_config()
    store = Store(url)
    store.create_schema()
    now = dt.datetime.now(dt.UTC)
    today = now.astimezone(cfg.district.zone).date()
    last = today - dt.timedelta(days=1)
    spec = HistorySpec(
        args.tickets, today - dt.timedelta(days=round(365.25 * args.years)), last, now
    )
    began = time.perf_counter()
    written = write(store, generate(cfg, load_layers(cfg), spec),
                    lambda n: print(f"\rgenerated {n:,}", end="", flush=True))  # fmt: skip
    print(f"\nhistory: {written:,} tickets over {args.years:g} years in "
          f"{time.perf_counter() - began:.0f} s ({store.engine.dialect.name})")  # fmt: skip
    trends = Trends(cfg, store)
    worst: dict[str, tuple[float, float, str]] = {}
    for name, flt in _ranges(last).items():
        cases = trends.counts(flt, now).filed
        print(f"{name}: {flt.start} to {flt.end}, {cases:,} cases")
        for query, call in _queries(trends, flt, now).items():
            samples = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                call()
                samples.append(time.perf_counter() - started)
            p50, p95 = _ms(samples)
            print(f"{name:15s} {query:24s} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms")
            if query not in worst or p95 > worst[query][1]:
                worst[query] = (p50, p95, name)
    print("\nslowest range per query:")
    for query, (p50, p95, name) in worst.items():
        print(f"  {query:24s} p95 {p95:7.1f} ms  (p50 {p50:6.1f}, {name})")
    for label, kind, first in (
        ("weekly brief", "week", last - dt.timedelta(days=last.weekday() + 7)),
        ("monthly brief", "month", (last.replace(day=1) - dt.timedelta(days=1)).replace(day=1)),
    ):
        end = (
            first + dt.timedelta(days=6)
            if kind == "week"
            else last.replace(day=1) - dt.timedelta(days=1)
        )
        started = time.perf_counter()
        pdf = brief_bytes(cfg, store, kind, first, end, "zh")
        print(f"{label}: {time.perf_counter() - started:.2f} s ({len(pdf) // 1024} KiB)")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    store.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--years", type=float, default=3)
    parser.add_argument("--repeat", type=int, default=10, help="timings per query and range")
    parser.add_argument("--database-url", help="default: a private PostgreSQL for the run")
    run(parser.parse_args())
