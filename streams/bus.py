"""Redis Streams bus: capped publishing, consumer groups, ack after success, reclaiming."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable

import redis

from streams import keys
from streams.outage import Outage
from streams.records import Record, RecordError, decode

log = logging.getLogger(__name__)

Handler = Callable[[Record], None]


def connect(url: str) -> redis.Redis:
    """A Redis client for the bus (bytes responses; the records decode themselves)."""
    return redis.Redis.from_url(url, socket_keepalive=True, health_check_interval=30)


class Unavailable(Exception):
    """A handler's own dependency (the ticket database) is away: the entry is kept pending for
    later, not counted as a failure and never dead-lettered; the consumer waits and retries."""


# What a caller sees while Redis is away (restarting, unreachable, loading its data): callers
# outside streams/ answer "try again" to these without importing redis themselves.
BUS_DOWN: tuple[type[Exception], ...] = (redis.ConnectionError, redis.TimeoutError)


class Bus:
    """Publishes records to their streams, capped at about `maxlen` entries each."""

    def __init__(self, client: redis.Redis, maxlen: int = 100_000, namespace: str = keys.NAMESPACE):
        self.client = client
        self.maxlen = maxlen
        self.namespace = namespace

    def key(self, stream_name: str) -> str:
        """The Redis key of one of our streams."""
        return keys.stream(stream_name, self.namespace)

    def publish(self, record: Record) -> str:
        """Append one record to its stream; return the entry id."""
        entry_id = self.client.xadd(
            self.key(record.STREAM), record.to_fields(), maxlen=self.maxlen, approximate=True
        )
        return entry_id.decode()

    def publish_many(self, records: Iterable[Record]) -> list[str]:
        """Append several records in one round trip."""
        pipe = self.client.pipeline(transaction=False)
        for record in records:
            pipe.xadd(
                self.key(record.STREAM), record.to_fields(), maxlen=self.maxlen, approximate=True
            )
        return [entry_id.decode() for entry_id in pipe.execute()]

    def group_backlog(self, stream_name: str, group: str) -> tuple[int, int] | None:
        """(pending, lag) of a consumer group on a stream: entries read but not acknowledged,
        and entries not read yet (Redis 7; 0 when older); None when there is no such group."""
        try:
            groups = self.client.xinfo_groups(self.key(stream_name))
        except redis.ResponseError:  # no such stream yet
            return None
        for info in groups:
            name = info["name"].decode() if isinstance(info["name"], bytes) else info["name"]
            if name == group:
                return int(info.get("pending") or 0), int(info.get("lag") or 0)
        return None

    def rate_limits(self) -> tuple[str, dict]:
        """(storage URI, storage options) for the `limits` library to count in this Redis, so
        that every replica behind one address counts a client's failures together."""
        return "redis://", {"connection_pool": self.client.connection_pool}

    def reachable(self) -> bool:
        """Whether Redis answers now (readiness checks, `run.py status`)."""
        try:
            return bool(self.client.ping())
        except redis.RedisError:
            return False

    def ensure_group(self, stream_name: str, group: str, start_id: str = "0") -> None:
        """Create the consumer group (and the stream) unless it exists; safe to call repeatedly."""
        try:
            self.client.xgroup_create(self.key(stream_name), group, id=start_id, mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def consumer(
        self, stream_name: str, group: str, name: str, handler: Handler, **options
    ) -> Consumer:
        """A consumer in `group` (created if needed) that passes each record to `handler`."""
        self.ensure_group(stream_name, group)
        return Consumer(self, stream_name, group, name, handler, **options)


class Consumer:
    """Reads a stream through a consumer group; acknowledges only what its handler finished.

    On start it first re-reads its own unacknowledged entries (it crashed before acking them),
    and each round it claims entries that another consumer left pending for `claim_idle_ms`
    (that consumer died). An entry whose handler failed `max_deliveries` times is moved to a
    dead-letter stream so one bad message cannot block the rest.
    """

    def __init__(
        self,
        bus: Bus,
        stream_name: str,
        group: str,
        name: str,
        handler: Handler,
        batch: int = 200,
        block_ms: int = 500,
        claim_idle_ms: int = 30_000,
        max_deliveries: int = 5,
        batch_handler: Callable[[list[Record]], None] | None = None,
    ):
        self.bus, self.stream_name, self.group, self.name = bus, stream_name, group, name
        self.handler, self.batch_handler = handler, batch_handler
        self.batch, self.block_ms = batch, block_ms
        self.claim_idle_ms, self.max_deliveries = claim_idle_ms, max_deliveries
        self.key = bus.key(stream_name)
        self._backlog_done = False

    def run(self, stop: threading.Event | None = None, max_messages: int | None = None) -> int:
        """Handle entries until `stop` is set or `max_messages` were handled; return the count."""
        stop = stop or threading.Event()
        handled = 0
        log.info("consumer %s/%s on %s started", self.group, self.name, self.key)
        outage = Outage(log, f"Redis for consumer {self.group}/{self.name} on {self.key}")
        away = Outage(log, f"what consumer {self.group}/{self.name} on {self.key} writes to")
        pause = 0.5
        while not stop.is_set() and (max_messages is None or handled < max_messages):
            try:
                handled += self.poll(limit=None if max_messages is None else max_messages - handled)
                outage.ok()
                away.ok()
                pause = 0.5
            except Unavailable as exc:  # kept pending; read again (own backlog first) later
                handled += getattr(exc, "handled", 0)  # what the round did before it stopped
                away.failed(exc.__cause__ or exc)
                self._backlog_done = False
                pause = min(pause * 2, 5.0)
                if stop.wait(pause):
                    break
            except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError) as exc:
                # Redis restarted, or the stream/group was deleted under us: wait, recreate the
                # group and go on rather than letting the service die mid-shift.
                outage.failed(exc)
                if stop.wait(1.0):
                    break
                try:
                    self.bus.ensure_group(self.stream_name, self.group)
                    self._backlog_done = False
                except redis.RedisError:
                    pass
        log.info("consumer %s/%s stopped after %d entries", self.group, self.name, handled)
        return handled

    def poll(self, limit: int | None = None) -> int:
        """One round: own backlog first, then stuck entries of dead consumers, then new entries."""
        count = min(self.batch, limit) if limit else self.batch
        if not self._backlog_done:
            entries = self._read("0", count, block=None)
            if entries:
                return self._handle(entries)
            self._backlog_done = True
        entries = self._claim(count)
        if entries:
            return self._handle(entries)
        return self._handle(self._read(">", count, block=self.block_ms))

    def _read(self, from_id: str, count: int, block: int | None) -> list:
        reply = self.bus.client.xreadgroup(
            self.group, self.name, {self.key: from_id}, count=count, block=block
        )
        entries = reply[0][1] if reply else []
        gone = [entry_id for entry_id, fields in entries if not fields]
        if gone:  # pending, but trimmed from the capped stream before anyone handled them
            self.bus.client.xack(self.key, self.group, *gone)
            self._report_trimmed(len(gone))
        return [entry for entry in entries if entry[1]]

    def _report_trimmed(self, count: int) -> None:
        log.warning(
            "%s: %d entries were trimmed from the capped stream before group %s handled them "
            "and are lost; raise the stream cap (maxlen) or run more consumers",
            self.key,
            count,
            self.group,
        )

    def _claim(self, count: int) -> list:
        reply = self.bus.client.xautoclaim(
            self.key,
            self.group,
            self.name,
            min_idle_time=self.claim_idle_ms,
            start_id="0-0",
            count=count,
        )
        if len(reply) > 2 and reply[2]:  # Redis 7 drops trimmed entries from the pending list
            self._report_trimmed(len(reply[2]))
        return [entry for entry in reply[1] if entry[1]]  # deleted entries come back empty

    def _handle(self, entries: list) -> int:
        if self.batch_handler and len(entries) > 1 and self._handle_batch(entries):
            return len(entries)
        done: list[bytes] = []
        tried = 0
        try:
            for entry_id, fields in entries:
                if self._handle_one(entry_id, fields):
                    done.append(entry_id)
                tried += 1
        except Unavailable as exc:
            exc.handled = tried
            raise
        finally:  # what was handled before a dependency went away stays handled
            if done:
                self.bus.client.xack(self.key, self.group, *done)
        return tried

    def _handle_batch(self, entries: list) -> bool:
        """All entries through the batch handler (one transaction); False: go one by one."""
        records, done = [], []
        for entry_id, fields in entries:
            try:
                records.append(decode(fields))
            except RecordError:
                return False  # the one-by-one path dead-letters it and handles the rest
            done.append(entry_id)
        try:
            self.batch_handler(records)
        except Unavailable:
            raise
        except Exception:
            log.warning("%s: batch of %d failed; handling one by one", self.key, len(records))
            return False
        self.bus.client.xack(self.key, self.group, *done)
        return True

    def _handle_one(self, entry_id: bytes, fields: dict) -> bool:
        """Run the handler; True when the entry may be acknowledged (done, or dead-lettered)."""
        try:
            record = decode(fields)
        except RecordError as exc:
            log.error(
                "%s %s: undecodable entry moved to dead letters: %s",
                self.key,
                entry_id.decode(),
                exc,
            )
            self._dead_letter(entry_id, fields, str(exc))
            return True
        try:
            self.handler(record)
            return True
        except Unavailable:
            raise
        except Exception as exc:
            log.exception("%s %s: handler failed", self.key, entry_id.decode())
            if self._deliveries(entry_id) >= self.max_deliveries:
                self._dead_letter(entry_id, fields, f"failed {self.max_deliveries} times: {exc}")
                return True
            return False

    def _deliveries(self, entry_id: bytes) -> int:
        rows = self.bus.client.xpending_range(self.key, self.group, entry_id, entry_id, 1)
        return rows[0]["times_delivered"] if rows else 0

    def _dead_letter(self, entry_id: bytes, fields: dict, reason: str) -> None:
        dead = {**fields, "error": reason, "entry_id": entry_id, "group": self.group}
        self.bus.client.xadd(
            keys.dead_letters(self.stream_name, self.bus.namespace),
            dead,
            maxlen=10_000,
            approximate=True,
        )
