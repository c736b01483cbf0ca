"""Bus semantics against a real Redis: ack, redelivery, reclaim from dead consumers, caps."""

from __future__ import annotations

import threading

import pytest
import redis

from streams import keys
from streams.bus import Bus, Unavailable, connect
from streams.records import Event, RecordError, TicketChange, UnitPosition, decode
from tests.support.waiting import wait_until


def _event(n: int = 0) -> Event:
    return Event(event_id=f"ev-{n}", category="bin_overflow", lon=120.17, lat=30.27)


def _pending(bus: Bus, stream: str, group: str) -> int:
    return bus.client.xpending(bus.key(stream), group)["pending"]


def test_records_round_trip_through_the_wire_format():
    records = [
        _event(),
        UnitPosition(unit_id="san-01", lon=120.1, lat=30.2),
        TicketChange(ticket_id="t1", version=2, status="dispatched", category="x", lon=1, lat=2),
    ]
    for record in records:
        fields = {k.encode(): v.encode() for k, v in record.to_fields().items()}
        assert decode(fields) == record


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"type": "event", "v": "2", "data": "{}"}, "schema version '2'"),
        ({"type": "teapot", "v": "1", "data": "{}"}, "unknown record type 'teapot'"),
        ({"type": "event", "v": "1", "data": '{"category": "x"}'}, "event data is invalid"),
        ({"type": "event", "v": "1", "data": "not json"}, "event data is invalid"),
    ],
)
def test_undecodable_entries_say_why(fields, words):
    with pytest.raises(RecordError, match=words):
        decode(fields)


def test_group_creation_is_idempotent(bus):
    bus.ensure_group(keys.EVENTS, "g")
    bus.ensure_group(keys.EVENTS, "g")
    groups = bus.client.xinfo_groups(bus.key(keys.EVENTS))
    assert [g["name"] for g in groups] == [b"g"]


def test_handled_entries_are_acknowledged(bus):
    seen = []
    consumer = bus.consumer(keys.EVENTS, "g", "c1", seen.append, block_ms=50)
    bus.publish_many(_event(n) for n in range(5))
    assert consumer.run(max_messages=5) == 5
    assert [e.event_id for e in seen] == [f"ev-{n}" for n in range(5)]
    assert _pending(bus, keys.EVENTS, "g") == 0


def test_failed_entry_stays_pending_and_is_retried(bus):
    attempts = []

    def flaky(record):
        attempts.append(record.event_id)
        if len(attempts) == 1:
            raise RuntimeError("database briefly unavailable")

    consumer = bus.consumer(keys.EVENTS, "g", "c1", flaky, block_ms=50, claim_idle_ms=0)
    bus.publish(_event(1))
    consumer.poll()
    assert _pending(bus, keys.EVENTS, "g") == 1
    consumer.poll()  # claims its own idle failure and retries it
    assert attempts == ["ev-1", "ev-1"]
    assert _pending(bus, keys.EVENTS, "g") == 0


def test_entries_of_a_dead_consumer_are_reclaimed(bus):
    crashed = bus.consumer(keys.EVENTS, "g", "dies", lambda r: None, block_ms=50)
    bus.publish_many(_event(n) for n in range(3))
    crashed._read(">", 10, block=None)  # it read the entries, then died before handling them
    assert _pending(bus, keys.EVENTS, "g") == 3

    seen = []
    early = bus.consumer(keys.EVENTS, "g", "heir", seen.append, block_ms=50, claim_idle_ms=60_000)
    early.poll()
    assert seen == []  # not idle long enough: the other consumer might still be working

    heir = bus.consumer(keys.EVENTS, "g", "heir", seen.append, block_ms=50, claim_idle_ms=0)
    heir.poll()
    assert sorted(e.event_id for e in seen) == ["ev-0", "ev-1", "ev-2"]
    assert _pending(bus, keys.EVENTS, "g") == 0


def test_restarted_consumer_finishes_its_own_backlog_first(bus):
    bus.publish_many(_event(n) for n in range(3))
    first = bus.consumer(keys.EVENTS, "g", "same-name", lambda r: None, block_ms=50)
    first._read(">", 2, block=None)  # read two, crashed before ack
    seen = []
    again = bus.consumer(
        keys.EVENTS, "g", "same-name", seen.append, block_ms=50, claim_idle_ms=60_000
    )
    again.run(max_messages=3)
    assert [e.event_id for e in seen] == ["ev-0", "ev-1", "ev-2"]


