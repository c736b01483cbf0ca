"""The operators' ticket table: every ticket, filtered, sorted and paged in the database (the desk
never loads more than one page of rows, however many years of tickets there are)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select

from dispatch.states import OPEN_STATES
from dispatch.store import Store, TicketRow

SORTABLE = (
    "requested_at",
    "updated_at",
    "resolve_due",
    "priority",
    "status",
    "service_code",
    "grid_id",
    "unit_id",
    "source",
)
MAX_PAGE = 200


@dataclass(frozen=True)
class TicketFilter:
    """What the desk's filters ask for; empty fields do not filter."""

    states: tuple[str, ...] = ()
    category: str | None = None
    grid: str | None = None
    unit: str | None = None
    source: str | None = None
    overdue: bool = False
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    search: str = ""
    # Narrowed from the trends page (a chart's point, a ranking's row).
    categories: tuple[str, ...] = ()
    department: str | None = None
    community: str | None = None
    hex_cell: str | None = None
    local_dow: int | None = None
    local_hour: int | None = None


def _conditions(flt: TicketFilter, now: dt.datetime) -> list:
    found = []
    for column, value in (
        (TicketRow.service_code, flt.category),
        (TicketRow.grid_id, flt.grid),
        (TicketRow.unit_id, flt.unit),
        (TicketRow.source, flt.source),
        (TicketRow.department_id, flt.department),
        (TicketRow.community_id, flt.community),
        (TicketRow.hex_cell, flt.hex_cell),
        (TicketRow.local_dow, flt.local_dow),
        (TicketRow.local_hour, flt.local_hour),
    ):
        if value is not None and value != "":
            found.append(column == value)
    if flt.categories:
        found.append(TicketRow.service_code.in_(flt.categories))
    if flt.states:
        found.append(TicketRow.status.in_(flt.states))
    if flt.since:
        found.append(TicketRow.requested_at >= flt.since)
    if flt.until:
        found.append(TicketRow.requested_at < flt.until)
    if flt.overdue:
        found.append(TicketRow.status.in_(OPEN_STATES))
        found.append(
            or_(
                TicketRow.resolve_due < now,
                and_(TicketRow.accepted_at.is_(None), TicketRow.accept_due < now),
                and_(TicketRow.arrived_at.is_(None), TicketRow.arrive_due < now),
            )
        )
    text = flt.search.strip()[:100]
    if text:
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        like = f"%{escaped}%"  # the text as typed: % and _ are not wildcards
        found.append(
            or_(
                TicketRow.id.startswith(text.lower(), autoescape=True),
                TicketRow.address.ilike(like, escape="\\"),
                TicketRow.description.ilike(like, escape="\\"),
            )
        )
    return found


def ticket_page(
    store: Store,
    flt: TicketFilter,
    now: dt.datetime,
    sort: str = "requested_at",
    descending: bool = True,
    offset: int = 0,
    limit: int = 25,
) -> tuple[list[TicketRow], int]:
    """One page of matching tickets in the asked order (ties newest first), and how many match."""
    if sort not in SORTABLE:
        raise ValueError(f"cannot sort by {sort!r}; by one of {', '.join(SORTABLE)}")
    where = _conditions(flt, now)
    column = getattr(TicketRow, sort)
    order = column.desc() if descending else column.asc()
    query = (
        select(TicketRow)
        .where(*where)
        .order_by(order, TicketRow.requested_at.desc(), TicketRow.id)
        .offset(max(0, offset))
        .limit(max(1, min(limit, MAX_PAGE)))
    )
    with store.session() as session:
        total = session.scalar(select(func.count()).select_from(TicketRow).where(*where))
        return list(session.scalars(query)), total
