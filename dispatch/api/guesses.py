"""Guessing tokens does not pay: failed credentials (bearer tokens, device keys, Open311 keys,
the field page's sign-in) are counted per client address in a moving one-minute window; past
the limit the address is refused with 429 until the window moves on (the `limits` library)."""

from __future__ import annotations

import logging
import time

from fastapi import Request
from limits import RateLimitItemPerMinute, storage, strategies

from streams.bus import BUS_DOWN, Bus

log = logging.getLogger(__name__)


class TooManyGuesses(Exception):
    """The client failed too often; carries the seconds to wait."""

    def __init__(self, retry_after_s: int):
        super().__init__("too many failed credentials")
        self.retry_after_s = retry_after_s


class Guesses:
    """Failed credentials per client address: in Redis when there is a bus (every API replica
    counts together), in this process while Redis is away or without one."""

    def __init__(self, per_minute: int, bus: Bus | None = None):
        self.item = RateLimitItemPerMinute(per_minute)
        self.local = strategies.MovingWindowRateLimiter(storage.MemoryStorage())
        self.shared = None
        if bus is not None:
            uri, options = bus.rate_limits()
            shared = storage.RedisStorage(uri, key_prefix=f"{bus.namespace}:limits:api", **options)
            self.shared = strategies.MovingWindowRateLimiter(shared)

    def _call(self, method: str, *args):
        """The shared limiter's answer, or this process's while Redis is away."""
        if self.shared is not None:
            try:
                return getattr(self.shared, method)(*args)
            except BUS_DOWN:
                pass
        return getattr(self.local, method)(*args)

    @staticmethod
    def _client(request: Request) -> str:
        peer = request.scope.get("client")  # (host, port) of the caller
        return peer[0] if peer else "unknown"

    def check(self, request: Request) -> None:
        """Refuse a client that failed too often lately (before its credential is looked at)."""
        client = self._client(request)
        if not self._call("test", self.item, client):
            reset, _left = self._call("get_window_stats", self.item, client)
            raise TooManyGuesses(max(1, int(reset - time.time()) + 1))

    def failed(self, request: Request) -> None:
        """Count a failed credential; the limit's first refusal is logged (without the secret)."""
        client = self._client(request)
        if not self._call("hit", self.item, client):
            log.warning("client %s: too many failed credentials; refusing it for a minute", client)