def test_redelivery_reaches_the_handler_again(bus):
    """At-least-once: an entry handled but not acknowledged is delivered again."""
    seen = []
    consumer = bus.consumer(keys.EVENTS, "g", "c1", seen.append, block_ms=50)
    bus.publish(_event(7))
    entries = consumer._read(">", 10, block=None)
    for _, fields in entries:
        seen.append(decode(fields))  # handled, but the process died before XACK
    consumer.run(max_messages=1)
    assert [e.event_id for e in seen] == ["ev-7", "ev-7"]


def test_poison_entries_go_to_dead_letters_and_do_not_block(bus):
    seen = []
    consumer = bus.consumer(keys.EVENTS, "g", "c1", seen.append, block_ms=50)
    bus.client.xadd(bus.key(keys.EVENTS), {"type": "event", "v": "9", "data": "{}"})
    bus.publish(_event(1))
    consumer.run(max_messages=2)
    assert [e.event_id for e in seen] == ["ev-1"]
    dead = bus.client.xrange(keys.dead_letters(keys.EVENTS))
    assert len(dead) == 1 and b"schema version" in dead[0][1][b"error"]
    assert _pending(bus, keys.EVENTS, "g") == 0


def test_handler_failing_every_time_is_dead_lettered_after_max_deliveries(bus):
    attempts = []

    def broken(record):
        attempts.append(record.event_id)
        raise ValueError("unknown category")

    consumer = bus.consumer(
        keys.EVENTS, "g", "c1", broken, block_ms=50, claim_idle_ms=0, max_deliveries=3
    )
    bus.publish(_event(1))
    for _ in range(2):
        consumer.poll()
    assert _pending(bus, keys.EVENTS, "g") == 1  # two failures: still pending, retried
    for _ in range(2):
        consumer.poll()
    assert attempts == ["ev-1"] * 3, "tried exactly max_deliveries times"
    assert _pending(bus, keys.EVENTS, "g") == 0
    dead = bus.client.xrange(keys.dead_letters(keys.EVENTS))
    assert len(dead) == 1 and b"failed 3 times" in dead[0][1][b"error"]


def test_batches_go_to_the_batch_handler_in_one_call(bus):
    batches, single = [], []
    consumer = bus.consumer(
        keys.EVENTS, "g", "c1", single.append, block_ms=50, batch_handler=batches.append
    )
    bus.publish_many([_event(n) for n in range(5)])
    consumer.poll()
    assert [[e.event_id for e in batch] for batch in batches] == [[f"ev-{n}" for n in range(5)]]
    assert single == [] and _pending(bus, keys.EVENTS, "g") == 0


def test_failed_batch_is_handled_one_by_one_so_one_bad_entry_spares_the_rest(bus, caplog):
    def batch(records):
        raise ValueError("one of these is bad")

    def one(record):
        if record.event_id == "ev-2":
            raise ValueError("bad")
        seen.append(record.event_id)

    seen = []
    consumer = bus.consumer(
        keys.EVENTS,
        "g",
        "c1",
        one,
        block_ms=50,
        claim_idle_ms=0,
        max_deliveries=2,
        batch_handler=batch,
    )
    bus.publish_many([_event(n) for n in range(4)])
    with caplog.at_level("WARNING", logger="streams.bus"):
        for _ in range(3):
            consumer.poll()
    said = f"{bus.key(keys.EVENTS)}: batch of 4 failed; handling one by one"
    assert said in [r.getMessage() for r in caplog.records]
    assert seen == ["ev-0", "ev-1", "ev-3"]
    assert _pending(bus, keys.EVENTS, "g") == 0
    assert len(bus.client.xrange(keys.dead_letters(keys.EVENTS))) == 1


def test_streams_are_capped(redis_url):
    from streams.bus import connect

    small = Bus(connect(redis_url), maxlen=100)
    for start in range(0, 3000, 500):
        small.publish_many(_event(n) for n in range(start, start + 500))
    length = small.client.xlen(small.key(keys.EVENTS))
    # Approximate trimming drops whole nodes of 100 entries: near the cap, never unbounded.
    assert 100 <= length <= 200, length


