"""A throw-away PostgreSQL cluster for the test run, from Debian's server binaries.

The README's test command needs no database server running: the suite starts its own on a free
loopback port (trust auth, no durability), like its private Redis, and removes it afterwards.
`TEST_DATABASE_URL` points the suite at an external server instead.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from streams.embedded import free_port


def _bindir() -> Path:
    """The newest installed PostgreSQL server's bin directory."""
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name)
    )
    if not candidates:
        raise RuntimeError(
            "no PostgreSQL server binaries (initdb) under /usr/lib/postgresql; run "
            "`bash scripts/setup.sh --browser` (installs Debian's postgresql) or set "
            "TEST_DATABASE_URL to a database the tests may write to"
        )
    return candidates[-1].parent


class PrivatePostgres:
    """initdb + pg_ctl on a free port; as root, the cluster runs as the `postgres` user."""

    def __init__(self):
        # Its own directory under /tmp: pytest's are private to root, and the server may not be.
        self.root = Path(tempfile.mkdtemp(prefix="street-cockpit-pg-"))
        self.bindir, self.port = _bindir(), free_port()
        self.data = self.root / "data"
        self.user = "postgres" if os.geteuid() == 0 else None

    def _run(self, *argv: str) -> None:
        command = [str(self.bindir / argv[0]), *argv[1:]]
        if self.user:
            command = ["runuser", "-u", self.user, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(
                f"{argv[0]} failed: {result.stderr[-2000:] or result.stdout[-2000:]}"
            )

    def start(self) -> str:
        """Create and start the cluster; return its URL."""
        if self.user:
            entry = pwd.getpwnam(self.user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8")
        self.resume()
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def halt(self) -> None:
        """Kill the server at once, keeping its files (a database that went away)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def resume(self) -> None:
        """Start the server (again) on its port."""
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.root / "log"),
            "-w",
            "start",
        )

    def stop(self) -> None:
        """Stop the cluster at once and remove its files."""
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
