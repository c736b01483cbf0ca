"""Two cockpit replicas (real `run.py cockpit` processes) on one Redis, one database and one data
dir, as behind a load balancer: a wall signed in on one is signed in on the other, both walls
receive every push exactly once, one replica killed (SIGKILL) leaves the other pushing, and the
restarted one shows everything again; failed sign-ins count across both replicas."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import requests
import socketio

from config.paths import PROJECT_ROOT
from dispatch import accounts, tokens
from dispatch.store import Store, default_database_url
from sim.district import to_lon_lat
from streams.embedded import free_port
from streams.records import Event
from tests.support.cockpit import PASSWORD, login
from tests.support.waiting import wait_until


def _replica(env: dict, port: int, log) -> subprocess.Popen:
    argv = [sys.executable, str(PROJECT_ROOT / "run.py"), "cockpit"]
    with log.open("ab") as sink:
        return subprocess.Popen(argv, env={**env, "COCKPIT_PORT": str(port)}, cwd=PROJECT_ROOT,
                                stdout=sink, stderr=sink)  # fmt: skip


def _up(url: str) -> bool:
    try:
        return requests.get(f"{url}/healthz", timeout=2).status_code == 200
    except requests.ConnectionError:
        return False


class Wall:
    """A wall's live connection to one replica: the event ids of every payload it got."""

    def __init__(self, url: str, cookie: str):
        self.payloads: list[list[str]] = []
        self.client = socketio.Client(reconnection=True, reconnection_delay=0.2,
                                      reconnection_delay_max=1)  # fmt: skip
        self.client.on("live", lambda p: self.payloads.append(list(p["events"]["ids"])))
        self.client.on("connect", lambda: self.client.emit("join", {"lang": "en"}))
        self.client.connect(url, headers={"Cookie": cookie}, transports=["websocket"])

    def shows(self, ids: set[str]) -> bool:
        return bool(self.payloads) and ids <= set(self.payloads[-1])


def _events(first: int, count: int) -> list[Event]:
    out = []
    for n in range(first, first + count):
        lon, lat = to_lon_lat(200 + n * 30, 300)
        out.append(Event(event_id=f"rep-{n:03d}", category="dirty_road", source="hotline",
                         lon=lon, lat=lat, detected_at=time.time()))  # fmt: skip
    return out


def test_two_replicas_push_everything_to_their_walls(redis_url, bus, tmp_path):
    data = tmp_path / "data"
    store = Store(default_database_url(data))
    store.create_schema()
    accounts.add_user(store, "chief", "admin", PASSWORD)
    accounts.add_user(store, "duty", "operator", PASSWORD)
    display = tokens.issue(store, accounts.DISPLAY, "hall")
    store.dispose()
    env = {**os.environ, "REDIS_URL": redis_url, "SC_DATA_DIR": str(data)}
    for name in ("DATABASE_URL", "SC_DEMO", "SC_COCKPIT_SECRET"):
        env.pop(name, None)
    ports = free_port(), free_port()
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    replicas = [_replica(env, port, tmp_path / f"cockpit-{n}.log") for n, port in enumerate(ports)]
    walls = []
    try:
        wait_until(lambda: all(_up(url) for url in urls), 120, "both replicas answering")
        # Signed in through replica 0 (the session key is the data dir's): valid on replica 1.
        kiosk = requests.Session()
        kiosk.get(f"{urls[0]}/kiosk?token={display}", allow_redirects=False, timeout=10)
        cookie = "; ".join(f"{k}={v}" for k, v in kiosk.cookies.items())
        walls = [Wall(url, cookie) for url in urls]
        first = _events(0, 30)
        for start in range(0, 30, 10):
            bus.publish_many(first[start : start + 10])
        ids = {e.event_id for e in first}
        wait_until(lambda: all(w.shows(ids) for w in walls), 30, "both walls showing all 30")
        for wall in walls:
            shown = wall.payloads[-1]
            assert len(shown) == len(set(shown)), "an event shown twice"
        # Replica 0 dies: replica 1 goes on; replica 0 restarted shows everything again.
        replicas[0].send_signal(signal.SIGKILL)
        replicas[0].wait(10)
        more = _events(30, 10)
        bus.publish_many(more)
        ids |= {e.event_id for e in more}
        wait_until(lambda: walls[1].shows(ids), 30, "the surviving replica's wall up to date")
        replicas[0] = _replica(env, ports[0], tmp_path / "cockpit-0.log")
        wait_until(lambda: walls[0].shows(ids), 120, "the restarted replica's wall caught up")
        # Failed sign-ins count across replicas: 10 a minute per client in all, not per replica.
        answers = [
            login(requests.Session(), urls[n % 2], "duty", "wrong", expect=None).status_code
            for n in range(12)
        ]
        assert answers[:10] == [401] * 10 and answers[10:] == [429, 429], answers
    finally:
        for wall in walls:
            wall.client.disconnect()
        for replica in replicas:
            if replica.poll() is None:
                replica.send_signal(signal.SIGTERM)
                replica.wait(30)
    # Quiet: no traceback, and walls going away leave no error lines (Werkzeug used to log
    # each closed WebSocket's last frames as a bad request).
    logs = "".join((tmp_path / f"cockpit-{n}.log").read_text() for n in range(2))
    assert "Traceback" not in logs and "Bad request" not in logs, logs[-2000:]