def test_entries_trimmed_before_they_were_handled_are_reported_not_stuck(redis_url, caplog):
    """A consumer that fell a whole cap behind: the trimmed entries are gone (said loudly, with
    the fix), nothing is left pending forever, and what is still there is handled."""
    from streams.bus import connect

    small = Bus(connect(redis_url), maxlen=100)
    slow = small.consumer(keys.EVENTS, "g", "slow", lambda r: None, block_ms=50)
    small.publish_many(_event(n) for n in range(50))
    slow._read(">", 50, block=None)  # read, then crashed before handling
    for start in range(50, 1050, 100):  # the stream moves on and is trimmed past them
        small.publish_many(_event(n) for n in range(start, start + 100))
    seen = []
    again = small.consumer(keys.EVENTS, "g", "slow", seen.append, block_ms=50)
    with caplog.at_level("WARNING", logger="streams.bus"):
        while again.poll():
            pass
    assert "50 entries were trimmed" in caplog.text and "raise the stream cap" in caplog.text
    assert _pending(small, keys.EVENTS, "g") == 0
    handled = [int(e.event_id.removeprefix("ev-")) for e in seen]
    assert handled and min(handled) >= 50, "nothing trimmed was handled"
    assert handled[-1] == 1049  # and it went on with everything still there


def test_a_run_stops_after_max_messages_and_single_publishes_are_capped_too(redis_url):
    from streams.bus import connect

    small = Bus(connect(redis_url), maxlen=100)
    for n in range(600):
        small.publish(_event(n))
    assert 100 <= small.client.xlen(small.key(keys.EVENTS)) <= 200, "one by one, still capped"
    seen = []
    consumer = small.consumer(keys.EVENTS, "g", "c1", seen.append, block_ms=50, batch=40)
    assert consumer.run(max_messages=50) == 50 and len(seen) == 50


def test_a_consumer_whose_group_vanished_recreates_it_and_goes_on(bus):
    """The stream and group were deleted under a running service (a Redis flushed or restarted
    without its data): it waits, recreates its group and handles what comes next."""
    seen, stop = [], threading.Event()
    consumer = bus.consumer(keys.EVENTS, "g", "c1", seen.append, block_ms=50)
    thread = threading.Thread(target=consumer.run, args=(stop,), daemon=True)
    thread.start()
    try:
        bus.publish(_event(1))
        wait_until(lambda: [e.event_id for e in seen] == ["ev-1"], 10, "the first event")
        bus.client.delete(bus.key(keys.EVENTS))  # the group goes with the stream
        wait_until(
            lambda: bus.publish(_event(2)) and "ev-2" in [e.event_id for e in seen],
            20,
            "an event after the group was recreated",
            every=0.5,
        )
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()
    assert _pending(bus, keys.EVENTS, "g") == 0


def test_the_camera_walls_frame_cache_keeps_the_latest_frame_and_lets_it_expire(bus):
    from streams.frames import TTL_S, Frame, FrameCache

    cache = FrameCache(bus)
    assert cache.get("cam-01") is None
    cache.put("cam-01", Frame(b"\xff\xd8\xff first", 10.0, 1))
    cache.put("cam-01", Frame(b"\xff\xd8\xff second", 11.5, 3, ("shifted", "dark")))
    assert cache.get("cam-01") == Frame(b"\xff\xd8\xff second", 11.5, 3, ("shifted", "dark"))
    cache.put("cam-01", Frame(b"\xff\xd8\xff third", 12.0, 0))  # the picture is right again
    assert cache.get("cam-01").problems == ()
    assert 0 < bus.client.ttl(keys.camera_frame("cam-01", bus.namespace)) <= TTL_S
    assert cache.get("cam-02") is None


def test_the_frame_cache_rides_out_a_redis_outage(tmp_path):
    """A Redis that went away: a worker's frame is dropped (analysis goes on), the wall shows
    the camera as without a frame; once Redis is back, frames flow again."""
    from streams.embedded import EmbeddedRedis
    from streams.frames import Frame, FrameCache

    private = EmbeddedRedis(tmp_path / "redis")
    cache = FrameCache(Bus(connect(private.start())))
    cache.put("cam-01", Frame(b"\xff\xd8\xff before", 1.0, 0))
    private.stop()
    cache.put("cam-01", Frame(b"\xff\xd8\xff during", 2.0, 0))  # no exception
    assert cache.get("cam-01") is None
    private.start()
    cache.put("cam-01", Frame(b"\xff\xd8\xff after", 3.0, 1))
    assert cache.get("cam-01") == Frame(b"\xff\xd8\xff after", 3.0, 1)
    private.stop()


