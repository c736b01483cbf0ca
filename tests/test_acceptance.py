"""Issue 4's acceptance run: 500 mixed camera events, patrol findings and Open311 reports through
the real bus, dispatcher, API and database, filed on the eve of a holiday week."""

from __future__ import annotations

import datetime as dt
import random
from concurrent.futures import ThreadPoolExecutor
from zoneinfo import ZoneInfo

import requests
from sqlalchemy import func, select

from config.schema import ANY_AREA
from dispatch import tokens
from dispatch.store import EventLinkRow, TicketRow
from sim.district import HEIGHT_M, WIDTH_M, to_lon_lat
from streams.records import Event, ZoneCheck
from tests.support.api import Client, place_units, resolve, wait_status
from tests.support.waiting import wait_until

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Thursday 2027-02-04 17:20 local: ten working minutes before the Spring Festival holidays
# (Fri 5th, the weekend, Mon 8th to Thu 11th); work resumes Friday the 12th at 08:30.
EVE = dt.datetime(2027, 2, 4, 17, 20, tzinfo=SHANGHAI)
BUS_EVENTS, REPORTS = 460, 40


def local(day: int, hour: int, minute: int) -> dt.datetime:
    return dt.datetime(2027, 2, day, hour, minute, tzinfo=SHANGHAI)


# What the demo's deadlines (accept/arrive/resolve minutes) give, worked out by hand.
EXPECTED_DUE = {
    "illegal_parking": (local(4, 17, 25), local(12, 8, 35), local(12, 8, 50)),  # 5/15/30
    "bin_overflow": (local(4, 17, 30), local(12, 8, 50), local(12, 9, 20)),  # 10/30/60
    "dirty_road": (local(4, 17, 30), local(12, 8, 50), local(12, 9, 50)),  # 10/30/90
    "street_vending": (local(4, 17, 25), local(12, 8, 40), local(12, 9, 5)),  # 5/20/45
    "bike_parking": (local(12, 8, 35), local(12, 9, 5), local(12, 10, 20)),  # 15/45/120
    "facility_damage": (local(12, 8, 50), local(12, 10, 20), local(12, 16, 20)),  # 30/120/480
}


def expected_department(cfg, index, category: str, lon: float, lat: float) -> str:
    """The routing matrix read directly: grid cell, else community, else catch-all."""
    location = index.locate(lon, lat)
    cells = {(r.category, r.area): r.department for r in cfg.routing}
    for area in (location.grid_id, location.community_id, ANY_AREA):
        if (category, area) in cells:
            return cells[(category, area)]
    raise AssertionError(f"no route for {category}")


def make_events(cfg, rng: random.Random, now: float) -> list[Event]:
    zones = [(camera, zone) for camera in cfg.cameras for zone in camera.zones]
    rules = {rule.id: rule for rule in cfg.rules}
    categories = [c.id for c in cfg.categories]
    events = []
    for _ in range(BUS_EVENTS):
        if rng.random() < 0.4:  # a camera rule firing (often again for the same zone)
            camera, zone = rng.choice(zones)
            events.append(
                Event(
                    category=rules[zone.rule].category,
                    source="camera",
                    lon=zone.map_anchor[0],
                    lat=zone.map_anchor[1],
                    detected_at=now,
                    camera_id=camera.id,
                    zone_id=zone.id,
                    rule_id=zone.rule,
                )
            )
        else:  # a patrol finding or a scenario event somewhere in the district
            lon, lat = to_lon_lat(rng.uniform(30, WIDTH_M - 30), rng.uniform(30, HEIGHT_M - 30))
            events.append(
                Event(
                    category=rng.choice(categories),
                    source=rng.choice(["patrol", "scenario", "operator"]),
                    lon=lon,
                    lat=lat,
                    detected_at=now,
                )
            )
    return events


