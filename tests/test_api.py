"""The API over HTTP: field units close the loop, operators verify and handle warnings, GPS
ingest (JSON and OsmAnd) filters bad fixes, and every refusal is a clear 4xx."""

from __future__ import annotations

import datetime as dt
import socket

import pytest
import requests

from dispatch import tokens
from dispatch.store import MediaRow
from sim.district import to_lon_lat
from streams import keys
from streams.rechecks import PendingRecheck, Rechecks
from streams.records import Event, UnitPosition, ZoneCheck, decode
from tests.support.api import (
    Client,
    camera_event,
    counts,
    dispatch_one,
    jpeg,
    operator,
    place_units,
    resolve,
    wait_handled,
    wait_status,
    wait_ticket,
    work_to_resolved,
)
from tests.support.waiting import wait_until
from tests.support.wall import Wall


@pytest.fixture
def dispatched(api_stack):
    """A camera ticket dispatched to its nearest unit, and that unit's client."""
    return dispatch_one(api_stack)


# ----- the closed loop -----------------------------------------------------------------------


def test_unit_sees_accepts_arrives_and_resolves_with_a_photo(api_stack, dispatched):
    ticket, unit = dispatched
    mine = unit.get("/api/v1/my/tickets").json()
    assert [t["id"] for t in mine] == [ticket.id]
    assert mine[0]["map_url"].startswith("geo:") and "accepted" in mine[0]["allowed"]
    work_to_resolved(api_stack, dispatched)
    detail = unit.get(f"/api/v1/tickets/{ticket.id}").json()
    photo = next(m for m in detail["media"] if m["kind"] == "photo")
    fetched = unit.get(photo["url"])
    assert fetched.status_code == 200 and fetched.content.startswith(b"\xff\xd8\xff")
    # A photo is the crew's and the centre's, not the public's.
    assert requests.get(api_stack.url + photo["url"], timeout=10).status_code == 401
    trail = [(a["from_status"], a["to_status"], a["actor"]) for a in detail["audit"]]
    assert trail == [
        (None, "new", "dispatcher"),
        ("new", "dispatched", "dispatcher"),
        ("dispatched", "accepted", f"unit:{ticket.unit_id}"),
        ("accepted", "on_site", f"unit:{ticket.unit_id}"),
        ("on_site", "resolved", f"unit:{ticket.unit_id}"),
    ]
    # The vision workers learn which zone to re-check from Redis.
    pending = Rechecks(api_stack.bus).pending()
    assert pending == [PendingRecheck("cam-02", "bin-1", ticket.id)]


def test_camera_sees_the_zone_clear_long_enough_and_the_ticket_closes(api_stack, dispatched):
    ticket, _ = work_to_resolved(api_stack, dispatched)
    start = api_stack.clock() + api_stack.cfg.dispatch.verify_settle_s
    clear_s = api_stack.cfg.dispatch.verify_clear_s
    api_stack.bus.publish(
        ZoneCheck(camera_id="cam-02", zone_id="bin-1", present=False, observed_at=start)
    )
    halfway = api_stack.bus.publish(
        ZoneCheck(
            camera_id="cam-02", zone_id="bin-1", present=False, observed_at=start + clear_s / 2
        )
    )
    wait_handled(api_stack, keys.ZONE_CHECKS, halfway)
    assert api_stack.desk.get(ticket.id).status == "resolved"  # not clear long enough yet
    api_stack.bus.publish(
        ZoneCheck(camera_id="cam-02", zone_id="bin-1", present=False, observed_at=start + clear_s)
    )
    closed = wait_status(api_stack, ticket.id, "closed")
    assert closed.close_reason == "done" and closed.verified_at is not None
    trail = [(a.to_status, a.actor) for a in api_stack.desk.audit(ticket.id)][-2:]
    assert trail == [("verified", "camera:cam-02"), ("closed", "dispatcher")]
    # The dispatcher takes the zone off the cameras' re-check list just after the commit.
    wait_until(lambda: Rechecks(api_stack.bus).pending() == [], 5, "the re-check list emptied")


