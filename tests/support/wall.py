"""The cockpit's live state and its view wired together as the cockpit server wires them."""

from __future__ import annotations

from collections.abc import Callable

from cockpit.payload import WallView
from cockpit.state import LiveState
from config.schema import AppConfig
from streams.records import Record


class Wall:
    """Fold records in, read payloads out, on an explicit clock."""

    def __init__(self, cfg: AppConfig, clock: Callable[[], float]):
        self.state = LiveState(cfg)
        self.view = WallView(cfg, self.state, clock)

    def apply(self, record: Record) -> None:
        """Fold one bus record into the state."""
        self.state.apply(record)

    def payload(self, lang: str) -> dict:
        """What the browsers of one language are sent."""
        return self.view.payload(lang)
