"""Every door of the cockpit has a key: the role x route matrix, live connections, sessions.

The cockpit is served for real (HTTP and Socket.IO on a free port) over a real database with an
account for every role and a wall's display token. EXPECTED below is written out by hand, not
derived from the code's table: a route the app gains without an entry here fails the matrix.
"""

from __future__ import annotations

import base64
import logging
import re
import socket
import time

import pytest
import requests
import socketio

from dispatch import accounts, tokens
from tests.support.cockpit import PASSWORD, CockpitServer, csrf_of, login
from tests.support.waiting import wait_until

ROLES = ("admin", "operator", "coordinator", "leader", "viewer")
WHO = ("anonymous", *ROLES, "display")
PEOPLE = frozenset(ROLES)
ANYONE_SIGNED_IN = PEOPLE | {"display"}
DESK = frozenset({"admin", "operator", "coordinator"})
# Route (Flask's rule, or a page path) -> who may use it.
EXPECTED = {
    "/login": frozenset(WHO),
    "/kiosk": frozenset(WHO),
    "/_favicon.ico": frozenset(WHO),
    "/healthz": frozenset(WHO),
    "/readyz": frozenset(WHO),
    "/logout": ANYONE_SIGNED_IN,
    "/snapshots/<path:name>": ANYONE_SIGNED_IN,
    "/media/<media_id>": DESK,
    "/frames/<camera_id>.jpg": ANYONE_SIGNED_IN,
    "/_dash-layout": ANYONE_SIGNED_IN,
    "/_dash-dependencies": ANYONE_SIGNED_IN,
    "/_dash-update-component": ANYONE_SIGNED_IN,
    "/_reload-hash": ANYONE_SIGNED_IN,
    "/_dash-component-suites/<string:package_name>/<path:fingerprinted_path>": ANYONE_SIGNED_IN,
    "/assets/<path:filename>": ANYONE_SIGNED_IN,
    "/static/<path:filename>": ANYONE_SIGNED_IN,
    # Pages: what the browser opens, and what Dash's page callback renders for that path.
    "page /": PEOPLE,
    "page /desk": DESK | {"leader"},  # leaders read it (trends drill down); only DESK acts
    "page /cameras": PEOPLE,
    "page /trends": frozenset({"leader", "admin"}),
    "page /incident": PEOPLE,  # everyone watches; coordinators and admins act
    "page /wall": ANYONE_SIGNED_IN,
    "socket.io": ANYONE_SIGNED_IN,
}
PAGE_ROUTES = {"/", "/<path:path>"}  # Dash's routes for its pages


@pytest.fixture
def cockpit(request, demo_cfg, demo_layers, store, tmp_path):
    """The cockpit on the test database; sign-ins are not rate-limited in practice unless a test
    asks for a limit (`indirect` parameter)."""
    limit = getattr(request, "param", 10_000)
    services = demo_cfg.services.model_copy(
        update={"data_dir": tmp_path / "data", "login_attempts_per_minute": limit}
    )
    cfg = demo_cfg.model_copy(update={"services": services})
    server = CockpitServer(cfg, demo_layers, store)
    (tmp_path / "data" / "snapshots").mkdir(parents=True)
    (tmp_path / "data" / "snapshots" / "cam-01.jpg").write_bytes(b"\xff\xd8\xff evidence")
    yield server
    server.close()


def _page_callback(url: str, session: requests.Session, path: str) -> requests.Response:
    """What Dash's page container callback renders for `path` (as the browser asks for it)."""
    body = {
        "output": ".._pages_content.children..._pages_store.data..",
        "outputs": [
            {"id": "_pages_content", "property": "children"},
            {"id": "_pages_store", "property": "data"},
        ],
        "inputs": [
            {"id": "_pages_location", "property": "pathname", "value": path},
            {"id": "_pages_location", "property": "search", "value": ""},
        ],
        "changedPropIds": ["_pages_location.pathname"],
        "state": [],
    }
    return session.post(f"{url}/_dash-update-component", json=body, timeout=30)


def _asset_url(cockpit: CockpitServer) -> str:
    index = cockpit.session("admin").get(cockpit.url + "/", timeout=10).text
    return re.search(r'src="(/_dash-component-suites/[^"]+)"', index).group(1)


