"""What the cockpit's ticket desk relies on: the paged, sorted, filtered ticket table computed in
the database, and the operators' moves (confirm, re-assign, priority, escalate, reject)."""

from __future__ import annotations

import datetime as dt

import pytest

from cockpit import desk_view
from dispatch import kpi
from dispatch.desk_query import TicketFilter, ticket_page
from dispatch.errors import DeskError
from sim.district import to_lon_lat
from streams import keys
from streams.records import Event, UnitAck, decode
from tests.support.api import camera_event, place_units, wait_ticket


def _report(stack, category: str, east_m: float, **extra) -> Event:
    """A hotline report `east_m` metres from the district's west edge, 600 m up from its south."""
    lon, lat = to_lon_lat(200 + east_m, 600)
    return Event(
        category=category,
        source="hotline",
        lon=lon,
        lat=lat,
        detected_at=stack.clock(),
        **extra,
    )


def _filed(stack, category: str, east_m: float):
    """The ticket the dispatcher files for a hotline report `east_m` metres along."""
    report = _report(stack, category, east_m)
    stack.bus.publish(report)
    return wait_ticket(stack, report.event_id)


def test_the_table_is_paged_sorted_and_filtered_in_the_database(api_stack):
    place_units(api_stack)
    events = []
    for i in range(8):  # a minute apart, 300 m apart (not merged)
        if i < 7:
            extra = {"address": f"南环路 {i} 号", "description": "满溢"}
            event = _report(api_stack, "bin_overflow", 300 * i, **extra)
        else:
            event = _report(api_stack, "dirty_road", 50, address="北街菜场")
        api_stack.bus.publish(event)
        events.append(event)
        api_stack.clock.advance(60)
    tickets = [wait_ticket(api_stack, e.event_id) for e in events]
    now = dt.datetime.fromtimestamp(api_stack.clock(), dt.UTC)
    store = api_stack.store

    first, total = ticket_page(store, TicketFilter(), now, limit=3)
    second, _ = ticket_page(store, TicketFilter(), now, offset=3, limit=3)
    assert total == 8 and len(first) == 3 and len(second) == 3
    newest_first = [t.id for t in sorted(tickets, key=lambda t: t.requested_at, reverse=True)]
    assert [t.id for t in first + second] == newest_first[:6]
    oldest, _ = ticket_page(store, TicketFilter(), now, descending=False, limit=1)
    assert oldest[0].id == tickets[0].id

    roads, count = ticket_page(store, TicketFilter(category="dirty_road"), now)
    assert count == 1 and roads[0].id == tickets[-1].id
    by_address, count = ticket_page(store, TicketFilter(search="北街"), now)
    assert count == 1 and by_address[0].id == tickets[-1].id
    by_id, count = ticket_page(store, TicketFilter(search=tickets[2].id[:8]), now)
    assert count == 1 and by_id[0].id == tickets[2].id
    assert ticket_page(store, TicketFilter(search="%_"), now)[1] == 0  # wildcards are text
    sources = ticket_page(store, TicketFilter(source="camera"), now)[1]
    assert sources == 0
    unit = tickets[0].unit_id
    mine = ticket_page(store, TicketFilter(unit=unit), now)[0]
    assert mine and {t.unit_id for t in mine} == {unit}

    # Nothing is overdue now; hours later every open one is.
    assert ticket_page(store, TicketFilter(overdue=True), now)[1] == 0
    later = now + dt.timedelta(days=3)
    assert ticket_page(store, TicketFilter(overdue=True), later)[1] == 8
    window = TicketFilter(since=tickets[3].requested_at, until=tickets[5].requested_at)
    assert {t.id for t in ticket_page(store, window, now)[0]} == {tickets[3].id, tickets[4].id}
    with pytest.raises(ValueError, match="cannot sort by"):
        ticket_page(store, TicketFilter(), now, sort="password_hash")


