"""How the bus is wired to Redis: each deployment's namespace keeps its streams apart on a
shared server, and the client keeps its connection alive and checks it before use."""

from __future__ import annotations

from streams import keys
from streams.bus import Bus, connect
from streams.records import Event


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
