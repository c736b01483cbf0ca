"""Working time: deadlines count only working hours, skipping weekends and public holidays."""

from __future__ import annotations

import datetime as dt

from config.schema import AppConfig, WorkCalendarConfig


def _clock(text: str) -> dt.time:
    hours, minutes = (int(part) for part in text.split(":"))
    return dt.time(hours, minutes)


class WorkCalendar:
    """Working days and hours in the district's time zone, with holidays and adjusted workdays."""

    def __init__(self, cfg: WorkCalendarConfig, zone: dt.tzinfo):
        self.zone = zone  # the district's (config: district.timezone)
        self.start, self.end = _clock(cfg.day_start), _clock(cfg.day_end)
        self.work_days = set(cfg.work_days)
        self.holidays = set(cfg.holidays)
        self.extra_workdays = set(cfg.extra_workdays)  # e.g. China's make-up Saturdays (调休)

    def is_workday(self, day: dt.date) -> bool:
        """True when `day` is a working day."""
        if day in self.extra_workdays:
            return True
        return day.isoweekday() in self.work_days and day not in self.holidays

    def _window(self, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
        return (
            dt.datetime.combine(day, self.start, self.zone),
            dt.datetime.combine(day, self.end, self.zone),
        )

    def add_working_minutes(self, start: dt.datetime, minutes: float) -> dt.datetime:
        """The moment `minutes` of working time after `start` (an aware datetime), in UTC."""
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        remaining = dt.timedelta(minutes=minutes)
        cursor = start.astimezone(self.zone)
        for _ in range(3660):  # ten years of days: a calendar with no workdays fails loudly
            day = cursor.date()
            if self.is_workday(day):
                open_at, close_at = self._window(day)
                begin = max(cursor, open_at)
                if begin < close_at:
                    available = close_at - begin
                    if remaining <= available:
                        return (begin + remaining).astimezone(dt.UTC)
                    remaining -= available
            cursor = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), self.zone)
        raise ValueError("the work calendar has no working time in ten years; check work_days")

    def working_minutes_between(self, start: dt.datetime, end: dt.datetime) -> float:
        """Working minutes from start to end (0 when end is not after start)."""
        total = dt.timedelta()
        cursor = start.astimezone(self.zone)
        end = end.astimezone(self.zone)
        while cursor < end:
            day = cursor.date()
            if self.is_workday(day):
                open_at, close_at = self._window(day)
                begin, finish = max(cursor, open_at), min(end, close_at)
                if finish > begin:
                    total += finish - begin
            cursor = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), self.zone)
        return total.total_seconds() / 60


def district_calendar(cfg: AppConfig) -> WorkCalendar:
    """The district's working calendar, in the district's time zone."""
    return WorkCalendar(cfg.dispatch.calendar, cfg.district.zone)


def stage_deadlines(
    cfg: AppConfig, calendar: WorkCalendar, category: str, start: dt.datetime
) -> dict[str, dt.datetime | None]:
    """Due times per stage (ticket columns) for a category, in working time from `start`;
    none when the category has no limits."""
    limits = next((d for d in cfg.deadlines if d.category == category), None)
    if limits is None:
        return {"accept_due": None, "arrive_due": None, "resolve_due": None}
    add = calendar.add_working_minutes
    return {
        "accept_due": add(start, limits.accept_min),
        "arrive_due": add(start, limits.arrive_min),
        "resolve_due": add(start, limits.resolve_min),
    }
