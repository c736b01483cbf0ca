"""Ticket rows written straight to the store, for tests of the queries over them (the desk's
table, the indicators, the trends): a dispatched patrol report of dirty road unless told."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from dispatch import facts
from dispatch.store import TicketRow

SH = ZoneInfo("Asia/Shanghai")


def ticket_row(tid: str, requested: dt.datetime, **fields) -> TicketRow:
    """A ticket filed at `requested` (aware); `fields` set or override any column."""
    base = {
        "id": tid,
        "service_code": "dirty_road",
        "status": "dispatched",
        "source": "patrol",
        "description": "",
        "lon": 120.17,
        "lat": 30.275,
        "requested_at": requested,
        "updated_at": requested,
        "facts_due": False,
    }
    base.update(fields)
    return TicketRow(**base)


def add_rows(store, *rows: TicketRow) -> None:
    """Write the rows in one transaction."""
    with store.session() as session, session.begin():
        session.add_all(rows)


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """A local time in November 2026 (Shanghai), in UTC."""
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=SH).astimezone(dt.UTC)


def trend_row(tid: str, **fields) -> TicketRow:
    """A ticket as the trends read it: filed at `requested_at` (default 2 November 09:00) in G01,
    dispatched two minutes later, four hours to fix, its local day, hour, weekday and hexagon
    filled in as the dispatcher's facts would."""
    requested = fields.pop("requested_at", at(2, 9))
    local = requested.astimezone(SH)
    base = {
        "grid_id": "G01",
        "version": 1,
        "merged_events": 1,
        "returned_count": 0,
        "reopened_count": 0,
        "dispatched_at": requested + dt.timedelta(minutes=2),
        "resolve_due": requested + dt.timedelta(hours=4),
        "local_day": local.date(),
        "local_hour": local.hour,
        "local_dow": local.isoweekday(),
        "hex_cell": facts.hex_of(120.17, 30.275, 9),
    }
    return ticket_row(tid, requested, **{**base, **fields})
