"""Ticket states and the moves between them (pure data, shared by store, API and cockpit)."""

from __future__ import annotations

# new -> dispatched -> accepted -> on_site -> resolved -> verified -> closed, with the side paths.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "new": ("dispatched", "escalated", "closed"),
    "dispatched": ("accepted", "returned", "escalated", "closed"),
    "accepted": ("on_site", "returned", "escalated", "closed"),
    "on_site": ("resolved", "escalated", "closed"),
    "resolved": ("verified", "reopened"),
    "verified": ("closed",),
    "returned": ("dispatched", "escalated", "closed"),  # re-routed to the right unit
    "reopened": ("dispatched", "escalated", "closed"),
    "escalated": ("dispatched", "closed"),
    "closed": (),
}
STATES = tuple(TRANSITIONS)
OPEN_STATES = ("new", "dispatched", "accepted", "on_site", "returned", "reopened", "escalated")
CLOSE_REASONS = ("done", "duplicate", "not_responsible", "no_action_needed")


def allowed_moves(status: str) -> tuple[str, ...]:
    """States a ticket in `status` may move to."""
    return TRANSITIONS[status]
