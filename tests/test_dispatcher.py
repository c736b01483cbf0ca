"""Dispatcher: events become routed tickets, exactly once, even across a crash."""

from __future__ import annotations

import datetime as dt
import os
import signal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from dispatch import facts
from dispatch.dispatcher import GROUP, Dispatcher
from dispatch.lifecycle import transition
from dispatch.routing import Router
from dispatch.store import AuditRow, EventLinkRow, Store, TicketRow
from geo.index import DistrictIndex
from geo.layers import load_layers
from sim.district import to_lon_lat
from streams import keys
from streams.records import Event, TicketChange, UnitPosition, decode
from tests.support.dispatchers import filed, start_dispatcher
from tests.support.waiting import wait_until

NOW = 1_800_000_000.0  # Friday 2027-01-15 08:00 UTC, 16:00 in Shanghai


@pytest.fixture(scope="module")
def index(demo_cfg):
    return DistrictIndex(load_layers(demo_cfg), demo_cfg.district.crs)


@pytest.fixture
def dispatcher(demo_cfg, store, bus, index):
    return Dispatcher(demo_cfg, store, bus, Router(demo_cfg, index), clock=lambda: NOW)


def _at(x_m: float, y_m: float) -> dict:
    lon, lat = to_lon_lat(x_m, y_m)
    return {"lon": lon, "lat": lat}


def _place(dispatcher, unit_id: str, x_m: float, y_m: float, fix_time: float = NOW) -> None:
    dispatcher.on_position(UnitPosition(unit_id=unit_id, fix_time=fix_time, **_at(x_m, y_m)))


def _event(category: str, x_m: float, y_m: float, **extra) -> Event:
    return Event(category=category, detected_at=NOW, **_at(x_m, y_m), **extra)


def test_event_becomes_a_ticket_routed_to_the_nearest_unit(dispatcher, bus):
    _place(dispatcher, "san-01", 100, 100)
    _place(dispatcher, "san-02", 1000, 1000)
    _place(dispatcher, "cmg-01", 110, 110)  # nearer, but the wrong type for a bin
    ticket = dispatcher.on_event(_event("bin_overflow", 150, 120))
    assert ticket.status == "dispatched"
    assert ticket.unit_id == "san-01"
    assert ticket.department_id == "dept-sanitation"
    assert (ticket.grid_id, ticket.community_id) == ("G01", "nanyuan")
    changes = [decode(f) for _, f in bus.client.xrange(bus.key(keys.TICKET_CHANGES))]
    assert [(c.ticket_id, c.status, c.unit_id) for c in changes] == [
        (ticket.id, "dispatched", "san-01")
    ]


def test_nearest_unit_is_nearest_along_the_streets(dispatcher, demo_cfg, index):
    """A bin on Zhongshan Rd: san-01 is 250 m away across a block (550 m by road: round the
    block via Meihua Ln or Jianguo Rd); san-02 is 400 m away on the same road."""
    _place(dispatcher, "san-01", 450, 750)
    _place(dispatcher, "san-02", 850, 500)
    ticket = dispatcher.on_event(_event("bin_overflow", 450, 500))
    assert ticket.unit_id == "san-02"
    [note] = [a.note for a in dispatcher.desk.audit(ticket.id) if a.to_status == "dispatched"]
    assert _metres(note, "san-02") == pytest.approx(_along(demo_cfg, "中山路", 450, 850), abs=1.5)
    straight = demo_cfg.model_copy(
        update={"dispatch": demo_cfg.dispatch.model_copy(update={"distance": "straight"})}
    )
    other = Dispatcher(
        straight, dispatcher.store, dispatcher.bus, Router(straight, index), clock=lambda: NOW
    )
    assert other.on_event(_event("dirty_road", 450, 500)).unit_id == "san-01"


@pytest.mark.parametrize(("x_m", "department"), [(300, "dept-grid-west"), (2000, "dept-grid-east")])
def test_matrix_routes_by_grid(dispatcher, x_m, department):
    """facility_damage: west grids to the west office, east grids (G03, G04...) to the east."""
    ticket = dispatcher.on_event(_event("facility_damage", x_m, 100))
    assert ticket.department_id == department
    assert ticket.status == "new"  # this category waits for an operator to confirm
    assert ticket.unit_id is None


def test_stale_and_busy_units_are_skipped(dispatcher, demo_cfg):
    _place(dispatcher, "san-01", 100, 100, fix_time=NOW - demo_cfg.services.position_stale_s - 1)
    _place(dispatcher, "san-02", 400, 400)
    _place(dispatcher, "san-03", 900, 900)
    # Three problems more than the 250 m merge radius apart, all nearest to san-02.
    first = [
        dispatcher.on_event(_event("dirty_road", x, y))
        for x, y in [(100, 100), (400, 100), (100, 400)]
    ]
    assert {t.unit_id for t in first} == {"san-02"}  # san-01 is stale
    fourth = dispatcher.on_event(_event("dirty_road", 400, 700))
    assert fourth.unit_id == "san-03"  # san-02 reached the sanitation workload cap of 3


