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
            # The one warning says which consumer waits, and why.
            who = f"Redis for consumer g/c1 on {bus.key(keys.EVENTS)} unavailable (Connection"
            assert who in caplog.text
            server.start()
            bus.publish(Event(event_id="after", category="bin_overflow", lon=120.17, lat=30.27))
            wait_until(lambda: seen == ["before", "after"], 30, "the entry after the outage")
        finally:
            stop.set()
            thread.join(10)
    _quiet(caplog, "streams.bus")


def test_a_consumer_waits_for_redis_and_can_be_stopped_while_it_is_away(private_redis, caplog):
    """Stopped during the outage, the consumer returns what it handled and says so."""
    server, bus = private_redis
    seen: list[str] = []
    consumer = bus.consumer(keys.EVENTS, "g", "c1", lambda record: seen.append(record.event_id))
    result, stop = [], threading.Event()
    thread = threading.Thread(target=lambda: result.append(consumer.run(stop)))
    with caplog.at_level(logging.INFO, logger="streams.bus"):
        thread.start()
        bus.publish(Event(event_id="before", category="bin_overflow", lon=120.17, lat=30.27))
        wait_until(lambda: seen == ["before"], 20, "the first entry")
        server.stop()
        wait_until(lambda: "retrying quietly" in caplog.text, 30, "the outage noticed")
        stop.set()
        thread.join(15)
    assert not thread.is_alive() and result == [1]
    assert caplog.records[-1].getMessage() == "consumer g/c1 stopped after 1 entries"


def test_a_dispatcher_waits_out_a_database_outage_and_files_everything_once(
    bus, demo_cfg, demo_index, caplog
):
    """PostgreSQL stopped for 20 s while reports keep coming: nothing is dead-lettered (the old
    consumer parked them after five failed deliveries), nothing filed twice, one warning and one
    line when it is back, no traceback."""
    import time

    from sqlalchemy import func, select

    from dispatch.dispatcher import GROUP, Dispatcher, run_dispatcher
    from dispatch.routing import Router
    from dispatch.store import EventLinkRow, Store
    from sim.district import to_lon_lat
    from tests.support.postgres import PrivatePostgres

    server = PrivatePostgres()
    store = Store(server.start().replace("postgresql://", "postgresql+psycopg://"))
    store.create_schema()
    dispatcher = Dispatcher(demo_cfg, store, bus, Router(demo_cfg, demo_index))
    stop = threading.Event()
    worker = threading.Thread(target=run_dispatcher, args=(dispatcher, "d1", stop),
                              kwargs={"claim_idle_ms": 500, "tick_s": 3600})  # fmt: skip

    def report(n: int) -> Event:
        lon, lat = to_lon_lat(100 + (n % 20) * 110, 100 + (n // 20) * 120)
        return Event(event_id=f"outage-{n:03d}", category="dirty_road", source="citizen",
                     lon=lon, lat=lat, detected_at=time.time())  # fmt: skip

    def filed() -> int:
        with store.session() as session:
            return session.scalar(select(func.count()).select_from(EventLinkRow))

    halted = False
    try:
        with caplog.at_level(logging.INFO):
            worker.start()
            bus.publish_many([report(n) for n in range(40)])
            wait_until(lambda: filed() == 40, 60, "the first reports filed")
            with store.engine.begin() as connection:  # the test cluster runs without fsync
                connection.exec_driver_sql("CHECKPOINT")
            server.halt()
            halted = True
            went = time.monotonic()
            bus.publish_many([report(n) for n in range(40, 120)])
            wait_until(lambda: "retrying quietly" in caplog.text, 30, "the outage noticed")
            wait_until(lambda: time.monotonic() - went >= 20, 30, "20 s without the database")
            server.resume()
            halted = False
            wait_until(lambda: filed() == 120, 120, "every report filed after the outage")
            wait_until(lambda: bus.client.xpending(bus.key(keys.EVENTS), GROUP)["pending"] == 0,
                       30, "every entry acknowledged")  # fmt: skip
    finally:
        stop.set()
        worker.join(30)
        store.dispose()
        if halted:  # a failure mid-outage: bring it back so that it can be stopped
            server.resume()
        server.stop()
    assert bus.client.xlen(keys.dead_letters(keys.EVENTS, bus.namespace)) == 0
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert not tracebacks, [r.getMessage() for r in tracebacks][:3]
    warned = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert 1 <= len(warned) <= 4, warned  # the events consumer, the positions', the zones'
    assert "back after" in caplog.text


def test_a_scrape_while_redis_is_away_leaves_out_only_the_bus(private_redis, store):
    """Prometheus scraping a dispatcher whose Redis is away still gets the tickets per state;
    the bus's backlog is missing (that absence is what an alert looks for), no scrape error."""
    from prometheus_client import CollectorRegistry, generate_latest

    from dispatch.dispatcher import GROUP
    from dispatch.metrics import DispatchCollector

    server, bus = private_redis
    bus.ensure_group(keys.EVENTS, GROUP)
    registry = CollectorRegistry()
    registry.register(DispatchCollector(store, bus, GROUP))
    assert "sc_bus_lag" in generate_latest(registry).decode()
    server.stop()
    scraped = generate_latest(registry).decode()
    assert 'sc_tickets{state="dispatched"} 0.0' in scraped and "sc_bus_lag" not in scraped


def test_failed_credentials_count_across_processes_and_locally_while_redis_is_away(
    private_redis,
):
    """Two API processes' counters (two Guesses on one Redis) add up; with Redis stopped each
    counts on its own, so guessing is still limited and nothing fails."""
    from types import SimpleNamespace

    from dispatch.api.guesses import Guesses, TooManyGuesses

    server, bus = private_redis
    caller = SimpleNamespace(scope={"client": ("203.0.113.9", 5000)})
    first, second = Guesses(4, bus), Guesses(4, bus)
    for guesses in (first, second, first, second):
        guesses.check(caller)
        guesses.failed(caller)
    with pytest.raises(TooManyGuesses):  # four in all, two each: the shared count says no
        second.check(caller)
    server.stop()
    alone = Guesses(2, bus)
    for _ in range(2):
        alone.check(caller)
        alone.failed(caller)
    with pytest.raises(TooManyGuesses):
        alone.check(caller)
