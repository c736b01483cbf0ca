"""Working time in the test process: which days are worked, where a deadline lands when a stage's
minutes cross nights, weekends, holidays and make-up Saturdays, and how much working time lies
between two moments (what the late minutes and trends count)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from config.schema import WorkCalendarConfig
from dispatch.calendar import WorkCalendar, district_calendar, stage_deadlines

SH = ZoneInfo("Asia/Shanghai")
HOLIDAY = dt.date(2026, 12, 9)  # a Wednesday
MAKE_UP = dt.date(2026, 12, 12)  # a Saturday worked to make up for it


@pytest.fixture
def calendar() -> WorkCalendar:
    cfg = WorkCalendarConfig(
        day_start="08:30", day_end="17:30", holidays=[HOLIDAY], extra_workdays=[MAKE_UP]
    )
    return WorkCalendar(cfg, SH)


def sh(day: int, hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    """A Shanghai time in December 2026 (the 7th is a Monday)."""
    return dt.datetime(2026, 12, day, hour, minute, second, tzinfo=SH)


def test_working_days_are_the_weekdays_less_holidays_plus_make_up_days(calendar):
    worked = [d for d in range(7, 21) if calendar.is_workday(dt.date(2026, 12, d))]
    assert worked == [7, 8, 10, 11, 12, 14, 15, 16, 17, 18]
    both = WorkCalendar(WorkCalendarConfig(holidays=[MAKE_UP], extra_workdays=[MAKE_UP]), SH)
    assert both.is_workday(MAKE_UP)  # named as worked, it is worked


@pytest.mark.parametrize(
    ("start", "minutes", "due"),
    [
        (sh(7, 9), 30, sh(7, 9, 30)),
        (sh(7, 6), 30, sh(7, 9)),  # before the day opens: from 08:30
        (sh(7, 17, 30), 1, sh(8, 8, 31)),  # at closing: from the next morning
        (sh(7, 17), 30, sh(7, 17, 30)),  # exactly the rest of the day: at closing, that day
        (sh(7, 17), 31, sh(8, 8, 31)),
        (sh(7, 20), 0, sh(8, 8, 30)),  # nothing to add, after hours: the next opening
        (sh(8, 17), 60, sh(10, 9)),  # Wednesday the 9th is a holiday
        (sh(11, 17), 60, sh(12, 9)),  # the make-up Saturday is worked
        (sh(12, 17), 60, sh(14, 9)),  # Sunday is not
        (sh(7, 9), 2.5, sh(7, 9, 2, 30)),
        (sh(7, 8, 30), 9 * 60 * 3, sh(10, 17, 30)),  # three whole days, the holiday skipped
    ],
)
def test_a_deadline_counts_only_working_minutes(calendar, start, minutes, due):
    found = calendar.add_working_minutes(start, minutes)
    assert found == due
    assert found.tzinfo is dt.UTC


def test_a_round_the_clock_service_runs_on_across_midnight():
    always = WorkCalendar(WorkCalendarConfig(day_start="00:00", day_end="23:59"), SH)
    assert always.add_working_minutes(sh(7, 23), 120) == sh(8, 1, 1)  # 59 minutes, then 61
    assert always.working_minutes_between(sh(7, 23), sh(8, 1)) == 59 + 60.0


def test_a_naive_start_and_a_calendar_with_no_working_time_are_refused(calendar):
    with pytest.raises(ValueError, match="^start must be timezone-aware$"):
        calendar.add_working_minutes(dt.datetime(2026, 12, 7, 9), 10)
    never = WorkCalendar(WorkCalendarConfig.model_construct(
        work_days=[], day_start="08:30", day_end="17:30", holidays=[], extra_workdays=[]
    ), SH)  # fmt: skip
    with pytest.raises(ValueError) as refused:
        never.add_working_minutes(sh(7, 9), 1)
    assert str(refused.value) == (
        "the work calendar has no working time in ten years; check work_days"
    )


def test_a_deadline_nine_years_of_working_days_ahead_is_found():
    rare = WorkCalendar(WorkCalendarConfig(work_days=[1], holidays=[]), SH)
    # one working day a week; 9 hours a day: 52 weeks * 9 years of Mondays
    due = rare.add_working_minutes(sh(7, 8, 30), 9 * 60 * 52 * 9)
    assert due.astimezone(SH).date().year == 2035


@pytest.mark.parametrize(
    ("start", "end", "minutes"),
    [
        (sh(7, 9), sh(7, 10), 60.0),
        (sh(7, 10), sh(7, 9), 0.0),  # end before start
        (sh(7, 9), sh(7, 9), 0.0),
        (sh(7, 6), sh(7, 20), 540.0),  # the working day only
        (sh(7, 17), sh(8, 9), 60.0),  # the night does not count
        (sh(8, 17), sh(10, 9), 60.0),  # nor the holiday
        (sh(11, 17), sh(14, 9), 30 + 9 * 60 + 30.0),  # the make-up Saturday does
        (sh(7, 9), sh(7, 9, 0, 30), 0.5),
        (sh(9, 9), sh(9, 17), 0.0),
    ],
)
def test_working_minutes_between_two_moments(calendar, start, end, minutes):
    assert calendar.working_minutes_between(start, end) == minutes
    utc = calendar.working_minutes_between(start.astimezone(dt.UTC), end.astimezone(dt.UTC))
    assert utc == minutes  # the same moments in UTC: the same working time


def test_the_district_calendar_and_each_stages_deadline(demo_cfg):
    calendar = district_calendar(demo_cfg)
    assert calendar.zone == demo_cfg.district.zone
    assert (calendar.start, calendar.end) == (dt.time(8, 30), dt.time(17, 30))
    start = dt.datetime(2027, 1, 15, 17, 0, tzinfo=SH)  # a Friday, 30 minutes before closing
    due = stage_deadlines(demo_cfg, calendar, "bin_overflow", start)  # 10, 30, 60 minutes
    assert due == {
        "accept_due": dt.datetime(2027, 1, 15, 17, 10, tzinfo=SH),
        "arrive_due": dt.datetime(2027, 1, 15, 17, 30, tzinfo=SH),
        "resolve_due": dt.datetime(2027, 1, 18, 9, 0, tzinfo=SH),  # Monday
    }
    assert stage_deadlines(demo_cfg, calendar, "graffiti", start) == dict.fromkeys(
        ("accept_due", "arrive_due", "resolve_due")
    )
