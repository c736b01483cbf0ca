"""The one way tests wait: on a condition, with a deadline, failing loudly with what was awaited."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(predicate: Callable[[], T], timeout: float, what: str, every: float = 0.02) -> T:
    """Call `predicate` until it returns something truthy and return that; AssertionError naming
    `what` (and the last value seen) after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what}: not within {timeout:g} s (last seen: {value!r})")
        time.sleep(every)