def test_no_available_unit_leaves_the_ticket_new(dispatcher):
    ticket = dispatcher.on_event(_event("illegal_parking", 500, 500))
    assert (ticket.status, ticket.unit_id, ticket.department_id) == ("new", None, "dept-citymgmt")


def test_same_event_twice_gives_one_ticket(dispatcher, store):
    event = _event("bin_overflow", 150, 120)
    first = dispatcher.on_event(event)
    second = dispatcher.on_event(event)
    assert first.id == second.id
    assert store.count_tickets() == 1


def test_every_ticket_has_an_audit_trail(dispatcher, store):
    _place(dispatcher, "san-01", 100, 100)
    ticket = dispatcher.on_event(_event("bin_overflow", 150, 120))
    with store.session() as session:
        rows = session.scalars(
            select(AuditRow).where(AuditRow.ticket_id == ticket.id).order_by(AuditRow.id)
        ).all()
    assert [(r.from_status, r.to_status) for r in rows] == [(None, "new"), ("new", "dispatched")]
    assert "san-01" in rows[1].note


def test_unknown_category_is_refused_and_stores_nothing(dispatcher, store):
    with pytest.raises(ValueError, match="unknown category 'litter_bug'"):
        dispatcher.on_event(_event("litter_bug", 100, 100))
    assert store.count_tickets() == 0


def test_older_gps_fix_does_not_overwrite_a_newer_one(dispatcher, store, demo_cfg):
    _place(dispatcher, "san-01", 100, 250, fix_time=NOW)  # on Qingshi St
    _place(dispatcher, "san-01", 900, 900, fix_time=NOW - 10)
    ticket = dispatcher.on_event(_event("bin_overflow", 120, 250))
    with store.session() as session:
        audit = session.scalars(select(AuditRow).where(AuditRow.to_status == "dispatched")).one()
    assert ticket.unit_id == "san-01"
    assert _metres(audit.note, "san-01") == pytest.approx(
        _along(demo_cfg, "青石街", 100, 120), abs=1.5
    )


def _metres(note: str, unit_id: str) -> float:
    """The distance a routing note gives for `unit_id` ("... san-02 at 391 m")."""
    return float(note.split(f"{unit_id} at ", 1)[1].split(" m", 1)[0])


def _along(cfg, street: str, x0: float, x1: float) -> float:
    """Metres along the named east-west street between plan x0 and x1 (the street as drawn,
    bends and all), measured independently of the dispatcher's street network."""
    from shapely.geometry import Point

    frame = load_layers(cfg).get("streets").to_crs(cfg.district.crs)
    line = frame[frame["name"] == street].geometry.iloc[0]
    y = {"中山路": 500, "青石街": 250}[street]
    points = _metric(cfg, [to_lon_lat(x0, y), to_lon_lat(x1, y)])
    return abs(line.project(Point(points[1])) - line.project(Point(points[0])))


def _metric(cfg, lon_lats) -> list[tuple[float, float]]:
    from pyproj import Transformer

    to_metric = Transformer.from_crs("EPSG:4326", cfg.district.crs, always_xy=True).transform
    return [to_metric(lon, lat) for lon, lat in lon_lats]


def test_event_in_the_zone_of_an_open_ticket_merges_into_it(dispatcher, store):
    first = dispatcher.on_event(
        _event("bin_overflow", 100, 100, camera_id="cam-02", zone_id="bin-1")
    )
    again = dispatcher.on_event(
        _event("bin_overflow", 900, 900, camera_id="cam-02", zone_id="bin-1")
    )
    assert again.id == first.id and again.merged_events == 2
    with store.session() as session:
        notes = session.scalars(select(AuditRow.note).where(AuditRow.ticket_id == first.id)).all()
    assert any("merged camera event" in note and "(2 reports)" in note for note in notes)


@pytest.mark.parametrize(
    ("dx_m", "category", "merges"),
    [
        (200, "dirty_road", True),  # same category, within 250 m
        (300, "dirty_road", False),  # too far
        (50, "bin_overflow", False),  # close, but another kind of problem
    ],
)
def test_nearby_reports_of_the_same_problem_merge(dispatcher, dx_m, category, merges):
    first = dispatcher.on_event(_event("dirty_road", 1000, 700, source="hotline"))
    second = dispatcher.on_event(_event(category, 1000 + dx_m, 700, source="citizen"))
    assert (second.id == first.id) is merges


def test_closed_ticket_does_not_absorb_new_reports(dispatcher, store):
    first = dispatcher.on_event(_event("dirty_road", 1000, 700))
    with store.session() as session:
        ticket = session.get(TicketRow, first.id)
        transition(session, ticket, "closed", "operator", ticket.updated_at, reason="duplicate")
        session.commit()
    assert dispatcher.on_event(_event("dirty_road", 1000, 700)).id != first.id


