"""The ticket state machine: refusals that explain themselves, and the audit trail."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from dispatch.states import CLOSE_REASONS, STATES, allowed_moves
from dispatch.store import AuditRow, TicketRow


class TransitionError(ValueError):
    """A move the state machine does not allow; says which ticket, which state, what is allowed."""


def _check(ticket: TicketRow, to_status: str, reason: str | None, unit_id: str | None) -> None:
    if to_status not in STATES:
        raise TransitionError(
            f"ticket {ticket.id}: unknown state {to_status!r}; states: {', '.join(STATES)}"
        )
    moves = allowed_moves(ticket.status)
    if to_status not in moves:
        allowed = ", ".join(moves) if moves else "none (the ticket is closed)"
        raise TransitionError(
            f"ticket {ticket.id} is {ticket.status!r} and cannot become "
            f"{to_status!r}; allowed: {allowed}"
        )
    if to_status == "closed" and reason not in CLOSE_REASONS:
        raise TransitionError(
            f"ticket {ticket.id}: closing needs a reason, one of {', '.join(CLOSE_REASONS)}"
        )
    if to_status == "closed" and ticket.status != "verified" and reason == "done":
        raise TransitionError(
            f"ticket {ticket.id}: a fix must be verified before it is closed "
            "as done; close unverified work as duplicate, not_responsible or "
            "no_action_needed"
        )
    if to_status == "dispatched" and not unit_id:
        raise TransitionError(f"ticket {ticket.id}: dispatching needs a unit")


def transition(
    session: Session,
    ticket: TicketRow,
    to_status: str,
    actor: str,
    at: dt.datetime,
    note: str = "",
    reason: str | None = None,
    unit_id: str | None = None,
) -> AuditRow:
    """Move the ticket within the caller's transaction and append its audit entry."""
    _check(ticket, to_status, reason, unit_id)
    entry = AuditRow(
        ticket_id=ticket.id,
        at=at,
        actor=actor,
        from_status=ticket.status,
        to_status=to_status,
        note=note if not reason else f"{reason}: {note}".strip(),
    )
    if to_status == "dispatched":
        ticket.unit_id = unit_id
    if to_status == "returned":
        ticket.returned_count = (ticket.returned_count or 0) + 1
    if to_status == "reopened":
        ticket.reopened_count = (ticket.reopened_count or 0) + 1
    if to_status == "closed":
        ticket.close_reason = reason
    ticket.status = to_status
    ticket.updated_at = at
    ticket.version += 1
    session.add(entry)
    return entry
