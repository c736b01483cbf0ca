"""Any number of dispatchers: started together on an empty PostgreSQL database they create the
schema once, drain a shared backlog with no ticket lost or doubled and no deadlock; the database
itself refuses a second open ticket for one camera zone."""

from __future__ import annotations

import datetime as dt
import itertools
import math
import os
import subprocess
import sys

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from config.paths import PROJECT_ROOT
from dispatch.dispatcher import GROUP, Dispatcher
from dispatch.routing import Router
from dispatch.states import MERGEABLE
from dispatch.store import EventLinkRow, Store, TicketRow
from geo.index import DistrictIndex
from geo.layers import load_layers
from geo.projection import Projector
from sim.district import to_lon_lat
from streams import keys
from streams.embedded import free_port
from streams.records import Event
from tests.support.dispatchers import filed, start_dispatcher
from tests.support.waiting import wait_until

NOW = 1_800_000_000.0  # Friday 2027-01-15 08:00 UTC
NOW_DT = dt.datetime.fromtimestamp(NOW, dt.UTC)
TOTAL = 5_000
ZONES = 200


def _camera_reports() -> list[Event]:
    """Camera findings over 200 camera zones, each zone seen again and again."""
    events = []
    for n in range(TOTAL // 2):
        zone = n % ZONES
        x, y = 60 + (zone % 20) * 115, 60 + (zone // 20) * 138
        category = ("bin_overflow", "illegal_parking", "dirty_road")[zone % 3]
        where = dict(zip(("lon", "lat"), to_lon_lat(x + n % 7, y + n % 5), strict=True))
        events.append(Event(event_id=f"cam-{n:05d}", category=category, detected_at=NOW,
                            camera_id=f"load-cam-{zone:03d}", zone_id="z1", **where))  # fmt: skip
    return events


def _citizen_reports() -> list[Event]:
    """Citizens' reports (no camera: only the merge radius can tell they are one problem) of
    72 problems 400 m apart, each reported again and again."""
    spots = [(x, y, c) for x in range(100, 2400, 400) for y in range(100, 1500, 400)
             for c in ("bin_overflow", "illegal_parking", "dirty_road")]  # fmt: skip
    events = []
    for n in range(TOTAL // 2):
        x, y, category = spots[n % len(spots)]
        where = dict(zip(("lon", "lat"), to_lon_lat(x + n % 11, y + n % 13), strict=True))
        events.append(Event(event_id=f"citizen-{n:05d}", category=category, source="citizen",
                            detected_at=NOW, **where))  # fmt: skip
    return events


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_three_dispatchers_started_together_drain_a_backlog_exactly_once(
    redis_url, bus, database_url, demo_cfg, tmp_path
):
    phases = [_camera_reports(), _citizen_reports()]
    events = phases[0] + phases[1]
    env = {**os.environ, "REDIS_URL": redis_url, "DATABASE_URL": database_url,
           "SC_DATA_DIR": str(tmp_path)}  # fmt: skip
    log = tmp_path / "dispatchers.log"
    # All three at once on a database without a single table: the schema is made once. The
    # first also serves its metrics, as Prometheus would scrape them.
    metrics_port = free_port()
    workers = [start_dispatcher({**env, "SC_METRICS_PORT": str(metrics_port)} if n == 0 else env,
                                f"dispatcher-{n}", log) for n in range(3)]  # fmt: skip
    store = Store(database_url)
    try:
        # Every dispatcher reading before the backlog lands: all three race from the first event.
        wait_until(lambda: _readers(bus) == {f"dispatcher-{n}" for n in range(3)}, 120,
                   "the three dispatchers reading the events stream")  # fmt: skip
        for phase in phases:  # the camera zones first, then the citizens' reports
            goal = filed(store) + len(phase)
            bus.publish_many(phase)
            wait_until(lambda goal=goal: filed(store) >= goal, 240,
                       "every report filed by the three dispatchers")  # fmt: skip
        wait_until(lambda: bus.client.xpending(bus.key(keys.EVENTS), GROUP)["pending"] == 0,
                   30, "every entry acknowledged")  # fmt: skip
        assert all(w.poll() is None for w in workers), log.read_text()[-3000:]
        scraped = _metrics(f"http://127.0.0.1:{metrics_port}/metrics")
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(30)
    printed = log.read_text()
    assert "Traceback" not in printed and "eadlock" not in printed, printed[-3000:]
    with store.session() as session:
        linked = session.scalars(select(EventLinkRow.event_id)).all()
        reports = session.scalar(select(func.sum(TicketRow.merged_events)))
        open_rows = session.execute(
            select(TicketRow.id, TicketRow.service_code, TicketRow.camera_id, TicketRow.zone_id,
                   TicketRow.lon, TicketRow.lat).where(TicketRow.status.in_(MERGEABLE))
        ).all()  # fmt: skip
    store.dispose()
    assert sorted(linked) == [e.event_id for e in events]  # none lost, none filed twice
    assert reports == TOTAL  # each counted once, in its ticket or the one it merged into
    # What the first dispatcher filed, as it counts it; every open ticket by state; no backlog.
    assert 0 < scraped["sc_reports_filed_total"] <= TOTAL
    assert scraped["sc_tickets"] == len(open_rows)
    assert scraped["sc_filing_latency_seconds_count"] == scraped["sc_reports_filed_total"]
    assert scraped["sc_bus_pending"] == 0 and scraped["sc_bus_lag"] == 0
    zones = [(r.camera_id, r.zone_id, r.service_code) for r in open_rows if r.camera_id]
    assert len(zones) == len(set(zones)), "two open tickets for one camera zone"
    _no_two_open_tickets_within_the_merge_radius(open_rows, demo_cfg)


def _metrics(url: str) -> dict[str, float]:
    """A Prometheus text page, each metric summed over its labels."""
    import requests
    from prometheus_client.parser import text_string_to_metric_families

    sums: dict[str, float] = {}
    for family in text_string_to_metric_families(requests.get(url, timeout=10).text):
        for sample in family.samples:
            sums[sample.name] = sums.get(sample.name, 0.0) + sample.value
    return sums


def _readers(bus) -> set[str]:
    try:
        consumers = bus.client.xinfo_consumers(bus.key(keys.EVENTS), GROUP)
    except Exception:  # no group yet
        return set()
    return {c["name"] if isinstance(c["name"], str) else c["name"].decode() for c in consumers}


def _no_two_open_tickets_within_the_merge_radius(rows, cfg) -> None:
    distance = Projector(cfg.district.crs).distance_m
    radius = cfg.dispatch.merge_radius_m
    for a, b in itertools.combinations(rows, 2):
        if a.service_code == b.service_code:
            apart = distance((a.lon, a.lat), (b.lon, b.lat))
            assert apart > radius or math.isclose(apart, radius), (a.id, b.id, apart)


def test_the_database_refuses_a_second_open_ticket_for_a_camera_zone(store):
    """The guarantee holds below the dispatcher: a second open ticket for the same zone and
    category is refused; a closed one, another category or another zone are not."""

    def ticket(ticket_id: str, status: str, category: str = "bin_overflow", zone: str = "z1"):
        return TicketRow(id=ticket_id, service_code=category, status=status, source="camera",
                         lon=120.17, lat=30.27, camera_id="cam-01", zone_id=zone,
                         requested_at=NOW_DT, updated_at=NOW_DT, version=1)  # fmt: skip

    with store.session() as session:
        session.add_all([ticket("t-1", "dispatched"), ticket("t-2", "closed"),
                         ticket("t-3", "dispatched", "dirty_road"),
                         ticket("t-4", "resolved", zone="z2")])  # fmt: skip
        session.commit()
    for status in ("new", "resolved"):
        with store.session() as session:
            session.add(ticket(f"t-{status}", status))
            with pytest.raises(IntegrityError):
                session.commit()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_dispatcher_that_loses_the_race_merges_into_the_winners_ticket(
    store, bus, demo_cfg, monkeypatch
):
    """Two dispatchers decide "new ticket" for one camera zone at the same moment: the second
    insert is refused by the database, and that dispatcher files the report again, into the
    ticket the first one made."""
    index = DistrictIndex(load_layers(demo_cfg), demo_cfg.district.crs)
    first, second = (Dispatcher(demo_cfg, store, bus, Router(demo_cfg, index), clock=lambda: NOW)
                     for _ in range(2))  # fmt: skip
    where = dict(zip(("lon", "lat"), to_lon_lat(500, 500), strict=True))
    one = Event(category="bin_overflow", camera_id="cam-01", zone_id="z9", detected_at=NOW,
                **where)  # fmt: skip
    two = one.model_copy(update={"event_id": "the-other-report"})
    blind = second.filer._merge_target
    calls = []

    def race(session, event, fresh):  # the first look finds nothing: the other has not committed
        calls.append(event.event_id)
        return None if len(calls) == 1 else blind(session, event, fresh)

    monkeypatch.setattr(second.filer, "_merge_target", race)
    winner = first.on_event(one)
    merged = second.on_event(two)
    assert merged.id == winner.id and len(calls) == 2
    with store.session() as session:
        assert session.get(TicketRow, winner.id).merged_events == 2
        assert session.scalar(select(func.count()).select_from(TicketRow)) == 1


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_processes_starting_at_once_on_an_empty_database_make_the_schema_once(
    database_url, tmp_path
):
    """Four processes migrating at the same instant (as a compose file starts its services):
    each finds the schema complete and none fails."""
    go = tmp_path / "go"
    script = (
        "import os, pathlib, sys, time\n"
        "from dispatch.store import Store\n"
        "store = Store(sys.argv[1])\n"
        "pathlib.Path(f'{sys.argv[2]}.ready.{os.getpid()}').touch()\n"  # imported: say so
        "while not pathlib.Path(sys.argv[2]).exists(): time.sleep(0.005)\n"
        "store.create_schema()\n"
    )
    starts = [subprocess.Popen([sys.executable, "-c", script, database_url, str(go)],
                               cwd=PROJECT_ROOT, stderr=subprocess.PIPE, text=True)
              for _ in range(4)]  # fmt: skip
    wait_until(lambda: len(list(tmp_path.glob("go.ready.*"))) == 4, 60, "four ready to migrate")
    go.touch()  # all four at the same instant
    results = [(p.wait(60), p.stderr.read()) for p in starts]
    assert all(code == 0 for code, _ in results), [err[-800:] for _, err in results]
    store = Store(database_url)
    assert filed(store) == 0  # the tables are there
    store.dispose()
