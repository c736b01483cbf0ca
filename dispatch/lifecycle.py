"""The ticket lifecycle: the one writer of ticket states and of the audit trail.

Every move (dispatcher, field units, operators, camera re-check, escalation, Open311) goes
through `transition`, which checks it against `states.TRANSITIONS`, stamps the stage time and
appends the audit row in the caller's transaction. `record_filed` and `record_note` write the
two audit rows that are not moves: a ticket's creation and a report merged into it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from dispatch.states import (
    CLOSE_REASONS,
    STAMPS,
    STATES,
    CloseReason,
    TicketState,
    allowed_moves,
)
from dispatch.store import AuditRow, TicketRow
from streams.records import without_nul

S = TicketState


# Each stage's deadline column, in the order the stages run.
DUE_COLUMNS = {"accept": "accept_due", "arrive": "arrive_due", "resolve": "resolve_due"}


class TransitionError(ValueError):
    """A move the state machine does not allow; says which ticket, which state, what is allowed."""


def _check(ticket: TicketRow, to_status: str, reason: str | None, unit_id: str | None) -> None:
    to_status = str(to_status)  # a TicketState reads as its plain spelling in messages
    if to_status not in STATES:
        raise TransitionError(
            f"ticket {ticket.id}: unknown state {to_status!r}; states: {', '.join(STATES)}"
        )
    moves = allowed_moves(ticket.status)
    if to_status not in moves:
        allowed = ", ".join(moves) or "none"
        raise TransitionError(
            f"ticket {ticket.id} is {ticket.status!r} and cannot become "
            f"{to_status!r}; allowed: {allowed}"
        )
    if to_status == S.CLOSED and reason not in CLOSE_REASONS:
        raise TransitionError(
            f"ticket {ticket.id}: closing needs a reason, one of {', '.join(CLOSE_REASONS)}"
        )
    if to_status == S.CLOSED and ticket.status != S.VERIFIED and reason == CloseReason.DONE:
        raise TransitionError(
            f"ticket {ticket.id}: a fix must be verified before it is closed "
            "as done; close unverified work as duplicate, not_responsible, "
            "no_action_needed or false_positive"
        )
    if to_status == S.DISPATCHED and not unit_id:
        raise TransitionError(f"ticket {ticket.id}: dispatching needs a unit")


def _audit(session: Session, ticket: TicketRow, actor: str, at, before, after, note) -> AuditRow:
    entry = AuditRow(
        ticket_id=ticket.id,
        at=at,
        actor=actor,
        from_status=before,
        to_status=after,
        note=without_nul(note),  # whatever the way in (a field form, the desk): storable text
    )
    session.add(entry)
    return entry


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
    """Move the ticket within the caller's transaction, stamp the stage time and append the
    audit entry; TransitionError (nothing changed) for a move the table does not allow."""
    _check(ticket, to_status, reason, unit_id)
    to_status = TicketState(to_status)
    text = note if not reason else f"{reason}: {note}".strip()
    entry = _audit(session, ticket, actor, at, ticket.status, to_status.value, text)
    if to_status == S.DISPATCHED:
        ticket.unit_id = unit_id
    elif to_status == S.RETURNED:
        ticket.returned_count = (ticket.returned_count or 0) + 1
    elif to_status == S.REOPENED:
        ticket.reopened_count = (ticket.reopened_count or 0) + 1
        ticket.accepted_at = ticket.arrived_at = ticket.resolved_at = None
        ticket.verified_at = ticket.closed_at = ticket.close_reason = None  # a closed one's too
        ticket.facts_due = True
    elif to_status == S.CLOSED:
        ticket.close_reason = reason
    if to_status in STAMPS:
        setattr(ticket, STAMPS[to_status], at)
        ticket.facts_due = True  # its working minutes per stage change (dispatch/facts.py)
    if to_status in (S.RESOLVED, S.REOPENED):
        ticket.clear_since = None  # the camera's "clear for long enough" starts again
    ticket.status = to_status.value
    ticket.updated_at = at
    ticket.version += 1
    return entry


def record_filed(session: Session, ticket: TicketRow, actor: str, at, note: str) -> AuditRow:
    """The first audit row of a ticket just created in state `new`."""
    ticket.status = S.NEW.value
    return _audit(session, ticket, actor, at, None, S.NEW.value, note)


def record_note(session: Session, ticket: TicketRow, actor: str, at, note: str) -> AuditRow:
    """An audit row that changes no state (a report merged in); the ticket's version moves on."""
    ticket.version += 1
    ticket.updated_at = at
    return _audit(session, ticket, actor, at, ticket.status, ticket.status, note)


def verify_and_close(session: Session, ticket: TicketRow, actor: str, at, note: str) -> None:
    """The fix held (a camera or a person saw it): verified, then closed as done."""
    transition(session, ticket, S.VERIFIED, actor, at, note)
    transition(session, ticket, S.CLOSED, "dispatcher", at, "verified fix", reason=CloseReason.DONE)


def reopen(
    session: Session,
    ticket: TicketRow,
    actor: str,
    at: dt.datetime,
    note: str,
    deadlines: dict[str, dt.datetime | None],
) -> None:
    """The fix failed: reopen with fresh stage deadlines and send it back to the same unit
    (they know the place and the problem)."""
    unit = ticket.unit_id
    transition(session, ticket, S.REOPENED, actor, at, note)
    for column, due in deadlines.items():
        setattr(ticket, column, due)
    if unit:
        transition(
            session, ticket, S.DISPATCHED, "dispatcher", at, "back to the same unit", unit_id=unit
        )


def running_deadline(ticket: TicketRow) -> tuple[str, dt.datetime] | None:
    """The stage whose clock is running and when it is due (None when nothing is)."""
    if ticket.status in (S.RESOLVED, S.VERIFIED, S.CLOSED):
        return None
    for stage, done in (("accept", ticket.accepted_at), ("arrive", ticket.arrived_at)):
        due = getattr(ticket, DUE_COLUMNS[stage])
        if done is None and due is not None:
            return stage, due
    return ("resolve", ticket.resolve_due) if ticket.resolve_due is not None else None


def extend_deadline(
    session: Session, ticket: TicketRow, hours: float, actor: str, at: dt.datetime, reason: str
) -> str:
    """Give the running stage, and the stages after it, `hours` more (an extension, 延期);
    audited with the old and new deadline and the reason. Returns the audit note."""
    running = running_deadline(ticket)
    if running is None:
        raise TransitionError(f"ticket {ticket.id} is {ticket.status}: no deadline is running")
    stage, before = running
    shift = dt.timedelta(hours=hours)
    stages = list(DUE_COLUMNS)
    for later in stages[stages.index(stage) :]:
        due = getattr(ticket, DUE_COLUMNS[later])
        if due is not None:
            setattr(ticket, DUE_COLUMNS[later], due + shift)
    stamp = "%Y-%m-%d %H:%M UTC"
    after = before + shift
    note = f"{stage} deadline {before:{stamp}} -> {after:{stamp}}: {without_nul(reason)[:400]}"
    record_note(session, ticket, actor, at, note)
    return note
