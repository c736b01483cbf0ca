"""The API's doors: every route of the served app, for every kind of caller, let in or refused.

EXPECTED is written out by hand (not read from the code); a route the API gains without an
entry fails the test. "Let in" means the answer is not 401 or 403: it may still be 404 or 409
for this caller's request, which is the route's business, not the door's.
"""

from __future__ import annotations

import datetime as dt

import requests
from fastapi.routing import APIRoute

from dispatch import tokens
from dispatch.api.field import TOKEN_COOKIE
from dispatch.media import add_media
from tests.support.api import dispatch_one, jpeg

WHO = ("anonymous", "unit", "supervisor", "operator", "hotline", "citizen", "display", "device")
EVERYONE = frozenset(WHO)
UNITS = frozenset({"unit", "supervisor"})  # a supervisor is a unit too
CENTRE = frozenset({"operator", "supervisor"})
# The OsmAnd protocol (Traccar Client) identifies a phone by its device identifier: a device
# key (`run.py token device UNIT`), sent as that identifier, not as a bearer token.
DEVICES = frozenset({"device"})
EXPECTED: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/api/v1/me"): UNITS,
    ("GET", "/api/v1/my/tickets"): UNITS,
    ("GET", "/api/v1/tickets/{ticket_id}"): UNITS | {"operator"},
    ("POST", "/api/v1/tickets/{ticket_id}/accept"): frozenset({"unit"}),
    ("POST", "/api/v1/tickets/{ticket_id}/arrive"): frozenset({"unit"}),
    ("POST", "/api/v1/tickets/{ticket_id}/resolve"): frozenset({"unit"}),
    ("POST", "/api/v1/tickets/{ticket_id}/return"): frozenset({"unit"}),
    ("GET", "/api/v1/tickets"): CENTRE,
    ("GET", "/api/v1/tickets/{ticket_id}/reporters"): CENTRE,
    ("POST", "/api/v1/tickets/{ticket_id}/dispatch"): CENTRE,
    ("POST", "/api/v1/tickets/{ticket_id}/verify"): CENTRE,
    ("POST", "/api/v1/tickets/{ticket_id}/reopen"): CENTRE,
    ("GET", "/api/v1/warnings"): CENTRE,
    ("POST", "/api/v1/warnings/{warning_id}/acknowledge"): CENTRE,
    ("POST", "/api/v1/warnings/{warning_id}/mute"): CENTRE,
    ("GET", "/api/v1/kpis"): CENTRE,
    ("GET", "/api/v1/media/{media_id}"): UNITS | {"operator"},
    ("POST", "/api/v1/positions"): UNITS,
    ("GET", "/osmand"): DEVICES,
    ("POST", "/osmand"): DEVICES,
    ("POST", "/"): DEVICES,
    ("GET", "/open311/v2/discovery.{fmt}"): EVERYONE,
    ("GET", "/open311/v2/services.{fmt}"): EVERYONE,
    ("GET", "/open311/v2/services/{service_code}.{fmt}"): EVERYONE,
    ("GET", "/open311/v2/requests.{fmt}"): EVERYONE,
    ("GET", "/open311/v2/requests/{service_request_id}.{fmt}"): EVERYONE,
    ("GET", "/open311/v2/tokens/{token}.{fmt}"): EVERYONE,
    ("POST", "/open311/v2/requests.{fmt}"): frozenset({"hotline", "citizen"}),
    ("GET", "/"): EVERYONE,  # to the field page (or a Traccar Client query)
    ("GET", "/field"): EVERYONE,  # the sign-in form; the data behind it is checked below
    ("POST", "/field/login"): EVERYONE,
    ("POST", "/field/logout"): EVERYONE,
    ("GET", "/field/state"): UNITS,
    ("POST", "/field/t/{ticket_id}/{action}"): UNITS,  # the supervisor: not its ticket (409)
    ("POST", "/field/t/{ticket_id}/resolve"): UNITS,
    ("POST", "/api/v1/incidents"): frozenset({"operator"}),  # supervisors report, not open
    ("GET", "/api/v1/incidents"): CENTRE,
    ("GET", "/api/v1/incidents/{incident_id}"): CENTRE,
    ("POST", "/api/v1/incidents/{incident_id}/shelters/{shelter_id}"): CENTRE,
    ("POST", "/api/v1/incidents/{incident_id}/evacuations"): CENTRE,
    ("GET", "/api/v1/incidents/{incident_id}/cap.xml"): CENTRE,
    ("GET", "/healthz"): EVERYONE,  # for load balancers: says nothing but "alive"/"ready"
    ("GET", "/readyz"): EVERYONE,
    # Closing last: every other route above sees the ticket still open.
    ("POST", "/api/v1/tickets/{ticket_id}/close"): CENTRE,
}


