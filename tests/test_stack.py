"""Process model: bounded restarts, ordered stop, and the private Redis with persistence."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
import redis

from stack.supervisor import Supervisor
from streams.embedded import EmbeddedRedis
from tests.support.waiting import wait_until

CRASH = [sys.executable, "-c", "import sys; sys.exit(3)"]
# A child that notes in a log file when it is ready and when SIGTERM reaches it; a stubborn one
# ignores SIGTERM after noting it.
NOTING = """
import signal, sys, time
name, log, stubborn = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
def note(text):
    with open(log, "a") as f:
        f.write(f"{name} {text}\\n")
def on_term(signum, frame):
    note("term")
    if not stubborn:
        sys.exit(0)
signal.signal(signal.SIGTERM, on_term)
note("ready")
time.sleep(60)
"""


def _noting(name: str, log: Path, stubborn: bool = False) -> list[str]:
    return [sys.executable, "-c", NOTING, name, str(log), "1" if stubborn else "0"]


def _wait_exit(child, timeout_s: float = 10) -> None:
    wait_until(lambda: child.process.poll() is not None, timeout_s, f"{child.name} exited")


def test_crashing_child_is_restarted_at_most_five_times_a_minute():
    now = [0.0]
    supervisor = Supervisor(clock=lambda: now[0])
    child = supervisor.add("crasher", CRASH)
    pids = {child.process.pid}
    given_up = []
    for _ in range(7):
        _wait_exit(child)
        now[0] += 1
        given_up += supervisor.check()
        pids.add(child.process.pid)
    assert len(pids) == 6  # the first start plus five restarts
    assert given_up == ["crasher"]  # reported once, not on every check


def test_restart_budget_refills_after_the_window():
    now = [0.0]
    supervisor = Supervisor(max_restarts=2, window_s=60, clock=lambda: now[0])
    child = supervisor.add("crasher", CRASH)
    pids = [child.process.pid]
    for _ in range(2):
        _wait_exit(child)
        supervisor.check()
        pids.append(child.process.pid)
    assert len(set(pids)) == 3 and len(child.restarts) == 2  # the budget is spent
    now[0] += 61
    _wait_exit(child)
    assert supervisor.check() == []
    assert child.process.pid not in pids, "restarted again once the window had passed"
    assert len(child.restarts) == 1 and not child.given_up


def test_stop_ends_children_newest_first_and_kills_the_stubborn(tmp_path):
    log = tmp_path / "signals.log"
    supervisor = Supervisor()
    first = supervisor.add("first", _noting("first", log))
    second = supervisor.add("second", _noting("second", log))
    stubborn = supervisor.add("stubborn", _noting("stubborn", log, stubborn=True))
    wait_until(lambda: log.exists() and log.read_text().count("ready") == 3, 30, "children ready")
    supervisor.stop(timeout_s=1)
    terms = [line.split()[0] for line in log.read_text().splitlines() if line.endswith("term")]
    assert terms == ["stubborn", "second", "first"], "stopped newest first"
    assert stubborn.process.returncode == -9  # ignored SIGTERM, was killed
    assert second.process.returncode == 0 and first.process.returncode == 0


def test_embedded_redis_keeps_data_across_a_restart(tmp_path):
    with EmbeddedRedis(tmp_path) as server:
        client = redis.Redis.from_url(server.url)
        client.xadd("sc:stream:events", {"k": "v"})
    assert (tmp_path / "appendonlydir").exists() or (tmp_path / "appendonly.aof").exists()
    with EmbeddedRedis(tmp_path) as again:
        assert redis.Redis.from_url(again.url).xlen("sc:stream:events") == 1


def test_embedded_redis_listens_on_loopback_only(tmp_path):
    with EmbeddedRedis(tmp_path, persist=False) as server:
        info = redis.Redis.from_url(server.url).config_get("bind")
        assert info["bind"].split()[0] == "127.0.0.1"


def _wall_watching(demo) -> tuple:
    """A wall's live connection to the demo's cockpit (its display token): the ("link", feed
    up?) and ("live", version) messages it receives, in order."""
    import requests
    import socketio

    secret = next(line.split()[2] for line in demo["tokens"].read_text().splitlines()
                  if line.startswith("display"))  # fmt: skip
    kiosk = requests.Session()
    kiosk.get(f"{demo['url']}/kiosk?token={secret}", allow_redirects=False, timeout=30)
    heard: list[tuple[str, object]] = []
    client = socketio.Client()
    client.on("link", lambda m: heard.append(("link", m["feed"])))
    client.on("live", lambda p: heard.append(("live", p["version"])))
    client.on("connect", lambda: client.emit("join", {"lang": "en"}))
    cookie = "; ".join(f"{k}={v}" for k, v in kiosk.cookies.items())
    client.connect(demo["url"], headers={"Cookie": cookie}, transports=["websocket"])
    return client, heard


def test_the_demo_restarts_its_redis_when_it_is_killed(tmp_path):
    """Kill -9 the demo's embedded redis-server: it is started again on the same port with its
    data, the walls are told that the feed is down and, once it is back, get a fresh push at
    once; an event published afterwards still becomes a ticket."""
    import os
    import signal

    from dispatch.store import Store, TicketRow, default_database_url
    from streams.records import Event
    from tests.support.browser import running_demo

    with running_demo(tmp_path / "data", "--no-sim", "--no-vision") as demo:
        wall, heard = _wall_watching(demo)
        wait_until(lambda: "live" in {kind for kind, _ in heard}, 30, "the wall's first push")
        before = demo["bus"].client.info("server")["process_id"]
        demo["bus"].client.xadd("sc:probe", {"kept": "1"})
        demo["bus"].client.execute_command("BGREWRITEAOF")  # the AOF holds the probe
        wait_until(lambda: not demo["bus"].client.info("persistence")["aof_rewrite_in_progress"],
                   10, "the AOF rewritten")  # fmt: skip
        os.kill(before, signal.SIGKILL)
        demo["output"].wait_for(r"embedded Redis is back on", 30)

        def serving() -> bool:
            try:
                return demo["bus"].client.info("server")["process_id"] != before
            except redis.ConnectionError:
                return False

        wait_until(serving, 30, "the same URL served by a new redis-server")
        assert demo["bus"].client.xlen("sc:probe") == 1  # its data came back
        # The wall heard "feed down", then "feed up" followed by a push, within 30 s.
        wait_until(lambda: ("link", True) in heard, 30, "the wall told the feed is back")
        back = heard.index(("link", True))
        assert heard.index(("link", False)) < back
        wait_until(lambda: any(kind == "live" for kind, _ in heard[back + 1 :]), 10,
                   "a push once the feed is back")  # fmt: skip
        wall.disconnect()
        event = Event(category="bin_overflow", lon=120.1725, lat=30.2767, detected_at=time.time())
        store = Store(default_database_url(demo["data"]))

        def filed() -> bool:
            demo["bus"].publish(event)  # until the dispatcher is back: it files it once
            with store.session() as session:
                return session.query(TicketRow).filter_by(event_id=event.event_id).count() == 1

        wait_until(filed, 60, "the event filed after Redis came back", every=2)
        store.dispose()


def test_status_and_readiness_report_the_demos_services(tmp_path):
    """`run.py status` lists every service of a running demo from its heartbeat and exits 0;
    the API and the cockpit say they are ready; with the database gone, status says so and
    exits 1."""
    import os
    import subprocess
    import sys

    import requests

    from config.paths import PROJECT_ROOT
    from tests.support.browser import running_demo

    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env["SC_DATA_DIR"] = str(data)

    def status() -> subprocess.CompletedProcess:
        argv = [sys.executable, str(PROJECT_ROOT / "run.py"), "status"]
        return subprocess.run(argv, env=env, cwd=PROJECT_ROOT, capture_output=True, text=True,
                              timeout=60)  # fmt: skip

    with running_demo(data, "--no-sim", "--no-vision") as demo:
        wanted = ("dispatcher ", "api ", "cockpit ")
        wait_until(lambda: all(w in status().stdout for w in wanted), 60, "three services")
        shown = status()
        assert shown.returncode == 0, shown.stdout + shown.stderr
        assert "bus" in shown.stdout and "database" in shown.stdout and "DOWN" not in shown.stdout
        for url in (demo["api"], demo["url"]):
            answer = requests.get(f"{url}/readyz", timeout=10)
            assert answer.status_code == 200 and answer.json()["status"] == "ready", url
            assert requests.get(f"{url}/healthz", timeout=10).json() == {"status": "alive"}
    env["DATABASE_URL"] = "postgresql+psycopg://nobody@127.0.0.1:1/none"  # nothing listens there
    down = status()
    assert down.returncode == 1 and "NOT READY" in down.stdout, down.stdout + down.stderr


@pytest.mark.parametrize("fmt", ["json", ""])
def test_logs_are_one_line_each_and_json_when_asked(fmt):
    """SC_LOG_FORMAT=json: every line one JSON object a log shipper can read; default key=value."""
    import json
    import os
    import subprocess
    import sys

    from config.paths import PROJECT_ROOT

    script = ("import logging; from stack.context import setup_logging; "
              "setup_logging('dispatcher'); "
              "logging.getLogger('dispatch.x').warning('ticket %s late', 'abc')")  # fmt: skip
    env = {**os.environ, "SC_LOG_FORMAT": fmt}
    done = subprocess.run([sys.executable, "-c", script], env=env, cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    [line] = done.stderr.strip().splitlines()
    if fmt == "json":
        record = json.loads(line)
        assert record["level"] == "WARNING" and record["service"] == "dispatcher"
        assert record["logger"] == "dispatch.x" and record["message"] == "ticket abc late"
    else:
        assert "level=WARNING service=dispatcher logger=dispatch.x ticket abc late" in line