def test_problem_still_there_reopens_and_goes_back_to_the_same_unit(api_stack, dispatched):
    ticket, unit = work_to_resolved(api_stack, dispatched)
    seen = api_stack.clock() + api_stack.cfg.dispatch.verify_settle_s + 5
    api_stack.bus.publish(
        ZoneCheck(camera_id="cam-02", zone_id="bin-1", present=True, observed_at=seen)
    )
    again = wait_status(api_stack, ticket.id, "dispatched")
    assert again.unit_id == ticket.unit_id and again.reopened_count == 1
    notes = [a.note for a in api_stack.desk.audit(ticket.id) if a.to_status == "reopened"]
    assert notes and "still sees the problem" in notes[0]
    [back] = unit.get("/api/v1/my/tickets").json()
    assert back["id"] == ticket.id and back["reopened"] == 1


def test_a_fresh_camera_event_after_the_fix_reopens_instead_of_a_new_ticket(api_stack, dispatched):
    ticket, _ = work_to_resolved(api_stack, dispatched)
    api_stack.clock.advance(120)
    event = camera_event(api_stack)
    api_stack.bus.publish(event)
    assert wait_ticket(api_stack, event.event_id).id == ticket.id
    assert wait_status(api_stack, ticket.id, "dispatched").reopened_count == 1


def test_observation_made_right_after_resolving_is_ignored(api_stack, dispatched):
    ticket, _ = work_to_resolved(api_stack, dispatched)
    api_stack.verifier.on_zone_check(
        ZoneCheck(camera_id="cam-02", zone_id="bin-1", present=True, observed_at=api_stack.clock())
    )
    assert api_stack.desk.get(ticket.id).status == "resolved"


def test_operator_verifies_a_ticket_without_camera(api_stack):
    place_units(api_stack)
    lon, lat = to_lon_lat(900, 500)
    event = Event(
        category="dirty_road", source="hotline", lon=lon, lat=lat, detected_at=api_stack.clock()
    )
    api_stack.bus.publish(event)
    ticket = wait_ticket(api_stack, event.event_id)
    unit = Client(api_stack.url, tokens.issue(api_stack.store, "unit", ticket.unit_id))
    work_to_resolved(api_stack, (ticket, unit))
    duty = operator(api_stack)
    answer = duty.post(
        f"/api/v1/tickets/{ticket.id}/verify", json={"ok": False, "note": "still dirty"}
    )
    assert answer.status_code == 200 and answer.json()["status"] == "dispatched"
    work_to_resolved(api_stack, (ticket, unit))
    answer = duty.post(f"/api/v1/tickets/{ticket.id}/verify", json={"ok": True})
    assert answer.json()["status"] == "closed"
    kpis = duty.get("/api/v1/kpis").json()
    assert kpis["reopen"] == {"resolved": 1, "reopened": 1, "rate": 1.0}
    assert kpis["precise_dispatch"]["rate"] == 1.0