def _try(cockpit: CockpitServer, route: str, who: str, suites: str, sessions: dict) -> bool:
    """Whether `who` got through on `route` (True) or was refused (False)."""
    if who not in sessions:
        sessions[who] = cockpit.session(who)
    # Signing out ends a session: it gets one of its own.
    session = cockpit.session(who) if route == "/logout" else sessions[who]
    url = cockpit.url
    html = {"Accept": "text/html"}
    if route.startswith("page "):
        path = route.removeprefix("page ")
        opened = session.get(url + path, headers=html, allow_redirects=False, timeout=10)
        rendered = _page_callback(url, session, path)
        shown = rendered.status_code == 200 and "access-denied" not in rendered.text
        assert (opened.status_code == 200) == shown, (route, who, opened, rendered.text[:200])
        return shown
    if route == "socket.io":
        return _connects(url, session)
    answer = _request(session, url, route, suites)
    refused = answer.status_code in (401, 403) or (
        answer.status_code == 302 and "/login" in answer.headers["Location"] and route != "/logout"
    )
    return not refused


def _request(session: requests.Session, url: str, route: str, suites: str) -> requests.Response:
    get = lambda path: session.get(url + path, allow_redirects=False, timeout=10)  # noqa: E731
    if route == "/logout":
        data = {"csrf_token": csrf_of(session, url)}
        return session.post(url + route, data=data, allow_redirects=False, timeout=10)
    if route == "/_dash-update-component":
        return _page_callback(url, session, "/wall")
    concrete = {
        "/kiosk": "/kiosk?token=not-a-token",
        "/snapshots/<path:name>": "/snapshots/cam-01.jpg",
        "/media/<media_id>": "/media/no-such-photo",
        "/frames/<camera_id>.jpg": "/frames/cam-01.jpg",
        "/_dash-component-suites/<string:package_name>/<path:fingerprinted_path>": suites,
        "/assets/<path:filename>": "/assets/cockpit.css",
        "/static/<path:filename>": "/static/nothing.txt",
    }
    answer = get(concrete.get(route, route))
    if route == "/kiosk":  # a bad token is refused for everyone; the door itself is open
        return requests.Response() if answer.status_code == 403 else answer
    return answer


def _connects(url: str, session: requests.Session, origin: str | None = None) -> bool:
    client = socketio.Client(reconnection=False)
    cookie = "; ".join(f"{k}={v}" for k, v in session.cookies.items())
    headers = {"Cookie": cookie} if cookie else {}
    transports = ["websocket"]
    if origin:  # over HTTP long-polling (the WebSocket client sends an Origin of its own)
        headers["Origin"] = origin
        transports = ["polling"]
    try:
        client.connect(url, headers=headers, transports=transports, wait_timeout=10)
    except socketio.exceptions.ConnectionError:
        return False
    client.disconnect()
    return True


def test_role_by_route_matrix(cockpit):
    rules = {r.rule for r in cockpit.app.server.url_map.iter_rules()} - PAGE_ROUTES
    pages = {f"page {path}" for path in cockpit.gate.pages}
    assert rules | pages | {"socket.io"} == set(EXPECTED), "a route without a matrix entry"
    suites = _asset_url(cockpit)
    wrong, sessions = [], {}
    for route, allowed in EXPECTED.items():
        for who in WHO:
            if _try(cockpit, route, who, suites, sessions) != (who in allowed):
                wrong.append(f"{route} {who}: {'let in' if who not in allowed else 'refused'}")
    assert wrong == []


def test_anonymous_pages_go_to_sign_in_and_back(cockpit):
    session = requests.Session()
    page = session.get(
        cockpit.url + "/wall?lang=en&x=1", headers={"Accept": "text/html"}, timeout=10
    )
    assert page.url.startswith(cockpit.url + "/login") and "Sign in to the cockpit" in page.text
    # The form brings the person back to the whole address, query included.
    assert 'name="next" value="/wall?lang=en&amp;x=1"' in page.text
    assert session.get(cockpit.url + "/_dash-layout", timeout=10).status_code == 401
    answer = login(session, cockpit.url, "viewer-1", PASSWORD, then="/wall?lang=en")
    assert answer.headers["Location"] == "/wall?lang=en"
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    # `next` never leads off the site.
    assert login(requests.Session(), cockpit.url, "viewer-1", PASSWORD).headers["Location"] == "/"
    evil = login(requests.Session(), cockpit.url, "viewer-1", PASSWORD, then="//evil.example/x")
    assert evil.headers["Location"] == "/"


def test_foreign_origin_and_anonymous_live_connections_are_refused(cockpit):
    operator = cockpit.session("operator")
    assert _connects(cockpit.url, operator)
    assert not _connects(cockpit.url, operator, origin="http://evil.example")
    assert _connects(cockpit.url, operator, origin=cockpit.url)
    assert not _connects(cockpit.url, requests.Session())
    # A forged cross-site POST with a valid cookie is refused too.
    forged = operator.post(
        f"{cockpit.url}/_dash-update-component",
        json={},
        headers={"Origin": "http://evil.example"},
        timeout=10,
    )
    assert forged.status_code == 403


