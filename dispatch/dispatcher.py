"""The dispatcher service: each bus event becomes exactly one routed ticket; unit fixes are kept;
cameras' re-checks are filed; deadlines are ticked."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from sqlalchemy.exc import IntegrityError, OperationalError

from config.schema import AppConfig
from dispatch import facts
from dispatch.calendar import district_calendar
from dispatch.desk import Desk
from dispatch.filing import Filed, Filer
from dispatch.metrics import count_filed
from dispatch.publish import ticket_change
from dispatch.retention import Retention
from dispatch.routing import Router
from dispatch.store import Store, TicketRow, UnitPositionRow
from dispatch.warnings import Warnings
from streams import keys
from streams.bus import BUS_DOWN, Bus, Unavailable
from streams.outage import Outage
from streams.records import Event, Record, UnitPosition, ZoneCheck

log = logging.getLogger(__name__)
GROUP = "dispatcher"  # one consumer group per service


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
        self._categories = {c.id for c in cfg.categories}
        self.calendar = district_calendar(cfg)
        self.filer = Filer(cfg, store, router, self.calendar)
        self.desk = Desk(cfg, store, bus, router, clock)
        self.verifier = self.desk.verifier
        self.warnings = Warnings(cfg, store, bus, clock)
        self.retention = Retention(store, cfg.services.data_dir, cfg.retention)

    def handle(self, record: Record) -> None:
        """Bus handler: route each record type to its method. The database away is not the
        record's fault: it stays on the bus until the database is back (Unavailable)."""
        try:
            if isinstance(record, Event):
                self.on_event(record)
            elif isinstance(record, UnitPosition):
                self.on_position(record)
            elif isinstance(record, ZoneCheck):
                self.verifier.on_zone_check(record)
        except OperationalError as exc:
            raise Unavailable("the ticket database is away") from exc

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
        try:
            self.on_events(events)
        except OperationalError as exc:
            raise Unavailable("the ticket database is away") from exc

    def on_events(self, events: list[Event], attempts: int = 3) -> list[TicketRow]:
        """File events in one transaction (each into one ticket), then publish each changed
        ticket once. A conflicting concurrent filing (another dispatcher filed the same event,
        or opened the zone's ticket first; a deadlock with another writer) rolls back and files
        again, one by one: then it merges into what the other one filed."""
        try:
            filed = self.filer.file(events, self.clock())
        except (IntegrityError, OperationalError) as exc:
            if (isinstance(exc, OperationalError) and not _deadlock(exc)) or attempts <= 1:
                raise
            log.info("filing raced another writer (%s); filing again", type(exc.orig).__name__)
            if len(events) > 1:
                return [self.on_events([event], attempts - 1)[0] for event in events]
            return self.on_events(events, attempts - 1)
        self._announce(filed)
        count_filed(events, filed.tickets, self.clock())
        return filed.tickets

    def _announce(self, filed: Filed) -> None:
        latest = {ticket.id: ticket for ticket in filed.tickets}
        self.bus.publish_many(ticket_change(ticket) for ticket in latest.values())
        for ticket in filed.reopened:
            self.verifier.withdraw(ticket)  # a report reopened it: the re-check is moot

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


def _deadlock(exc: OperationalError) -> bool:
    """Whether PostgreSQL chose this transaction as a deadlock's victim (SQLSTATE 40P01)."""
    return getattr(exc.orig, "sqlstate", None) == "40P01"


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
    """Raise and escalate overdue warnings, dispatch findings left unconfirmed too long and
    refresh the trends' facts every `every_s` seconds; sweep old evidence when it is time."""
    outage = Outage(log, "the ticket database (deadline ticks)")
    while not stop.wait(every_s):
        try:
            dispatcher.warnings.tick()
            dispatcher.desk.dispatch_unconfirmed()
            facts.refresh(dispatcher.store, dispatcher.cfg, dispatcher.calendar)
            dispatcher.retention.tick()
            outage.ok()
        except (OperationalError, *BUS_DOWN) as exc:  # away: the next tick retries
            outage.failed(exc)
