"""`run.py backup` and `run.py restore` as an operator runs them, on both databases: a site with
tickets, audit rows and photos comes back whole into an empty database and data dir; a restore
over a database in use is refused unless asked to replace it, and loses nothing."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest
from sqlalchemy import func, select, text

from config.paths import PROJECT_ROOT
from dispatch.store import AuditRow, MediaRow, Store, TicketRow
from tests.support.api import dispatch_one, work_to_resolved


def _run(env: dict, *args: str) -> subprocess.CompletedProcess:
    argv = [sys.executable, str(PROJECT_ROOT / "run.py"), *args]
    return subprocess.run(argv, env=env, cwd=PROJECT_ROOT, capture_output=True, text=True,
                          timeout=180)  # fmt: skip


def _site(store) -> dict:
    """Everything a restore must bring back, as comparable values."""
    with store.session() as session:
        tickets = session.execute(select(TicketRow.id, TicketRow.status, TicketRow.version)
                                  .order_by(TicketRow.id)).all()  # fmt: skip
        media = session.execute(select(MediaRow.id, MediaRow.path).order_by(MediaRow.id)).all()
        audit = session.scalar(select(func.count()).select_from(AuditRow))
    return {"tickets": [tuple(t) for t in tickets], "media": [tuple(m) for m in media],
            "audit": audit}  # fmt: skip


@pytest.fixture
def empty_url(database_url, tmp_path):
    """Another empty database of the same kind as `database_url` (on PostgreSQL a new
    database on the same server, searched in the same schema name)."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'restored' / 'tickets.db'}"
        return
    base, _, options = database_url.partition("?")
    name = f"r_{uuid.uuid4().hex[:10]}"
    admin = Store(base)
    with admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    yield f"{base.rsplit('/', 1)[0]}/{name}?{options}"
    with admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
    admin.dispose()


def test_a_site_backed_up_comes_back_whole(api_stack, database_url, empty_url, tmp_path):
    ticket, _unit = work_to_resolved(api_stack, dispatch_one(api_stack))
    data = api_stack.cfg.services.data_dir
    photos = sorted((data / "media").rglob("*.jpg"))
    assert photos, "the resolve left a photo in the data dir"
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL",)}
    site = {**env, "DATABASE_URL": database_url, "SC_DATA_DIR": str(data)}
    folder = tmp_path / "backup"
    done = _run(site, "backup", str(folder))
    assert done.returncode == 0, done.stderr
    assert "backup in" in done.stdout and "1 tickets" in done.stdout
    # Into an empty database and data dir, as after losing the machine.
    restored_data = tmp_path / "restored-data"
    elsewhere = {**env, "DATABASE_URL": empty_url, "SC_DATA_DIR": str(restored_data)}
    back = _run(elsewhere, "restore", str(folder))
    assert back.returncode == 0, back.stderr
    restored = Store(empty_url)
    try:
        assert _site(restored) == _site(api_stack.store)
        for photo in photos:
            copy = restored_data / photo.relative_to(data)
            assert copy.read_bytes() == photo.read_bytes()
        # Again over the restored site: refused, and nothing lost.
        again = _run(elsewhere, "restore", str(folder))
        assert again.returncode == 2 and "already holds 1 tickets" in again.stderr
        assert "--replace" in again.stderr
        assert _site(restored)["tickets"][0][0] == ticket.id
    finally:
        restored.dispose()
    # A backup never writes into a folder that holds something; --dated makes a new one in it.
    assert _run(site, "backup", str(folder)).returncode == 2
    assert _run(site, "backup", str(folder), "--dated").returncode == 0
    assert len(list(folder.glob("*/manifest.json"))) == 1


def test_restore_names_a_folder_that_is_not_a_backup(tmp_path):
    env = {**os.environ, "SC_DATA_DIR": str(tmp_path / "data")}
    env.pop("DATABASE_URL", None)
    done = _run(env, "restore", str(tmp_path))
    assert done.returncode == 2 and "is not a backup" in done.stderr
    assert "Traceback" not in done.stderr
