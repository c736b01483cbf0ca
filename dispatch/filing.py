"""Filing: each event becomes a new routed ticket, or is merged into the open ticket for the same
problem (same camera zone, else same category nearby). Filing is idempotent on the event id.
"""

from __future__ import annotations

import logging
import math
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from config.schema import AppConfig
from dispatch.calendar import WorkCalendar, stage_deadlines
from dispatch.facts import earlier_at_spot, when_and_where
from dispatch.lifecycle import record_filed, record_note, reopen, transition
from dispatch.media import add_media
from dispatch.publish import utc
from dispatch.reads import unit_fixes, workloads
from dispatch.routing import Fix, Router
from dispatch.states import MERGEABLE, TicketState
from dispatch.store import EventLinkRow, ReporterRow, Store, TicketRow
from streams.records import Event, new_id

log = logging.getLogger(__name__)
_MERGEABLE = frozenset(MERGEABLE)  # checked for every fresh ticket of a batch, per event


def _filing_locks(session: Session, events: list[Event], cells: Callable) -> None:
    """On PostgreSQL, hold a lock per (category, place) of the batch until it commits, taken in
    one order (never a deadlock): two dispatchers never decide "merge or new?" for the same
    kind of problem in the same neighbourhood at once, which the merge radius needs (no index
    can say "nothing within 250 m"), while problems far apart are filed in parallel."""
    if session.get_bind().dialect.name != "postgresql":
        return  # SQLite lets one writer at a time in anyway
    keys = sorted({zlib.crc32(f"filing:{e.category}:{cell}".encode()) for e in events
                   for cell in cells(e)})  # fmt: skip
    session.execute(
        text("SELECT count(pg_advisory_xact_lock(k)) FROM "
             "(SELECT unnest(CAST(:keys AS bigint[])) AS k ORDER BY 1) AS ordered"),
        {"keys": keys},
    )  # fmt: skip


def _answers(event: Event) -> str:
    """The reporter's answers to the category's extra fields, for the audit timeline."""
    if not event.attributes:
        return ""
    shown = (
        f"{code}={'+'.join(value) if isinstance(value, tuple) else value}"
        for code, value in sorted(event.attributes.items())
    )
    return "; " + ", ".join(shown)


@dataclass
class _UnitState:
    """Units' last fixes and open-ticket counts, read once per batch and kept current in it."""

    fixes: dict[str, Fix]
    workloads: dict[str, int]


@dataclass
class Filed:
    """What one filing transaction did: the ticket of each event, and the tickets it reopened."""

    tickets: list[TicketRow]
    reopened: list[TicketRow]


