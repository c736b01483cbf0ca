"""Services ride out a Redis outage quietly: one warning when it goes, one line when it is back,
no traceback, nothing lost (a real redis-server stopped and started again)."""

from __future__ import annotations

import logging
import threading

import pytest

from geo.layers import load_layers
from sim.player import ScenarioPlayer
from sim.scenario import load_scenario
from streams import keys
from streams.bus import Bus, connect
from streams.embedded import EmbeddedRedis
from streams.records import Event, decode
from tests.support.waiting import wait_until


@pytest.fixture
def private_redis(tmp_path):
    server = EmbeddedRedis(tmp_path / "redis")
    bus = Bus(connect(server.start()))
    yield server, bus
    if server.exited():
        server.start()
    server.stop()


def _quiet(caplog, logger: str) -> None:
    records = [r for r in caplog.records if r.name == logger]
    warned = [r.getMessage() for r in records if r.levelno == logging.WARNING]
    back = [r.getMessage() for r in records if "back after" in r.getMessage()]
    assert len(warned) == 1 and "retrying quietly" in warned[0], warned
    assert len(back) == 1, back
    assert not any(r.exc_info for r in records), "a traceback in the log"


def test_the_scenario_player_waits_for_redis_and_loses_no_event(private_redis, demo_cfg, caplog):
    server, bus = private_redis
    scenario = load_scenario(demo_cfg.sim.scenario, demo_cfg)
    now, pauses = [0.0], [0]

    def clock():
        now[0] += 0.01  # each reading: 10 scenario seconds at x1000
        return now[0]

    def sleep(_seconds):
        pauses[0] += 1
        if pauses[0] == 5:  # mid-timeline: Redis goes away until the player noticed
            server.stop()
            threading.Thread(target=_restart_when_noticed, args=(server, caplog)).start()

    player = ScenarioPlayer(demo_cfg, scenario, load_layers(demo_cfg), bus, speed=1000.0,
                            clock=clock, sleep=sleep)  # fmt: skip
    with caplog.at_level(logging.INFO, logger="sim.player"):
        sent = player.run(max_loops=2)
    assert sent == 2 * len(scenario.events)
    events = [decode(f) for _, f in bus.client.xrange(bus.key(keys.EVENTS))]
    assert len(events) == len({e.event_id for e in events}) == sent  # all there, once each
    _quiet(caplog, "sim.player")


def _restart_when_noticed(server: EmbeddedRedis, caplog) -> None:
    wait_until(lambda: "retrying quietly" in caplog.text, 30, "the outage noticed")
    server.start()


def test_a_consumer_waits_for_redis_and_handles_what_comes_after(private_redis, caplog):
    server, bus = private_redis
    seen: list[str] = []
    consumer = bus.consumer(keys.EVENTS, "g", "c1", lambda record: seen.append(record.event_id))
    stop = threading.Event()
    with caplog.at_level(logging.INFO, logger="streams.bus"):
        thread = threading.Thread(target=consumer.run, args=(stop,))
        thread.start()
        try:
            bus.publish(Event(event_id="before", category="bin_overflow", lon=120.17, lat=30.27))
            wait_until(lambda: seen == ["before"], 20, "the first entry")
            server.stop()
            wait_until(lambda: "retrying quietly" in caplog.text, 30, "the outage noticed")
            server.start()
            bus.publish(Event(event_id="after", category="bin_overflow", lon=120.17, lat=30.27))
            wait_until(lambda: seen == ["before", "after"], 30, "the entry after the outage")
        finally:
            stop.set()
            thread.join(10)
    _quiet(caplog, "streams.bus")
