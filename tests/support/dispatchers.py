"""Dispatcher processes for the tests: `run.py dispatcher` as an operator starts it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from config.paths import PROJECT_ROOT
from dispatch.store import EventLinkRow, Store


def start_dispatcher(env: dict, name: str, log: Path) -> subprocess.Popen:
    """A dispatcher process; its log goes to a file (a pipe nobody reads would fill and block)."""
    argv = [sys.executable, str(PROJECT_ROOT / "run.py"), "dispatcher", "--name", name,
            "--claim-idle-ms", "1000"]  # fmt: skip
    with log.open("ab") as sink:
        return subprocess.Popen(argv, env=env, cwd=PROJECT_ROOT, stderr=sink)


def filed(store: Store) -> int:
    """How many events have been filed into tickets."""
    with store.session() as session:
        return session.scalar(select(func.count()).select_from(EventLinkRow))