def test_operators_confirm_reassign_reprioritise_escalate_and_reject(api_stack):
    place_units(api_stack)
    desk = api_stack.desk
    waiting = _report(api_stack, "facility_damage", 100)  # auto-dispatch is off for it
    api_stack.bus.publish(waiting)
    ticket = wait_ticket(api_stack, waiting.event_id)
    assert ticket.status == "new" and ticket.unit_id is None

    confirmed = desk.confirm(ticket.id, "operator:wang")  # routed as the dispatcher would
    assert confirmed.status == "dispatched" and confirmed.unit_id
    other = next(u.id for u in api_stack.cfg.units if u.id != confirmed.unit_id)
    moved = desk.dispatch(ticket.id, other, "operator:wang", "re-assigned at the desk")
    assert (moved.status, moved.unit_id) == ("dispatched", other)
    desk.accept(ticket.id, other)
    assert desk.dispatch(ticket.id, confirmed.unit_id, "operator:wang").status == "dispatched"

    with pytest.raises(DeskError, match="needs a reason"):
        desk.set_priority(ticket.id, 1, "operator:wang", " ")
    assert desk.set_priority(ticket.id, 1, "operator:wang", "school gate").priority == 1
    escalated = desk.escalate(ticket.id, "operator:wang", "crew cannot reach it")
    assert escalated.status == "escalated"
    notes = [(a.actor, a.to_status, a.note) for a in desk.audit(ticket.id)]
    assert ("operator:wang", "dispatched", "priority 2 -> 1: school gate") in notes
    assert notes[-1] == ("operator:wang", "escalated", "crew cannot reach it")
    with pytest.raises(DeskError, match="not awaiting confirmation"):
        desk.confirm(ticket.id, "operator:wang")

    finding = camera_event(api_stack, "cam-02", "bin-1")
    api_stack.bus.publish(finding)
    camera_ticket = wait_ticket(api_stack, finding.event_id)
    rejected = desk.close(camera_ticket.id, "false_positive", "operator:wang", "a parked van")
    assert (rejected.status, rejected.close_reason) == ("closed", "false_positive")


def test_an_extension_moves_the_running_and_later_deadlines_and_clears_the_warning(api_stack):
    place_units(api_stack)
    desk, warnings = api_stack.desk, api_stack.warnings
    ticket = _filed(api_stack, "bin_overflow", 400)
    assert ticket.status == "dispatched"
    before = (ticket.accept_due, ticket.arrive_due, ticket.resolve_due)
    late = ticket.accept_due.timestamp() + 60
    assert [w.stage for w in warnings.tick(late)] == ["accept"]

    for hours, reason in ((2, " "), (0, "crew busy"), (73, "crew busy")):
        with pytest.raises(DeskError, match="1 to 72 hours, with a reason"):
            desk.extend(ticket.id, hours, "operator:wang", reason)
    with pytest.raises(DeskError, match="1 to 72 hours"):  # a forged choice from the page
        desk_view.act(desk, ticket.id, "extend", "operator:wang", {"hours": "9e9", "note": "x"})
    extended = desk_view.act(
        desk, ticket.id, "extend", "operator:wang", {"hours": "2", "note": "crew at a fire call"}
    )
    shift = dt.timedelta(hours=2)
    assert (extended.accept_due, extended.arrive_due, extended.resolve_due) == tuple(
        due + shift for due in before
    )
    note = desk.audit(ticket.id)[-1].note
    assert note.startswith("accept deadline ") and note.endswith(": crew at a fire call")
    # The overdue warning clears; it is raised again only once the new deadline passes.
    assert warnings.tick(late + 60) == [] and warnings.active() == []
    again = warnings.tick(extended.accept_due.timestamp() + 60)
    assert [(w.stage, w.due_at) for w in again] == [("accept", extended.accept_due)]

    # Once accepted, an extension moves the arrive and resolve deadlines only.
    desk.accept(ticket.id, extended.unit_id)
    later = desk.extend(ticket.id, 24, "operator:wang", "road closed for a parade")
    assert later.accept_due == extended.accept_due
    assert later.arrive_due == extended.arrive_due + dt.timedelta(hours=24)
    desk.close(ticket.id, "no_action_needed", "operator:wang", "gone")
    with pytest.raises(DeskError, match="no deadline is running"):
        desk.extend(ticket.id, 1, "operator:wang", "too late")


