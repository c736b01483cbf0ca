"""Runs service child processes, restarts a crashed one (bounded), stops all in reverse order."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
from collections import deque
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


@dataclass
class Child:
    """One supervised service process."""

    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen | None = None
    restarts: deque = field(default_factory=deque)
    given_up: bool = False


class Supervisor:
    """Keeps children alive: at most `max_restarts` restarts per `window_s` each, then gives up."""

    def __init__(self, max_restarts: int = 5, window_s: float = 60, clock=time.monotonic):
        self.children: list[Child] = []
        self.max_restarts, self.window_s, self.clock = max_restarts, window_s, clock

    def add(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Child:
        """Register and start a child."""
        child = Child(name, argv, env or {})
        self.children.append(child)
        self._spawn(child)
        return child

    def _spawn(self, child: Child) -> None:
        env = {**os.environ, **child.env}
        # Own process group: Ctrl-C reaches the supervisor, which stops children in order.
        child.process = subprocess.Popen(child.argv, env=env, start_new_session=True)
        log.info("started %s (pid %d)", child.name, child.process.pid)

    def check(self) -> list[str]:
        """Restart children that exited; return the names of those given up on in this call."""
        given_up = []
        for child in self.children:
            if child.given_up or child.process.poll() is None:
                continue
            now = self.clock()
            while child.restarts and now - child.restarts[0] > self.window_s:
                child.restarts.popleft()
            if len(child.restarts) >= self.max_restarts:
                child.given_up = True
                given_up.append(child.name)
                log.error(
                    "%s exited with %s; %d restarts in %.0f s, giving up",
                    child.name,
                    child.process.returncode,
                    self.max_restarts,
                    self.window_s,
                )
                continue
            child.restarts.append(now)
            log.warning("%s exited with %s; restarting", child.name, child.process.returncode)
            self._spawn(child)
        return given_up

    def stop(self, timeout_s: float = 10) -> None:
        """SIGTERM children newest first, each given `timeout_s` before SIGKILL."""
        for child in reversed(self.children):
            process = child.process
            if process is None or process.poll() is not None:
                continue
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop in %.0f s; killing it", child.name, timeout_s)
                process.kill()
                process.wait()
