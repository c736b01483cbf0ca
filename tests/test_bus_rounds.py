"""A consumer's rounds against a real Redis: how much it takes per round from its own backlog and
from dead consumers, when it retries after an outage, what it does with its own pending entries
that the capped stream trimmed, and where dead letters stop."""

from __future__ import annotations

import logging
import threading

import redis

from streams import keys
from streams.bus import Unavailable
from streams.records import Event


def _event(n: int) -> Event:
    return Event(event_id=f"ev-{n}", category="bin_overflow", lon=120.17, lat=30.27)


class Waits(threading.Event):
    """A stop event that records how long the consumer meant to wait, without waiting, and
    stops it after `rounds` waits."""

    def __init__(self, rounds: int):
        super().__init__()
        self.rounds, self.asked = rounds, []

    def wait(self, timeout=None) -> bool:
        self.asked.append(timeout)
        if len(self.asked) >= self.rounds:
            self.set()
        return self.is_set()


def test_a_dependency_away_is_retried_after_1_2_4_then_every_5_s(bus):
    """Backing off spares a database that is struggling; the pause starts over after the
    dependency answers again."""
    calls = {"n": 0}

    def handler(record):  # away 6 times; then 2 entries go through, a 3rd comes, away again
        calls["n"] += 1
        if calls["n"] == 8:
            bus.publish(_event(2))
        if calls["n"] <= 6 or calls["n"] >= 9:
            raise Unavailable("database away") from ConnectionError("refused")

    consumer = bus.consumer(keys.EVENTS, "g", "c1", handler, block_ms=10, max_deliveries=1)
    bus.publish_many(_event(n) for n in range(2))
    stop = Waits(rounds=7)
    consumer.run(stop)
    assert stop.asked == [1.0, 2.0, 4.0, 5.0, 5.0, 5.0, 1.0]


def test_redis_away_is_retried_every_second(bus, monkeypatch):
    consumer = bus.consumer(keys.EVENTS, "g", "c1", lambda r: None, block_ms=10)

    def refused(*args, **kwargs):
        raise redis.ConnectionError("Connection refused")

    monkeypatch.setattr(consumer, "poll", refused)
    stop = Waits(rounds=3)
    assert consumer.run(stop) == 0
    assert stop.asked == [1.0, 1.0, 1.0]


def test_own_backlog_and_dead_consumers_entries_come_a_batch_at_a_time(bus):
    """A consumer restarted with 5 entries of its own pending, and 5 more left by a dead one,
    takes them `batch` at a time, its own first."""
    bus.publish_many(_event(n) for n in range(10))
    crashed = bus.consumer(keys.EVENTS, "g", "c1", lambda r: None)
    crashed._read(">", 5, block=None)  # c1 read 5 and crashed before handling them
    dead = bus.consumer(keys.EVENTS, "g", "dead", lambda r: None)
    dead._read(">", 5, block=None)  # and another consumer died with 5 more
    seen: list[str] = []
    again = bus.consumer(
        keys.EVENTS, "g", "c1", lambda r: seen.append(r.event_id), batch=2, claim_idle_ms=0
    )
    rounds = [again.poll() for _ in range(6)]
    assert rounds == [2, 2, 1, 2, 2, 1]
    assert seen == [f"ev-{n}" for n in range(10)]


def test_own_pending_entries_trimmed_away_are_acknowledged_and_reported(bus, caplog):
    """A consumer read 3 entries and stopped; the capped stream trimmed them before it came back:
    it acknowledges them (nothing stays pending for ever) and says they are lost."""
    bus.publish_many(_event(n) for n in range(3))
    consumer = bus.consumer(keys.EVENTS, "g", "c1", lambda r: None)
    consumer._read(">", 10, block=None)
    bus.client.xtrim(bus.key(keys.EVENTS), maxlen=0)
    with caplog.at_level(logging.WARNING, logger="streams.bus"):
        assert bus.consumer(keys.EVENTS, "g", "c1", lambda r: None).poll() == 0
    assert bus.client.xpending(bus.key(keys.EVENTS), "g")["pending"] == 0
    assert "3 entries were trimmed from the capped stream before group g handled them" in (
        caplog.text
    )


def test_dead_letters_stop_at_about_ten_thousand(bus):
    consumer = bus.consumer(keys.EVENTS, "g", "c1", lambda r: None)
    for n in range(10_300):
        consumer._dead_letter(f"1-{n}".encode(), {"bad": "x"}, "poison")
    kept = bus.client.xlen(keys.dead_letters(keys.EVENTS, bus.namespace))
    assert 10_000 <= kept < 10_300
