"""The closed loop off its happy path: verification overdue, later stages escalated, rework with
fresh deadlines, returns with nobody left to take them, KPIs by group and date, GPS filter
reasons and OsmAnd's variants, the field page's refusals and cookies."""

from __future__ import annotations

import datetime as dt

import requests

from dispatch import tokens
from dispatch.publish import utc
from sim.district import to_lon_lat
from streams import keys
from streams.records import UnitPosition, ZoneCheck, decode
from tests.support.api import (
    Client,
    camera_event,
    dispatch_one,
    operator,
    resolve,
    wait_status,
    wait_ticket,
    work_to_resolved,
)


def _stage_warnings(stack, ticket_id: str, stage: str):
    return [w for w in stack.warnings.active() if w.ticket_id == ticket_id and w.stage == stage]


def test_a_fix_nobody_verifies_raises_a_verify_warning_that_clears_once_verified(api_stack):
    ticket, _ = work_to_resolved(api_stack, dispatch_one(api_stack))
    resolved_at = api_stack.desk.get(ticket.id).resolved_at.timestamp()
    due = resolved_at + api_stack.cfg.dispatch.verify_timeout_s
    assert api_stack.warnings.tick(due - 1) == []
    [raised] = api_stack.warnings.tick(due)
    assert (raised.ticket_id, raised.stage, raised.level) == (ticket.id, "verify", "overdue")
    assert (
        operator(api_stack)
        .post(f"/api/v1/tickets/{ticket.id}/verify", json={"ok": True})
        .json()["status"]
        == "closed"
    )
    api_stack.warnings.tick(due + 1)
    assert _stage_warnings(api_stack, ticket.id, "verify") == []


def _escalates_without_moving(stack, ticket, stage: str, status: str) -> None:
    due = getattr(stack.desk.get(ticket.id), f"{stage}_due")
    stack.warnings.tick(due.timestamp())
    [warning] = _stage_warnings(stack, ticket.id, stage)
    assert warning.level == "overdue"
    later = stack.dispatcher.calendar.add_working_minutes(
        due, stack.cfg.dispatch.escalate_after_min
    )
    stack.warnings.tick(later.timestamp() - 1)
    assert _stage_warnings(stack, ticket.id, stage)[0].level == "overdue"
    stack.warnings.tick(later.timestamp())
    [warning] = _stage_warnings(stack, ticket.id, stage)
    assert (warning.level, warning.supervisor_id) == ("escalated", "sup-san")
    after = stack.desk.get(ticket.id)
    assert (after.status, after.unit_id) == (status, ticket.unit_id), "the unit keeps the work"
    alerts = [decode(f) for _, f in stack.bus.client.xrange(stack.bus.key(keys.ALERTS))]
    assert (ticket.id, stage, "escalated") in {(a.ticket_id, a.stage, a.level) for a in alerts}


def test_late_arrival_escalates_the_warning_but_leaves_the_ticket_with_its_unit(api_stack):
    ticket, unit = dispatch_one(api_stack)
    assert unit.post(f"/api/v1/tickets/{ticket.id}/accept").status_code == 200
    _escalates_without_moving(api_stack, ticket, "arrive", "accepted")


def test_late_fix_escalates_the_warning_but_leaves_the_ticket_with_its_unit(api_stack):
    ticket, unit = dispatch_one(api_stack)
    for move in ("accept", "arrive"):
        assert unit.post(f"/api/v1/tickets/{ticket.id}/{move}").status_code == 200
    _escalates_without_moving(api_stack, ticket, "resolve", "on_site")


def test_rework_after_a_failed_recheck_gets_fresh_deadlines_from_the_reopening(api_stack):
    ticket, _ = work_to_resolved(api_stack, dispatch_one(api_stack))
    first = api_stack.desk.get(ticket.id)
    seen_at = api_stack.clock.advance(2 * 3600)  # two hours later, still in working time
    api_stack.verifier.on_zone_check(
        ZoneCheck(camera_id="cam-02", zone_id="bin-1", present=True, observed_at=seen_at)
    )
    again = api_stack.desk.get(ticket.id)
    assert (again.status, again.unit_id, again.reopened_count) == ("dispatched", first.unit_id, 1)
    limits = next(d for d in api_stack.cfg.deadlines if d.category == "bin_overflow")
    add = api_stack.dispatcher.calendar.add_working_minutes
    reopened = utc(seen_at)
    assert again.accept_due == add(reopened, limits.accept_min) > first.accept_due
    assert again.arrive_due == add(reopened, limits.arrive_min)
    assert again.resolve_due == add(reopened, limits.resolve_min)
    assert again.accepted_at is None and again.arrived_at is None and again.resolved_at is None