def _secrets(stack, ticket) -> dict[str, str | None]:
    supervisor = next(d.supervisor for d in stack.cfg.departments if d.id == ticket.department_id)
    store = stack.store
    return {
        "anonymous": None,
        "unit": tokens.issue(store, "unit", ticket.unit_id),
        "supervisor": tokens.issue(store, "unit", supervisor),
        "operator": tokens.issue(store, "operator", "wang"),
        "hotline": tokens.issue(store, "hotline", "12345"),
        "citizen": tokens.issue(store, "citizen", "app"),
        "display": tokens.issue(store, "display", "hall-left"),
        "device": tokens.issue(store, "device", "cmg-02"),
    }


def served_routes(routes) -> set[tuple[str, str]]:
    """(method, path) of every API route, through included routers."""
    found = set()
    for route in routes:
        if hasattr(route, "original_router"):  # FastAPI's wrapper of an included router
            found |= served_routes(route.original_router.routes)
        elif isinstance(route, APIRoute):
            found |= {(method, route.path) for method in route.methods}
    return found


def _call(stack, method: str, path: str, secret: str | None, ids: dict) -> requests.Response:
    url = stack.url + path.format(**ids)
    headers = {"Authorization": f"Bearer {secret}"} if secret else {}
    if path.startswith("/field/") and secret:  # the field page keeps its token in a cookie
        headers = {"Cookie": f"{TOKEN_COOKIE}={secret}"}
    body: dict = {}
    if path.endswith("/dispatch"):
        body = {"json": {"unit_id": ids["unit_id"]}}
    elif path.endswith(("/verify", "/close")):
        body = {"json": {"ok": True} if path.endswith("/verify") else {"reason": "duplicate"}}
    elif path.endswith("/mute"):
        body = {"json": {"minutes": 5}}
    elif path.endswith("/return"):
        body = {"json": {"note": "not ours"}}
    elif path.endswith("/reopen"):
        body = {"json": {"note": "resident called again"}}
    elif path == "/api/v1/incidents" and method == "POST":
        body = {
            "json": {"type_id": "fire", "level": 3, "title": "火情", "ticket_id": ids["ticket_id"]}
        }
    elif path.endswith("/shelters/{shelter_id}"):
        body = {"json": {"occupied": 10}}
    elif path.endswith("/evacuations"):
        body = {"json": {"building_id": "b-1", "people": 12}}
    elif path.endswith("/positions"):
        fix = {"lat": 30.27, "lon": 120.17, "time": "2027-01-13T02:00:00Z"}
        body = {"json": {"fixes": [fix]}}
    elif path.endswith("/resolve"):
        body = {"files": {"photo": ("fix.jpg", jpeg())}}
    elif path.startswith("/open311") and method == "POST":
        body = {"data": {"api_key": secret or "guessed", "service_code": "bin_overflow"}}
    elif path in ("/osmand", "/") and method == "POST":  # the key is the device identifier
        body = {"json": {"location": {"coords": {}}, "device_id": secret or "nobody"}}
    elif path == "/osmand":
        url += f"?id={secret or 'nobody'}"
    return requests.request(method, url, headers=headers, timeout=15, allow_redirects=False, **body)