def test_an_operator_acknowledges_a_unit_long_on_site(api_stack):
    place_units(api_stack)
    desk = api_stack.desk
    ticket = _filed(api_stack, "bin_overflow", 700)
    unit = ticket.unit_id
    desk.accept(ticket.id, unit)
    desk.arrive(ticket.id, unit)
    api_stack.clock.advance(70 * 60)
    with pytest.raises(DeskError, match="no unit 'nobody'"):
        desk.acknowledge_unit("nobody", "operator:wang")
    idle = next(u.id for u in api_stack.cfg.units if u.id != unit and u.type != "supervisor")
    with pytest.raises(DeskError, match="has no ticket in hand"):
        desk.acknowledge_unit(idle, "operator:wang")

    seen = desk.acknowledge_unit(unit, "operator:wang")
    assert seen.id == ticket.id
    assert desk.audit(ticket.id)[-1].note == f"seen: {unit} on_site for 70 min"
    acks = [decode(f) for _, f in api_stack.bus.client.xrange(api_stack.bus.key(keys.ALERTS))]
    ack = next(a for a in acks if isinstance(a, UnitAck))
    assert (ack.unit_id, ack.ticket_id, ack.actor) == (unit, ticket.id, "operator:wang")
    assert ack.status_since == seen.arrived_at.timestamp()  # the stage it was seen on
    changes = [
        decode(f) for _, f in api_stack.bus.client.xrange(api_stack.bus.key(keys.TICKET_CHANGES))
    ]
    assert changes[-1].status_since == ack.status_since  # the note did not restart its clock


def test_unconfirmed_findings_wait_then_dispatch_and_rejections_are_counted(api_stack):
    """Damaged facilities wait for an operator for 15 min (the demo's setting), then go out as
    the routing would; a rejected camera finding counts against its camera and category."""
    place_units(api_stack)
    desk = api_stack.desk
    waiting = _report(api_stack, "facility_damage", 700)
    api_stack.bus.publish(waiting)
    ticket = wait_ticket(api_stack, waiting.event_id)
    assert ticket.status == "new"
    assert desk.dispatch_unconfirmed(api_stack.clock.advance(14 * 60)) == []
    api_stack.clock.advance(2 * 60)
    place_units(api_stack)  # crews' phones keep reporting where they are
    [moved] = desk.dispatch_unconfirmed()
    assert moved.id == ticket.id and moved.status == "dispatched" and moved.unit_id
    assert "not confirmed within 15 min" in desk.audit(ticket.id)[-1].note
    assert desk.dispatch_unconfirmed(api_stack.clock.advance(60)) == []  # once only

    first, second = (
        camera_event(api_stack, "cam-02", "bin-1"),
        camera_event(api_stack, "cam-03", "road-1"),
    )
    for event in (first, second):
        api_stack.bus.publish(event)
    rejected = wait_ticket(api_stack, first.event_id)
    wait_ticket(api_stack, second.event_id)
    desk.close(rejected.id, "false_positive", "operator:wang", "a shadow")
    figures = kpi.compute(api_stack.store)["false_findings"]
    cam02 = next(f for f in figures if f["camera_id"] == "cam-02")
    assert (cam02["findings"], cam02["rejected"], cam02["rate"]) == (1, 1, 1.0)
    assert all(f["rejected"] == 0 for f in figures if f["camera_id"] != "cam-02")


def test_two_tickets_of_one_problem_are_merged_with_their_reports_and_evidence(api_stack):
    """Two reports 300 m apart turn out to be one overflowing bin: the operator merges them; the
    duplicate closes as a duplicate and everything it had (reports, links, reporters) follows."""
    place_units(api_stack)
    desk = api_stack.desk
    first = _report(api_stack, "bin_overflow", 0, media_url="https://example.org/a.jpg")
    second = _report(api_stack, "bin_overflow", 300, media_url="https://example.org/b.jpg")
    for event in (first, second):
        api_stack.bus.publish(event)
    kept, duplicate = (
        wait_ticket(api_stack, first.event_id),
        wait_ticket(api_stack, second.event_id),
    )
    assert kept.id != duplicate.id
    with pytest.raises(DeskError, match="into itself"):
        desk.merge(kept.id, kept.id, "operator:wang")
    merged = desk.merge(duplicate.id, kept.id, "operator:wang", "same bin, seen from the corner")
    assert merged.merged_events == 2
    gone = desk.get(duplicate.id)
    assert (gone.status, gone.close_reason) == ("closed", "duplicate")
    links = {m.path for m in desk.media([kept.id])[kept.id]}
    assert links == {"https://example.org/a.jpg", "https://example.org/b.jpg"}
    assert wait_ticket(api_stack, second.event_id).id == kept.id  # its token now finds the kept
    notes = [a.note for a in desk.audit(kept.id)]
    assert f"merged ticket {duplicate.id} (2 reports); same bin, seen from the corner" in notes
    with pytest.raises(DeskError, match="closed"):
        desk.merge(kept.id, duplicate.id, "operator:wang")