def _place(stack, *unit_ids: str) -> None:
    for unit in stack.cfg.units:
        if unit.id in unit_ids:
            stack.dispatcher.on_position(
                UnitPosition(
                    unit_id=unit.id, lon=unit.home[0], lat=unit.home[1], fix_time=stack.clock()
                )
            )


def test_returns_go_to_a_unit_not_yet_tried_and_wait_when_none_is_left(api_stack):
    _place(api_stack, "san-01", "san-02")  # only two sanitation crews on duty
    event = camera_event(api_stack)
    api_stack.bus.publish(event)
    ticket = wait_ticket(api_stack, event.event_id)
    first = ticket.unit_id
    assert first in ("san-01", "san-02")
    crew = {u: Client(api_stack.url, tokens.issue(api_stack.store, "unit", u)) for u in (first,)}
    back = crew[first].post(f"/api/v1/tickets/{ticket.id}/return", json={"note": "not ours"})
    second = back.json()["unit_id"]
    assert back.json()["status"] == "dispatched" and second not in (first, None)
    crew[second] = Client(api_stack.url, tokens.issue(api_stack.store, "unit", second))
    again = crew[second].post(f"/api/v1/tickets/{ticket.id}/return", json={"note": "nor ours"})
    assert again.status_code == 200
    assert again.json()["status"] == "returned", "nobody left who has not given it back"
    assert api_stack.desk.get(ticket.id).returned_count == 2
    duty = operator(api_stack)
    redo = duty.post(f"/api/v1/tickets/{ticket.id}/dispatch", json={"unit_id": "san-03"})
    assert redo.status_code == 200 and redo.json()["unit_id"] == "san-03"


def test_kpis_by_stage_group_and_date(api_stack):
    ticket, unit = dispatch_one(api_stack)
    api_stack.clock.advance(4 * 60)
    assert unit.post(f"/api/v1/tickets/{ticket.id}/accept").status_code == 200
    api_stack.clock.advance(60 * 60)  # arrives long after the arrive deadline
    assert unit.post(f"/api/v1/tickets/{ticket.id}/arrive").status_code == 200
    duty = operator(api_stack)
    figures = duty.get("/api/v1/kpis").json()
    assert figures["tickets"] == 1
    assert figures["on_time"]["accept"] == {"counted": 1, "on_time": 1, "rate": 1.0}
    assert figures["on_time"]["arrive"] == {"counted": 1, "on_time": 0, "rate": 0.0}
    assert figures["stage_minutes"]["accept"]["mean_min"] == 4.0
    assert figures["stage_minutes"]["arrive"]["mean_min"] == 60.0
    by_unit = figures["by"]["unit"][ticket.unit_id]
    assert by_unit["arrive"] == {"count": 1, "mean_min": 60.0, "median_min": 60.0}
    assert figures["by"]["category"]["bin_overflow"]["accept"]["count"] == 1
    assert list(figures["by"]["grid"]) == [ticket.grid_id]
    requested = ticket.requested_at
    after = (requested + dt.timedelta(seconds=1)).isoformat()
    before = (requested - dt.timedelta(seconds=1)).isoformat()
    assert duty.get("/api/v1/kpis", params={"since": after}).json()["tickets"] == 0
    assert duty.get("/api/v1/kpis", params={"until": before}).json()["tickets"] == 0
    assert duty.get("/api/v1/kpis", params={"since": before}).json()["tickets"] == 1


def test_gps_filter_drops_out_of_order_invalid_and_overspeed_fixes(api_stack):
    unit = Client(api_stack.url, tokens.issue(api_stack.store, "unit", "san-02"))
    now = dt.datetime.fromtimestamp(api_stack.clock(), dt.UTC)
    lon, lat = to_lon_lat(500, 500)

    def fix(seconds, where=(lon, lat), **extra):
        moment = (now + dt.timedelta(seconds=seconds)).isoformat()
        return {"lon": where[0], "lat": where[1], "time": moment, **extra}

    first = unit.post("/api/v1/positions", json={"fixes": [fix(-10)]}).json()
    assert first["accepted"] == 1
    later = unit.post(
        "/api/v1/positions",
        json={"fixes": [fix(-30), fix(-5, (0.0, 0.0)), fix(-4, speed_mps=80.0), fix(-3)]},
    ).json()
    assert later["accepted"] == 1
    assert {d["index"]: d["reason"] for d in later["dropped"]} == {
        0: "out_of_order",  # older than the last accepted fix (a buffer flushed late)
        1: "invalid_position",  # 0,0: a phone with no fix yet
        2: "impossible_speed",  # the phone itself says 288 km/h
    }


