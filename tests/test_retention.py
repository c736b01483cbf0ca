"""Evidence retention on both databases: old evidence of closed tickets goes, open tickets'
evidence stays whatever the cap, the cap removes the oldest closed evidence first, and the
dispatcher's ticks run it."""

from __future__ import annotations

import datetime as dt
import logging
import os
import time

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


def _file(data, relative: str, kb: int, age_s: float) -> str:
    path = data / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\xff" * kb * 1000)
    os.utime(path, (NOW - age_s, NOW - age_s))
    return relative


def _attach(store, ticket_id: str, relative: str) -> None:
    with store.session() as session:
        add_media(session, ticket_id, "photo", relative, "crew", _at(NOW - 300 * DAY))
        session.commit()


def test_a_file_goes_from_exactly_an_hour_old_and_a_ticket_from_exactly_keep_days(store, tmp_path):
    data = tmp_path / "data"
    hour = _file(data, "snapshots/d/hour.jpg", 1, 3600)
    younger = _file(data, "snapshots/d/younger.jpg", 1, 3599)
    _ticket(store, "edge", 30)
    _ticket(store, "past", 30 + 1 / DAY)
    for name in ("edge", "past"):
        _attach(store, name, _file(data, f"media/{name}.jpg", 1, 40 * DAY))
    done = sweep(store, data, RetentionConfig(keep_days=30), NOW)
    left = {p.name for p in data.rglob("*.jpg")}
    # a loose snapshot counts from its writing (an hour ago: kept by the 30 days); of the two
    # photos written 40 days ago, the one whose ticket closed 30 days and a second ago goes
    assert left == {"hour.jpg", "younger.jpg", "edge.jpg"}
    assert (done.removed, done.freed_bytes, done.kept_bytes) == (1, 1000, 3000)
    # with a keep of a minute, the hour-old snapshot goes and the younger one is too fresh
    sweep(store, data, RetentionConfig(keep_days=60 / DAY), NOW)
    assert not (data / hour).exists() and (data / younger).exists()


def test_the_cap_removes_only_while_over_it(store, tmp_path):
    data = tmp_path / "data"
    for i in range(3):
        _file(data, f"snapshots/d/s{i}.jpg", 100, (10 - i) * DAY)
    at_cap = sweep(store, data, RetentionConfig(keep_days=3650, max_gb=300_000 / 1e9), NOW)
    assert (at_cap.removed, at_cap.kept_bytes, at_cap.over_cap) == (0, 300_000, False)
    over = sweep(store, data, RetentionConfig(keep_days=3650, max_gb=299_999 / 1e9), NOW)
    assert (over.removed, over.freed_bytes, over.kept_bytes) == (1, 100_000, 200_000)
    assert not (data / "snapshots/d/s0.jpg").exists()  # the oldest
    uncapped = sweep(store, data, RetentionConfig(keep_days=3650), NOW)
    assert (uncapped.removed, uncapped.over_cap) == (0, False)


@pytest.mark.parametrize("open_first", [True, False])
def test_a_file_held_by_two_tickets_goes_only_when_both_are_closed_long_enough(
    store, tmp_path, open_first
):
    data = tmp_path / "data"
    shared = _file(data, "media/shared.jpg", 1, 300 * DAY)
    _ticket(store, "open", None)
    _ticket(store, "closed", 200)
    for name in ("open", "closed") if open_first else ("closed", "open"):
        _attach(store, name, shared)
    assert sweep(store, data, RetentionConfig(keep_days=1), NOW).removed == 0
    both = _file(data, "media/both.jpg", 1, 300 * DAY)
    _ticket(store, "later", 10)
    for name in ("closed", "later") if open_first else ("later", "closed"):
        _attach(store, name, both)
    # the later closing counts: 10 days ago, inside a 180-day keep, outside a 5-day one
    assert sweep(store, data, RetentionConfig(keep_days=180), NOW).removed == 0
    assert sweep(store, data, RetentionConfig(keep_days=5), NOW).removed == 1
    assert (data / shared).exists() and not (data / both).exists()


