"""The cockpit served for real (Werkzeug's threaded server, Socket.IO included) on a free port,
with an account for every role and a wall's display token."""

from __future__ import annotations

import re
import threading
from contextlib import contextmanager

import requests
from werkzeug.serving import make_server

from cockpit.access import QuietHandler, cut_off
from cockpit.app import create_app
from dispatch import accounts, tokens
from streams.embedded import free_port

PASSWORD = "correct horse battery staple"


class CockpitServer:
    """`create_app` on the real HTTP stack; `sign_in` gives a requests session per principal."""

    def __init__(self, cfg, layers, store):
        self.cfg, self.store = cfg, store
        for role in accounts.ROLES:
            accounts.add_user(store, f"{role}-1", role, PASSWORD)
        self.display = tokens.issue(store, accounts.DISPLAY, "hall-left")
        self.app, self.socketio, self.gate = create_app(cfg, layers, store)
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.server = make_server(
            "127.0.0.1", port, self.app.server, threaded=True, request_handler=QuietHandler
        )
        self.stop = threading.Event()
        self.threads = [
            threading.Thread(target=self.server.serve_forever, daemon=True),
            threading.Thread(
                target=cut_off, args=(self.socketio, self.gate, self.stop, 0.2), daemon=True
            ),
        ]
        for thread in self.threads:
            thread.start()

    def session(self, who: str) -> requests.Session:
        """A requests session for `who`: "anonymous", "display" (through the kiosk URL), or a
        role (signed in through the login form)."""
        session = requests.Session()
        if who == "display":
            answer = session.get(
                f"{self.url}/kiosk?token={self.display}", allow_redirects=False, timeout=10
            )
            assert answer.status_code == 302, answer.text
        elif who != "anonymous":
            login(session, self.url, f"{who}-1", PASSWORD)
        return session

    def close(self) -> None:
        """Stop serving and the access sweeper."""
        self.stop.set()
        self.server.shutdown()
        for thread in self.threads:
            thread.join(timeout=10)


def csrf_of(session: requests.Session, url: str) -> str:
    """The CSRF token the login form carries for this session."""
    form = session.get(f"{url}/login", timeout=10)
    return re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)


def login(
    session: requests.Session,
    url: str,
    name: str,
    password: str,
    expect: int | None = 302,
    then: str | None = None,
) -> requests.Response:
    """Sign in through the form as a browser does (asking to go to `then` next); assert the
    expected answer (none: any)."""
    form = {"csrf_token": csrf_of(session, url), "name": name, "password": password}
    if then is not None:
        form["next"] = then
    answer = session.post(
        f"{url}/login",
        data=form,
        allow_redirects=False,
        timeout=10,
    )
    assert expect is None or answer.status_code == expect, answer.text
    return answer


@contextmanager
def cockpit_on_sqlite(cfg, layers, folder, prepare=None):
    """A CockpitServer on a fresh SQLite store in `folder` (its data dir there too); `prepare`
    may fill the store first (a generated history)."""
    from dispatch.store import Store

    store = Store(f"sqlite:///{folder / 'tickets.db'}")
    store.create_schema()
    if prepare:
        prepare(store)
    services = cfg.services.model_copy(update={"data_dir": folder / "data"})
    server = CockpitServer(cfg.model_copy(update={"services": services}), layers, store)
    try:
        yield server
    finally:
        server.close()
        store.dispose()


@contextmanager
def chromium():
    """Debian's Chromium, headless, through Playwright (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    from tests.support.browser import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()
