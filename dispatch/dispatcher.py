"""The dispatcher service: each bus event becomes exactly one routed ticket; unit fixes are kept."""

from __future__ import annotations

import datetime as dt
import logging
import math
import threading
import time
from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from config.schema import AppConfig
from dispatch.calendar import WorkCalendar
from dispatch.lifecycle import transition
from dispatch.routing import Fix, Router
from dispatch.states import OPEN_STATES
from dispatch.store import AuditRow, EventLinkRow, Store, TicketRow, UnitPositionRow
from streams import keys
from streams.bus import Bus
from streams.records import Event, Record, TicketChange, UnitPosition, new_id

log = logging.getLogger(__name__)
GROUP = "dispatcher"  # one consumer group per service


def _utc(epoch: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, dt.UTC)


def ticket_change(ticket: TicketRow) -> TicketChange:
    """The bus record describing a ticket's current state."""
    return TicketChange(
        ticket_id=ticket.id,
        version=ticket.version,
        status=ticket.status,
        category=ticket.service_code,
        lon=ticket.lon,
        lat=ticket.lat,
        changed_at=ticket.updated_at.timestamp(),
        event_id=ticket.event_id,
        grid_id=ticket.grid_id,
        community_id=ticket.community_id,
        department_id=ticket.department_id,
        unit_id=ticket.unit_id,
        camera_id=ticket.camera_id,
        source=ticket.source,
        description=ticket.description,
        reports=ticket.merged_events,
    )