def _incident(stack, ticket) -> str:
    """An open incident at the ticket's place (the incident routes' subject)."""
    site = {"type": "Point", "coordinates": [ticket.lon, ticket.lat]}
    now = dt.datetime.now(dt.UTC)
    return stack.app.state.ctx.incidents.open("fire", 3, site, "火情", "operator:wang", now).id


def test_api_role_by_route_matrix(api_stack):
    ticket, _unit = dispatch_one(api_stack)
    photo = api_stack.cfg.services.data_dir / "media" / ticket.id / "p.jpg"
    photo.parent.mkdir(parents=True)
    photo.write_bytes(b"\xff\xd8\xff photo")
    with api_stack.store.session() as session:
        add_media(
            session, ticket.id, "photo", f"media/{ticket.id}/p.jpg", "unit:x",
            dt.datetime.now(dt.UTC), media_id="photo-1",
        )  # fmt: skip
        session.commit()
    served = served_routes(api_stack.app.routes)
    assert served == set(EXPECTED), "a route without a matrix entry (or an entry without a route)"
    secrets = _secrets(api_stack, ticket)
    ids = {
        "ticket_id": ticket.id,
        "unit_id": ticket.unit_id,
        "warning_id": 1,
        "media_id": "photo-1",
        "fmt": "json",
        "service_code": "bin_overflow",
        "service_request_id": ticket.id,
        "token": "nothing",
        "action": "arrive",
        "incident_id": _incident(api_stack, ticket),
        "shelter_id": "shelter-1",
    }
    wrong = []
    for (method, path), allowed in EXPECTED.items():
        for who in WHO:
            answer = _call(api_stack, method, path, secrets[who], ids)
            sent_back = answer.is_redirect and "bad=1" in answer.headers.get("location", "")
            let_in = answer.status_code not in (401, 403) and not sent_back
            if path.startswith("/api/v1/media/"):  # refusals look like a missing photo (404)
                let_in = answer.status_code == 200
            if let_in != (who in allowed):
                wrong.append(f"{method} {path} {who}: {answer.status_code} {answer.text[:80]}")
    assert not wrong, "\n".join(wrong)


def test_guessing_credentials_is_refused_after_the_limit(demo_cfg, store, bus, demo_index,
                                                         demo_layers, tmp_path):  # fmt: skip
    """Five failed credentials a minute from one address (bearer tokens, device keys, Open311
    keys, field sign-ins alike): the sixth try is refused with 429 and Retry-After, even with a
    good token, and says why; nothing reveals which guess was close."""
    from tests.conftest import ApiStack, Clock

    services = demo_cfg.services.model_copy(update={"data_dir": tmp_path / "data"})
    api = demo_cfg.api.model_copy(update={"failed_credentials_per_minute": 5})
    cfg = demo_cfg.model_copy(update={"services": services, "api": api})
    stack = ApiStack(cfg, store, bus, demo_index, demo_layers, Clock(1_799_805_600.0))
    try:
        good = tokens.issue(store, "unit", "san-01")
        url = stack.url
        guesses = [
            lambda: requests.get(f"{url}/api/v1/me", headers={"Authorization": "Bearer sc_u_x"},
                                 timeout=10),
            lambda: requests.get(f"{url}/osmand", params={"id": "san-01"}, timeout=10),
            lambda: requests.post(f"{url}/open311/v2/requests.json", timeout=10,
                                  data={"api_key": "guess", "service_code": "bin_overflow"}),
            lambda: requests.post(f"{url}/field/login", data={"token": "guess"}, timeout=10,
                                  allow_redirects=False),
            lambda: requests.get(f"{url}/api/v1/me", headers={"Authorization": "Bearer sc_u_y"},
                                 timeout=10),
        ]  # fmt: skip
        assert [g().status_code for g in guesses] == [401, 401, 403, 303, 401]
        refused = requests.get(f"{url}/api/v1/me", headers={"Authorization": f"Bearer {good}"},
                               timeout=10)  # fmt: skip
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
        assert "too many failed credentials" in refused.json()["error"]
    finally:
        stack.close()
