"""The ticket desk: what field units and operators do to a ticket after it is filed.

Field units accept, arrive, resolve (with photos) or give a ticket back; operators dispatch,
verify and close. Each operation runs in one transaction with the ticket row locked, moves the
ticket through `lifecycle.transition` (which writes the audit row) and publishes the new ticket
state on the bus after commit. Time comes from an injectable clock.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from config.schema import AppConfig
from dispatch.calendar import district_calendar, stage_deadlines
from dispatch.errors import DeskError
from dispatch.lifecycle import (
    TransitionError,
    extend_deadline,
    record_note,
    reopen,
    transition,
    verify_and_close,
)
from dispatch.media import Photo, clean_photo, save_photo
from dispatch.publish import busy_rank, status_since, ticket_change, utc
from dispatch.reads import TicketReads, ticket_row, unit_fixes, workloads
from dispatch.routing import Router
from dispatch.states import UNIT_BUSY, CloseReason, TicketState
from dispatch.store import (
    AuditRow,
    EventLinkRow,
    MediaRow,
    ReporterRow,
    Store,
    TicketRow,
)
from dispatch.verification import Verifier
from streams.bus import Bus
from streams.records import UnitAck

S = TicketState
MAX_EXTENSION_H = 72  # three days: longer than that is a new plan, not an extension


class Desk(TicketReads):
    """Ticket operations shared by the API, the field page and the operators' tools."""

    def __init__(
        self,
        cfg: AppConfig,
        store: Store,
        bus: Bus | None,
        router: Router | None = None,
        clock: Callable[[], float] = time.time,
    ):
        super().__init__(store)
        self.cfg, self.bus, self.router, self.clock = cfg, bus, router, clock
        self.calendar = district_calendar(cfg)
        self.verifier = Verifier(cfg, store, bus, clock)
        self._units = {u.id: u for u in cfg.units}

    # ----- field units ---------------------------------------------------------------------

    def accept(self, ticket_id: str, unit_id: str, note: str = "") -> TicketRow:
        """The assigned unit takes the job."""
        return self._unit_move(ticket_id, unit_id, S.ACCEPTED, note)

    def arrive(self, ticket_id: str, unit_id: str, note: str = "") -> TicketRow:
        """The assigned unit is at the place."""
        return self._unit_move(ticket_id, unit_id, S.ON_SITE, note)

    def resolve(
        self, ticket_id: str, unit_id: str, photos: list[Photo], note: str = ""
    ) -> TicketRow:
        """The unit reports the fix, with photos; a camera (or an operator) verifies it next."""
        if self.cfg.dispatch.photo_required and not photos:
            raise DeskError(f"ticket {ticket_id}: resolving needs at least one photo of the fix")
        if len(photos) > self.cfg.api.max_photos:
            raise DeskError(f"send at most {self.cfg.api.max_photos} photos of one fix", 413)
        cleaned = [clean_photo(p.data) for p in photos]  # bad files refused before any change
        saved: list[Path] = []
        try:
            with self.store.session() as session:
                ticket = self._assigned(session, ticket_id, unit_id)
                now, actor = utc(self.clock()), f"unit:{unit_id}"
                _move(session, ticket, S.RESOLVED, actor, now, note)
                data_dir = self.cfg.services.data_dir
                saved += [save_photo(session, data_dir, ticket.id, j, actor, now) for j in cleaned]
                session.commit()
        except BaseException:
            for path in saved:  # nothing half-stored: the files go when the transaction does
                path.unlink(missing_ok=True)
            raise
        self.verifier.request(ticket)
        self._publish(ticket)
        return ticket

    def give_back(self, ticket_id: str, unit_id: str, note: str) -> TicketRow:
        """The unit says the ticket is not theirs; it is re-routed to another free unit."""
        if not note.strip():
            raise DeskError(f"ticket {ticket_id}: say why the ticket is given back (note)")
        with self.store.session() as session:
            ticket = self._assigned(session, ticket_id, unit_id)
            now = utc(self.clock())
            _move(session, ticket, S.RETURNED, f"unit:{unit_id}", now, note)
            tried = _units_tried(session, ticket.id)
            self._auto_dispatch(session, ticket, now, exclude=tried, why="re-routed after return")
            session.commit()
        self._publish(ticket)
        return ticket

    # ----- operators -----------------------------------------------------------------------

    def dispatch(self, ticket_id: str, unit_id: str, actor: str, note: str = "") -> TicketRow:
        """An operator (or supervisor) sends the ticket to a unit."""
        if unit_id not in self._units:
            raise DeskError(f"unknown unit {unit_id!r}; units: {', '.join(self._units)}", 422)
        with self.store.session() as session:
            ticket = ticket_row(session, ticket_id)
            now = utc(self.clock())
            _move(session, ticket, S.DISPATCHED, actor, now, note, unit_id=unit_id)
            session.commit()
        self._publish(ticket)
        return ticket

    def confirm(self, ticket_id: str, actor: str, unit_id: str | None = None) -> TicketRow:
        """A person confirms a finding that waits for confirmation: dispatched to `unit_id`, or
        as the routing would (nearest suitable unit); DeskError 409 if no unit can take it."""
        if unit_id:
            return self.dispatch(ticket_id, unit_id, actor, "finding confirmed")
        with self.store.session() as session:
            ticket = ticket_row(session, ticket_id)
            if ticket.status != S.NEW:
                raise DeskError(f"ticket {ticket.id} is {ticket.status}, not awaiting confirmation")
            self._auto_dispatch(session, ticket, utc(self.clock()), set(), f"confirmed by {actor}")
            if ticket.status != S.DISPATCHED:
                raise DeskError("no unit of the routed department is on duty; pick one", 409)
            session.commit()
        self._publish(ticket)
        return ticket

    def dispatch_unconfirmed(self, now: float | None = None) -> list[TicketRow]:
        """Findings of categories that wait for an operator but not for ever: those nobody
        confirmed or rejected within the category's `confirm_timeout_min` are dispatched as
        the routing would; the rest keep waiting (their deadlines escalate them)."""
        at = utc(self.clock() if now is None else now)
        moved = []
        for category in self.cfg.categories:
            if category.auto_dispatch or category.confirm_timeout_min is None:
                continue
            minutes = category.confirm_timeout_min
            cutoff = at - dt.timedelta(minutes=minutes)
            query = select(TicketRow.id).where(
                TicketRow.status == S.NEW,
                TicketRow.service_code == category.id,
                TicketRow.requested_at <= cutoff,
            )
            with self.store.session() as session:
                for ticket_id in list(session.scalars(query)):
                    ticket = ticket_row(session, ticket_id)
                    if ticket.status != S.NEW:  # confirmed meanwhile
                        continue
                    why = f"not confirmed within {minutes:g} min"
                    self._auto_dispatch(session, ticket, at, set(), why)
                    if ticket.status == S.DISPATCHED:
                        moved.append(ticket)
                session.commit()
        for ticket in moved:
            self._publish(ticket)
        return moved

    def escalate(self, ticket_id: str, actor: str, note: str) -> TicketRow:
        """Hand the ticket to the department's supervisor (with the reason)."""
        with self.store.session() as session:
            ticket = ticket_row(session, ticket_id)
            _move(session, ticket, S.ESCALATED, actor, utc(self.clock()), note)
            session.commit()
        self._publish(ticket)
        return ticket

    def set_priority(self, ticket_id: str, priority: int, actor: str, reason: str) -> TicketRow:
        """Change the priority (1 urgent .. 3 low), with the reason in the audit trail."""
        if priority not in (1, 2, 3) or not reason.strip():
            raise DeskError("priority is 1 (urgent), 2 or 3 (low), and needs a reason", 422)
        with self.store.session() as session:
            ticket = ticket_row(session, ticket_id)
            if ticket.status == S.CLOSED:
                raise DeskError(f"ticket {ticket.id} is closed", 409)
            note = f"priority {ticket.priority} -> {priority}: {reason.strip()[:500]}"
            ticket.priority = priority
            record_note(session, ticket, actor, utc(self.clock()), note)
            session.commit()
        self._publish(ticket)
        return ticket

    def extend(self, ticket_id: str, hours: float, actor: str, reason: str) -> TicketRow:
        """More time for the running stage and those after it, with the reason (延期); its
        overdue warning clears at the next tick if the new deadline is still ahead."""
        if not 0 < hours <= MAX_EXTENSION_H or not reason.strip():
            raise DeskError(f"extend by 1 to {MAX_EXTENSION_H} hours, with a reason", 422)
        with self.store.session() as session:
            ticket = ticket_row(session, ticket_id)
            try:
                extend_deadline(session, ticket, hours, actor, utc(self.clock()), reason.strip())
            except TransitionError as exc:
                raise DeskError(str(exc), 409) from None
            session.commit()
        self._publish(ticket)
        return ticket

    def acknowledge_unit(self, unit_id: str, actor: str) -> TicketRow:
        """An operator has seen that `unit_id` is long on its ticket's stage (and contacted the
        crew): noted on that ticket and announced, so every map shows the unit as seen until
        the ticket moves on. The ticket is the unit's most engaged, longest on its stage."""
        if unit_id not in {u.id for u in self.cfg.units}:
            raise DeskError(f"no unit {unit_id!r}", 404)
        busy = select(TicketRow).where(
            TicketRow.unit_id == unit_id, TicketRow.status.in_(UNIT_BUSY)
        )
        with self.store.session() as session:
            tickets = list(session.scalars(busy.with_for_update()))
            if not tickets:
                raise DeskError(f"unit {unit_id} has no ticket in hand", 409)
            ticket = max(tickets, key=lambda row: busy_rank(row.status, status_since(row)))
            since = status_since(ticket)
            minutes = int((self.clock() - since) // 60)
            note = f"seen: {unit_id} {ticket.status} for {minutes} min"
            record_note(session, ticket, actor, utc(self.clock()), note)
            session.commit()
        self._publish(ticket)
        if self.bus:
            self.bus.publish(UnitAck(unit_id=unit_id, ticket_id=ticket.id, status_since=since,
                                     actor=actor, at=self.clock()))  # fmt: skip
        return ticket

    def verify(self, ticket_id: str, ok: bool, actor: str, note: str = "") -> TicketRow:
        """A person checked the fix: verified and closed, or reopened back to the unit."""
        with self.store.session() as session:
            ticket = ticket_row(session, ticket_id)
            now = utc(self.clock())
            try:
                if ok:
                    verify_and_close(session, ticket, actor, now, note)
                else:
                    fresh = stage_deadlines(self.cfg, self.calendar, ticket.service_code, now)
                    reopen(session, ticket, actor, now, note or "the fix did not hold", fresh)
            except TransitionError as exc:
                raise DeskError(str(exc), 409) from None
            session.commit()
        self.verifier.withdraw(ticket)
        self._publish(ticket)
        return ticket

    def close(self, ticket_id: str, reason: str, actor: str, note: str = "") -> TicketRow:
        """Close without a fix (duplicate, not responsible, no action needed)."""
        with self.store.session() as session:
            ticket = ticket_row(session, ticket_id)
            now = utc(self.clock())
            _move(session, ticket, S.CLOSED, actor, now, note, reason=reason)
            session.commit()
        self.verifier.withdraw(ticket)
        self._publish(ticket)
        return ticket

    def reopen(self, ticket_id: str, actor: str, reason: str) -> TicketRow:
        """A closed ticket's problem is back (a citizen calls again, a patrol sees it): reopened
        with fresh deadlines and sent to the unit that had it, else to the nearest one."""
        if not reason.strip():
            raise DeskError("say why the ticket is reopened (note)", 422)
        with self.store.session() as session:
            ticket = ticket_row(session, ticket_id)
            now = utc(self.clock())
            _reopenable(ticket, now, self.cfg.dispatch.reopen_within_days)
            fresh = stage_deadlines(self.cfg, self.calendar, ticket.service_code, now)
            reopen(session, ticket, actor, now, f"reopened: {reason.strip()[:300]}", fresh)
            if ticket.status == S.REOPENED:  # nobody had it: the nearest unit now
                self._auto_dispatch(session, ticket, now, set(), "sent out again")
            session.commit()
        self._publish(ticket)
        return ticket

    def merge(self, duplicate_id: str, into_id: str, actor: str, note: str = "") -> TicketRow:
        """Two tickets are one problem: the duplicate's reports, evidence and reporters move to
        `into_id`, the duplicate is closed as a duplicate; both are audited."""
        if duplicate_id == into_id:
            raise DeskError("a ticket cannot be merged into itself", 422)
        with self.store.session() as session:
            first, second = sorted((duplicate_id, into_id))  # lock in one order: no deadlock
            rows = {tid: ticket_row(session, tid) for tid in (first, second)}
            duplicate, into = rows[duplicate_id], rows[into_id]
            if into.status == S.CLOSED:
                raise DeskError(f"ticket {into.id} is closed; merge into an open one", 409)
            now = utc(self.clock())
            for table in (EventLinkRow, MediaRow, ReporterRow):
                session.execute(
                    update(table).where(table.ticket_id == duplicate.id).values(ticket_id=into.id)
                )
            into.merged_events += duplicate.merged_events
            why = f"; {note.strip()[:300]}" if note.strip() else ""
            record_note(
                session, into, actor, now, f"merged ticket {duplicate.id} "
                f"({into.merged_events} reports){why}",
            )  # fmt: skip
            _move(session, duplicate, S.CLOSED, actor, now, f"merged into {into.id}{why}",
                  reason=CloseReason.DUPLICATE)  # fmt: skip
            session.commit()
        self.verifier.withdraw(duplicate)
        self._publish(duplicate)
        self._publish(into)
        return into

    # ----- internals -----------------------------------------------------------------------

    @staticmethod
    def _assigned(session: Session, ticket_id: str, unit_id: str) -> TicketRow:
        ticket = ticket_row(session, ticket_id)
        if ticket.unit_id != unit_id:
            raise DeskError(f"ticket {ticket.id} is not assigned to unit {unit_id}", 403)
        return ticket

    def _unit_move(self, ticket_id: str, unit_id: str, to_status: S, note: str) -> TicketRow:
        with self.store.session() as session:
            ticket = self._assigned(session, ticket_id, unit_id)
            _move(session, ticket, to_status, f"unit:{unit_id}", utc(self.clock()), note)
            session.commit()
        self._publish(ticket)
        return ticket

    def _auto_dispatch(self, session, ticket, at, exclude: set[str], why: str) -> None:
        if self.router is None:
            return
        location = self.router.index.locate(ticket.lon, ticket.lat)
        route = self.router.route(ticket.service_code, location)
        fixes = {unit: fix for unit, fix in unit_fixes(session).items() if unit not in exclude}
        pick = self.router.pick_unit(
            route, ticket.lon, ticket.lat, fixes, workloads(session), at.timestamp()
        )
        if pick:
            note = f"{why}: nearest unit {pick[0]} at {pick[1]:.0f} m"
            _move(session, ticket, S.DISPATCHED, "dispatcher", at, note, unit_id=pick[0])

    def _publish(self, ticket: TicketRow) -> None:
        if self.bus:
            self.bus.publish(ticket_change(ticket))


def _move(session: Session, ticket: TicketRow, to_status: S, actor: str, at, note="", **extra):
    """A person's move: an illegal one is refused with 409 and the allowed moves."""
    try:
        transition(session, ticket, to_status, actor, at, note=note, **extra)
    except TransitionError as exc:
        raise DeskError(str(exc), 409) from None


def _reopenable(ticket: TicketRow, now: dt.datetime, within_days: float) -> None:
    """DeskError (409) unless a closed ticket may be reopened now."""
    if ticket.status != S.CLOSED:
        raise DeskError(
            f"ticket {ticket.id} is {ticket.status}: only a closed ticket is reopened here "
            "(a resolved one is sent back from its re-check)",
            409,
        )
    if ticket.close_reason == CloseReason.DUPLICATE:
        raise DeskError(
            f"ticket {ticket.id} was merged into another as a duplicate: reopen that one", 409
        )
    closed = ticket.closed_at
    if closed is not None and now - closed > dt.timedelta(days=within_days):
        raise DeskError(
            f"ticket {ticket.id} was closed more than {within_days:g} days ago: file the "
            "problem as a new ticket (dispatch.reopen_within_days)",
            409,
        )


def _units_tried(session: Session, ticket_id: str) -> set[str]:
    query = select(AuditRow.actor).where(
        AuditRow.ticket_id == ticket_id, AuditRow.to_status == S.RETURNED
    )
    return {actor.removeprefix("unit:") for actor in session.scalars(query)}
