"""Leaders' trends, answered by SQL aggregation over indexed ticket columns (never by loading the
rows): headline indicators with year-on-year and period-on-period change, cuts by category, grid,
community, department, unit and source, day/week/month series, hexagon and hour x weekday
hotspots, repeat places, graded rankings, supervised and long-overdue cases.

The indicators' formulas are in dispatch/indicators.py."""

from __future__ import annotations

import calendar as cal
import datetime as dt
import math
from dataclasses import dataclass, replace

from sqlalchemy import Integer, Select, cast, func, select

from config.schema import AppConfig
from dispatch.indicators import (
    STAGES,
    Counts,
    Durations,
    count_columns,
    counted,
    counts_of,
    grade,
    score,
)
from dispatch.states import OPEN_STATES
from dispatch.store import Store
from dispatch.store import TicketRow as T

DIMENSIONS = {
    "category": T.service_code,
    "grid": T.grid_id,
    "community": T.community_id,
    "department": T.department_id,
    "unit": T.unit_id,
    "source": T.source,
}
STEPS = ("day", "week", "month")
MAX_DAYS = 3660  # a range longer than ten years is a typing mistake


@dataclass(frozen=True)
class Graded:
    """A unit's, grid's or department's counts, weighted score (0-100) and grade."""

    key: str
    counts: Counts
    score: float | None
    grade: str | None


@dataclass(frozen=True)
class RepeatPlace:
    """A spot (H3 cell) where a category was reported again within the repeat window."""

    hex_cell: str
    category: str
    repeats: int
    address: str
    last: dt.datetime | None


class TrendError(ValueError):
    """A trends question that cannot be answered as asked (the message names the fix)."""


@dataclass(frozen=True)
class TrendFilter:
    """Tickets filed from `start` to `end` (local days, both included), narrowed by any cut."""

    start: dt.date
    end: dt.date
    category: str | None = None
    grid: str | None = None
    community: str | None = None
    department: str | None = None
    unit: str | None = None
    source: str | None = None

    def __post_init__(self):
        if self.end < self.start:
            raise TrendError(f"the range ends ({self.end}) before it starts ({self.start})")
        if (self.end - self.start).days > MAX_DAYS:
            raise TrendError("the range is longer than ten years; pick a shorter one")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def where(self) -> list:
        """The SQL conditions of this filter."""
        found = [T.local_day >= self.start, T.local_day <= self.end]
        for name, column in DIMENSIONS.items():
            value = getattr(self, name)
            if value:
                found.append(column == value)
        return found


def as_of(cfg: AppConfig, flt: TrendFilter, now: dt.datetime) -> dt.datetime:
    """When the period's figures are taken: its end (local midnight after the last day), or now
    while it runs."""
    end = dt.datetime.combine(flt.end + dt.timedelta(days=1), dt.time(), cfg.district.zone)
    return min(end, now)


def _shift_year(day: dt.date, years: int) -> dt.date:
    year = day.year + years
    return day.replace(year=year, day=min(day.day, cal.monthrange(year, day.month)[1]))


def _month_end(day: dt.date) -> dt.date:
    return day.replace(day=cal.monthrange(day.year, day.month)[1])


def year_before(flt: TrendFilter) -> TrendFilter:
    """The same days a year earlier (同比)."""
    return replace(flt, start=_shift_year(flt.start, -1), end=_shift_year(flt.end, -1))


def period_before(flt: TrendFilter) -> TrendFilter:
    """The period just before (环比): the previous whole months when the range is whole months,
    else as many days just before."""
    if flt.start.day == 1 and flt.end == _month_end(flt.end):
        months = (flt.end.year - flt.start.year) * 12 + flt.end.month - flt.start.month + 1
        first = flt.start
        for _ in range(months):
            first = (first - dt.timedelta(days=1)).replace(day=1)
        return replace(flt, start=first, end=flt.start - dt.timedelta(days=1))
    return replace(
        flt, start=flt.start - dt.timedelta(days=flt.days), end=flt.start - dt.timedelta(days=1)
    )


