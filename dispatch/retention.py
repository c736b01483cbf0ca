"""Evidence retention: camera snapshots and field photos of tickets closed `keep_days` ago are
removed, and past the disk cap the oldest closed evidence goes first. Evidence of a ticket that
is still open is never removed, nor a file written in the last hour (a snapshot whose event is
not filed yet). The media rows stay: the audit trail says what there was, and the desk says the
file is gone."""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from config.retention import RetentionConfig
from dispatch.states import TicketState
from dispatch.store import MediaRow, Store, TicketRow

log = logging.getLogger(__name__)
EVIDENCE_DIRS = ("snapshots", "media")
FRESH_S = 3600  # files this new are never removed: their ticket may not be filed yet


@dataclass
class Swept:
    """What one sweep did."""

    removed: int = 0
    freed_bytes: int = 0
    kept_bytes: int = 0
    over_cap: bool = False  # what may not be removed alone is over the cap


def _files(data_dir: Path) -> dict[str, tuple[int, float]]:
    """Evidence files under the data dir: relative path -> (bytes, modified at)."""
    found = {}
    for folder in EVIDENCE_DIRS:
        for path in (data_dir / folder).rglob("*"):
            try:
                if path.is_file() and not path.is_symlink():
                    stat = path.stat()
                    found[path.relative_to(data_dir).as_posix()] = (stat.st_size, stat.st_mtime)
            except OSError:  # removed meanwhile
                continue
    return found


def _closed_since(store: Store) -> dict[str, float | None]:
    """Relative path -> when its ticket closed (epoch), or None while any ticket holding it
    is open."""
    query = select(MediaRow.path, TicketRow.status, TicketRow.closed_at).join(
        TicketRow, TicketRow.id == MediaRow.ticket_id
    )
    owners: dict[str, float | None] = {}
    with store.session() as session:
        for path, status, closed_at in session.execute(query):
            key = Path(path).as_posix()
            if status != TicketState.CLOSED or closed_at is None:
                owners[key] = None
            elif key not in owners or owners[key] is not None:
                owners[key] = max(owners.get(key) or 0.0, closed_at.timestamp())
    return owners


def sweep(store: Store, data_dir: Path, cfg: RetentionConfig, now: float | None = None) -> Swept:
    """Remove what the retention policy says may go, oldest first; return what was done."""
    now = time.time() if now is None else now
    files, owners = _files(data_dir), _closed_since(store)
    done = Swept(kept_bytes=sum(size for size, _ in files.values()))
    removable = []
    for path, (size, modified) in files.items():
        closed = owners.get(path, modified)  # a file no ticket holds counts from its writing
        if closed is not None and now - modified >= FRESH_S:
            removable.append((closed, path, size))
    cutoff, cap = now - cfg.keep_days * 86400, (cfg.max_gb or math.inf) * 1e9
    for since, path, size in sorted(removable):
        if since >= cutoff and done.kept_bytes <= cap:
            break
        try:
            (data_dir / path).unlink()
        except FileNotFoundError:  # another dispatcher's sweep was first
            pass
        done.removed, done.freed_bytes = done.removed + 1, done.freed_bytes + size
        done.kept_bytes -= size
    done.over_cap = done.kept_bytes > cap
    _tidy(data_dir)
    return done


def _tidy(data_dir: Path) -> None:
    """Remove evidence folders left empty (days, tickets)."""
    for folder in EVIDENCE_DIRS:
        root = data_dir / folder
        for path in sorted(root.rglob("*"), reverse=True) if root.is_dir() else ():
            if path.is_dir() and not any(path.iterdir()):
                path.rmdir()


class Retention:
    """Sweeps every `every_min` from the dispatcher's ticks; says so when it removed anything,
    and warns (once per hour) when open tickets' evidence alone is over the cap."""

    def __init__(self, store: Store, data_dir: Path, cfg: RetentionConfig):
        self.store, self.data_dir, self.cfg = store, data_dir, cfg
        self.next_at, self.warned_at = 0.0, -math.inf

    def tick(self, now: float | None = None) -> Swept | None:
        """Sweep if it is time; the sweep's result, or None."""
        now = time.time() if now is None else now
        if now < self.next_at:
            return None
        self.next_at = now + self.cfg.every_min * 60
        done = sweep(self.store, self.data_dir, self.cfg, now)
        if done.removed:
            log.info("retention: removed %d evidence files (%.1f MB); %.1f MB kept",
                     done.removed, done.freed_bytes / 1e6, done.kept_bytes / 1e6)  # fmt: skip
        if done.over_cap and now - self.warned_at >= 3600:
            self.warned_at = now
            log.warning("retention: evidence of open tickets is %.1f MB, over retention.max_gb "
                        "(%s GB); give the data dir more disk or raise the cap",
                        done.kept_bytes / 1e6, self.cfg.max_gb)  # fmt: skip
        return done
