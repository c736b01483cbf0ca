"""One-shot report tools: `run.py brief` (the weekly or monthly PDF) and `run.py history` (a
generated multi-year ticket history for trends, demos and benchmarks)."""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from pathlib import Path

from config.schema import AppConfig
from stack.context import Context, ServiceError

log = logging.getLogger(__name__)


def run_report(cfg: AppConfig, command: str, args) -> int:
    """`run.py brief ...`, `run.py history ...` or `run.py drill ...`."""
    if command == "brief":
        return write_brief_file(cfg, args.week, args.month, args.lang, args.out)
    if command == "drill":
        return run_drill(cfg, args.name, args.speed)
    return seed_history(cfg, args.tickets, args.years, args.seed)


def run_drill(cfg: AppConfig, name: str, speed: float) -> int:
    """`python run.py drill road-collapse [--speed X]`: play a drill against the running
    stack's store (and its bus when Redis is configured, so phones and walls follow live)."""
    from geo.layers import load_layers
    from sim.drill import Drill

    if speed <= 0:
        raise ServiceError("--speed must be positive (1 is real time)")
    ctx = Context(cfg)
    bus = None
    try:
        bus = ctx.bus
    except ServiceError:
        print("drill: no Redis configured; phones and walls see the drill on their next refresh")
    drill = Drill(cfg, ctx.store, load_layers(cfg), bus, say=lambda line: print(f"drill: {line}"))
    out = cfg.services.data_dir.resolve() / f"sitrep-drill-{name}.pdf"
    result = drill.road_collapse(out, speed)
    print(f"drill {name}: incident {result.incident_id}, {result.steps} steps, {result.sitrep}")
    return 0


def period_of(week: str | None, month: str | None) -> tuple[str, dt.date, dt.date]:
    """`2026-W48` or `2026-11` as (kind, first day, last day); ServiceError names the form."""
    if week:
        found = re.fullmatch(r"(\d{4})-W(\d{1,2})", week.strip())
        try:
            first = dt.date.fromisocalendar(int(found[1]), int(found[2]), 1) if found else None
        except ValueError:
            first = None
        if first is None:
            raise ServiceError(f"--week {week!r}: write an ISO week such as 2026-W48")
        return "week", first, first + dt.timedelta(days=6)
    found = re.fullmatch(r"(\d{4})-(\d{1,2})", (month or "").strip())
    if not found or not 1 <= int(found[2]) <= 12:
        raise ServiceError(f"--month {month!r}: write a month such as 2026-11")
    first = dt.date(int(found[1]), int(found[2]), 1)
    after = (first + dt.timedelta(days=32)).replace(day=1)
    return "month", first, after - dt.timedelta(days=1)


def brief_bytes(
    cfg: AppConfig, store, kind: str, first: dt.date, last: dt.date, lang: str
) -> bytes:
    """The brief of a week or month as PDF bytes (the trends page offers the same)."""
    from dispatch.reports.brief import write_brief
    from dispatch.reports.trend_report import build
    from dispatch.trends import TrendFilter, Trends

    now = dt.datetime.now(dt.UTC)
    step = "day" if kind == "week" else "week"
    report = build(cfg, Trends(cfg, store), TrendFilter(first, last), now, lang, step)
    return write_brief(cfg, report, kind, lang, now)


def write_brief_file(
    cfg: AppConfig, week: str | None, month: str | None, lang: str, out: str | None
) -> int:
    """`python run.py brief --week 2026-W48` (or `--month 2026-11`): writes the PDF."""
    from dispatch.reports.brief import BriefError

    kind, first, last = period_of(week, month)
    started = time.perf_counter()
    try:
        pdf = brief_bytes(cfg, Context(cfg).store, kind, first, last, lang)
    except BriefError as exc:
        raise ServiceError(str(exc)) from None
    label = week or month
    path = Path(out) if out else cfg.services.data_dir.resolve() / f"brief-{label}.pdf"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pdf)
    print(f"{path} ({len(pdf) // 1024} KiB, {time.perf_counter() - started:.1f} s)")
    return 0


def seed_history(cfg: AppConfig, tickets: int, years: float, seed: int = 7) -> int:
    """`python run.py history --tickets N --years Y`: N generated tickets over the Y years
    before today, written to the ticket store with progress."""
    from geo.layers import load_layers
    from sim.history import HistorySpec, generate, write

    if tickets <= 0 or years <= 0:
        raise ServiceError("--tickets and --years must be positive")
    now = dt.datetime.now(dt.UTC)
    today = now.astimezone(cfg.district.zone).date()
    start = today - dt.timedelta(days=round(365.25 * years))
    spec = HistorySpec(tickets, start, today - dt.timedelta(days=1), now, seed)
    store = Context(cfg).store
    began = time.perf_counter()

    def progress(done: int) -> None:
        rate = done / max(time.perf_counter() - began, 1e-6)
        print(f"\rhistory: {done:,}/{tickets:,} tickets ({rate:,.0f}/s)", end="", flush=True)

    written = write(store, generate(cfg, load_layers(cfg), spec), progress)
    print(f"\nhistory: {written:,} tickets from {start} to {spec.end} in "
          f"{time.perf_counter() - began:.0f} s")  # fmt: skip
    return 0


def demo_history(cfg: AppConfig) -> int:
    """The demo's past: `trends.demo_history` generated tickets over the two years that end a
    fortnight ago (all settled, so the live map and warnings see none of them), written once."""
    from sqlalchemy import select

    from dispatch.store import TicketRow
    from geo.layers import load_layers
    from sim.history import HistorySpec, generate, write

    count = cfg.trends.demo_history
    store = Context(cfg).store
    now = dt.datetime.now(dt.UTC)
    end = now.astimezone(cfg.district.zone).date() - dt.timedelta(days=14)
    with store.session() as session:
        earlier = session.scalar(select(TicketRow.id).where(TicketRow.local_day <= end).limit(1))
    if count <= 0 or earlier:
        return 0
    spec = HistorySpec(count, end - dt.timedelta(days=730), end, now)
    written = write(store, generate(cfg, load_layers(cfg), spec))
    log.info("demo history: %d tickets from %s to %s", written, spec.start, spec.end)
    return written


def import_osm_layers(path: str, bbox: str | None, out: str) -> int:
    """`python run.py import-osm FILE.osm.pbf [--bbox W,S,E,N] --out DIR`: the extract as
    GeoJSON layers and one GeoPackage, ready for a config's `map.layers`."""
    from geo.osm_import import OsmImportError, import_osm, write_layers

    box = None
    if bbox:
        try:
            box = tuple(float(part) for part in bbox.split(","))
        except ValueError:
            box = ()
        if len(box) != 4:
            raise ServiceError(f"--bbox {bbox!r}: write WEST,SOUTH,EAST,NORTH in degrees")
    started = time.perf_counter()
    try:
        frames = import_osm(Path(path), box)
    except OsmImportError as exc:
        raise ServiceError(str(exc)) from None
    written = write_layers(frames, Path(out))
    for kind, frame in frames.items():
        print(f"{kind}: {len(frame)}")
    print(f"wrote {', '.join(str(p) for p in written)} in {time.perf_counter() - started:.1f} s")
    return 0
