"""Trend facts of a ticket, kept on its row so that leaders' figures are SQL aggregates:

- when, in the district's terms: local day, hour and ISO weekday of the report;
- where: the H3 hexagon of the place (`trends.hex_resolution`);
- a repeat: an earlier ticket of the same category at the same spot (`trends.repeat_radius_m`)
  within `trends.repeat_days`;
- working minutes from dispatch to accepted, on site and resolved (the district's calendar).

Place and time are set when a ticket is filed. The working minutes follow the stage stamps: the
lifecycle marks a ticket `facts_due` whenever it stamps a stage, and `refresh` (the dispatcher's
tick) recomputes them, so a reopened or re-assigned ticket is counted by its latest pass.
"""

from __future__ import annotations

import datetime as dt
import math

import h3
from sqlalchemy import select
from sqlalchemy.orm import Session

from config.schema import AppConfig
from dispatch.calendar import WorkCalendar
from dispatch.store import Store, TicketRow

BATCH = 500
DURATIONS = {
    "accept_work_min": "accepted_at",
    "arrive_work_min": "arrived_at",
    "resolve_work_min": "resolved_at",
}


def hex_of(lon: float, lat: float, resolution: int) -> str:
    """The H3 cell holding a WGS-84 point."""
    return h3.latlng_to_cell(lat, lon, resolution)


def when_and_where(cfg: AppConfig, lon: float, lat: float, requested_at: dt.datetime) -> dict:
    """The place and time columns of a ticket reported at `requested_at` (aware) at lon/lat."""
    local = requested_at.astimezone(cfg.district.zone)
    return {
        "local_day": local.date(),
        "local_hour": local.hour,
        "local_dow": local.isoweekday(),
        "hex_cell": hex_of(lon, lat, cfg.trends.hex_resolution),
    }


def _metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Distance between two nearby WGS-84 points (equirectangular: exact enough below 1 km)."""
    mean_lat = math.radians((a[1] + b[1]) / 2)
    dx = math.radians(b[0] - a[0]) * math.cos(mean_lat)
    dy = math.radians(b[1] - a[1])
    return 6_371_000 * math.hypot(dx, dy)


def earlier_at_spot(session: Session, cfg: AppConfig, ticket: TicketRow) -> str | None:
    """The latest earlier ticket of the same category at the same spot within the repeat window
    (the place reported again), or None."""
    radius, days = cfg.trends.repeat_radius_m, cfg.trends.repeat_days
    dlat = radius / 111_320
    dlon = dlat / max(math.cos(math.radians(ticket.lat)), 0.01)
    since = ticket.requested_at - dt.timedelta(days=days)
    candidates = session.execute(
        select(TicketRow.id, TicketRow.lon, TicketRow.lat)
        .where(
            TicketRow.service_code == ticket.service_code,
            TicketRow.requested_at >= since,
            TicketRow.requested_at <= ticket.requested_at,
            TicketRow.id != ticket.id,
            TicketRow.lat.between(ticket.lat - dlat, ticket.lat + dlat),
            TicketRow.lon.between(ticket.lon - dlon, ticket.lon + dlon),
        )
        .order_by(TicketRow.requested_at.desc())
    )
    here = (ticket.lon, ticket.lat)
    return next((tid for tid, lon, lat in candidates if _metres(here, (lon, lat)) <= radius), None)


def working_minutes(calendar: WorkCalendar, ticket: TicketRow) -> dict[str, float | None]:
    """Working minutes from dispatch to each later stage the ticket has reached (None where it
    has not, or was never dispatched)."""
    start = ticket.dispatched_at
    found: dict[str, float | None] = {}
    for column, stamp in DURATIONS.items():
        end = getattr(ticket, stamp)
        ok = start is not None and end is not None and end >= start
        found[column] = round(calendar.working_minutes_between(start, end), 2) if ok else None
    return found


def refresh(store: Store, cfg: AppConfig, calendar: WorkCalendar, limit: int = BATCH) -> int:
    """Fill the facts of up to `limit` tickets marked due; how many were filled."""
    with store.session() as session, session.begin():
        due = list(
            session.scalars(
                select(TicketRow)
                .where(TicketRow.facts_due.is_(True))
                .order_by(TicketRow.updated_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        for ticket in due:
            if ticket.local_day is None:  # tickets filed before the trend facts existed
                for column, value in when_and_where(
                    cfg, ticket.lon, ticket.lat, ticket.requested_at
                ).items():
                    setattr(ticket, column, value)
            for column, value in working_minutes(calendar, ticket).items():
                setattr(ticket, column, value)
            ticket.facts_due = False
        return len(due)
