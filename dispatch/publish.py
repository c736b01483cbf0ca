"""Ticket rows as bus records: what the dispatcher and the desks publish after each commit."""

from __future__ import annotations

import datetime as dt

from dispatch.states import STAMPS, UNIT_BUSY
from dispatch.store import TicketRow, WarningRow
from streams.records import TicketAlert, TicketChange


def utc(epoch: float) -> dt.datetime:
    """Epoch seconds as an aware UTC datetime."""
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
        status_since=status_since(ticket),
    )


def busy_rank(status: str, since: float | None) -> tuple[int, float]:
    """Orders a unit's tickets: the most engaged stage first, then the longest on it (the one
    the map's time-in-status shows)."""
    return UNIT_BUSY.index(status), -(since or 0.0)


def status_since(ticket: TicketRow) -> float | None:
    """When the ticket (last) reached its status; None for states without their own stamp."""
    stamp = STAMPS.get(ticket.status)
    moment = getattr(ticket, stamp) if stamp else None
    return moment.timestamp() if moment else None


def ticket_alert(
    warning: WarningRow, level: str, ticket: TicketRow, actor: str | None = None
) -> TicketAlert:
    """The bus record of a warning's news: raised, escalated, cleared, acknowledged, muted."""
    return TicketAlert(
        warning_id=warning.id,
        ticket_id=warning.ticket_id,
        stage=warning.stage,
        level=level,
        due_at=warning.due_at.timestamp(),
        raised_at=warning.raised_at.timestamp(),
        category=ticket.service_code,
        unit_id=ticket.unit_id,
        supervisor_id=warning.supervisor_id,
        muted_until=warning.muted_until.timestamp() if warning.muted_until else None,
        actor=actor,
    )
