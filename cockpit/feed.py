"""Feeds the live state from the bus: the store's open tickets and warnings, the streams' recent
history, then every new entry as it arrives."""

from __future__ import annotations

from cockpit.state import LiveState
from streams import keys
from streams.bus import Bus
from streams.records import TicketAlert, TicketChange
from streams.tail import StreamTail


class BusFeed:
    """Follows every stream (so each cockpit sees everything) into a LiveState."""

    def __init__(self, bus: Bus, state: LiveState, history: int = 500):
        self.state, self.history = state, history
        self.tail = StreamTail(bus)

    def load_history(self, tickets: list[TicketChange], alerts: list[TicketAlert] = ()) -> None:
        """Start from the store's open tickets and warnings and the streams' recent entries
        (ticket changes come from the store, which is newer than any trimmed stream)."""
        for name, records in self.tail.history(self.history).items():
            if name != keys.TICKET_CHANGES:
                for record in records:
                    self.state.apply(record)
        for record in [*tickets, *alerts]:
            self.state.apply(record)

    def poll(self, block_ms: int = 500) -> int:
        """Apply whatever arrived since the last call; return how many records."""
        records = self.tail.poll(block_ms)
        for record in records:
            self.state.apply(record)
        return len(records)