class Filer:
    """Files events into tickets in one transaction per batch."""

    def __init__(self, cfg: AppConfig, store: Store, router: Router, calendar: WorkCalendar):
        self.cfg, self.store, self.router, self.calendar = cfg, store, router, calendar
        self._categories = {c.id: c for c in cfg.categories}

    def file(self, events: list[Event], now: float) -> Filed:
        """The ticket each event went into (filing it unless it was already), and the tickets
        the filing reopened. Raises IntegrityError if another dispatcher filed one first."""
        filed = Filed([], [])
        with self.store.session() as session:
            _filing_locks(session, events, self._cells)
            units = _UnitState(unit_fixes(session), workloads(session))
            fresh: list[TicketRow] = []
            earlier = self._earlier(session, events)  # redeliveries: filed before
            for event in events:
                if event.event_id in earlier:
                    filed.tickets.append(session.get(TicketRow, earlier[event.event_id]))
                    continue
                with session.no_autoflush:
                    ticket = self._merge_target(session, event, fresh)
                if ticket:
                    if self._merge(session, ticket, event, now):
                        filed.reopened.append(ticket)
                else:
                    ticket = self._create(session, event, now, units)
                    fresh.append(ticket)
                self._link(session, ticket, event, now)
                earlier[event.event_id] = ticket.id  # the same event twice in one batch
                filed.tickets.append(ticket)
            session.commit()
        return filed

    @staticmethod
    def _earlier(session: Session, events: list[Event]) -> dict[str, str]:
        ids = [event.event_id for event in events]
        links = session.scalars(select(EventLinkRow).where(EventLinkRow.event_id.in_(ids)))
        return {link.event_id: link.ticket_id for link in links}

    @staticmethod
    def _link(session: Session, ticket: TicketRow, event: Event, now: float) -> None:
        """Remember which ticket the event went into, and who reported it (for a call back)."""
        session.add(
            EventLinkRow(
                event_id=event.event_id,
                ticket_id=ticket.id,
                linked_at=utc(now),
                merged=ticket.event_id != event.event_id,
                attributes=dict(event.attributes) or None,
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

    def _cells(self, event: Event) -> list[str]:
        """The grid cells (a merge radius wide) whose problems the event may merge with: its
        own and the eight around it; a camera zone's, when there is no merge radius."""
        radius = self.cfg.dispatch.merge_radius_m
        if radius <= 0:
            return [f"zone:{event.camera_id}:{event.zone_id}"] if event.camera_id else []
        x, y = self.router.index.projector.to_metric(event.lon, event.lat)
        col, row = int(math.floor(x / radius)), int(math.floor(y / radius))
        return [f"{col + dc}:{row + dr}" for dc in (-1, 0, 1) for dr in (-1, 0, 1)]

    def _merge_target(
        self, session: Session, event: Event, fresh: list[TicketRow]
    ) -> TicketRow | None:
        """An open (or resolved, unverified) ticket for the same problem: same camera zone,
        else same category nearby. `fresh` are tickets created earlier in this batch, not yet
        written (the batch is flushed once, at commit)."""
        same = select(TicketRow).where(
            TicketRow.status.in_(MERGEABLE), TicketRow.service_code == event.category
        )
        fresh = [t for t in fresh if t.service_code == event.category and t.status in _MERGEABLE]
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
        return self._nearby(session, same, event, fresh, radius) if radius > 0 else None

    def _nearby(self, session, same, event: Event, fresh, radius: float) -> TicketRow | None:
        """The nearest same-category ticket within `radius` metres (oldest on a tie)."""
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
        self._attach_evidence(session, ticket, event, now)
        note = f"merged {event.source} event {event.event_id} ({ticket.merged_events} reports)"
        note += _answers(event)
        record_note(session, ticket, "dispatcher", utc(now), note)
        log.info("event %s merged into ticket %s", event.event_id, ticket.id)
        settle = self.cfg.dispatch.verify_settle_s
        if (
            ticket.status == TicketState.RESOLVED
            and event.detected_at >= ticket.resolved_at.timestamp() + settle
        ):
            note = f"new {event.source} report after the fix: the problem is still there"
            fresh = stage_deadlines(self.cfg, self.calendar, ticket.service_code, utc(now))
            reopen(session, ticket, f"{event.source}:{event.event_id}", utc(now), note, fresh)
            return True
        return False

    @staticmethod
    def _attach_evidence(session: Session, ticket: TicketRow, event: Event, now: float) -> None:
        """Keep the event's evidence: a camera snapshot, or a reporter's photo link."""
        actor = f"{event.source}:{event.camera_id or event.event_id}"
        for kind, path in (("snapshot", event.snapshot), ("link", event.media_url)):
            if path:
                add_media(session, ticket.id, kind, path, actor, utc(now))

    def _create(self, session: Session, event: Event, now: float, units: _UnitState) -> TicketRow:
        location = self.router.index.locate(event.lon, event.lat)
        route = self.router.route(event.category, location)
        category = self._categories[event.category]
        ticket = TicketRow(
            id=new_id(),
            event_id=event.event_id,
            service_code=event.category,
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
            priority=category.priority,
            address=event.address,
            **stage_deadlines(self.cfg, self.calendar, event.category, utc(now)),
            **when_and_where(self.cfg, event.lon, event.lat, utc(event.detected_at)),
        )
        ticket.repeat_of = earlier_at_spot(session, self.cfg, ticket)
        session.add(ticket)  # the unit of work inserts it before the rows that reference it
        self._attach_evidence(session, ticket, event, now)
        note = f"from {event.source} event{_answers(event)}"
        record_filed(session, ticket, "dispatcher", utc(now), note)
        if category.auto_dispatch:
            self._auto_dispatch(session, ticket, route, now, units)
        log.info(
            "event %s -> ticket %s (%s, %s, unit %s)",
            event.event_id,
            ticket.id,
            event.category,
            location.grid_id,
            ticket.unit_id,
        )
        return ticket

    def _auto_dispatch(self, session, ticket: TicketRow, route, now: float, units) -> None:
        pick = self.router.pick_unit(
            route, ticket.lon, ticket.lat, units.fixes, units.workloads, now
        )
        if pick:
            note = f"routed to {route.department_id}; nearest unit {pick[0]} at {pick[1]:.0f} m"
            transition(
                session,
                ticket,
                TicketState.DISPATCHED,
                "dispatcher",
                utc(now),
                note,
                unit_id=pick[0],
            )
            units.workloads[pick[0]] = units.workloads.get(pick[0], 0) + 1
