"""Guessing tokens does not pay: failed credentials (bearer tokens, device keys, Open311 keys,
the field page's sign-in) are counted per client address in a moving one-minute window; past
the limit the address is refused with 429 until the window moves on (the `limits` library)."""

from __future__ import annotations

import logging
import time

from fastapi import Request
from limits import RateLimitItemPerMinute, storage, strategies

log = logging.getLogger(__name__)


class TooManyGuesses(Exception):
    """The client failed too often; carries the seconds to wait."""

    def __init__(self, retry_after_s: int):
        super().__init__("too many failed credentials")
        self.retry_after_s = retry_after_s


class Guesses:
    """Failed credentials per client address (in this process)."""

    def __init__(self, per_minute: int):
        self.item = RateLimitItemPerMinute(per_minute)
        self.limiter = strategies.MovingWindowRateLimiter(storage.MemoryStorage())

    @staticmethod
    def _client(request: Request) -> str:
        peer = request.scope.get("client")  # (host, port) of the caller
        return peer[0] if peer else "unknown"

    def check(self, request: Request) -> None:
        """Refuse a client that failed too often lately (before its credential is looked at)."""
        client = self._client(request)
        if not self.limiter.test(self.item, client):
            reset, _left = self.limiter.get_window_stats(self.item, client)
            raise TooManyGuesses(max(1, int(reset - time.time()) + 1))

    def failed(self, request: Request) -> None:
        """Count a failed credential; the limit's first refusal is logged (without the secret)."""
        client = self._client(request)
        if not self.limiter.hit(self.item, client):
            log.warning("client %s: too many failed credentials; refusing it for a minute", client)
