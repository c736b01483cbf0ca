"""Following every stream as a reader outside any consumer group (a wall screen sees everything):
the recent history first, then whatever arrives."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator

from streams import keys
from streams.bus import Bus
from streams.records import Record, RecordError, decode

log = logging.getLogger(__name__)


class StreamTail:
    """Reads the given streams with plain XREAD from where the last call stopped."""

    def __init__(self, bus: Bus, names: Iterable[str] = keys.ALL_STREAMS):
        self.bus = bus
        self.names = tuple(names)
        self.last_ids: dict[str, str] = {}

    def history(self, count: int) -> dict[str, list[Record]]:
        """Up to `count` newest records per stream, oldest first; later polls start after them."""
        out: dict[str, list[Record]] = {}
        for name in self.names:
            key = self.bus.key(name)
            entries = self.bus.client.xrevrange(key, count=count)
            self.last_ids[key] = entries[0][0].decode() if entries else "0-0"
            out[name] = list(_decode(reversed(entries)))
        return out

    def poll(self, block_ms: int = 500) -> list[Record]:
        """Records that arrived since the last call, waiting up to `block_ms` for the first."""
        for name in self.names:  # without history first, from each stream's start
            self.last_ids.setdefault(self.bus.key(name), "0-0")
        reply = self.bus.client.xread(self.last_ids, count=1000, block=block_ms) or []
        records: list[Record] = []
        for key, entries in reply:
            self.last_ids[key.decode()] = entries[-1][0].decode()
            records += _decode(entries)
        return records


def _decode(entries) -> Iterator[Record]:
    for entry_id, fields in entries:
        try:
            yield decode(fields)
        except RecordError as exc:
            log.warning("skipping entry %s: %s", entry_id, exc)
