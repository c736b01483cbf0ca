"""Ticket rows written straight to the store, for tests of the queries over them (the desk's
table, the indicators, the trends): a dispatched patrol report of dirty road unless told."""

from __future__ import annotations

import datetime as dt

from dispatch.store import TicketRow


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
