"""Reading tickets: one ticket, lists by filter, audit trails, reporters, units' fixes and loads."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dispatch.errors import DeskError
from dispatch.media import media_for
from dispatch.routing import Fix
from dispatch.states import OPEN_STATES
from dispatch.store import AuditRow, MediaRow, ReporterRow, Store, TicketRow, UnitPositionRow


def ticket_row(session: Session, ticket_id: str, lock: bool = True) -> TicketRow:
    """The ticket (row-locked for an update by default), or DeskError 404."""
    ticket = session.get(TicketRow, ticket_id, with_for_update=lock)
    if ticket is None:
        raise DeskError(f"no ticket {ticket_id!r}", 404)
    return ticket


class TicketReads:
    """Read-only questions about tickets, each in its own short session."""

    def __init__(self, store: Store):
        self.store = store

    def get(self, ticket_id: str) -> TicketRow:
        """The ticket, or DeskError 404."""
        with self.store.session() as session:
            return ticket_row(session, ticket_id, lock=False)

    def audit(self, ticket_id: str) -> list[AuditRow]:
        """The ticket's audit trail, oldest first."""
        with self.store.session() as session:
            query = select(AuditRow).where(AuditRow.ticket_id == ticket_id).order_by(AuditRow.id)
            return list(session.scalars(query))

    def reporters(self, ticket_id: str) -> list[ReporterRow]:
        """The contacts people left with the reports merged into the ticket, oldest first."""
        self.get(ticket_id)  # an unknown ticket is named, not answered with an empty list
        with self.store.session() as session:
            query = (
                select(ReporterRow)
                .where(ReporterRow.ticket_id == ticket_id)
                .order_by(ReporterRow.reported_at, ReporterRow.event_id)
            )
            return list(session.scalars(query))

    def media(self, ticket_ids: Iterable[str]) -> dict[str, list[MediaRow]]:
        """Evidence per ticket, oldest first."""
        return media_for(self.store, ticket_ids)

    def tickets(
        self,
        unit_id: str | None = None,
        status: Iterable[str] | None = None,
        category: str | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        ids: Iterable[str] | None = None,
        limit: int = 200,
        departments: Iterable[str] | None = None,
    ) -> list[TicketRow]:
        """Tickets matching every given filter, newest first."""
        query = select(TicketRow)
        if departments is not None:
            query = query.where(TicketRow.department_id.in_(list(departments)))
        if unit_id:
            query = query.where(TicketRow.unit_id == unit_id)
        if status:
            query = query.where(TicketRow.status.in_(list(status)))
        if category:
            query = query.where(TicketRow.service_code == category)
        if since:
            query = query.where(TicketRow.requested_at >= since)
        if until:
            query = query.where(TicketRow.requested_at <= until)
        if ids is not None:
            query = query.where(TicketRow.id.in_(list(ids)))
        query = query.order_by(TicketRow.requested_at.desc(), TicketRow.id).limit(limit)
        with self.store.session() as session:
            return list(session.scalars(query))


def unit_fixes(session: Session) -> dict[str, Fix]:
    """Every unit's last accepted GPS fix."""
    return {
        row.unit_id: Fix(row.lon, row.lat, row.fix_time)
        for row in session.scalars(select(UnitPositionRow))
    }


def workloads(session: Session) -> dict[str, int]:
    """Open tickets per unit."""
    query = (
        select(TicketRow.unit_id, func.count())
        .where(TicketRow.status.in_(OPEN_STATES))
        .where(TicketRow.unit_id.is_not(None))
        .group_by(TicketRow.unit_id)
    )
    return dict(session.execute(query).all())