def test_a_revoked_display_token_is_cut_off_within_5_s(cockpit):
    wall = cockpit.session("display")
    client = socketio.Client(reconnection=False)
    got = []
    client.on("live", lambda payload: got.append(payload))
    cookie = "; ".join(f"{k}={v}" for k, v in wall.cookies.items())
    client.connect(cockpit.url, headers={"Cookie": cookie}, transports=["websocket"])
    try:
        assert client.connected
        revoked_at = time.monotonic()
        assert tokens.revoke(cockpit.store, "hall-left", role=accounts.DISPLAY) == 1
        wait_until(lambda: not client.connected, 5, "the wall's connection closed")
        assert time.monotonic() - revoked_at < 5
    finally:
        client.disconnect()
    assert wall.get(cockpit.url + "/_dash-layout", timeout=10).status_code == 401
    assert not _connects(cockpit.url, wall)
    again = requests.get(f"{cockpit.url}/kiosk?token={cockpit.display}&lang=en", timeout=10)
    assert again.status_code == 403 and "revoked" in again.text


def test_disabled_user_and_changed_password_end_sessions(cockpit):
    operator = cockpit.session("operator")
    leader = cockpit.session("leader")
    accounts.disable(cockpit.store, "operator-1")
    wait_until(
        lambda: operator.get(cockpit.url + "/_dash-layout", timeout=10).status_code == 401,
        5,
        "the disabled operator's session refused",
    )
    login(requests.Session(), cockpit.url, "operator-1", PASSWORD, expect=401)
    accounts.set_password(cockpit.store, "leader-1", "a brand new passphrase")
    wait_until(
        lambda: leader.get(cockpit.url + "/_dash-layout", timeout=10).status_code == 401,
        5,
        "the leader's old session refused",
    )
    login(requests.Session(), cockpit.url, "leader-1", "a brand new passphrase")


@pytest.mark.parametrize("cockpit", [5], indirect=True)
def test_sign_in_is_rate_limited_and_failures_are_logged_without_the_secret(cockpit, caplog):
    caplog.set_level(logging.INFO, logger="werkzeug")  # request logs, kiosk URLs included
    session = requests.Session()
    csrf = csrf_of(session, cockpit.url)
    limit = cockpit.cfg.services.login_attempts_per_minute
    answers = [
        session.post(
            f"{cockpit.url}/login",
            data={"csrf_token": csrf, "name": "admin-1", "password": f"guess-{i}-secret"},
            timeout=10,
        ).status_code
        for i in range(limit + 2)
    ]
    assert answers[:limit] == [401] * limit and answers[limit:] == [429, 429]
    # Even the right password waits out the minute.
    right = {"csrf_token": csrf, "name": "admin-1", "password": PASSWORD}
    limited = session.post(f"{cockpit.url}/login", data=right, timeout=10)
    assert limited.status_code == 429 and "一分钟后再试" in limited.text
    logged = caplog.text
    assert "sign-in refused for 'admin-1'" in logged and "secret" not in logged
    bad_tokens = [
        requests.get(f"{cockpit.url}/kiosk?token=guess-{i}", timeout=10).status_code
        for i in range(limit + 1)
    ]
    assert bad_tokens[-1] == 429 and "guess-" not in caplog.text
    requests.get(f"{cockpit.url}/kiosk?token={cockpit.display}", timeout=10)
    # The request log is written after the answer is sent.
    wait_until(
        lambda: caplog.text.count("/kiosk?token=[hidden]") > limit, 5, "kiosk requests logged"
    )
    assert cockpit.display not in caplog.text


