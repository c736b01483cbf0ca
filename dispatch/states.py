"""Ticket states, closing reasons and the moves between them: the one place they are spelt.

Pure data, shared by the lifecycle, the API, the cockpit and the simulators. The enums are
`StrEnum`s, so a state compares equal to its database and JSON spelling.
"""

from __future__ import annotations

from enum import StrEnum


class TicketState(StrEnum):
    """Where a ticket is in the closed loop."""

    NEW = "new"
    DISPATCHED = "dispatched"
    ACCEPTED = "accepted"
    ON_SITE = "on_site"
    RESOLVED = "resolved"
    VERIFIED = "verified"
    CLOSED = "closed"
    RETURNED = "returned"  # a unit said "not ours"; re-routed
    REOPENED = "reopened"  # the fix did not hold
    ESCALATED = "escalated"  # overdue before acceptance: the supervisor's now


class CloseReason(StrEnum):
    """Why a ticket was closed (FixMyStreet's closing sub-states)."""

    DONE = "done"
    DUPLICATE = "duplicate"
    NOT_RESPONSIBLE = "not_responsible"
    NO_ACTION_NEEDED = "no_action_needed"
    FALSE_POSITIVE = "false_positive"  # a camera finding a person rejected (counted per camera)


S = TicketState
# new -> dispatched -> accepted -> on_site -> resolved -> verified -> closed, with the side paths.
TRANSITIONS: dict[TicketState, tuple[TicketState, ...]] = {
    S.NEW: (S.DISPATCHED, S.ESCALATED, S.CLOSED),
    # An operator may re-assign a ticket that is dispatched or accepted but not yet on site.
    S.DISPATCHED: (S.ACCEPTED, S.DISPATCHED, S.RETURNED, S.ESCALATED, S.CLOSED),
    S.ACCEPTED: (S.ON_SITE, S.DISPATCHED, S.RETURNED, S.ESCALATED, S.CLOSED),
    S.ON_SITE: (S.RESOLVED, S.ESCALATED, S.CLOSED),
    S.RESOLVED: (S.VERIFIED, S.REOPENED),
    S.VERIFIED: (S.CLOSED,),
    S.RETURNED: (S.DISPATCHED, S.ESCALATED, S.CLOSED),  # re-routed to the right unit
    S.REOPENED: (S.DISPATCHED, S.ESCALATED, S.CLOSED),
    S.ESCALATED: (S.DISPATCHED, S.CLOSED),
    S.CLOSED: (S.REOPENED,),  # the problem is back (an operator reopens it, with a reason)
}
STATES = tuple(TicketState)
CLOSE_REASONS = tuple(CloseReason)
OPEN_STATES = (S.NEW, S.DISPATCHED, S.ACCEPTED, S.ON_SITE, S.RETURNED, S.REOPENED, S.ESCALATED)
# A new report of the same problem joins these (a resolved ticket is not yet verified).
MERGEABLE = (*OPEN_STATES, S.RESOLVED)
# What a field unit still has to do something about (or is waiting on the re-check of).
UNIT_SHOWN = (S.DISPATCHED, S.ACCEPTED, S.ON_SITE, S.REOPENED, S.RESOLVED)
# A field unit's stages on a ticket, least to most engaged (the map's time-in-status counts
# on the most engaged of its tickets).
UNIT_BUSY = (S.DISPATCHED, S.ACCEPTED, S.ON_SITE)
# Where each stage's clock stops: the ticket reached one of these states.
STAGE_DONE = {
    "accept": (S.ACCEPTED, S.ON_SITE, S.RESOLVED, S.VERIFIED, S.CLOSED),
    "arrive": (S.ON_SITE, S.RESOLVED, S.VERIFIED, S.CLOSED),
    "resolve": (S.RESOLVED, S.VERIFIED, S.CLOSED),
}
# Before acceptance an overdue ticket goes to the supervisor to re-dispatch; later stages
# stay with the unit working on them and the warning goes up instead.
ESCALATE_FROM = (S.NEW, S.DISPATCHED, S.RETURNED, S.REOPENED)
# The ticket column that records when each state was (last) reached.
STAMPS = {
    S.DISPATCHED: "dispatched_at",
    S.ACCEPTED: "accepted_at",
    S.ON_SITE: "arrived_at",
    S.RESOLVED: "resolved_at",
    S.VERIFIED: "verified_at",
    S.CLOSED: "closed_at",
}
# GeoReport v2 knows two statuses; a verified fix is closed for the citizen.
OPEN311_STATUSES = ("open", "closed")
OPEN311_CLOSED = (S.VERIFIED, S.CLOSED)


def allowed_moves(status: str) -> tuple[TicketState, ...]:
    """States a ticket in `status` may move to."""
    return TRANSITIONS[TicketState(status)]


def open311_status(status: str) -> str:
    """The GeoReport v2 status ("open" or "closed") of a ticket state."""
    return OPEN311_STATUSES[status in OPEN311_CLOSED]


def open311_states(wanted: set[str]) -> set[TicketState]:
    """Ticket states behind GeoReport v2 statuses ("open", "closed")."""
    states: set[TicketState] = set()
    if OPEN311_STATUSES[0] in wanted:
        states |= set(MERGEABLE)
    if OPEN311_STATUSES[1] in wanted:
        states |= set(OPEN311_CLOSED)
    return states