def test_osmand_deviceid_location_pair_and_form_post(api_stack):
    lon, lat = to_lon_lat(900, 300)
    now = int(api_stack.clock())
    key = tokens.issue(api_stack.store, "device", "cmg-03")  # the phone's device identifier
    by_deviceid = {"deviceid": key, "timestamp": now - 9, "location": f"{lat},{lon}"}
    answer = requests.get(api_stack.url + "/", params=by_deviceid, timeout=10)
    assert answer.status_code == 200 and answer.json()["accepted"] == 1, answer.text
    form = {"id": key, "timestamp": str(now - 8), "lat": str(lat), "lon": str(lon)}
    answer = requests.post(api_stack.url + "/osmand", data=form, timeout=10)
    assert answer.status_code == 200 and answer.json()["accepted"] == 1, answer.text
    bad = requests.get(api_stack.url + "/osmand", params={"id": key, "location": "x"})
    assert bad.status_code == 400 and "lat,lon" in bad.json()["error"]
    stranger = requests.get(api_stack.url + "/osmand", params={"id": "phone-9", "lat": lat})
    assert stranger.status_code == 401 and "unknown or revoked device key" in stranger.text
    raw = api_stack.bus.client.xrange(api_stack.bus.key(keys.UNIT_POSITIONS))
    fixes = [decode(fields) for _, fields in raw]
    assert [(f.unit_id, round(f.lat, 6), round(f.lon, 6)) for f in fixes] == [
        ("cmg-03", round(lat, 6), round(lon, 6))
    ] * 2


def test_field_page_refuses_strangers_and_keeps_its_cookie_private(api_stack):
    ticket, _ = dispatch_one(api_stack)
    phone = requests.Session()
    field = api_stack.url + "/field"
    bad = phone.post(f"{field}/login", data={"token": "guess"}, allow_redirects=False)
    assert bad.status_code == 303 and bad.headers["location"] == "/field?bad=1"
    assert "sc_token" not in phone.cookies
    hotline = tokens.issue(api_stack.store, "hotline", "12345")  # a token, but not a unit's
    assert (
        phone.post(f"{field}/login", data={"token": hotline}, allow_redirects=False).headers[
            "location"
        ]
        == "/field?bad=1"
    )
    other = "cmg-01" if ticket.unit_id != "cmg-01" else "cmg-02"
    login = phone.post(
        f"{field}/login",
        data={"token": tokens.issue(api_stack.store, "unit", other)},
        allow_redirects=False,
    )
    cookie = login.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "max-age=" in cookie
    # Another unit's ticket: refused with the reason, nothing changes.
    answer = phone.post(f"{field}/t/{ticket.id}/accept", allow_redirects=False)
    assert "err=" in answer.headers["location"] and "not+assigned" in answer.headers["location"]
    unknown = phone.post(f"{field}/t/{ticket.id}/teleport", allow_redirects=False)
    assert "unknown+action" in unknown.headers["location"]
    no_photo = phone.post(f"{field}/t/{ticket.id}/resolve", allow_redirects=False)
    assert "err=" in no_photo.headers["location"]
    assert api_stack.desk.get(ticket.id).status == "dispatched"
    # Signed out, the page asks for a token again and acts for nobody.
    out = phone.post(f"{field}/logout", allow_redirects=False)
    assert out.status_code == 303 and 'sc_token=""' in out.headers["set-cookie"]
    phone.cookies.clear()
    assert phone.get(f"{field}/state").status_code == 401
    blind = phone.post(f"{field}/t/{ticket.id}/accept", allow_redirects=False)
    assert blind.headers["location"] == "/field?bad=1"


def test_resolving_with_a_photo_then_a_late_problem_report_reopens(api_stack):
    """A person's report of the same problem after the fix (past the settle time) reopens."""
    ticket, unit = dispatch_one(api_stack)
    for move in ("accept", "arrive"):
        unit.post(f"/api/v1/tickets/{ticket.id}/{move}")
    assert resolve(unit, ticket.id).json()["status"] == "resolved"
    api_stack.clock.advance(api_stack.cfg.dispatch.verify_settle_s + 60)
    api_stack.bus.publish(camera_event(api_stack))
    assert wait_status(api_stack, ticket.id, "dispatched").reopened_count == 1
