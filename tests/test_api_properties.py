"""Property-based: random sequences of API calls, by the right and the wrong people, never reach
an illegal state, never answer 500, and never lose an audit entry."""

from __future__ import annotations

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from dispatch import tokens
from dispatch.states import TRANSITIONS
from streams.records import ZoneCheck
from tests.support.api import Client, camera_event, jpeg, place_units

CALLS = st.sampled_from(
    [
        "accept",
        "arrive",
        "resolve",
        "resolve_no_photo",
        "return",
        "dispatch",
        "verify_ok",
        "verify_fail",
        "close_duplicate",
        "close_done",
        "reopen",
        "camera_clear",
        "camera_present",
        "tick",
    ]
)
WHO = st.sampled_from(["assignee", "assignee", "assignee", "other_unit", "operator"])

# What people expect of each call, written from the workflow (not read from the state table):
# the states in which the right caller's move succeeds. "verified" never rests (it closes).
UNIT_MOVES = {
    "accept": {"dispatched"},
    "arrive": {"accepted"},
    "resolve": {"on_site"},
    "return": {"dispatched", "accepted"},
}
OPERATOR_MOVES = {
    # An operator re-assigns work not yet on site too.
    "dispatch": {"new", "dispatched", "accepted", "returned", "reopened", "escalated"},
    "verify_ok": {"resolved"},
    "verify_fail": {"resolved"},
    "close_duplicate": {"new", "dispatched", "accepted", "on_site", "returned", "reopened"}
    | {"escalated"},
}


def _expected(call: str, who: str, before, assignee_is_caller: bool) -> int:
    """The answer a user expects: 200 for a legal move by the right person, 409 for the right
    person in the wrong state, 403 for the wrong person, 400 for a fix without a photo."""
    state = before.status
    if call == "reopen":  # a closed ticket whose problem is back; never a merged duplicate
        if who != "operator":
            return 403
        return 200 if state == "closed" and before.close_reason != "duplicate" else 409
    if call == "resolve_no_photo":
        return 403 if who == "operator" else 400
    if call == "close_done":  # "done" is only for a verified fix: not a reason a person gives
        return 422 if who == "operator" else 403
    if call in UNIT_MOVES:
        if who == "operator" or not assignee_is_caller:
            return 403
        return 200 if state in UNIT_MOVES[call] else 409
    if call in OPERATOR_MOVES:
        if who != "operator":
            return 403
        return 200 if state in OPERATOR_MOVES[call] else 409
    return 200  # cameras and the deadline tick are not HTTP calls


def _call(stack, clients, ticket_id, call, who, assignee):
    client = (
        clients["operator"] if who == "operator" else clients.get(assignee or "", clients["other"])
    )
    if who == "other_unit":
        client = clients["other"]
    path = f"/api/v1/tickets/{ticket_id}"
    if call in ("accept", "arrive"):
        return client.post(f"{path}/{call}").status_code
    if call == "resolve":
        return client.post(
            f"{path}/resolve", files=[("photo", ("f.jpg", jpeg(), "image/jpeg"))]
        ).status_code
    if call == "resolve_no_photo":
        return client.post(f"{path}/resolve", data={"note": "done"}).status_code
    if call == "return":
        return client.post(f"{path}/return", json={"note": "not ours"}).status_code
    if call == "dispatch":
        return client.post(f"{path}/dispatch", json={"unit_id": "san-03"}).status_code
    if call == "reopen":
        return client.post(f"{path}/reopen", json={"note": "reported again"}).status_code
    if call in ("verify_ok", "verify_fail"):
        return client.post(f"{path}/verify", json={"ok": call == "verify_ok"}).status_code
    if call.startswith("close_"):
        return client.post(f"{path}/close", json={"reason": call[6:]}).status_code
    if call.startswith("camera_"):
        stack.clock.advance(90)
        stack.verifier.on_zone_check(
            ZoneCheck(
                camera_id="cam-02",
                zone_id="bin-1",
                present=call == "camera_present",
                observed_at=stack.clock(),
            )
        )
        return 200
    stack.clock.advance(600)
    stack.warnings.tick()
    return 200


def _check_audit(stack, ticket_id):
    ticket = stack.desk.get(ticket_id)
    trail = stack.desk.audit(ticket_id)
    assert trail[0].from_status is None and trail[0].to_status == "new"
    state = "new"
    for entry in trail[1:]:
        assert entry.from_status == state, (
            f"audit chain broken at {entry.id}: {entry.from_status} after {state}"
        )
        if entry.to_status != state:  # merges note the state without moving it
            assert entry.to_status in TRANSITIONS[state], f"illegal {state} -> {entry.to_status}"
        state = entry.to_status
    assert state == ticket.status
    assert ticket.version == 1 + len(trail) - 1


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(st.tuples(CALLS, WHO), min_size=1, max_size=14))
@example(  # the whole loop, closed on a verified fix, then reopened: every move legal
    steps=[
        ("accept", "assignee"),
        ("arrive", "assignee"),
        ("resolve", "assignee"),
        ("verify_ok", "operator"),
        ("reopen", "other_unit"),
        ("reopen", "operator"),
        ("reopen", "operator"),
    ]
)
def test_random_api_sequences_keep_state_and_audit_consistent(api_stack, steps):
    stack = api_stack
    place_units(stack)
    event = camera_event(stack)
    ticket = stack.dispatcher.on_event(event)
    assert ticket.event_id == event.event_id, "a fresh ticket, not merged into an earlier one"
    clients = {
        "operator": Client(stack.url, tokens.issue(stack.store, "operator", "prop")),
        "other": Client(stack.url, tokens.issue(stack.store, "unit", "cmg-06")),
    }
    for unit in stack.cfg.units:
        if unit.type == "sanitation":
            clients[unit.id] = Client(stack.url, tokens.issue(stack.store, "unit", unit.id))
    for call, who in steps:
        before = stack.desk.get(ticket.id)
        status = _call(stack, clients, ticket.id, call, who, before.unit_id)
        caller_is_assignee = who == "assignee" and before.unit_id in clients
        expected = _expected(call, who, before, caller_is_assignee)
        assert status == expected, (call, who, before.status, status)
        _check_audit(stack, ticket.id)
    # Leave nothing open or mergeable: the next example files a ticket of its own.
    current = stack.desk.get(ticket.id)
    if current.status == "resolved":
        stack.desk.verify(ticket.id, True, "test")
    elif current.status != "closed":
        stack.desk.close(ticket.id, "duplicate", "test")
    assert stack.desk.get(ticket.id).status == "closed"
