"""Evidence retention on both databases: old evidence of closed tickets goes, open tickets'
evidence stays whatever the cap, the cap removes the oldest closed evidence first, and the
dispatcher's ticks run it."""

from __future__ import annotations

import datetime as dt
import logging
import os

import pytest

from config.retention import RetentionConfig
from dispatch.media import add_media, media_file
from dispatch.retention import Retention, sweep
from dispatch.states import TicketState
from dispatch.store import TicketRow

NOW = 1_800_000_000.0
DAY = 86400


def _at(epoch: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, dt.UTC)


def _ticket(store, ticket_id: str, closed_days_ago: float | None) -> None:
    closed = None if closed_days_ago is None else _at(NOW - closed_days_ago * DAY)
    with store.session() as session:
        session.add(TicketRow(
            id=ticket_id, service_code="bin_overflow", source="camera", lon=120.17, lat=30.27,
            status=TicketState.CLOSED if closed else TicketState.DISPATCHED,
            requested_at=_at(NOW - 400 * DAY), updated_at=closed or _at(NOW), closed_at=closed,
        ))  # fmt: skip
        session.commit()


def _evidence(store, data, ticket_id: str | None, name: str, kb: int, days_old: float) -> str:
    """A JPEG-sized file under the data dir written `days_old` ago, attached to the ticket."""
    relative = f"snapshots/2026-01-01/{name}.jpg" if ticket_id is None else f"media/{name}.jpg"
    path = data / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\xff" * kb * 1000)
    os.utime(path, (NOW - days_old * DAY, NOW - days_old * DAY))
    if ticket_id:
        with store.session() as session:
            add_media(session, ticket_id, "photo", relative, "crew", _at(NOW - days_old * DAY))
            session.commit()
    return relative


def _world(store, data) -> dict[str, str]:
    _ticket(store, "open", None)
    _ticket(store, "old", 200)
    _ticket(store, "recent", 10)
    _ticket(store, "older", 100)
    return {
        "open": _evidence(store, data, "open", "open-photo", 400, 300),
        "old": _evidence(store, data, "old", "old-photo", 100, 210),
        "recent": _evidence(store, data, "recent", "recent-photo", 100, 12),
        "older": _evidence(store, data, "older", "older-photo", 100, 101),
        "loose-old": _evidence(store, data, None, "loose-old", 100, 190),
        "loose-new": _evidence(store, data, None, "loose-new", 100, 0.01),
    }


def _left(data, files: dict[str, str]) -> set[str]:
    return {name for name, relative in files.items() if (data / relative).exists()}


def test_old_evidence_of_closed_tickets_goes_and_open_tickets_keep_theirs(store, tmp_path):
    data = tmp_path / "data"
    files = _world(store, data)
    done = sweep(store, data, RetentionConfig(keep_days=180), NOW)
    # The 300-day-old photo of a ticket still open stays; so do the recent ones.
    assert _left(data, files) == {"open", "recent", "older", "loose-new"}
    assert (done.removed, done.freed_bytes) == (2, 200_000)
    # The row stays for the audit trail; the file is reported gone, not a server error.
    with store.session() as session:
        row = session.query(TicketRow).filter_by(id="old").one()
        assert row.closed_at is not None
    from dispatch.errors import DeskError
    from dispatch.media import media_for

    gone = media_for(store, ["old"])["old"][0]
    with pytest.raises(DeskError, match="missing") as refused:
        media_file(store, data, gone.id)
    assert refused.value.status == 404


def test_over_the_cap_the_oldest_closed_evidence_goes_first(store, tmp_path):
    data = tmp_path / "data"
    files = _world(store, data)
    # 900 kB in all; a 0.65 MB cap needs 250 kB gone: the three oldest closed ones go
    # (loose-old 190 days, old 200 days, older 100 days), never the open ticket's 400 kB.
    done = sweep(store, data, RetentionConfig(keep_days=3650, max_gb=0.00065), NOW)
    assert _left(data, files) == {"open", "recent", "loose-new"}
    assert done.kept_bytes == 600_000 and not done.over_cap
    # A cap below what open tickets hold: everything else old enough goes, and it says so.
    tight = sweep(store, data, RetentionConfig(keep_days=3650, max_gb=0.0003), NOW)
    assert _left(data, files) == {"open", "loose-new"}
    assert tight.over_cap and tight.kept_bytes == 500_000


def test_the_sweep_runs_on_its_period_and_warns_once_when_over(store, tmp_path, caplog):
    data = tmp_path / "data"
    _world(store, data)
    retention = Retention(store, data, RetentionConfig(keep_days=3650, max_gb=0.0001, every_min=60))
    with caplog.at_level(logging.INFO, logger="dispatch.retention"):
        first = retention.tick(NOW)
        assert first is not None and first.over_cap
        assert retention.tick(NOW + 60) is None  # not due
        again = retention.tick(NOW + 3601)  # the hour-new loose snapshot is an hour old now
        assert again is not None and again.removed == 1 and again.kept_bytes == 400_000
    warned = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 2 and "retention.max_gb" in warned[0].getMessage()
    assert "removed 4 evidence files" in caplog.text