class Trends:
    """The trends of one district's ticket store."""

    def __init__(self, cfg: AppConfig, store: Store):
        self.cfg, self.store = cfg, store

    def _rows(self, query: Select) -> list:
        with self.store.session() as session:
            return list(session.execute(query))

    def counts(self, flt: TrendFilter, now: dt.datetime) -> Counts:
        """The indicators' counts of the filtered tickets."""
        query = select(*count_columns(as_of(self.cfg, flt, now))).where(*flt.where())
        return counts_of(self._rows(query)[0])

    def headline(self, flt: TrendFilter, now: dt.datetime) -> dict[str, Counts]:
        """This period, the same period a year before, and the period before."""
        return {
            "now": self.counts(flt, now),
            "year_before": self.counts(year_before(flt), now),
            "period_before": self.counts(period_before(flt), now),
        }

    def cut(self, flt: TrendFilter, by: str, now: dt.datetime) -> list[tuple[str, Counts]]:
        """Counts per value of one dimension, most cases first."""
        if by not in DIMENSIONS:
            raise TrendError(f"cannot cut by {by!r}; by one of {', '.join(DIMENSIONS)}")
        column = DIMENSIONS[by]
        query = (
            select(column.label("key"), *count_columns(as_of(self.cfg, flt, now)))
            .where(*flt.where())
            .group_by(column)
        )
        found = [(row.key or "-", counts_of(row)) for row in self._rows(query)]
        return sorted(found, key=lambda item: (-item[1].filed, item[0]))

    def series(self, flt: TrendFilter, step: str, now: dt.datetime) -> list[tuple[dt.date, Counts]]:
        """Counts per day, week (from Monday) or month, oldest first; empty periods included."""
        if step not in STEPS:
            raise TrendError(f"unknown step {step!r}; use one of {', '.join(STEPS)}")
        query = (
            select(T.local_day.label("day"), *count_columns(as_of(self.cfg, flt, now)))
            .where(*flt.where())
            .group_by(T.local_day)
        )
        folded: dict[dt.date, Counts] = {}
        day = flt.start
        while day <= flt.end:
            folded.setdefault(period_start(day, step), Counts())
            day += dt.timedelta(days=1)
        for row in self._rows(query):
            key = period_start(_as_date(row.day), step)
            folded[key] = folded.get(key, Counts()) + counts_of(row)
        return sorted(folded.items())

    def durations(self, flt: TrendFilter) -> list[Durations]:
        """Working hours from dispatch to accepted, on site and resolved: the mean, and the 90th
        percentile from a half-minute histogram (one grouped pass per stage, no sort of the
        rows, so years of history stay fast)."""
        found = []
        with self.store.session() as session:
            for stage in STAGES:
                column = getattr(T, f"{stage}_work_min")
                bucket = cast(column * 2, Integer).label("bucket")
                query = (
                    select(bucket, func.count(), func.sum(column))
                    .where(*flt.where(), counted(), column.is_not(None))
                    .group_by(bucket)
                    .order_by(bucket)
                )
                histogram = [
                    (int(b), int(n), float(total)) for b, n, total in session.execute(query)
                ]
                count = sum(n for _, n, _ in histogram)
                mean = sum(total for *_, total in histogram) / count if count else None
                p90 = _percentile(histogram, count, 0.9)
                found.append(Durations(stage, count, _hours(mean), _hours(p90)))
        return found

    def hour_by_weekday(self, flt: TrendFilter) -> list[list[int]]:
        """Cases filed per ISO weekday (rows, Monday first) and hour of day (columns)."""
        grid = [[0] * 24 for _ in range(7)]
        query = (
            select(T.local_dow, T.local_hour, func.count())
            .where(*flt.where(), counted())
            .group_by(T.local_dow, T.local_hour)
        )
        for dow, hour, count in self._rows(query):
            if dow and hour is not None:
                grid[int(dow) - 1][int(hour)] = int(count)
        return grid

    def hexagons(self, flt: TrendFilter) -> list[tuple[str, int]]:
        """Cases filed per H3 hexagon, most first."""
        query = (
            select(T.hex_cell, func.count().label("n"))
            .where(*flt.where(), counted(), T.hex_cell.is_not(None))
            .group_by(T.hex_cell)
            .order_by(func.count().desc(), T.hex_cell)
        )
        return [(cell, int(n)) for cell, n in self._rows(query)]

    def repeat_places(self, flt: TrendFilter, limit: int = 20) -> list[RepeatPlace]:
        """Spots reported again within the repeat window, most repeats first."""
        query = (
            select(
                T.hex_cell,
                T.service_code,
                func.count().label("repeats"),
                func.max(T.address).label("address"),
                func.max(T.requested_at).label("last"),
            )
            .where(*flt.where(), counted(), T.repeat_of.is_not(None))
            .group_by(T.hex_cell, T.service_code)
            .order_by(func.count().desc(), T.hex_cell)
            .limit(limit)
        )
        return [
            RepeatPlace(cell, code, int(n), address or "", last)
            for cell, code, n, address, last in self._rows(query)
        ]

    def supervised(self, flt: TrendFilter, limit: int = 50) -> list[T]:
        """Supervised (督办) cases of the period, most recently supervised first."""
        query = (
            select(T)
            .where(*flt.where(), counted(), T.supervised_at.is_not(None))
            .order_by(T.supervised_at.desc(), T.id)
            .limit(limit)
        )
        with self.store.session() as session:
            return list(session.scalars(query))

    def long_overdue(self, flt: TrendFilter, now: dt.datetime, limit: int = 50) -> list[T]:
        """Open cases past their resolve deadline by more than `trends.long_overdue_hours`,
        the longest overdue first."""
        limit_at = now - dt.timedelta(hours=self.cfg.trends.long_overdue_hours)
        query = (
            select(T)
            .where(*flt.where(), T.status.in_(OPEN_STATES), T.resolve_due < limit_at)
            .order_by(T.resolve_due, T.id)
            .limit(limit)
        )
        with self.store.session() as session:
            return list(session.scalars(query))