def test_a_closed_ticket_without_a_closing_time_keeps_its_evidence(store, tmp_path):
    data = tmp_path / "data"
    with store.session() as session:
        session.add(TicketRow(
            id="odd", service_code="bin_overflow", source="camera", lon=120.17, lat=30.27,
            status=TicketState.CLOSED, requested_at=_at(NOW - 400 * DAY),
            updated_at=_at(NOW - 400 * DAY), closed_at=None,
        ))  # fmt: skip
        session.commit()
    _attach(store, "odd", _file(data, "media/odd.jpg", 1, 300 * DAY))
    assert sweep(store, data, RetentionConfig(keep_days=1), NOW).removed == 0
    assert (data / "media/odd.jpg").exists()


def test_only_evidence_folders_are_swept_links_are_not_followed_and_empty_folders_go(
    store, tmp_path
):
    data = tmp_path / "data"
    outside = _file(tmp_path, "elsewhere/precious.jpg", 5, 400 * DAY)
    (data / "snapshots/link").mkdir(parents=True)
    (data / "snapshots/link/precious.jpg").symlink_to(tmp_path / outside)
    _file(data, "backups/old.jpg", 5, 400 * DAY)
    _file(data, "snapshots/2026-01-01/a.jpg", 1, 400 * DAY)
    _file(data, "snapshots/2026-01-02/b.jpg", 1, 400 * DAY)
    _file(data, "snapshots/2026-01-02/c.jpg", 1, 0)
    done = sweep(store, data, RetentionConfig(keep_days=1), NOW)
    assert (done.removed, done.kept_bytes) == (2, 1000)
    assert (tmp_path / outside).exists() and (data / "backups/old.jpg").exists()
    assert (data / "snapshots/link/precious.jpg").is_symlink()
    assert not (data / "snapshots/2026-01-01").exists()  # emptied, so removed
    assert (data / "snapshots/2026-01-02/c.jpg").exists()
    assert (data / "snapshots").is_dir() and not (data / "media").exists()


def test_ticks_sweep_on_the_minute_of_their_period_and_say_what_they_did(store, tmp_path, caplog):
    data = tmp_path / "data"
    _world(store, data)
    retention = Retention(
        store, data, RetentionConfig(keep_days=180, max_gb=0.0003, every_min=1 / 60)
    )
    with caplog.at_level(logging.INFO, logger="dispatch.retention"):
        assert retention.tick(NOW) is not None
        assert retention.tick(NOW + 0.5) is None
        assert retention.tick(NOW + 1) is not None  # due exactly at its period (a second)
        assert retention.tick(NOW + 3599) is not None  # 3599 s after the warning: no other
        assert retention.tick(NOW + 3600) is not None  # an hour after it: warns again
    messages = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert messages[0] == (
        logging.INFO,
        "retention: removed 4 evidence files (0.4 MB); 0.5 MB kept",
    )  # two past the 180 days, then two more for the cap; the open 400 kB and a fresh 100 stay
    warned = [m for level, m in messages if level == logging.WARNING]
    # the second time the fresh snapshot (then over an hour old) has gone too
    assert warned == [
        f"retention: evidence of open tickets is {mb} MB, over retention.max_gb (0.0003 GB); "
        "give the data dir more disk or raise the cap"
        for mb in ("0.5", "0.4")
    ]


def test_without_a_time_given_the_sweep_and_ticks_use_the_clock(store, tmp_path):
    data = tmp_path / "data"
    old = data / "media/t1/photos/old.jpg"  # nested folders, all left empty
    old.parent.mkdir(parents=True)
    old.write_bytes(b"\xff" * 1000)
    os.utime(old, (time.time() - 400 * DAY, time.time() - 400 * DAY))
    new = data / "snapshots/today/new.jpg"
    new.parent.mkdir(parents=True)
    new.write_bytes(b"\xff" * 1000)
    assert sweep(store, data, RetentionConfig(keep_days=180)).removed == 1
    assert not (data / "media/t1").exists() and (data / "media").is_dir()
    assert new.exists()
    os.utime(new, (time.time() - 400 * DAY, time.time() - 400 * DAY))
    assert Retention(store, data, RetentionConfig(keep_days=180)).tick().removed == 1
    assert not (data / "snapshots/today").exists()
