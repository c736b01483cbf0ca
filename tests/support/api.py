"""Driving the API stack as field units and operators do, over HTTP."""

from __future__ import annotations

import cv2
import numpy as np
import requests
from sqlalchemy import func, select

from dispatch import tokens
from dispatch.store import AuditRow, EventLinkRow, MediaRow, TicketRow, WarningRow
from streams import keys
from streams.records import Event, UnitPosition
from tests.support.waiting import wait_until


def jpeg(width: int = 64, height: int = 48) -> bytes:
    """A real JPEG (what a phone camera uploads)."""
    image = np.full((height, width, 3), (40, 160, 90), np.uint8)
    ok, data = cv2.imencode(".jpg", image)
    assert ok
    return data.tobytes()


def place_units(stack, at: float | None = None) -> None:
    """Every unit reports a fresh fix at its home."""
    for unit in stack.cfg.units:
        stack.dispatcher.on_position(
            UnitPosition(
                unit_id=unit.id,
                lon=unit.home[0],
                lat=unit.home[1],
                fix_time=stack.clock() if at is None else at,
            )
        )


def wait_ticket(stack, event_id: str, timeout: float = 10) -> TicketRow:
    """The ticket an event was filed into, once the dispatcher has filed it."""

    def filed() -> TicketRow | None:
        with stack.store.session() as session:
            link = session.get(EventLinkRow, event_id)
            return session.get(TicketRow, link.ticket_id) if link else None

    return wait_until(filed, timeout, f"event {event_id} filed")


def camera_event(stack, camera: str = "cam-02", zone: str = "bin-1") -> Event:
    """A camera finding in one of the demo zones."""
    cam = next(c for c in stack.cfg.cameras if c.id == camera)
    spec = next(z for z in cam.zones if z.id == zone)
    rule = next(r for r in stack.cfg.rules if r.id == spec.rule)
    return Event(
        category=rule.category,
        source="camera",
        lon=spec.map_anchor[0],
        lat=spec.map_anchor[1],
        detected_at=stack.clock(),
        camera_id=camera,
        zone_id=zone,
        rule_id=rule.id,
    )


def counts(stack) -> dict[str, int]:
    """Rows per table, entries per input stream and GPS references (to show a refused request
    stored nothing, now or later: an event on the bus would be filed after the check)."""
    with stack.store.session() as session:
        found = {
            table.__tablename__: session.scalar(select(func.count()).select_from(table))
            for table in (TicketRow, AuditRow, MediaRow, EventLinkRow, WarningRow)
        }
    for stream in (keys.EVENTS, keys.UNIT_POSITIONS):
        found[f"stream:{stream}"] = stack.bus.client.xlen(stack.bus.key(stream))
    found["gps:last"] = stack.bus.client.hlen(keys.gps_last(stack.bus.namespace))
    return found


class Client:
    """HTTP calls to the API with a token."""

    def __init__(self, base: str, token: str | None):
        self.base, self.session = base, requests.Session()
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def get(self, path: str, **kw):
        return self.session.get(self.base + path, timeout=10, **kw)

    def post(self, path: str, **kw):
        return self.session.post(self.base + path, timeout=10, **kw)


def dispatch_one(api_stack):
    """A camera ticket dispatched to its nearest unit, and that unit's client."""
    place_units(api_stack)
    event = camera_event(api_stack)
    api_stack.bus.publish(event)
    ticket = wait_ticket(api_stack, event.event_id)
    assert ticket.status == "dispatched" and ticket.unit_id
    unit = Client(api_stack.url, tokens.issue(api_stack.store, "unit", ticket.unit_id))
    return ticket, unit


def operator(stack) -> Client:
    """An operator's client (a fresh token)."""
    return Client(stack.url, tokens.issue(stack.store, "operator", "duty-1"))


def resolve(unit: Client, ticket_id: str, photos=None, note: str = "cleared"):
    """The unit resolves the ticket with photos (a real JPEG by default)."""
    files = [("photo", ("fix.jpg", data, "image/jpeg")) for data in (photos or [jpeg()])]
    return unit.post(f"/api/v1/tickets/{ticket_id}/resolve", files=files, data={"note": note})


def work_to_resolved(api_stack, dispatched):
    """Accept, arrive and resolve the dispatched ticket as its unit."""
    ticket, unit = dispatched
    assert unit.post(f"/api/v1/tickets/{ticket.id}/accept").status_code == 200
    assert (
        unit.post(f"/api/v1/tickets/{ticket.id}/arrive", json={"note": "here"}).json()["status"]
        == "on_site"
    )
    answer = resolve(unit, ticket.id)
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "resolved"
    return ticket, unit


def wait_status(stack, ticket_id: str, status: str, timeout: float = 10) -> TicketRow:
    """The ticket once it is in `status`."""

    def reached() -> TicketRow | None:
        ticket = stack.desk.get(ticket_id)
        return ticket if ticket.status == status else None

    return wait_until(reached, timeout, f"ticket {ticket_id} {status}")


def wait_handled(stack, stream: str, entry_id: str, timeout: float = 10) -> None:
    """Until the dispatcher's consumer group has read and acknowledged the entry (so a check
    made afterwards sees what handling it did, or did not do)."""
    key = stack.bus.key(stream)

    def handled() -> bool:
        group = next(g for g in stack.bus.client.xinfo_groups(key) if g["name"] == b"dispatcher")
        delivered = tuple(int(p) for p in group["last-delivered-id"].decode().split("-"))
        wanted = tuple(int(p) for p in entry_id.split("-"))
        return delivered >= wanted and group["pending"] == 0

    wait_until(handled, timeout, f"{stream} entry {entry_id} handled by the dispatcher")