def test_deadlines_count_working_hours_only(dispatcher, store):
    """NOW is Friday 2027-01-15 08:00 UTC = 16:00 in Shanghai; the day ends at 17:30."""
    ticket = dispatcher.on_event(_event("illegal_parking", 500, 500))
    shanghai = ZoneInfo("Asia/Shanghai")
    assert ticket.accept_due.astimezone(shanghai).isoformat() == "2027-01-15T16:05:00+08:00"
    # 30 working minutes: 16:00-16:30 Friday
    assert ticket.resolve_due.astimezone(shanghai).isoformat() == "2027-01-15T16:30:00+08:00"
    late = dispatcher.on_event(_event("facility_damage", 2000, 100))  # 480 working minutes
    # Friday 16:00-17:30 (90) + Monday 08:30-15:00 (390) = 480
    assert late.resolve_due.astimezone(shanghai).isoformat() == "2027-01-18T15:00:00+08:00"


def test_killed_and_restarted_dispatcher_leaves_one_ticket_per_event(
    redis_url, bus, database_url, tmp_path
):
    total = 4_000  # enough that the first dispatcher is mid-stream when it is killed
    events = [
        Event(
            event_id=f"crash-{n:05d}",
            category="bin_overflow",
            **_at((n * 37) % 2400, (n * 53) % 1500),
        )
        for n in range(total)
    ]
    bus.publish_many(events)
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "DATABASE_URL": database_url,
        "SC_DATA_DIR": str(tmp_path),
    }
    store = Store(database_url)
    store.create_schema()

    log = tmp_path / "dispatchers.log"
    first = start_dispatcher(env, "dispatcher-a", log)
    wait_until(lambda: filed(store) >= 300, 60, "the first dispatcher to file 300 events")

    def caught_mid_batch() -> bool:
        """Freeze the dispatcher; keep it frozen only while it holds entries read but not
        acknowledged (so there is something to reclaim), else let it run on a moment."""
        first.send_signal(signal.SIGSTOP)
        pending = bus.client.xpending_range(
            bus.key(keys.EVENTS), GROUP, "-", "+", 1, "dispatcher-a"
        )
        if not pending:
            first.send_signal(signal.SIGCONT)
        return bool(pending)

    wait_until(caught_mid_batch, 60, "the first dispatcher holding unacknowledged entries")
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert filed(store) < total, "the dispatcher finished before it could be killed"

    # A different consumer: it must reclaim what the dead one had read but not acknowledged.
    second = start_dispatcher(env, "dispatcher-b", log)
    try:
        wait_until(lambda: filed(store) >= total, 120, "all events to be filed")
        wait_until(
            lambda: bus.client.xpending(bus.key(keys.EVENTS), GROUP)["pending"] == 0,
            30,
            "every entry to be acknowledged",
        )
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(20) == 0, log.read_text()[-2000:]
    with store.session() as session:
        linked = session.scalars(select(EventLinkRow.event_id)).all()
        ticket_ids = set(session.scalars(select(TicketRow.id)))
        reports = session.scalar(select(func.sum(TicketRow.merged_events)))
    assert sorted(linked) == [e.event_id for e in events]  # each event filed exactly once
    assert reports == total  # ...and counted once, in its own ticket or the one it merged into
    # Events land on a 37 m x 53 m lattice of places; with the 250 m merge radius each open ticket
    # gathers its neighbours: far fewer tickets than events, more than one.
    assert 1 < len(ticket_ids) <= total // 20, len(ticket_ids)
    changes = {decode(f).ticket_id for _, f in bus.client.xrange(bus.key(keys.TICKET_CHANGES))}
    assert changes == ticket_ids  # every ticket was announced on the bus
    assert all(
        isinstance(decode(f), TicketChange)
        for _, f in bus.client.xrange(bus.key(keys.TICKET_CHANGES), count=5)
    )
    store.dispose()


def test_a_filed_ticket_carries_its_trend_facts(dispatcher, store, demo_cfg):
    """Local day and hour, hexagon, and a repeat when the spot was reported within 30 days."""
    _place(dispatcher, "san-01", 1000, 700)
    first = dispatcher.on_event(_event("dirty_road", 1000, 700))
    assert (first.local_day, first.local_hour, first.local_dow) == (dt.date(2027, 1, 15), 16, 5)
    assert first.hex_cell == facts.hex_of(first.lon, first.lat, demo_cfg.trends.hex_resolution)
    assert first.repeat_of is None
    with store.session() as session:
        ticket = session.get(TicketRow, first.id)
        transition(session, ticket, "closed", "operator", ticket.updated_at, reason="duplicate")
        session.commit()
    again = dispatcher.on_event(_event("dirty_road", 1010, 700))  # 10 m away: the same spot
    elsewhere = dispatcher.on_event(_event("dirty_road", 1300, 700))
    other = dispatcher.on_event(_event("bin_overflow", 1000, 700))
    assert again.repeat_of == first.id
    assert elsewhere.repeat_of is None and other.repeat_of is None
    # The dispatch was stamped: the dispatcher's tick fills the working minutes.
    assert facts.refresh(store, demo_cfg, dispatcher.calendar) >= 1
    with store.session() as session:
        assert session.get(TicketRow, again.id).facts_due is False