def test_a_dependency_away_keeps_entries_pending_without_counting_failures(bus, caplog):
    """The handler's database is away (`Unavailable`) as often as `max_deliveries`: nothing is
    dead-lettered, what was handled before stays handled (and counted), the consumer says once
    which of its dependencies is away and that it is back, and every entry is handled once."""
    away, seen, stop = {"left": 2}, [], threading.Event()

    def handler(record):
        if record.event_id == "ev-2" and away["left"]:
            away["left"] -= 1
            raise Unavailable("database away") from ConnectionError("refused")
        seen.append(record.event_id)

    # Claiming is off (a day): only re-reading its own backlog can bring the entries back.
    consumer = bus.consumer(
        keys.EVENTS, "g", "c1", handler, block_ms=50, claim_idle_ms=86_400_000, max_deliveries=1
    )
    bus.publish_many(_event(n) for n in range(4))
    thread = threading.Thread(target=consumer.run, args=(stop,), daemon=True)
    with caplog.at_level("INFO", logger="streams.bus"):
        thread.start()
        try:
            wait_until(lambda: len(seen) == 4, 30, "all four events handled")
        finally:
            stop.set()
            thread.join(10)
    assert not thread.is_alive()
    assert seen == ["ev-0", "ev-1", "ev-2", "ev-3"] and away["left"] == 0
    assert bus.client.xlen(keys.dead_letters(keys.EVENTS)) == 0
    assert _pending(bus, keys.EVENTS, "g") == 0
    what = f"what consumer g/c1 on {bus.key(keys.EVENTS)} writes to"
    said = [r.getMessage() for r in caplog.records]
    assert said[0] == f"consumer g/c1 on {bus.key(keys.EVENTS)} started", said
    assert [m.startswith(f"{what} unavailable (ConnectionError: refused)") for m in said].count(
        True
    ) == 1, said
    assert any(m.startswith(f"{what} back after") for m in said), said
    assert said[-1] == "consumer g/c1 stopped after 4 entries", said


def test_a_batch_whose_dependency_is_away_is_not_split_or_dead_lettered(bus):
    calls = []

    def batch(records):
        calls.append(len(records))
        raise Unavailable("database away")

    single = []
    consumer = bus.consumer(
        keys.EVENTS, "g", "c1", single.append, block_ms=50, max_deliveries=1, batch_handler=batch
    )
    bus.publish_many(_event(n) for n in range(3))
    with pytest.raises(Unavailable):
        consumer.poll()
    assert calls == [3] and single == []
    assert _pending(bus, keys.EVENTS, "g") == 3
    assert bus.client.xlen(keys.dead_letters(keys.EVENTS)) == 0


def test_a_single_entry_goes_to_the_plain_handler_and_a_poisoned_batch_one_by_one(bus, caplog):
    batches, single = [], []
    consumer = bus.consumer(
        keys.EVENTS, "g", "c1", single.append, block_ms=50, batch_handler=batches.append
    )
    bus.publish(_event(0))
    consumer.poll()
    assert batches == [] and [e.event_id for e in single] == ["ev-0"]
    bus.publish(_event(1))
    bad = bus.client.xadd(bus.key(keys.EVENTS), {"type": "event", "v": "9", "data": "{}"})
    bus.publish(_event(2))
    with caplog.at_level("INFO", logger="streams.bus"):
        consumer.poll()
    assert batches == [] and [e.event_id for e in single] == ["ev-0", "ev-1", "ev-2"]
    said = [r.getMessage() for r in caplog.records]
    assert said == [
        f"{bus.key(keys.EVENTS)} {bad.decode()}: undecodable entry moved to dead letters: "
        "event schema version '9' is not 1; upgrade this consumer"
    ], said
    dead = bus.client.xrange(keys.dead_letters(keys.EVENTS))
    assert len(dead) == 1
    fields = dead[0][1]  # the entry as it was, with where it came from and why
    assert fields[b"type"] == b"event" and fields[b"v"] == b"9" and fields[b"data"] == b"{}"
    assert fields[b"entry_id"] == bad and fields[b"group"] == b"g"
    assert b"schema version" in fields[b"error"]
    assert _pending(bus, keys.EVENTS, "g") == 0