def _as_date(value) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def period_start(day: dt.date, step: str) -> dt.date:
    """The first day of the day's week (Monday) or month, or the day itself."""
    if step == "week":
        return day - dt.timedelta(days=day.weekday())
    if step == "month":
        return day.replace(day=1)
    return day


def _hours(minutes) -> float | None:
    return None if minutes is None else round(float(minutes) / 60, 2)


def _percentile(histogram: list[tuple[int, int, float]], count: int, fraction: float):
    """The nearest-rank percentile of half-minute buckets (bucket, count, sum), in minutes."""
    rank, seen = math.ceil(fraction * count), 0
    for half_minutes, n, _ in histogram:
        seen += n
        if seen >= rank:
            return (half_minutes + 0.5) / 2
    return None


def ranking(cfg: AppConfig, cut: list[tuple[str, Counts]]) -> list[Graded]:
    """A cut graded: each key's weighted score and grade (none below `trends.min_cases` cases
    due), best first."""
    rows = []
    for key, counts in cut:
        value = score(counts, cfg.trends.weights) if counts.due >= cfg.trends.min_cases else None
        rows.append(Graded(key, counts, value, grade(value, cfg.trends.grades)))
    return sorted(rows, key=lambda r: (r.score is None, -(r.score or 0), r.key))


def by_standard_class(cfg: AppConfig, cut: list[tuple[str, Counts]]) -> list[tuple[str, Counts]]:
    """A cut by category regrouped by the standard class each category counts as
    (`event/0505`; a category without one stays under its own id), most cases first."""
    classes = {c.id: c.standard or c.id for c in cfg.categories}
    merged: dict[str, Counts] = {}
    for key, counts in cut:
        code = classes.get(key, key)
        merged[code] = merged.get(code, Counts()) + counts
    return sorted(merged.items(), key=lambda item: (-item[1].filed, item[0]))