def test_500_mixed_events_and_reports_end_to_end(api_stack, demo_index):
    stack, cfg = api_stack, api_stack.cfg
    stack.clock.now = EVE.timestamp()
    place_units(stack)
    rng = random.Random(4)
    events = make_events(cfg, rng, stack.clock())
    key = tokens.issue(stack.store, "hotline", "12345")

    # Each report's place and category drawn up front, so threads cannot change who gets which.
    reports = [
        (
            to_lon_lat(rng.uniform(30, WIDTH_M - 30), rng.uniform(30, HEIGHT_M - 30)),
            rng.choice(["bin_overflow", "dirty_road", "illegal_parking"]),
        )
        for _ in range(REPORTS)
    ]

    def report(index: int):
        (lon, lat), category = reports[index]
        form = {
            "jurisdiction_id": "street-cockpit",
            "api_key": key,
            "lat": lat,
            "long": lon,
            "service_code": category,
            "description": "市民来电",
        }
        answer = requests.post(f"{stack.url}/open311/v2/requests.json", data=form, timeout=30)
        assert answer.status_code == 201, answer.text
        return answer.json()[0]

    for start in range(0, len(events), 50):
        stack.bus.publish_many(events[start : start + 50])
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(report, range(REPORTS)))

    def linked() -> bool:
        with stack.store.session() as session:
            count = session.scalar(select(func.count()).select_from(EventLinkRow))
        return count >= BUS_EVENTS + REPORTS

    wait_until(linked, 120, "every event and report filed", every=0.2)

    with stack.store.session() as session:
        links = {link.event_id: link for link in session.scalars(select(EventLinkRow))}
        tickets = {t.id: t for t in session.scalars(select(TicketRow))}

    # Each event and report ended in exactly one ticket, created or merged.
    assert len(links) == BUS_EVENTS + REPORTS
    assert all(event.event_id in links for event in events)
    assert sum(t.merged_events for t in tickets.values()) == BUS_EVENTS + REPORTS
    for answer in answers:
        filed = answer.get("service_request_id") or links[answer["token"]].ticket_id
        assert filed in tickets
    projector = demo_index.projector
    by_id = {e.event_id: e for e in events}
    merged = [link for link in links.values() if link.merged and link.event_id in by_id]
    assert len(merged) > 100, "the mix should exercise merging"
    for link in merged:
        event, ticket = by_id[link.event_id], tickets[link.ticket_id]
        assert event.category == ticket.service_code
        same_zone = event.zone_id is not None and event.zone_id == ticket.zone_id
        near = projector.distance_m((event.lon, event.lat), (ticket.lon, ticket.lat))
        assert same_zone or near <= cfg.dispatch.merge_radius_m

    # Routing matches the matrix; units are of the routed department.
    units = {u.id: u for u in cfg.units}
    for ticket in tickets.values():
        assert ticket.department_id == expected_department(
            cfg, demo_index, ticket.service_code, ticket.lon, ticket.lat
        )
        if ticket.unit_id:
            assert units[ticket.unit_id].department == ticket.department_id
    assert sum(1 for t in tickets.values() if t.status == "dispatched") > 20

    # Deadlines run in working time, across the weekend and the holidays.
    for ticket in tickets.values():
        due = (ticket.accept_due, ticket.arrive_due, ticket.resolve_due)
        assert due == EXPECTED_DUE[ticket.service_code], ticket.service_code

    # Escalation fires on time: 30 working minutes after the accept deadline.
    waiting = [t for t in tickets.values() if t.status in ("new", "dispatched")]  # none accepted
    raised = stack.warnings.tick(local(4, 17, 30).timestamp())
    overdue = {w.ticket_id for w in raised if w.stage == "accept"}
    assert {t.id for t in waiting if t.accept_due <= local(4, 17, 30)} <= overdue
    assert not [w for w in raised if w.level == "escalated"]

    # 17:25 (parking, vending) + 30 working minutes is 08:55 on the 12th; 17:30 (bins) + 30 is
    # 09:00; bicycles (08:35 on the 12th) + 30 is 09:05.
    def escalated_accepts(moment):
        raised = stack.warnings.tick(moment.timestamp())
        return {w.ticket_id for w in raised if w.stage == "accept" and w.level == "escalated"}

    assert escalated_accepts(local(12, 8, 54)) == set()
    parking = escalated_accepts(local(12, 8, 55))
    five_minutes = ("illegal_parking", "street_vending")
    assert parking == {t.id for t in waiting if t.service_code in five_minutes}, (
        "parking and vending accept deadlines escalate at 08:55 on the 12th, not before"
    )
    bins = escalated_accepts(local(12, 9, 0))
    assert bins == {t.id for t in waiting if t.service_code in ("bin_overflow", "dirty_road")}
    for ticket_id in bins:
        assert stack.desk.get(ticket_id).status == "escalated"

    # Verification reopens when the problem stays: a camera ticket worked through the API.
    stack.clock.now = local(12, 9, 5).timestamp()
    camera_ticket = next(
        t for t in tickets.values() if t.camera_id and t.service_code == "bin_overflow"
    )
    boss = Client(stack.url, tokens.issue(stack.store, "unit", "sup-san"))
    crew = next(
        u.id for u in cfg.units if u.department == "dept-sanitation" and u.type == "sanitation"
    )
    assert (
        boss.post(
            f"/api/v1/tickets/{camera_ticket.id}/dispatch", json={"unit_id": crew}
        ).status_code
        == 200
    )
    unit = Client(stack.url, tokens.issue(stack.store, "unit", crew))
    assert unit.post(f"/api/v1/tickets/{camera_ticket.id}/accept").status_code == 200
    assert unit.post(f"/api/v1/tickets/{camera_ticket.id}/arrive").status_code == 200
    assert resolve(unit, camera_ticket.id).status_code == 200
    stack.bus.publish(
        ZoneCheck(
            camera_id=camera_ticket.camera_id,
            zone_id=camera_ticket.zone_id,
            present=True,
            observed_at=stack.clock() + 60,
        )
    )
    reopened = wait_status(stack, camera_ticket.id, "dispatched")
    assert reopened.reopened_count == 1 and reopened.unit_id == crew