def test_an_operator_reopens_a_closed_ticket_whose_problem_is_back(api_stack, dispatched):
    """A 12345 caller reports the bin again a day after it was closed: reopened over the API
    with fresh deadlines, back to the unit that had it; refusals say why."""
    ticket, unit = dispatched
    duty = operator(api_stack)
    path = f"/api/v1/tickets/{ticket.id}/reopen"
    open_now = duty.post(path, json={"note": "still there"})
    assert open_now.status_code == 409 and "only a closed ticket" in open_now.json()["error"]
    closed = duty.post(f"/api/v1/tickets/{ticket.id}/close", json={"reason": "no_action_needed"})
    assert closed.json()["status"] == "closed"
    api_stack.clock.advance(86_400)
    no_note = duty.post(path, json={})
    assert no_note.status_code == 422 and "note" in no_note.text
    blank = duty.post(path, json={"note": "   "})
    assert blank.status_code == 422 and "say why" in blank.json()["error"]
    assert unit.post(path, json={"note": "mine"}).status_code == 403
    answer = duty.post(path, json={"note": "caller: overflowing again"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["status"], body["unit_id"], body["reopened"]) == ("dispatched", ticket.unit_id, 1)
    now = dt.datetime.fromtimestamp(api_stack.clock(), dt.UTC)
    assert dt.datetime.fromisoformat(body["resolve_due"]) > now
    assert [t["id"] for t in unit.get("/api/v1/my/tickets").json()] == [ticket.id]
    again = duty.post(path, json={"note": "twice"})
    assert again.status_code == 409  # it is open again


def test_unit_gives_back_a_wrong_ticket_and_it_is_rerouted(api_stack, dispatched):
    ticket, unit = dispatched
    answer = unit.post(f"/api/v1/tickets/{ticket.id}/return", json={"note": "not our street"})
    body = answer.json()
    assert answer.status_code == 200 and body["status"] == "dispatched"
    assert body["unit_id"] not in (None, ticket.unit_id)
    assert unit.get("/api/v1/my/tickets").json() == []
    kpis = operator(api_stack).get("/api/v1/kpis").json()
    assert kpis["precise_dispatch"] == {"dispatched": 1, "precise": 0, "rate": 0.0}


def test_refusals_say_what_is_wrong(api_stack, dispatched):
    ticket, unit = dispatched
    other_unit = next(u.id for u in api_stack.cfg.units if u.id != ticket.unit_id)
    other = Client(api_stack.url, tokens.issue(api_stack.store, "unit", other_unit))
    refused = other.post(f"/api/v1/tickets/{ticket.id}/accept")
    assert refused.status_code == 403 and "not assigned" in refused.json()["error"]
    early = unit.post(f"/api/v1/tickets/{ticket.id}/arrive")
    assert early.status_code == 409
    assert "'dispatched'" in early.json()["error"] and "accepted" in early.json()["error"]
    no_photo = unit.post(f"/api/v1/tickets/{ticket.id}/accept")
    assert no_photo.status_code == 200
    assert unit.post(f"/api/v1/tickets/{ticket.id}/arrive").status_code == 200
    before = counts(api_stack)
    missing = unit.post(f"/api/v1/tickets/{ticket.id}/resolve", data={"note": "done"})
    assert missing.status_code == 400 and "photo" in missing.json()["error"]
    not_image = resolve(unit, ticket.id, photos=[b"%PDF-1.4 not a photo"])
    assert not_image.status_code == 415 and "JPEG or PNG" in not_image.json()["error"]
    assert counts(api_stack) == before
    assert api_stack.desk.get(ticket.id).status == "on_site"
    media_dir = api_stack.cfg.services.data_dir / "media"
    assert not media_dir.exists() or not any(media_dir.rglob("*.*"))


# ----- warnings ------------------------------------------------------------------------------


def test_overdue_warning_escalates_on_time_and_can_be_acknowledged_and_muted(api_stack, dispatched):
    ticket, _ = dispatched
    duty = operator(api_stack)
    assert duty.get("/api/v1/warnings").json() == []
    due = ticket.accept_due.timestamp()
    api_stack.warnings.tick(due - 1)
    assert duty.get("/api/v1/warnings").json() == []
    api_stack.warnings.tick(due)
    [warning] = duty.get("/api/v1/warnings").json()
    assert (warning["stage"], warning["level"]) == ("accept", "overdue")
    escalate_at = due + api_stack.cfg.dispatch.escalate_after_min * 60  # inside working hours
    api_stack.warnings.tick(escalate_at - 1)

    def accept_warnings(query=""):
        listed = duty.get(f"/api/v1/warnings{query}").json()
        return [w for w in listed if w["stage"] == "accept"]

    assert accept_warnings()[0]["level"] == "overdue"
    api_stack.warnings.tick(escalate_at)
    [warning] = accept_warnings()
    assert warning["level"] == "escalated" and warning["supervisor_id"] == "sup-san"
    escalated = api_stack.desk.get(ticket.id)
    assert escalated.status == "escalated" and escalated.unit_id == "sup-san"
    # The supervisor sees it and re-dispatches with the supervisor's own unit token.
    boss = Client(api_stack.url, tokens.issue(api_stack.store, "unit", "sup-san"))
    assert boss.get(f"/api/v1/tickets/{ticket.id}").status_code == 200
    redo = boss.post(f"/api/v1/tickets/{ticket.id}/dispatch", json={"unit_id": ticket.unit_id})
    assert redo.status_code == 200 and redo.json()["status"] == "dispatched"
    acked = duty.post(f"/api/v1/warnings/{warning['id']}/acknowledge").json()
    assert acked["acknowledged_by"] == "operator:duty-1"
    muted = duty.post(f"/api/v1/warnings/{warning['id']}/mute", json={"minutes": 10})
    assert muted.status_code == 200, muted.text
    assert accept_warnings() == []
    assert len(accept_warnings("?muted=true")) == 1
    api_stack.clock.advance(11 * 60)
    assert len(accept_warnings()) == 1  # back after the mute
    # Accepting clears it for good.
    unit = Client(api_stack.url, tokens.issue(api_stack.store, "unit", ticket.unit_id))
    assert unit.post(f"/api/v1/tickets/{ticket.id}/accept").status_code == 200
    api_stack.warnings.tick(api_stack.clock())
    assert accept_warnings() == []
    assert [w["stage"] for w in duty.get("/api/v1/warnings").json()] == ["arrive"]


def test_warnings_go_on_the_bus_for_the_cockpit(api_stack, dispatched):
    ticket, _ = dispatched
    api_stack.warnings.tick(ticket.accept_due.timestamp())
    raw = api_stack.bus.client.xrange(api_stack.bus.key(keys.ALERTS))
    alerts = [decode(fields) for _, fields in raw]
    assert [(a.ticket_id, a.stage, a.level) for a in alerts] == [(ticket.id, "accept", "overdue")]


def test_a_restarted_cockpit_rebuilds_the_warnings_from_the_store(api_stack, dispatched):
    """The alerts stream is trimmed: the store's open warnings are what the wall starts from."""
    ticket, _ = dispatched
    due = ticket.accept_due.timestamp()
    api_stack.warnings.tick(due)
    api_stack.warnings.tick(due + api_stack.cfg.dispatch.escalate_after_min * 60)
    warnings = api_stack.warnings.active()
    [accept] = [w for w in warnings if w.stage == "accept"]
    api_stack.warnings.acknowledge(accept.id, "operator:duty-1")

    def rebuilt() -> dict:
        live = Wall(api_stack.cfg, clock=api_stack.clock)
        for record in api_stack.warnings.alert_records():
            live.apply(record)
        return {row["id"]: row for row in live.payload("en")["alerts"]["rows"]}

    rows = rebuilt()
    assert set(rows) == {w.id for w in warnings}
    row = rows[accept.id]
    assert (row["ticket"], row["level"], row["handled"]) == (ticket.id, "escalated", True)
    assert row["who"] == "seen by operator:duty-1"
    api_stack.warnings.mute(accept.id, "operator:duty-1", 10)
    assert accept.id not in rebuilt()  # muted: off the wall until the mute runs out


# ----- GPS -----------------------------------------------------------------------------------


def _positions(stack) -> list[UnitPosition]:
    raw = stack.bus.client.xrange(stack.bus.key(keys.UNIT_POSITIONS))
    return [decode(fields) for _, fields in raw]


def test_json_batch_drops_duplicates_future_stale_and_jumps(api_stack):
    unit = Client(api_stack.url, tokens.issue(api_stack.store, "unit", "san-01"))
    now = dt.datetime.fromtimestamp(api_stack.clock(), dt.UTC)
    lon, lat = to_lon_lat(500, 500)
    far_lon, far_lat = to_lon_lat(2300, 500)

    def fix(seconds, where=(lon, lat), **extra):
        moment = (now + dt.timedelta(seconds=seconds)).isoformat()
        return {"lon": where[0], "lat": where[1], "time": moment, **extra}

    batch = [
        fix(-20),
        fix(-20),  # duplicate (a retry)
        fix(-10),
        fix(-9, (far_lon, far_lat)),  # 1.8 km in one second
        fix(3600),  # from the future (wrong phone clock)
        fix(-3 * 3600),  # stale
        fix(-5, accuracy_m=2000),  # a cell-tower guess
    ]
    answer = unit.post("/api/v1/positions", json={"fixes": batch})
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["accepted"] == 2
    assert {d["index"]: d["reason"] for d in result["dropped"]} == {
        1: "duplicate",
        3: "impossible_speed",
        4: "future",
        5: "stale",
        6: "inaccurate",
    }
    assert [p.unit_id for p in _positions(api_stack)] == ["san-01", "san-01"]


def test_osmand_requests_as_traccar_client_sends_them(api_stack):
    lon, lat = to_lon_lat(800, 400)
    now = int(api_stack.clock())
    key = tokens.issue(api_stack.store, "device", "cmg-02")  # the phone's device identifier
    # Classic Traccar Client / OsmAnd: everything in the query string, POST with an empty body.
    query = {
        "id": key,
        "timestamp": now - 5,
        "lat": lat,
        "lon": lon,
        "speed": "9.7",
        "bearing": "90.0",
        "altitude": "12.0",
        "accuracy": "8.0",
        "batt": "77.0",
    }
    answer = requests.post(api_stack.url + "/", params=query, timeout=10)
    assert answer.status_code == 200 and answer.json()["accepted"] == 1
    # The same as a GET on /osmand.
    query["timestamp"] = now - 4
    assert requests.get(api_stack.url + "/osmand", params=query, timeout=10).json()["accepted"] == 1
    # Traccar Client 9 and later: JSON body.
    body = {
        "location": {
            "timestamp": dt.datetime.fromtimestamp(now - 3, dt.UTC)
            .isoformat()
            .replace("+00:00", "Z"),
            "coords": {
                "latitude": lat,
                "longitude": lon,
                "accuracy": 5.0,
                "speed": 4.2,
                "heading": 180.0,
                "altitude": 10,
            },
            "is_moving": True,
            "odometer": 1234.5,
            "event": "motionchange",
            "battery": {"level": 0.8, "is_charging": False},
            "activity": {"type": "in_vehicle"},
        },
        "device_id": key,
    }
    answer = requests.post(api_stack.url + "/", json=body, timeout=10)
    assert answer.status_code == 200 and answer.json()["accepted"] == 1, answer.text
    fixes = _positions(api_stack)
    assert [round(f.speed_mps, 2) for f in fixes] == [4.99, 4.99, 4.2]  # knots -> m/s
    assert fixes[-1].fix_time == now - 3 and fixes[-1].heading_deg == 180.0
    assert [f.unit_id for f in fixes] == ["cmg-02"] * 3


def test_osmand_without_a_live_device_key_is_refused_and_moves_nobody(api_stack):
    """A spoofer who knows a unit's id (or a lost phone's revoked key) moves no unit."""
    lon, lat = to_lon_lat(800, 400)
    key = tokens.issue(api_stack.store, "device", "cmg-02")
    unit_token = tokens.issue(api_stack.store, "unit", "cmg-02")
    tokens.revoke(api_stack.store, "cmg-02", "device")
    before = counts(api_stack)
    for device in ("cmg-02", "nobody", key, unit_token):
        query = {"id": device, "timestamp": int(api_stack.clock()), "lat": lat, "lon": lon}
        answer = requests.get(api_stack.url + "/osmand", params=query, timeout=10)
        assert answer.status_code == 401, (device, answer.text)
        assert "run.py token device" in answer.json()["error"]
    assert counts(api_stack) == before
    # On a closed network the config may go back to plain device ids (units[].device_id).
    import dataclasses

    from dispatch.api.osmand import _unit_for_device

    ctx = api_stack.app.state.ctx
    api = ctx.cfg.api.model_copy(update={"device_keys": False})
    plain = dataclasses.replace(ctx, cfg=ctx.cfg.model_copy(update={"api": api}))
    assert _unit_for_device(plain, "cmg-02") == "cmg-02"


# ----- bad input -----------------------------------------------------------------------------

BAD_REQUESTS = [
    (
        "post",
        "/api/v1/tickets/{id}/accept",
        {"json": {"note": 5}},
        422,
        "note: Input should be a valid string",
    ),
    (
        "post",
        "/api/v1/tickets/{id}/accept",
        {"json": {"nope": "x"}},
        422,
        "nope: is not a known field",
    ),
    (
        "post",
        "/api/v1/tickets/{id}/accept",
        {"data": "{not json", "headers": {"content-type": "application/json"}},
        422,
        "the body is not valid JSON",
    ),
    ("post", "/api/v1/tickets/{id}/return", {"json": {}}, 422, "note: is required"),
    ("post", "/api/v1/tickets/nonexistent/accept", {}, 404, "no ticket 'nonexistent'"),
    (
        "post",
        "/api/v1/positions",
        {"json": {"fixes": [{"lat": "north", "lon": 1, "time": "x"}]}},
        422,
        "fixes.0.lat: Input should be a valid number",
    ),
    ("post", "/api/v1/positions", {"json": {"fixes": []}}, 422, "at least 1 item"),
    (
        "post",
        "/api/v1/positions",
        {"json": {"fixes": [{"lat": 30.2, "lon": 120.1, "time": "2027-01-13T10:00:00"}]}},
        422,
        "has no time zone",
    ),
    (
        "post",
        "/api/v1/positions",
        {"data": b"x" * 400_000, "headers": {"content-type": "application/json"}},
        413,
        "larger than 256 KB",
    ),
    (
        "post",
        "/api/v1/tickets/{id}/resolve",
        {"files": {"photo": ("big.jpg", b"\xff\xd8\xff" + b"0" * 11_000_000)}},
        413,
        "larger than 10240 KB",
    ),
    ("get", "/api/v1/my/tickets?lang=fr", {}, 422, "lang: String should match"),
    ("get", "/api/v1/no/such/thing", {}, 404, "no such endpoint"),
    ("get", "/api/v1/tickets?unit_id=%00x", {}, 422, "NUL character"),  # found by schemathesis
    ("delete", "/api/v1/tickets/{id}", {}, 405, "DELETE is not allowed"),
    (
        "get",
        "/osmand",
        {"params": {"id": "{device}", "lat": "abc", "lon": "1"}},
        400,
        "lat='abc' is not a number",
    ),
    ("get", "/osmand", {"params": {"id": "{device}"}}, 400, "missing position"),
    (
        "post",
        "/osmand",
        {"data": b"[1,2", "headers": {"content-type": "application/json"}},
        400,
        "the body is not JSON",
    ),
    (
        "post",
        "/osmand",
        {"json": {"location": {"coords": "x"}, "device_id": "{device}"}},
        400,
        "location.coords is missing",
    ),
    (
        "get",
        "/osmand",
        {"params": {"id": "{device}", "lat": "30.27", "lon": "120.17", "timestamp": "yesterday"}},
        400,
        "timestamp='yesterday'",
    ),
]


def _with_device(value, key: str):
    """`value` with every "{device}" replaced by a live device key (the OsmAnd identifier)."""
    if isinstance(value, dict):
        return {k: _with_device(v, key) for k, v in value.items()}
    return key if value == "{device}" else value


@pytest.mark.parametrize("method,path,kwargs,status,words", BAD_REQUESTS)
def test_bad_input_gets_a_clear_4xx_and_stores_nothing(
    api_stack, dispatched, method, path, kwargs, status, words
):
    ticket, unit = dispatched
    kwargs = _with_device(kwargs, tokens.issue(api_stack.store, "device", "san-01"))
    before = counts(api_stack)
    answer = getattr(unit.session, method)(
        api_stack.url + path.format(id=ticket.id), timeout=30, **kwargs
    )
    assert answer.status_code == status, answer.text
    message = answer.json()["error"]
    assert words in message
    assert counts(api_stack) == before
    assert api_stack.desk.get(ticket.id).status == "dispatched"


OPERATOR_BAD_REQUESTS = [
    ("post", "/api/v1/tickets/{id}/dispatch", {"json": {"unit_id": "nobody"}}, 422, "unknown unit"),
    ("post", "/api/v1/tickets/{id}/dispatch", {"json": {}}, 422, "unit_id: is required"),
    ("post", "/api/v1/tickets/{id}/verify", {"json": {"ok": "maybe"}}, 422, "ok:"),
    (
        "post",
        "/api/v1/tickets/{id}/verify",
        {"json": {"ok": True}},
        409,
        "cannot become 'verified'",
    ),
    ("post", "/api/v1/tickets/{id}/close", {"json": {"reason": "done"}}, 422, "reason:"),
    ("post", "/api/v1/tickets/{id}/close", {"json": {"reason": "bored"}}, 422, "reason:"),
    ("post", "/api/v1/warnings/999/acknowledge", {}, 404, "no warning 999"),
    ("post", "/api/v1/warnings/abc/mute", {"json": {"minutes": 5}}, 422, "warning_id:"),
    ("post", "/api/v1/warnings/1/mute", {"json": {"minutes": 0}}, 422, "minutes:"),
    ("get", "/api/v1/kpis?since=yesterday", {}, 422, "since:"),
    ("get", "/api/v1/kpis?since=2027-01-01T00:00:00", {}, 422, "no time zone"),
    ("get", "/api/v1/tickets?limit=5000", {}, 422, "limit:"),
    ("get", "/api/v1/media/abc", {}, 404, "no media"),
    ("post", f"/api/v1/warnings/{2**70}/acknowledge", {}, 422, "warning_id:"),
    ("get", "/api/v1/kpis?since=0001-01-01T00:00:00Z", {}, 422, "out of range"),
    ("get", "/api/v1/tickets?since=0001-01-01T00:00:00Z", {}, 422, "out of range"),
]


@pytest.mark.parametrize("method,path,kwargs,status,words", OPERATOR_BAD_REQUESTS)
def test_bad_operator_input_gets_a_clear_4xx_and_stores_nothing(
    api_stack, dispatched, method, path, kwargs, status, words
):
    ticket, _ = dispatched
    duty = operator(api_stack)
    before = counts(api_stack)
    answer = getattr(duty.session, method)(
        api_stack.url + path.format(id=ticket.id), timeout=30, **kwargs
    )
    assert answer.status_code == status, answer.text
    assert words in answer.json()["error"]
    assert counts(api_stack) == before
    assert api_stack.desk.get(ticket.id).status == "dispatched"


@pytest.mark.parametrize(
    "headers,status,words",
    [
        ({}, 401, "missing token"),
        ({"Authorization": "Bearer sc_u_forged"}, 401, "unknown or revoked"),
        ({"Authorization": "Basic abc"}, 401, "missing token"),
    ],
)
def test_bad_tokens_are_refused(api_stack, headers, status, words):
    answer = requests.get(api_stack.url + "/api/v1/my/tickets", headers=headers, timeout=10)
    assert answer.status_code == status and words in answer.json()["error"]


def test_revoked_token_and_wrong_role_are_refused(api_stack):
    secret = tokens.issue(api_stack.store, "unit", "san-01")
    unit = Client(api_stack.url, secret)
    me = unit.get("/api/v1/me").json()
    assert (me["id"], me["name"]) == ("san-01", "环卫1组·李")
    assert unit.get("/api/v1/me?lang=en").json()["name"] == "Sanitation crew 1 · Li"
    assert unit.get("/api/v1/warnings").status_code == 403  # units are not operators
    hotline = Client(api_stack.url, tokens.issue(api_stack.store, "hotline", "12345"))
    assert hotline.get("/api/v1/my/tickets").status_code == 403
    tokens.revoke(api_stack.store, "san-01")
    assert unit.get("/api/v1/me").status_code == 401


def test_openapi_document_is_published_and_current(api_stack):
    from config.paths import PROJECT_ROOT

    served = requests.get(api_stack.url + "/openapi.json", timeout=10).json()
    paths = served["paths"]
    for path in (
        "/api/v1/my/tickets",
        "/api/v1/tickets/{ticket_id}/resolve",
        "/api/v1/positions",
        "/osmand",
        "/open311/v2/requests.{fmt}",
        "/api/v1/kpis",
    ):
        assert path in paths, path
    import json

    assert set(served["components"]["securitySchemes"]) == {"token", "open311_key"}
    for path, operations in paths.items():
        for method, operation in operations.items():
            assert "503" in operation["responses"], (method, path)
            if path.startswith("/api/v1/"):
                assert {"401", "403"} <= set(operation["responses"]), (method, path)
                assert operation["security"] == [{"token": []}], (method, path)
    assert "404" in paths["/api/v1/tickets/{ticket_id}"]["get"]["responses"]
    committed = json.loads((PROJECT_ROOT / "docs" / "openapi.json").read_text())
    assert committed == served, "docs/openapi.json is stale: run `python -m dispatch.api.openapi`"


def test_media_is_served_only_from_the_data_dir(api_stack, dispatched):
    """A photo is served; a row whose file is gone, or whose path leads out of the data dir, and
    a traversal sent raw on the wire, are 404s that leak nothing."""
    ticket, unit = work_to_resolved(api_stack, dispatched)
    [photo] = [
        m for m in unit.get(f"/api/v1/tickets/{ticket.id}").json()["media"] if m["kind"] == "photo"
    ]
    served = unit.get(photo["url"].removeprefix("/api/v1") and photo["url"])
    assert served.status_code == 200 and served.content.startswith(b"\xff\xd8\xff")
    data_dir = api_stack.cfg.services.data_dir
    secret = data_dir.parent / "outside.jpg"
    secret.write_bytes(b"\xff\xd8\xff secret")
    at = dt.datetime.now(dt.UTC)
    with api_stack.store.session() as session:
        for media_id, path in (("gone", "media/nothing-here.jpg"), ("escape", "../outside.jpg")):
            session.add(
                MediaRow(
                    id=media_id,
                    ticket_id=ticket.id,
                    kind="photo",
                    path=path,
                    content_type="image/jpeg",
                    added_at=at,
                    added_by="test",
                )
            )
        session.commit()
    for media_id in ("gone", "escape"):
        answer = unit.get(f"/api/v1/media/{media_id}")
        assert answer.status_code == 404 and "missing from the data dir" in answer.json()["error"]
        assert b"secret" not in answer.content
    with socket.create_connection(("127.0.0.1", int(api_stack.url.rsplit(":", 1)[1])), 10) as raw:
        raw.sendall(b"GET /api/v1/media/../../../outside.jpg HTTP/1.1\r\nHost: x\r\n\r\n")
        reply = raw.recv(65536)
    assert reply.startswith(b"HTTP/1.1 404") and b"secret" not in reply


def test_a_supervisor_answers_for_its_own_departments_only(api_stack, dispatched):
    """The sanitation duty supervisor lists and acts on sanitation tickets, not on city
    management's, and cannot read the reporters of another department's ticket."""
    ticket, _unit = dispatched  # a camera's overflowing bin: sanitation
    parking = camera_event(api_stack, "cam-01", "noparking-1")
    api_stack.bus.publish(parking)
    theirs = wait_ticket(api_stack, parking.event_id)
    assert ticket.department_id != theirs.department_id
    mine = next(d.supervisor for d in api_stack.cfg.departments if d.id == ticket.department_id)
    supervisor = Client(api_stack.url, tokens.issue(api_stack.store, "unit", mine))
    listed = {t["id"] for t in supervisor.get("/api/v1/tickets").json()}
    assert ticket.id in listed and theirs.id not in listed
    refused = supervisor.post(f"/api/v1/tickets/{theirs.id}/close", json={"reason": "duplicate"})
    assert refused.status_code == 403 and "another department" in refused.json()["error"]
    assert supervisor.get(f"/api/v1/tickets/{theirs.id}/reporters").status_code == 403
    assert api_stack.desk.get(theirs.id).status != "closed"
    allowed = supervisor.post(f"/api/v1/tickets/{ticket.id}/close", json={"reason": "duplicate"})
    assert allowed.status_code == 200, allowed.text


def test_a_photo_must_be_an_image_and_a_fix_carries_a_bounded_number(api_stack, dispatched):
    ticket, unit = dispatched
    unit.post(f"/api/v1/tickets/{ticket.id}/accept")
    unit.post(f"/api/v1/tickets/{ticket.id}/arrive")
    before = counts(api_stack)
    forged = b"\xff\xd8\xff\xe0<html><script>alert(1)</script></html>"
    answer = unit.post(f"/api/v1/tickets/{ticket.id}/resolve", files={"photo": ("x.jpg", forged)})
    assert answer.status_code == 415 and "not a JPEG or PNG" in answer.json()["error"]
    many = [("photo", (f"p{i}.jpg", jpeg())) for i in range(api_stack.cfg.api.max_photos + 1)]
    answer = unit.post(f"/api/v1/tickets/{ticket.id}/resolve", files=many)
    assert answer.status_code == 413 and "at most" in answer.json()["error"]
    assert counts(api_stack) == before
    # A real JPEG carrying the phone's location, a page appended after its end: what is kept is
    # the picture alone, upright and bounded in size, never the upload's bytes.
    upload = _photo_with_location(4000, 3000) + b"<html><script>alert(1)</script></html>"
    fine = unit.post(f"/api/v1/tickets/{ticket.id}/resolve", files={"photo": ("p.jpg", upload)})
    assert fine.status_code == 200, fine.text
    [stored] = (api_stack.cfg.services.data_dir / "media" / ticket.id).iterdir()
    kept = stored.read_bytes()
    assert b"<script" not in kept and len(kept) < len(upload)
    from PIL import Image

    with Image.open(stored) as picture:
        assert max(picture.size) == 2560 and picture.format == "JPEG"
        assert not picture.getexif(), "the location went along"
    detail = unit.get(f"/api/v1/tickets/{ticket.id}").json()
    [photo] = [m for m in detail["media"] if m["kind"] == "photo"]
    served = unit.get(photo["url"])
    assert served.headers["X-Content-Type-Options"] == "nosniff"


def _photo_with_location(width: int, height: int) -> bytes:
    """A JPEG as a phone takes it: a scene's gradients with some noise, EXIF with a GPS fix."""
    import io

    import numpy as np
    from PIL import Image

    ys, xs = np.mgrid[0:height, 0:width]
    noise = np.random.default_rng(3).integers(0, 12, (height, width), dtype=np.uint8)
    shade = ((xs * 200 // width + ys * 40 // height) % 256).astype(np.uint8) + noise
    pixels = np.stack([shade, shade // 2 + 60, 255 - shade], axis=-1).astype(np.uint8)
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (30.0, 16.0, 12.0), 3: "E", 4: (120.0, 10.0, 5.0)}  # GPS IFD
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "JPEG", exif=exif, quality=90)
    return out.getvalue()
