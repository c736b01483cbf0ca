"""Deadline warnings: raised when a stage is overdue, escalated to the supervisor, cleared when
the stage is done; operators acknowledge or mute them.

A periodic `tick(now)` does the raising, escalating and clearing in one transaction and publishes
each change on the `alerts` stream after commit. Time comes from an injectable clock, so tests
move through deadlines without sleeping.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from config.schema import AppConfig
from dispatch.calendar import district_calendar
from dispatch.errors import DeskError
from dispatch.lifecycle import DUE_COLUMNS, transition
from dispatch.publish import ticket_alert, ticket_change, utc
from dispatch.states import ESCALATE_FROM, MERGEABLE, STAGE_DONE, TicketState
from dispatch.store import Store, TicketRow, WarningRow
from streams.bus import Bus
from streams.records import AlertLevel, TicketAlert

log = logging.getLogger(__name__)
S = TicketState
A = AlertLevel
Changed = list[tuple[WarningRow, str, TicketRow]]  # (warning, level of the news, its ticket)


class Warnings:
    """Raises, escalates and clears deadline warnings; lists them; takes operators' actions."""

    def __init__(
        self,
        cfg: AppConfig,
        store: Store,
        bus: Bus | None,
        clock: Callable[[], float] = time.time,
    ):
        self.cfg, self.store, self.bus, self.clock = cfg, store, bus, clock
        self.calendar = district_calendar(cfg)
        self._supervisors = {d.id: d.supervisor for d in cfg.departments}

    # ----- reading -------------------------------------------------------------------------

    def active(self, include_muted: bool = False) -> list[WarningRow]:
        """Warnings not yet cleared, newest first (muted ones only when asked)."""
        now = utc(self.clock())
        query = select(WarningRow).where(WarningRow.cleared_at.is_(None))
        if not include_muted:
            query = query.where(
                or_(WarningRow.muted_until.is_(None), WarningRow.muted_until <= now)
            )
        with self.store.session() as session:
            return list(session.scalars(query.order_by(WarningRow.raised_at.desc())))

    def alert_records(self) -> list[TicketAlert]:
        """Every warning not yet cleared as the bus records that rebuild it (raised or escalated,
        then acknowledged, then muted), oldest first: what a wall screen starts from."""
        query = (
            select(WarningRow, TicketRow)
            .join(TicketRow, TicketRow.id == WarningRow.ticket_id)
            .where(WarningRow.cleared_at.is_(None))
            .order_by(WarningRow.raised_at, WarningRow.id)
        )
        out: list[TicketAlert] = []
        with self.store.session() as session:
            for warning, ticket in session.execute(query):
                out.append(ticket_alert(warning, warning.level, ticket))
                if warning.acknowledged_by:
                    out.append(
                        ticket_alert(warning, A.ACKNOWLEDGED, ticket, warning.acknowledged_by)
                    )
                if warning.muted_until:
                    out.append(ticket_alert(warning, A.MUTED, ticket))
        return out

    # ----- operators -----------------------------------------------------------------------

    def acknowledge(self, warning_id: int, actor: str) -> WarningRow:
        """An operator has seen the warning (it stays listed, marked as handled)."""
        with self.store.session() as session:
            warning, ticket = self._warning(session, warning_id)
            warning.acknowledged_by, warning.acknowledged_at = actor, utc(self.clock())
            session.commit()
        if self.bus:
            self.bus.publish(ticket_alert(warning, A.ACKNOWLEDGED, ticket, actor))
        return warning

    def mute(self, warning_id: int, actor: str, minutes: float) -> WarningRow:
        """Hide the warning for a while (it comes back if still not cleared)."""
        if not 0 < minutes <= 24 * 60:
            raise DeskError("mute for between 1 minute and 24 hours (minutes 1..1440)", 422)
        with self.store.session() as session:
            warning, ticket = self._warning(session, warning_id)
            warning.muted_until = utc(self.clock() + minutes * 60)
            warning.acknowledged_by = warning.acknowledged_by or actor
            warning.acknowledged_at = warning.acknowledged_at or utc(self.clock())
            session.commit()
        if self.bus:
            self.bus.publish(ticket_alert(warning, A.MUTED, ticket, actor))
        return warning

    @staticmethod
    def _warning(session: Session, warning_id: int) -> tuple[WarningRow, TicketRow]:
        warning = session.get(WarningRow, warning_id, with_for_update=True)
        if warning is None:
            raise DeskError(f"no warning {warning_id}", 404)
        return warning, session.get(TicketRow, warning.ticket_id)

    # ----- time ----------------------------------------------------------------------------

    def tick(self, now: float | None = None) -> list[WarningRow]:
        """Raise, escalate and clear warnings as of `now`; return those raised or escalated."""
        at = utc(self.clock() if now is None else now)
        changed: Changed = []
        moved: dict[str, TicketRow] = {}
        with self.store.session() as session:
            self._clear_done(session, at, changed)
            self._raise_due(session, at, changed)
            escalate = self.cfg.dispatch.escalate_after_min
            pending = select(WarningRow).where(
                WarningRow.cleared_at.is_(None), WarningRow.level == A.OVERDUE
            )
            for warning in session.scalars(pending):
                if self.calendar.add_working_minutes(warning.due_at, escalate) <= at:
                    self._escalate(session, warning, at, changed, moved)
            session.commit()
        if self.bus:
            self.bus.publish_many(ticket_change(t) for t in moved.values())
            self.bus.publish_many(ticket_alert(w, level, t) for w, level, t in changed)
        return [w for w, level, _ in changed if level in (A.OVERDUE, A.ESCALATED)]

    def _raise_due(self, session: Session, at: dt.datetime, changed: Changed) -> None:
        late = select(TicketRow).where(
            TicketRow.status.in_(MERGEABLE),
            or_(
                TicketRow.status == S.RESOLVED,
                TicketRow.accept_due <= at,
                TicketRow.arrive_due <= at,
                TicketRow.resolve_due <= at,
            ),
        )
        tickets = list(session.scalars(late))
        known = select(WarningRow.ticket_id, WarningRow.stage, WarningRow.due_at).where(
            WarningRow.ticket_id.in_([t.id for t in tickets])
        )
        raised = {tuple(row) for row in session.execute(known)}  # read once per tick
        for ticket in tickets:
            for stage, due in self._stages_due(ticket):
                if due is not None and due <= at and (ticket.id, stage, due) not in raised:
                    self._raise(session, ticket, stage, due, at, changed)

    def _stages_due(self, ticket: TicketRow) -> list[tuple[str, dt.datetime | None]]:
        if ticket.status == S.RESOLVED:
            verify_due = ticket.resolved_at + dt.timedelta(
                seconds=self.cfg.dispatch.verify_timeout_s
            )
            return [("verify", verify_due)]
        stages = [("resolve", ticket.resolve_due)]
        if ticket.status != S.ON_SITE:
            stages.append(("arrive", ticket.arrive_due))
            if ticket.status not in (S.ACCEPTED, S.ESCALATED):
                stages.append(("accept", ticket.accept_due))
        return stages

    @staticmethod
    def _raise(session, ticket, stage, due, at, changed: Changed) -> None:
        warning = WarningRow(
            ticket_id=ticket.id, stage=stage, level=A.OVERDUE, due_at=due, raised_at=at
        )
        try:
            with session.begin_nested():  # another dispatcher may raise the same one
                session.add(warning)
        except IntegrityError:
            return
        changed.append((warning, A.OVERDUE, ticket))
        log.info("ticket %s: %s overdue since %s", ticket.id, stage, due.isoformat())

    def _escalate(self, session: Session, warning: WarningRow, at, changed: Changed, moved) -> None:
        ticket = session.get(TicketRow, warning.ticket_id, with_for_update=True)
        supervisor = self._supervisors.get(ticket.department_id or "")
        warning.level, warning.escalated_at, warning.supervisor_id = A.ESCALATED, at, supervisor
        ticket.supervised_at = ticket.supervised_at or at  # 督办: a supervised case from now on
        changed.append((warning, A.ESCALATED, ticket))
        if warning.stage == "accept" and ticket.status in ESCALATE_FROM:
            note = f"{warning.stage} overdue since {warning.due_at.isoformat(timespec='minutes')}"
            transition(session, ticket, S.ESCALATED, "dispatcher", at, note=note)
            moved[ticket.id] = ticket
            if supervisor:
                ticket.unit_id = supervisor
        log.info("ticket %s: %s escalated to %s", ticket.id, warning.stage, supervisor)

    @staticmethod
    def _clear_done(session: Session, at: dt.datetime, changed: Changed) -> None:
        query = select(WarningRow, TicketRow).join(TicketRow, TicketRow.id == WarningRow.ticket_id)
        for warning, ticket in session.execute(query.where(WarningRow.cleared_at.is_(None))):
            if warning.stage == "verify":
                done = ticket.status != S.RESOLVED
            else:
                due = getattr(ticket, DUE_COLUMNS[warning.stage])
                moved = due is not None and due != warning.due_at  # extended: raised anew if due
                done = ticket.status in STAGE_DONE[warning.stage] or moved
            if done:
                warning.cleared_at = at
                changed.append((warning, A.CLEARED, ticket))
