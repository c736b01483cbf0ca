"""The dispatcher service: each bus event becomes exactly one routed ticket; unit fixes are kept."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from config.schema import AppConfig
from dispatch.routing import Fix, Router
from dispatch.store import OPEN_STATUSES, AuditRow, Store, TicketRow, UnitPositionRow
from streams import keys
from streams.bus import Bus
from streams.records import Event, Record, TicketChange, UnitPosition, new_id

log = logging.getLogger(__name__)
GROUP = keys.group("dispatcher")


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

    def handle(self, record: Record) -> None:
        """Bus handler: route each record type to its method."""
        if isinstance(record, Event):
            self.on_event(record)
        elif isinstance(record, UnitPosition):
            self.on_position(record)

    def on_event(self, event: Event) -> TicketRow:
        """Create the event's ticket, or find it if a previous delivery already did; publish it."""
        if event.category not in self._categories:
            raise ValueError(
                f"event {event.event_id}: unknown category {event.category!r}; "
                f"known: {', '.join(self._categories)}"
            )
        ticket = self._existing(event.event_id) or self._create(event)
        self.bus.publish(ticket_change(ticket))
        return ticket

    def _existing(self, event_id: str) -> TicketRow | None:
        with self.store.session() as session:
            return session.scalar(select(TicketRow).where(TicketRow.event_id == event_id))

    def _create(self, event: Event) -> TicketRow:
        location = self.router.index.locate(event.lon, event.lat)
        route = self.router.route(event.category, location)
        now = self.clock()
        with self.store.session() as session:
            pick = None
            if self._categories[event.category].auto_dispatch:
                pick = self.router.pick_unit(
                    route, event.lon, event.lat, self._fixes(session), self._workloads(session), now
                )
            ticket = TicketRow(
                id=new_id(),
                event_id=event.event_id,
                service_code=event.category,
                status="dispatched" if pick else "new",
                source=event.source,
                description=event.description,
                lon=event.lon,
                lat=event.lat,
                grid_id=location.grid_id,
                community_id=location.community_id,
                department_id=route.department_id,
                unit_id=pick[0] if pick else None,
                camera_id=event.camera_id,
                zone_id=event.zone_id,
                requested_at=_utc(event.detected_at),
                updated_at=_utc(now),
                version=1,
            )
            session.add(ticket)
            session.flush()  # the audit rows reference the ticket
            self._audit(session, ticket, pick, now)
            try:
                session.commit()
            except IntegrityError:  # another delivery of this event won the race
                session.rollback()
                return self._existing(event.event_id)
        log.info(
            "event %s -> ticket %s (%s, %s, unit %s)",
            event.event_id,
            ticket.id,
            event.category,
            location.grid_id,
            ticket.unit_id,
        )
        return ticket

    def _audit(self, session: Session, ticket: TicketRow, pick, now: float) -> None:
        at = _utc(now)
        session.add(
            AuditRow(
                ticket_id=ticket.id,
                at=at,
                actor="dispatcher",
                from_status=None,
                to_status="new",
                note=f"from {ticket.source} event",
            )
        )
        if pick:
            note = f"routed to {ticket.department_id}; nearest unit {pick[0]} at {pick[1]:.0f} m"
            session.add(
                AuditRow(
                    ticket_id=ticket.id,
                    at=at,
                    actor="dispatcher",
                    from_status="new",
                    to_status="dispatched",
                    note=note,
                )
            )

    @staticmethod
    def _fixes(session: Session) -> dict[str, Fix]:
        rows = session.scalars(select(UnitPositionRow))
        return {row.unit_id: Fix(row.lon, row.lat, row.fix_time) for row in rows}

    @staticmethod
    def _workloads(session: Session) -> dict[str, int]:
        query = (
            select(TicketRow.unit_id, func.count())
            .where(TicketRow.status.in_(OPEN_STATUSES))
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