def test_a_closed_ticket_whose_problem_is_back_is_reopened_with_fresh_deadlines(api_stack):
    """A citizen calls again about a bin closed yesterday: the operator reopens the ticket with
    a reason; it goes back to the unit that had it with fresh deadlines, and the closing is
    undone (no closed time or reason left to count). Duplicates and old tickets are refused."""
    place_units(api_stack)
    desk = api_stack.desk
    ticket = _filed(api_stack, "bin_overflow", 700)
    unit = ticket.unit_id
    with pytest.raises(DeskError, match="only a closed ticket is reopened"):
        desk.reopen(ticket.id, "operator:wang", "still there")
    desk.close(ticket.id, "no_action_needed", "operator:wang", "bin was emptied")
    api_stack.clock.advance(86_400)  # a day later
    with pytest.raises(DeskError, match="say why"):
        desk_view.act(desk, ticket.id, "reopen", "operator:wang", {"note": " "})
    assert "reopen" in {o["value"] for o in desk_view.action_options("closed", "en")}
    back = desk_view.act(
        desk, ticket.id, "reopen", "operator:wang", {"note": "resident called: overflowing again"}
    )
    assert (back.status, back.unit_id, back.reopened_count) == ("dispatched", unit, 1)
    assert back.closed_at is None and back.close_reason is None
    now = dt.datetime.fromtimestamp(api_stack.clock(), dt.UTC)
    assert back.accept_due > now and back.resolve_due > now  # counted from today, not the filing
    audit = [(a.actor, a.from_status, a.to_status, a.note) for a in desk.audit(ticket.id)]
    assert ("operator:wang", "closed", "reopened",
            "reopened: resident called: overflowing again") in audit  # fmt: skip
    assert audit[-1][1:3] == ("reopened", "dispatched")
    stream = api_stack.bus.key(keys.TICKET_CHANGES)
    changes = [decode(f) for _, f in api_stack.bus.client.xrange(stream)]
    assert [(c.ticket_id, c.status) for c in changes][-1] == (ticket.id, "dispatched")
    open_now = ticket_page(api_stack.store, TicketFilter(states=("dispatched",)), now)[0]
    assert ticket.id in {t.id for t in open_now}

    # A finding rejected before anyone had it goes to the nearest unit when reopened.
    place_units(api_stack)  # the units' positions of today
    waiting = _report(api_stack, "facility_damage", 1000)  # waits for an operator
    api_stack.bus.publish(waiting)
    rejected = desk.close(wait_ticket(api_stack, waiting.event_id).id, "false_positive",
                          "operator:wang", "looked fine")  # fmt: skip
    assert rejected.unit_id is None
    sent = desk.reopen(rejected.id, "operator:li", "the railing is broken after all")
    assert sent.status == "dispatched" and sent.unit_id and sent.close_reason is None

    # A merged duplicate is reopened through the ticket it joined; an old closing is a new case.
    first, second = _report(api_stack, "dirty_road", 0), _report(api_stack, "dirty_road", 400)
    for event in (first, second):
        api_stack.bus.publish(event)
    kept, duplicate = (wait_ticket(api_stack, e.event_id) for e in (first, second))
    desk.merge(duplicate.id, kept.id, "operator:wang", "one spill")
    with pytest.raises(DeskError, match="merged into another as a duplicate"):
        desk.reopen(duplicate.id, "operator:wang", "back")
    desk.close(kept.id, "no_action_needed", "operator:wang", "swept by a passer-by")
    api_stack.clock.advance(31 * 86_400)
    with pytest.raises(DeskError, match="more than 30 days ago"):
        desk.reopen(kept.id, "operator:wang", "back")
    assert desk.get(kept.id).status == "closed"
