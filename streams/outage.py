"""Quiet outages: a dependency that went away is logged once when it goes and once when it is
back, never once per retry and never with a traceback (an operator reads the log of a 12-hour
shift, not a stack dump per second)."""

from __future__ import annotations

import logging
import time


class Outage:
    """Tracks one dependency as one service sees it; `failed` on each error, `ok` on success."""

    def __init__(self, logger: logging.Logger, what: str):
        self.log, self.what = logger, what
        self.since: float | None = None

    def failed(self, exc: BaseException) -> None:
        """An attempt failed: one warning when the outage starts, silence after."""
        if self.since is None:
            self.since = time.monotonic()
            self.log.warning("%s unavailable (%s: %s); retrying quietly", self.what,
                             type(exc).__name__, str(exc)[:200])  # fmt: skip

    def ok(self) -> None:
        """An attempt worked: one info line if it ends an outage."""
        if self.since is not None:
            self.log.info("%s back after %.1f s", self.what, time.monotonic() - self.since)
            self.since = None
