"""Process model: bounded restarts, ordered stop, and the private Redis with persistence."""

from __future__ import annotations

import sys
import time

import redis

from stack.supervisor import Supervisor
from streams.embedded import EmbeddedRedis

CRASH = [sys.executable, "-c", "import sys; sys.exit(3)"]
SLEEP = [sys.executable, "-c", "import time; time.sleep(60)"]
STUBBORN = [
    sys.executable,
    "-c",
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)",
]


def _wait_exit(child, timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while child.process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)


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
    for _ in range(2):
        _wait_exit(child)
        supervisor.check()
    now[0] += 61
    _wait_exit(child)
    supervisor.check()
    assert not child.given_up


def test_stop_ends_children_newest_first_and_kills_the_stubborn():
    supervisor = Supervisor()
    first = supervisor.add("first", SLEEP)
    second = supervisor.add("second", STUBBORN)
    time.sleep(0.5)  # let the stubborn child install its SIGTERM handler
    started = time.monotonic()
    supervisor.stop(timeout_s=1)
    assert first.process.returncode is not None and second.process.returncode is not None
    assert second.process.returncode == -9  # ignored SIGTERM, was killed
    assert time.monotonic() - started < 10


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
