"""Backup and restore of a site into one folder: the ticket database (PostgreSQL through pg_dump's
custom format, SQLite through its online backup) and the data dir (evidence, photos, the
cockpit's session key), with a manifest of what was there to check a restore against.

    python run.py backup /backups/2026-12-02      # while the site runs
    python run.py restore /backups/2026-12-02     # into an empty database and data dir
"""

from __future__ import annotations

import datetime as dt
import glob
import json
import shutil
import sqlite3
import subprocess
import tarfile
from pathlib import Path

from sqlalchemy import func, inspect, select
from sqlalchemy.engine import make_url

from config.schema import AppConfig
from dispatch.store import MediaRow, Store, TicketRow, default_database_url
from stack.context import ServiceError

SKIPPED = ("models", "redis")  # caches and the embedded Redis: rebuilt, not restored
DUMP, SQLITE, FILES, MANIFEST = "tickets.pgdump", "tickets.sqlite", "data.tar.gz", "manifest.json"


def _tool(name: str) -> str:
    """A PostgreSQL client program: on PATH, else the newest Debian server's."""
    found = shutil.which(name) or max(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), default=None)
    if not found:
        raise ServiceError(f"{name} is not installed; install postgresql-client (Debian)")
    return found


def _libpq(url: str) -> str:
    """The SQLAlchemy URL as libpq takes it (no driver name)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _run(argv: list[str], what: str) -> None:
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode:
        raise ServiceError(f"{what} failed: {done.stderr.strip()[-800:]}")


def _counts(store: Store) -> dict[str, int]:
    with store.session() as session:
        return {
            "tickets": session.scalar(select(func.count()).select_from(TicketRow)),
            "media": session.scalar(select(func.count()).select_from(MediaRow)),
        }


def _sqlite_path(url: str) -> Path:
    return Path(make_url(url).database or "")


def backup(cfg: AppConfig, dest: Path) -> dict:
    """Write the database and the data dir into `dest` (new or empty); return the manifest."""
    data = cfg.services.data_dir.resolve()
    url = cfg.services.database_url or default_database_url(data)
    if dest.exists() and any(dest.iterdir()):
        raise ServiceError(f"{dest} is not empty; back up into a new folder")
    dest.mkdir(parents=True, exist_ok=True)
    store = Store(url)
    try:
        manifest = {"created_at": dt.datetime.now(dt.UTC).isoformat(), **_counts(store)}
    finally:
        store.dispose()
    if url.startswith("postgresql"):
        _run([_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(dest / DUMP),
              "--dbname", _libpq(url)], "pg_dump")  # fmt: skip
    else:
        source, target = sqlite3.connect(_sqlite_path(url)), sqlite3.connect(dest / SQLITE)
        with target:
            source.backup(target)
        source.close()
        target.close()
    database_file = _sqlite_path(url).resolve() if not url.startswith("postgresql") else None
    files = 0
    with tarfile.open(dest / FILES, "w:gz") as archive:
        for path in sorted(data.rglob("*")) if data.is_dir() else ():
            relative = path.relative_to(data)
            if relative.parts[0] in SKIPPED or not path.is_file() or path.is_symlink():
                continue
            if path.resolve() == database_file or path.name.endswith((".part", "-wal", "-shm")):
                continue
            archive.add(path, relative.as_posix())
            files += 1
    manifest["files"] = files
    (dest / MANIFEST).write_text(json.dumps(manifest, indent=1))
    return manifest


def restore(cfg: AppConfig, source: Path, replace: bool = False) -> dict:
    """Load a backup into the configured database and data dir; refuses a database that
    holds tickets unless `replace`. Returns what was restored (checked against the manifest)."""
    try:
        manifest = json.loads((source / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise ServiceError(f"{source} is not a backup ({MANIFEST}: {exc})") from exc
    data = cfg.services.data_dir.resolve()
    url = cfg.services.database_url or default_database_url(data)
    if not url.startswith("postgresql"):
        _sqlite_path(url).parent.mkdir(parents=True, exist_ok=True)
    store = Store(url)
    try:
        held = _counts(store)["tickets"] if inspect(store.engine).has_table("tickets") else 0
        if held and not replace:
            raise ServiceError(f"the database already holds {held} tickets; restore into an "
                               "empty database, or pass --replace to overwrite it")  # fmt: skip
        store.dispose()
        if (source / DUMP).exists():
            _run([_tool("pg_restore"), "--clean", "--if-exists", "--no-owner",
                  "--single-transaction", "--dbname", _libpq(url), str(source / DUMP)],
                 "pg_restore")  # fmt: skip
        else:
            backup_db, live = sqlite3.connect(source / SQLITE), sqlite3.connect(_sqlite_path(url))
            with live:
                backup_db.backup(live)
            backup_db.close()
            live.close()
        data.mkdir(parents=True, exist_ok=True)
        with tarfile.open(source / FILES) as archive:
            archive.extractall(data, filter="data")  # no paths outside the data dir, no links
        restored = _counts(store)
    finally:
        store.dispose()
    if (restored["tickets"], restored["media"]) != (manifest["tickets"], manifest["media"]):
        raise ServiceError(f"restored {restored}, but the backup held {manifest}")
    return {**restored, "files": manifest["files"]}


def run_backup(cfg: AppConfig, command: str, folder: Path, replace: bool = False) -> int:
    """`run.py backup FOLDER` / `run.py restore FOLDER [--replace]`: do it and say what."""
    if command == "backup":
        done = backup(cfg, folder)
        print(f"backup in {folder}: {done['tickets']} tickets, {done['media']} media rows, "
              f"{done['files']} files")  # fmt: skip
    else:
        done = restore(cfg, folder, replace)
        print(f"restored from {folder}: {done['tickets']} tickets, {done['media']} media rows, "
              f"{done['files']} files into {cfg.services.data_dir}")  # fmt: skip
    return 0
