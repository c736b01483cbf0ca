"""How the bus is wired to Redis: each deployment's namespace keeps its streams apart on a
shared server, and the client keeps its connection alive and checks it before use."""

from __future__ import annotations

import threading

from streams import keys
from streams.bus import Bus, Unavailable, connect
from streams.records import Event
from tests.support.waiting import wait_until


def test_two_namespaces_on_one_redis_never_see_each_others_records(redis_url):
    client = connect(redis_url)
    city_a = Bus(client, namespace="test-wiring-a")
    city_b = Bus(client, namespace="test-wiring-b")
    try:
        assert city_a.key(keys.EVENTS) == keys.stream(keys.EVENTS, "test-wiring-a")
        city_a.publish(Event(event_id="a-1", category="bin_overflow", lon=120.17, lat=30.27))
        seen_a, seen_b = [], []
        city_a.consumer(keys.EVENTS, "g", "c", lambda r: seen_a.append(r.event_id)).poll(10)
        city_b.consumer(keys.EVENTS, "g", "c", lambda r: seen_b.append(r.event_id)).poll(10)
        assert seen_a == ["a-1"] and seen_b == []
    finally:
        client.delete(city_a.key(keys.EVENTS), city_b.key(keys.EVENTS))


def test_the_client_keeps_its_connection_alive_and_checks_it_every_30_s(redis_url):
    kwargs = connect(redis_url).connection_pool.connection_kwargs
    assert kwargs["socket_keepalive"] is True  # a dead peer is noticed by the kernel
    assert kwargs["health_check_interval"] == 30  # an idle connection is pinged before use


def test_a_consumer_stopped_while_its_dependency_is_away_reports_what_it_handled(bus, caplog):
    """The database stays away after the first entry: stopping the consumer then returns the
    true count and says so, as a stop at any other moment does."""
    seen = []

    def handler(record):
        if record.event_id != "ev-0":
            raise Unavailable("database away") from ConnectionError("refused")
        seen.append(record.event_id)

    consumer = bus.consumer(keys.EVENTS, "g", "c1", handler, block_ms=50, max_deliveries=1)
    bus.publish_many(
        Event(event_id=f"ev-{n}", category="bin_overflow", lon=120.17, lat=30.27) for n in range(3)
    )
    result, stop = [], threading.Event()
    thread = threading.Thread(target=lambda: result.append(consumer.run(stop)), daemon=True)
    with caplog.at_level("INFO", logger="streams.bus"):
        thread.start()
        wait_until(lambda: "retrying quietly" in caplog.text, 20, "the dependency noticed away")
        stop.set()
        thread.join(15)
    assert not thread.is_alive() and result == [1] and seen == ["ev-0"]
    assert caplog.records[-1].getMessage() == "consumer g/c1 stopped after 1 entries"


def test_two_entries_already_make_a_batch(bus):
    batches, single = [], []
    consumer = bus.consumer(
        keys.EVENTS, "g", "c1", single.append, block_ms=50, batch_handler=batches.append
    )
    bus.publish_many(
        Event(event_id=f"ev-{n}", category="bin_overflow", lon=120.17, lat=30.27) for n in range(2)
    )
    assert consumer.poll() == 2
    assert [[e.event_id for e in batch] for batch in batches] == [["ev-0", "ev-1"]] and not single