def test_consumer_defaults_a_batch_of_200_five_deliveries_and_no_early_claims(bus):
    seen = []
    consumer = bus.consumer(keys.EVENTS, "g", "c1", seen.append, block_ms=50)
    bus.publish_many(_event(n) for n in range(250))
    assert consumer.poll() == 200 and len(seen) == 200
    # Another consumer's fresh pending entries are not taken (it may still be working on them).
    bus.consumer(keys.EVENTS, "g", "other", lambda r: None)._read(">", 50, block=None)
    assert consumer.poll() == 0
    attempts = []

    def broken(record):
        attempts.append(record.event_id)
        raise ValueError("unknown category")

    failing = bus.consumer(keys.EVENTS, "h", "c1", broken, block_ms=50, claim_idle_ms=0)
    bus.client.delete(bus.key(keys.EVENTS))
    bus.ensure_group(keys.EVENTS, "h")
    bus.publish(_event(9))
    while bus.client.xlen(keys.dead_letters(keys.EVENTS)) == 0 and len(attempts) < 10:
        failing.poll()
    assert attempts == ["ev-9"] * 5


def test_backlog_reachability_and_shared_rate_limit_storage(bus, tmp_path):
    from streams.embedded import EmbeddedRedis

    assert bus.group_backlog(keys.EVENTS, "g") is None  # no stream yet
    bus.publish_many(_event(n) for n in range(5))
    bus.ensure_group(keys.EVENTS, "g")
    assert bus.group_backlog(keys.EVENTS, "other") is None
    bus.consumer(keys.EVENTS, "g", "c1", lambda r: None)._read(">", 2, block=None)
    assert bus.group_backlog(keys.EVENTS, "g") == (2, 3)  # read, not acknowledged; not read
    bus.consumer(keys.EVENTS, "g", "c2", lambda r: None, block_ms=50).poll()
    bus.consumer(keys.EVENTS, "g", "c1", lambda r: None, block_ms=50).poll()
    assert bus.group_backlog(keys.EVENTS, "g") == (0, 0)
    uri, options = bus.rate_limits()
    assert uri == "redis://" and options == {"connection_pool": bus.client.connection_pool}
    assert bus.reachable()
    private = EmbeddedRedis(tmp_path / "redis")
    gone = Bus(connect(private.start()))
    private.stop()
    assert not gone.reachable()


def test_a_group_cannot_be_made_on_a_key_that_is_not_a_stream(bus):
    bus.client.set(bus.key(keys.EVENTS), "not a stream")
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        bus.ensure_group(keys.EVENTS, "g")


def test_a_failing_handler_is_logged_and_dead_letters_stay_in_the_buses_namespace(
    redis_url, caplog
):
    other = Bus(connect(redis_url), namespace="district-b")

    def broken(record):
        raise ValueError("unknown category")

    consumer = other.consumer(keys.EVENTS, "g", "c1", broken, block_ms=50, max_deliveries=1)
    entry = other.publish(_event(1))
    with caplog.at_level("INFO", logger="streams.bus"):
        consumer.poll()
    assert [r.getMessage() for r in caplog.records] == [
        f"{other.key(keys.EVENTS)} {entry}: handler failed"
    ]
    assert other.client.xlen(keys.dead_letters(keys.EVENTS, "district-b")) == 1
    assert other.client.xlen(keys.dead_letters(keys.EVENTS)) == 0


def test_entries_trimmed_under_a_dead_consumer_are_reported_by_the_one_that_claims(
    redis_url, caplog
):
    small = Bus(connect(redis_url), maxlen=100)
    small.consumer(keys.EVENTS, "g", "dies", lambda r: None)
    small.publish_many(_event(n) for n in range(30))
    small.consumer(keys.EVENTS, "g", "dies", lambda r: None)._read(">", 30, block=None)
    for start in range(30, 1030, 100):
        small.publish_many(_event(n) for n in range(start, start + 100))
    heir = small.consumer(keys.EVENTS, "g", "heir", lambda r: None, block_ms=50, claim_idle_ms=0)
    with caplog.at_level("WARNING", logger="streams.bus"):
        heir.poll()
    assert [r.getMessage() for r in caplog.records] == [
        f"{small.key(keys.EVENTS)}: 30 entries were trimmed from the capped stream before group g "
        "handled them and are lost; raise the stream cap (maxlen) or run more consumers"
    ]
    assert _pending(small, keys.EVENTS, "g") == 0
