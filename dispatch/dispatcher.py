"""The dispatcher service: each bus event becomes exactly one routed ticket; unit fixes are kept."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from config.schema import AppConfig
from dispatch.desk import (
    Desk,
    add_media,
    deadlines,
    ticket_change,
    unit_fixes,
    utc,
    workloads,
)
from dispatch.routing import Fix, Router
from dispatch.states import OPEN_STATES
from dispatch.store import (
    AuditRow,
    EventLinkRow,
    ReporterRow,
    Store,
    TicketRow,
    UnitPositionRow,
)
from streams import keys
from streams.bus import Bus
from streams.records import Event, Record, UnitPosition, ZoneCheck, new_id

log = logging.getLogger(__name__)
GROUP = "dispatcher"  # one consumer group per service


@dataclass
class _UnitState:
    """Units' last fixes and open-ticket counts, read once per batch and kept current in it."""

    fixes: dict[str, Fix]
    workloads: dict[str, int]


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
        self.desk = Desk(cfg, store, bus, router, clock)
        self.calendar = self.desk.calendar

    def handle(self, record: Record) -> None:
        """Bus handler: route each record type to its method."""
        if isinstance(record, Event):
            self.on_event(record)
        elif isinstance(record, UnitPosition):
            self.on_position(record)
        elif isinstance(record, ZoneCheck):
            self.desk.on_zone_check(record)

    def _check_category(self, event: Event) -> None:
        if event.category not in self._categories:
            raise ValueError(
                f"event {event.event_id}: unknown category {event.category!r}; "
                f"known: {', '.join(self._categories)}"
            )

    def on_event(self, event: Event) -> TicketRow:
        """File the event (new ticket, or merged into an open one) unless already filed; publish."""
        self._check_category(event)
        return self.on_events([event])[0]

    def handle_batch(self, records: list[Record]) -> None:
        """Bus batch handler for the events stream: file the whole batch in one transaction."""
        events = [r for r in records if isinstance(r, Event)]
        if len(events) != len(records):
            raise TypeError("the events stream carried other records; handle one by one")
        for event in events:
            self._check_category(event)
        self.on_events(events)

    def on_events(self, events: list[Event]) -> list[TicketRow]:
        """File events in one transaction (each into one ticket), then publish each changed
        ticket once. A conflicting concurrent filing rolls back and files one by one."""
        try:
            filed, reopened = self._file(events)
        except IntegrityError:  # another dispatcher filed one of these first
            if len(events) == 1:
                filed, reopened = self._file(events)  # now a redelivery: returns its ticket
            else:
                return [self.on_events([event])[0] for event in events]
        latest = {ticket.id: ticket for ticket in filed}
        self.bus.publish_many(ticket_change(ticket) for ticket in latest.values())
        for ticket in reopened:
            self.desk.unmark_pending(ticket)  # a report reopened it: the re-check is moot
        return filed

    @staticmethod
    def _linked(session: Session, event_id: str) -> TicketRow | None:
        link = session.get(EventLinkRow, event_id)
        return session.get(TicketRow, link.ticket_id) if link else None

    def _file(self, events: list[Event]) -> tuple[list[TicketRow], list[TicketRow]]:
        """The ticket each event went into (filing it unless it was already), and the tickets
        the filing reopened."""
        now = self.clock()
        filed, reopened = [], []
        with self.store.session() as session:
            units = _UnitState(unit_fixes(session), workloads(session))
            fresh: list[TicketRow] = []
            ids = [event.event_id for event in events]
            earlier = {  # redeliveries: filed before
                link.event_id: link.ticket_id
                for link in session.scalars(
                    select(EventLinkRow).where(EventLinkRow.event_id.in_(ids))
                )
            }
            for event in events:
                if event.event_id in earlier:
                    filed.append(session.get(TicketRow, earlier[event.event_id]))
                    continue
                with session.no_autoflush:
                    ticket = self._merge_target(session, event, fresh)
                if ticket:
                    if self._merge(session, ticket, event, now):
                        reopened.append(ticket)
                else:
                    ticket = self._create(session, event, now, units)
                    fresh.append(ticket)
                session.add(
                    EventLinkRow(
                        event_id=event.event_id,
                        ticket_id=ticket.id,
                        linked_at=utc(now),
                        merged=ticket.event_id != event.event_id,
                    )
                )
                if event.reporter:
                    session.add(
                        ReporterRow(
                            event_id=event.event_id,
                            ticket_id=ticket.id,
                            source=event.source,
                            reported_at=utc(event.detected_at),
                            **event.reporter.model_dump(),
                        )
                    )
                earlier[event.event_id] = ticket.id  # the same event twice in one batch
                filed.append(ticket)
            session.commit()
        return filed, reopened

    def _merge_target(
        self, session: Session, event: Event, fresh: list[TicketRow]
    ) -> TicketRow | None:
        """An open (or resolved, unverified) ticket for the same problem: same camera zone,
        else same category nearby. `fresh` are tickets created earlier in this batch, not yet
        written (the batch is flushed once, at commit)."""
        mergeable = (*OPEN_STATES, "resolved")
        same = select(TicketRow).where(
            TicketRow.status.in_(mergeable), TicketRow.service_code == event.category
        )
        fresh = [t for t in fresh if t.service_code == event.category and t.status in mergeable]
        if event.camera_id and event.zone_id:
            query = same.where(
                TicketRow.camera_id == event.camera_id, TicketRow.zone_id == event.zone_id
            )
            found = session.scalars(
                query.order_by(TicketRow.requested_at).with_for_update()
            ).first() or next(
                (t for t in fresh if (t.camera_id, t.zone_id) == (event.camera_id, event.zone_id)),
                None,
            )
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
        candidates = {t.id: t for t in session.scalars(box.with_for_update())}
        candidates.update((t.id, t) for t in fresh)
        distance = self.router.index.projector.distance_m
        ranked = sorted(
            ((distance((t.lon, t.lat), (event.lon, event.lat)), t.requested_at, t.id), t)
            for t in candidates.values()
        )
        return next((t for (d, _, _), t in ranked if d <= radius), None)

    def _merge(self, session: Session, ticket: TicketRow, event: Event, now: float) -> bool:
        """Count the event into the ticket; True if it reopened a resolved ticket."""
        ticket.merged_events += 1
        ticket.version += 1
        ticket.updated_at = utc(now)
        self._attach_snapshot(session, ticket, event, now)
        session.add(
            AuditRow(
                ticket_id=ticket.id,
                at=utc(now),
                actor="dispatcher",
                from_status=ticket.status,
                to_status=ticket.status,
                note=f"merged {event.source} event {event.event_id} "
                f"({ticket.merged_events} reports)",
            )
        )
        log.info("event %s merged into ticket %s", event.event_id, ticket.id)
        settle = self.cfg.dispatch.verify_settle_s
        if (
            ticket.status == "resolved"
            and event.detected_at >= ticket.resolved_at.timestamp() + settle
        ):
            note = f"new {event.source} report after the fix: the problem is still there"
            self.desk.reopen(session, ticket, f"{event.source}:{event.event_id}", utc(now), note)
            return True
        return False

    @staticmethod
    def _attach_snapshot(session: Session, ticket: TicketRow, event: Event, now: float) -> None:
        """Keep the event's evidence: a camera snapshot, or a reporter's photo link."""
        actor = f"{event.source}:{event.camera_id or event.event_id}"
        for kind, path in (("snapshot", event.snapshot), ("link", event.media_url)):
            if path:
                add_media(session, ticket.id, kind, path, actor, utc(now))

    def _create(self, session: Session, event: Event, now: float, units: _UnitState) -> TicketRow:
        location = self.router.index.locate(event.lon, event.lat)
        route = self.router.route(event.category, location)
        pick = None
        if self._categories[event.category].auto_dispatch:
            pick = self.router.pick_unit(
                route, event.lon, event.lat, units.fixes, units.workloads, now
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
            requested_at=utc(event.detected_at),
            updated_at=utc(now),
            version=1,
            merged_events=1,
            returned_count=0,
            reopened_count=0,
            priority=self._categories[event.category].priority,
            address=event.address,
            **deadlines(self.cfg, self.calendar, event.category, utc(now)),
        )
        session.add(ticket)  # the unit of work inserts it before the rows that reference it
        self._attach_snapshot(session, ticket, event, now)
        session.add(
            AuditRow(
                ticket_id=ticket.id,
                at=utc(now),
                actor="dispatcher",
                from_status=None,
                to_status="new",
                note=f"from {event.source} event",
            )
        )
        if pick:
            note = f"routed to {route.department_id}; nearest unit {pick[0]} at {pick[1]:.0f} m"
            self.desk.move(
                session, ticket, "dispatched", "dispatcher", utc(now), note, unit_id=pick[0]
            )
            units.workloads[pick[0]] = units.workloads.get(pick[0], 0) + 1
        log.info(
            "event %s -> ticket %s (%s, %s, unit %s)",
            event.event_id,
            ticket.id,
            event.category,
            location.grid_id,
            ticket.unit_id,
        )
        return ticket

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
    tick_s: float = 5.0,
) -> None:
    """Consume events, unit positions and zone re-checks, and tick deadlines, until `stop` is set
    (or `max_events` events were handled)."""
    bus = dispatcher.bus
    threads = []
    for stream in (keys.UNIT_POSITIONS, keys.ZONE_CHECKS):
        consumer = bus.consumer(stream, GROUP, name, dispatcher.handle, claim_idle_ms=claim_idle_ms)
        threads.append(threading.Thread(target=consumer.run, args=(stop,), daemon=True))
    threads.append(threading.Thread(target=_ticker, args=(dispatcher, stop, tick_s), daemon=True))
    for thread in threads:
        thread.start()
    events = bus.consumer(
        keys.EVENTS,
        GROUP,
        name,
        dispatcher.handle,
        claim_idle_ms=claim_idle_ms,
        batch_handler=dispatcher.handle_batch,
    )
    try:
        events.run(stop, max_messages=max_events)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=5)


def _ticker(dispatcher: Dispatcher, stop: threading.Event, every_s: float) -> None:
    """Raise and escalate overdue warnings every `every_s` seconds."""
    while not stop.wait(every_s):
        try:
            dispatcher.desk.tick()
        except Exception:  # a database hiccup must not end the ticks; the next one retries
            log.exception("deadline tick failed")