class Dispatcher:
    """Turns events into tickets (idempotent on event id) and records units' last fixes."""

    def __init__(
        self,
        cfg: AppConfig,
        store: Store,
        bus: Bus,
        router: Router,
        clock: Callable[[], float] = time.time,
    ):
        self.cfg, self.store, self.bus, self.router, self.clock = cfg, store, bus, router, clock
        self._categories = {c.id: c for c in cfg.categories}
        self._limits = {d.category: d for d in cfg.deadlines}
        self.calendar = WorkCalendar(cfg.dispatch.calendar)

    def handle(self, record: Record) -> None:
        """Bus handler: route each record type to its method."""
        if isinstance(record, Event):
            self.on_event(record)
        elif isinstance(record, UnitPosition):
            self.on_position(record)

    def on_event(self, event: Event) -> TicketRow:
        """File the event (new ticket, or merged into an open one) unless already filed; publish."""
        if event.category not in self._categories:
            raise ValueError(
                f"event {event.event_id}: unknown category {event.category!r}; "
                f"known: {', '.join(self._categories)}"
            )
        ticket = self._linked(event.event_id) or self._file(event)
        self.bus.publish(ticket_change(ticket))
        return ticket

    def _linked(self, event_id: str) -> TicketRow | None:
        with self.store.session() as session:
            link = session.get(EventLinkRow, event_id)
            return session.get(TicketRow, link.ticket_id) if link else None

    def _file(self, event: Event) -> TicketRow:
        now = self.clock()
        with self.store.session() as session:
            ticket = self._merge_target(session, event)
            if ticket:
                self._merge(session, ticket, event, now)
            else:
                ticket = self._create(session, event, now)
            session.add(
                EventLinkRow(
                    event_id=event.event_id,
                    ticket_id=ticket.id,
                    linked_at=_utc(now),
                    merged=ticket.event_id != event.event_id,
                )
            )
            try:
                session.commit()
            except IntegrityError:  # another delivery of this event was filed first
                session.rollback()
                return self._linked(event.event_id)
        return ticket

    def _merge_target(self, session: Session, event: Event) -> TicketRow | None:
        """An open ticket for the same problem: same camera zone, else same category nearby."""
        same = select(TicketRow).where(
            TicketRow.status.in_(OPEN_STATES), TicketRow.service_code == event.category
        )
        if event.camera_id and event.zone_id:
            query = same.where(
                TicketRow.camera_id == event.camera_id, TicketRow.zone_id == event.zone_id
            )
            found = session.scalars(query.order_by(TicketRow.requested_at)).first()
            if found:
                return found
        radius = self.cfg.dispatch.merge_radius_m
        if radius <= 0:
            return None
        dlat = radius / 111_320
        dlon = dlat / max(math.cos(math.radians(event.lat)), 0.01)
        box = same.where(
            TicketRow.lat.between(event.lat - dlat, event.lat + dlat),
            TicketRow.lon.between(event.lon - dlon, event.lon + dlon),
        )
        distance = self.router.index.projector.distance_m
        ranked = sorted(
            ((distance((t.lon, t.lat), (event.lon, event.lat)), t.requested_at, t.id), t)
            for t in session.scalars(box)
        )
        return next((t for (d, _, _), t in ranked if d <= radius), None)

    def _merge(self, session: Session, ticket: TicketRow, event: Event, now: float) -> None:
        ticket.merged_events += 1
        ticket.version += 1
        ticket.updated_at = _utc(now)
        session.add(
            AuditRow(
                ticket_id=ticket.id,
                at=_utc(now),
                actor="dispatcher",
                from_status=ticket.status,
                to_status=ticket.status,
                note=f"merged {event.source} event {event.event_id} "
                f"({ticket.merged_events} reports)",
            )
        )
        log.info("event %s merged into ticket %s", event.event_id, ticket.id)

    def _create(self, session: Session, event: Event, now: float) -> TicketRow:
        location = self.router.index.locate(event.lon, event.lat)
        route = self.router.route(event.category, location)
        pick = None
        if self._categories[event.category].auto_dispatch:
            pick = self.router.pick_unit(
                route, event.lon, event.lat, self._fixes(session), self._workloads(session), now
            )
        ticket = TicketRow(
            id=new_id(),
            event_id=event.event_id,
            service_code=event.category,
            status="new",
            source=event.source,
            description=event.description,
            lon=event.lon,
            lat=event.lat,
            grid_id=location.grid_id,
            community_id=location.community_id,
            department_id=route.department_id,
            camera_id=event.camera_id,
            zone_id=event.zone_id,
            requested_at=_utc(event.detected_at),
            updated_at=_utc(now),
            version=1,
            merged_events=1,
            returned_count=0,
            reopened_count=0,
            **self._deadlines(event.category, _utc(now)),
        )
        session.add(ticket)
        session.flush()  # the audit rows reference the ticket
        session.add(
            AuditRow(
                ticket_id=ticket.id,
                at=_utc(now),
                actor="dispatcher",
                from_status=None,
                to_status="new",
                note=f"from {event.source} event",
            )
        )
        if pick:
            note = f"routed to {route.department_id}; nearest unit {pick[0]} at {pick[1]:.0f} m"
            transition(
                session, ticket, "dispatched", "dispatcher", _utc(now), note=note, unit_id=pick[0]
            )
        log.info(
            "event %s -> ticket %s (%s, %s, unit %s)",
            event.event_id,
            ticket.id,
            event.category,
            location.grid_id,
            ticket.unit_id,
        )
        return ticket

    def _deadlines(self, category: str, start: dt.datetime) -> dict[str, dt.datetime | None]:
        """Due times per stage, in working time from `start`."""
        limits = self._limits.get(category)
        if limits is None:
            return {"accept_due": None, "arrive_due": None, "resolve_due": None}
        add = self.calendar.add_working_minutes
        return {
            "accept_due": add(start, limits.accept_min),
            "arrive_due": add(start, limits.arrive_min),
            "resolve_due": add(start, limits.resolve_min),
        }

    @staticmethod
    def _fixes(session: Session) -> dict[str, Fix]:
        rows = session.scalars(select(UnitPositionRow))
        return {row.unit_id: Fix(row.lon, row.lat, row.fix_time) for row in rows}

    @staticmethod
    def _workloads(session: Session) -> dict[str, int]:
        query = (
            select(TicketRow.unit_id, func.count())
            .where(TicketRow.status.in_(OPEN_STATES))
            .where(TicketRow.unit_id.is_not(None))
            .group_by(TicketRow.unit_id)
        )
        return dict(session.execute(query).all())

    def on_position(self, position: UnitPosition) -> None:
        """Keep the newest fix per unit (out-of-order fixes are ignored)."""
        with self.store.session() as session:
            row = session.get(UnitPositionRow, position.unit_id)
            if row is None:
                session.add(
                    UnitPositionRow(
                        unit_id=position.unit_id,
                        lon=position.lon,
                        lat=position.lat,
                        fix_time=position.fix_time,
                    )
                )
            elif position.fix_time > row.fix_time:
                row.lon, row.lat, row.fix_time = position.lon, position.lat, position.fix_time
            session.commit()


def run_dispatcher(
    dispatcher: Dispatcher,
    name: str,
    stop: threading.Event,
    claim_idle_ms: int = 30_000,
    max_events: int | None = None,
) -> None:
    """Consume events and unit positions until `stop` is set (or `max_events` were handled)."""
    bus = dispatcher.bus
    positions = bus.consumer(
        keys.UNIT_POSITIONS, GROUP, name, dispatcher.handle, claim_idle_ms=claim_idle_ms
    )
    events = bus.consumer(keys.EVENTS, GROUP, name, dispatcher.handle, claim_idle_ms=claim_idle_ms)
    thread = threading.Thread(
        target=positions.run, args=(stop,), name=f"{name}-positions", daemon=True
    )
    thread.start()
    try:
        events.run(stop, max_messages=max_events)
    finally:
        stop.set()
        thread.join(timeout=5)