def test_login_without_the_forms_csrf_token_is_refused(cockpit):
    session = requests.Session()
    answer = session.post(
        f"{cockpit.url}/login",
        data={"name": "admin-1", "password": PASSWORD},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 400 and "表单已过期" in answer.text
    assert session.get(cockpit.url + "/_dash-layout", timeout=10).status_code == 401


def test_a_display_token_sees_the_wall_and_nothing_else(cockpit):
    wall = cockpit.session("display")
    html = {"Accept": "text/html"}
    assert wall.get(cockpit.url + "/wall", headers=html, timeout=10).status_code == 200
    assert wall.get(cockpit.url + "/", headers=html, timeout=10).status_code == 403
    assert "access-denied" in _page_callback(cockpit.url, wall, "/").text
    shown = _page_callback(cockpit.url, wall, "/wall").text
    assert "live-map" in shown and "logout" not in shown and "switch" not in shown


def _export(session, url: str, what: str) -> requests.Response:
    """The trends page's download callback, as the browser posts it for a button."""
    stored = {"start": "2026-11-02", "end": "2026-11-08", "step": "day"}
    body = {
        "output": "trends-download.data",
        "outputs": {"id": "trends-download", "property": "data"},
        "inputs": [
            {"id": f"trends-{b}", "property": "n_clicks", "value": int(b == what)}
            for b in ("csv", "xlsx", "brief")
        ],
        "state": [
            {"id": "trends-export-table", "property": "value", "value": "indicators"},
            {"id": "trends-filter", "property": "data", "value": stored},
            {"id": "trends-lang", "property": "data", "value": "zh"},
        ],
        "changedPropIds": [f"trends-{what}.n_clicks"],
    }
    return session.post(f"{url}/_dash-update-component", json=body, timeout=60)


def test_only_leaders_and_admins_download_trends(cockpit):
    """The page is not the only door: the download callback itself checks the role."""
    for who in ("leader", "admin"):
        answer = _export(cockpit.session(who), cockpit.url, "csv")
        assert answer.status_code == 200, (who, answer.text[:200])
        sent = answer.json()["response"]["trends-download"]["data"]
        assert sent["filename"] == "indicators_2026-11-02_2026-11-08.csv"
        assert base64.b64decode(sent["content"]).decode("utf-8-sig").startswith("指标,本期")
    brief = _export(cockpit.session("leader"), cockpit.url, "brief").json()
    assert base64.b64decode(brief["response"]["trends-download"]["data"]["content"])[:5] == b"%PDF-"
    for who in ("operator", "coordinator", "viewer", "display", "anonymous"):
        answer = _export(cockpit.session(who), cockpit.url, "xlsx")
        assert answer.status_code in (204, 302, 401, 403), (who, answer.status_code)
        assert "trends-download" not in answer.text


def _acknowledge(cockpit, who: str, unit: str) -> requests.Response:
    """The live map's "seen" button for a unit, as the browser posts its callback (its output
    carries the suffix Dash gives a duplicate output, read from the app's dependencies)."""
    url = cockpit.url
    listed = cockpit.session("admin").get(f"{url}/_dash-dependencies", timeout=30).json()
    output = next(d["output"] for d in listed if d["output"].startswith("map-detail-message.c"))
    body = {
        "output": output,
        "outputs": {"id": "map-detail-message", "property": "children"},
        "inputs": [{"id": "map-detail-ack", "property": "n_clicks", "value": 1}],
        "state": [
            {"id": "map-detail-picked", "property": "data", "value": unit},
            {"id": "ui-lang", "property": "data", "value": "en"},
        ],
        "changedPropIds": ["map-detail-ack.n_clicks"],
    }
    return cockpit.session(who).post(f"{url}/_dash-update-component", json=body, timeout=30)


def test_only_desk_roles_acknowledge_a_unit_on_the_map(cockpit):
    """The button is shown to operators only; the callback itself checks the role too."""
    reached = "unit grd-01 has no ticket in hand"  # the desk was asked: nothing in hand here
    for who in sorted(DESK):
        answer = _acknowledge(cockpit, who, "grd-01")
        assert answer.status_code == 200 and reached in answer.text, (who, answer.text[:300])
    for who in ("leader", "viewer", "display", "anonymous"):
        answer = _acknowledge(cockpit, who, "grd-01")
        assert reached not in answer.text, who
        assert answer.status_code in (302, 401, 403) or "may not" in answer.text, (
            who, answer.status_code, answer.text[:300])  # fmt: skip


def _send_raw(url: str, raw: bytes) -> bytes:
    """Writes `raw` to the cockpit's port and reads its whole answer (the server closes)."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(raw)
        conn.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := conn.recv(4096):
            chunks.append(chunk)
    return b"".join(chunks)


def test_stray_websocket_frames_end_the_connection_without_an_error_line(cockpit, caplog):
    caplog.set_level(logging.INFO, logger="werkzeug")
    # A closed WebSocket's last masked frames, read as the next request line (seen in CI as
    # "code 400, message Bad request version ('Ô%\\x1b#<')"), and a TLS hello: no answer, no line.
    for raw in (
        b"\x88\x82\x01 \x02 \xd4%\x1b#<\r\n",
        b"\x81\x85\x9a x y\r\n",
        b"\x16\x03\x01\x02\x00\x01",
    ):
        assert _send_raw(cockpit.url, raw) == b""
    # An HTTP line that is merely wrong is still answered and logged.
    assert b"400" in _send_raw(cockpit.url, b"GET /x HTTP/1.1 extra\r\n\r\n")
    wait_until(
        lambda: "code 400" in caplog.text and "GET /x HTTP/1.1 extra" in caplog.text, 5, "logged"
    )
    assert "\\x" not in caplog.text and "Ô" not in caplog.text, caplog.text
