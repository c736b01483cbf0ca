"""Leaders' indicators against hand-computed fixtures, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config.schema import WorkCalendarConfig
from dispatch import facts
from dispatch.calendar import WorkCalendar, district_calendar
from dispatch.indicators import Counts
from dispatch.store import TicketRow
from dispatch.trends import (
    TrendError,
    TrendFilter,
    Trends,
    by_standard_class,
    period_before,
    ranking,
    year_before,
)
from sim.work_clock import WorkClock
from tests.support.rows import SH, at, trend_row


def test_the_published_case():
    """972 cases due, 911 closed, 737 closed on time: 93.72 % and 75.82 %."""
    counts = Counts(due=972, concluded=911, on_time=737)
    assert counts.closure_rate == 0.9372
    assert counts.on_time_rate == 0.7582
    assert Counts().closure_rate is None  # nothing due: no rate, not 0 % or 100 %


def _closed(tid: str, fixed_after_h: float, **fields) -> TicketRow:
    requested = fields.get("requested_at", at(2, 9))
    fixed = requested + dt.timedelta(hours=fixed_after_h)
    return trend_row(
        tid,
        status="closed",
        close_reason="done",
        resolved_at=fixed,
        verified_at=fixed + dt.timedelta(minutes=10),
        closed_at=fixed + dt.timedelta(minutes=10),
        **fields,
    )


def fixture_week() -> list[TicketRow]:
    """The week of 2026-11-02 (Mon) to 2026-11-08, as it stood at its end (fresh rows)."""
    return [
        _closed("a", 2, source="camera"),  # on time
        _closed("b", 6, source="camera", grid_id="G02"),  # closed late
        trend_row("c", requested_at=at(3, 9)),  # open, past its deadline
        trend_row("d", requested_at=at(8, 20), resolve_due=at(9, 12)),  # open, due after the week
        trend_row(
            "e",
            source="camera",
            status="closed",
            close_reason="false_positive",
            dispatched_at=None,
            closed_at=at(2, 9, 20),
        ),  # a rejected finding: not a case  # fmt: skip
        _closed("f", 3, reopened_count=1),  # rework, then on time
        _closed("g", 1, returned_count=1, grid_id="G02"),  # given back once: not precise
        _closed("h", 8, supervised_at=at(2, 14)),  # supervised, closed late
        _closed("i", 50, requested_at=at(7, 9), resolve_due=at(9, 17)),  # fixed after the week
        trend_row("z", requested_at=at(9, 9)),  # filed the next week
    ]


WEEK = TrendFilter(dt.date(2026, 11, 2), dt.date(2026, 11, 8))


@pytest.fixture
def trends(store, demo_cfg) -> Trends:
    with store.session() as session, session.begin():
        session.add_all(fixture_week())
    return Trends(demo_cfg, store)


def test_indicators_of_a_week_by_hand(trends):
    counts = trends.counts(WEEK, now=at(30, 12))
    assert counts.filed == 8  # a-i without the rejected finding e
    assert counts.concluded == 5  # a b f g h (i closed after the week)
    assert counts.due == 6  # + c, open past its deadline
    assert counts.on_time == 3  # a f g
    assert counts.overdue == 3  # b c h
    assert (counts.closure_rate, counts.on_time_rate) == (0.8333, 0.5)
    assert (counts.rework, counts.fixed, counts.rework_rate) == (1, 5, 0.2)
    assert (counts.precise, counts.sent, counts.precise_rate) == (7, 8, 0.875)
    assert (counts.ai_confirmed, counts.ai_decided) == (2, 3)  # a b confirmed, e rejected
    assert counts.supervised == 1


def test_a_running_week_counts_as_of_now(trends):
    """While the week runs, what is not yet due is not due: i's deadline has not come."""
    counts = trends.counts(WEEK, now=at(4, 12))
    assert counts.concluded == 5 and counts.due == 6
    later = trends.counts(WEEK, now=at(10, 12))  # the week is over: the same as at its end
    assert later == trends.counts(WEEK, now=at(30, 12))


def test_days_weeks_and_cuts_add_up(trends):
    now = at(30, 12)
    whole = trends.counts(WEEK, now)
    days = trends.series(WEEK, "day", now)
    assert [d for d, _ in days] == [dt.date(2026, 11, 2) + dt.timedelta(n) for n in range(7)]
    assert sum((c for _, c in days), Counts()) == whole
    (week,) = trends.series(WEEK, "week", now)
    assert week == (dt.date(2026, 11, 2), whole)
    grids = dict(trends.cut(WEEK, "grid", now))
    assert grids["G02"].filed == 2 and sum(grids.values(), Counts()) == whole
    narrowed = trends.counts(TrendFilter(WEEK.start, WEEK.end, grid="G02"), now)
    assert narrowed == grids["G02"]


def test_hour_by_weekday_and_lists(trends):
    grid = trends.hour_by_weekday(WEEK)
    assert grid[0][9] == 5  # Monday 09:00: a b f g h; the rejected finding e is no case
    assert (grid[1][9], grid[5][9], grid[6][20]) == (1, 1, 1)  # c on Tuesday, i, d at 20:00
    assert sum(map(sum, grid)) == 8
    assert [t.id for t in trends.supervised(WEEK)] == ["h"]
    assert [t.id for t in trends.long_overdue(WEEK, at(30, 12))] == ["c", "d"]
    assert [t.id for t in trends.long_overdue(WEEK, at(5, 12))] == []  # c: 2 days, not 3


def test_working_hours_across_a_weekend_and_a_holiday(store, demo_cfg):
    """Dispatched Friday 16:30, accepted Tuesday 09:30 after a Monday holiday: 2 working hours."""
    calendar = WorkCalendar(
        WorkCalendarConfig(day_start="08:30", day_end="17:30", holidays=[dt.date(2026, 11, 9)]),
        SH,
    )
    ticket = trend_row(
        "w",
        requested_at=at(6, 16, 25),
        dispatched_at=at(6, 16, 30),
        accepted_at=at(10, 9, 30),
        arrived_at=at(10, 11),
    )
    minutes = facts.working_minutes(calendar, ticket)
    assert minutes == {"accept_work_min": 120.0, "arrive_work_min": 210.0, "resolve_work_min": None}
    with store.session() as session, session.begin():
        session.add(ticket)
    for column, value in minutes.items():
        with store.session() as session, session.begin():
            setattr(session.get(TicketRow, "w"), column, value)
    durations = {d.stage: d for d in Trends(demo_cfg, store).durations(WEEK)}
    assert durations["accept"].mean_h == 2.0 and durations["arrive"].mean_h == 3.5
    assert durations["resolve"].count == 0 and durations["resolve"].p90_h is None


def test_the_dispatchers_tick_fills_working_minutes(store, demo_cfg):
    calendar = district_calendar(demo_cfg)
    ticket = trend_row("x", accepted_at=at(2, 9, 40), facts_due=True, local_day=None)
    with store.session() as session, session.begin():
        session.add(ticket)
    assert facts.refresh(store, demo_cfg, calendar) == 1
    with store.session() as session:
        row = session.get(TicketRow, "x")
    assert row.accept_work_min == 38.0 and row.local_day == dt.date(2026, 11, 2)
    assert row.facts_due is False and row.hex_cell
    assert facts.refresh(store, demo_cfg, calendar) == 0


def test_comparison_periods():
    october = TrendFilter(dt.date(2026, 10, 1), dt.date(2026, 10, 31))
    assert period_before(october) == TrendFilter(dt.date(2026, 9, 1), dt.date(2026, 9, 30))
    assert year_before(october) == TrendFilter(dt.date(2025, 10, 1), dt.date(2025, 10, 31))
    quarter = TrendFilter(dt.date(2026, 1, 1), dt.date(2026, 3, 31))
    assert period_before(quarter).start == dt.date(2025, 10, 1)
    leap = TrendFilter(dt.date(2028, 2, 29), dt.date(2028, 2, 29))
    assert year_before(leap).start == dt.date(2027, 2, 28)
    assert period_before(WEEK) == TrendFilter(dt.date(2026, 10, 26), dt.date(2026, 11, 1))
    with pytest.raises(TrendError, match="before it starts"):
        TrendFilter(dt.date(2026, 11, 2), dt.date(2026, 11, 1))


def test_rankings_grade_by_the_configured_weights(demo_cfg):
    cut = [
        ("best", Counts(due=10, concluded=10, on_time=10, sent=10, precise=10, fixed=10)),
        ("slow", Counts(due=10, concluded=9, on_time=6, sent=10, precise=9, fixed=10, rework=2)),
        ("few", Counts(due=2, concluded=2, on_time=2)),
    ]
    graded = ranking(demo_cfg, cut)
    assert [(r.key, r.score, r.grade) for r in graded] == [
        ("best", 100.0, "excellent"),
        # 0.3 * 0.9 + 0.4 * 0.6 + 0.15 * 0.9 + 0.15 * 0.8 = 0.765
        ("slow", 76.5, "passing"),
        ("few", None, None),  # fewer than trends.min_cases due: not graded
    ]


def test_categories_regroup_by_standard_class(demo_cfg):
    cut = [("illegal_parking", Counts(filed=3)), ("dirty_road", Counts(filed=5))]
    assert by_standard_class(demo_cfg, cut) == [
        ("event/0104", Counts(filed=5)),
        ("event/0505", Counts(filed=3)),
    ]
    assert demo_cfg.classification.find("event/0505").names.zh == "机动车乱停放"


@settings(max_examples=200, deadline=None)
@given(
    start=st.datetimes(dt.datetime(2026, 12, 20), dt.datetime(2027, 2, 20)),
    minutes=st.floats(0, 5000),
)
def test_the_generators_clock_agrees_with_the_calendar(demo_cfg, start, minutes):
    """Generated stage times are counted in working time exactly as live ones."""
    calendar = district_calendar(demo_cfg)
    clock = WorkClock(calendar, dt.date(2026, 12, 1), dt.date(2027, 6, 1))
    begin = start.replace(tzinfo=SH)
    work = clock.to_work(np.array([begin.timestamp()]))
    reached = dt.datetime.fromtimestamp(clock.from_work(work + minutes)[0], dt.UTC)
    assert calendar.working_minutes_between(begin, reached) == pytest.approx(minutes, abs=0.02)
    # The same instant as the calendar's, or the same working moment (a day's close is the
    # next working day's opening).
    expected = calendar.add_working_minutes(begin, minutes)
    assert calendar.working_minutes_between(min(expected, reached), max(expected, reached)) < 0.02


def test_on_time_against_a_deadline_across_a_weekend_and_a_holiday(store, demo_cfg):
    """Filed Friday 16:00 with 120 working minutes to fix, Monday a holiday: due Tuesday 09:00."""
    calendar = WorkCalendar(
        WorkCalendarConfig(day_start="08:30", day_end="17:30", holidays=[dt.date(2026, 11, 9)]),
        SH,
    )
    due = calendar.add_working_minutes(at(6, 16), 120)
    assert due == at(10, 9)
    fixed = {"sat": at(7, 11), "tue-early": at(10, 8, 55), "tue-on-the-minute": due,
             "tue-late": at(10, 9, 5)}  # fmt: skip
    with store.session() as session, session.begin():
        for name, when in fixed.items():
            session.add(
                trend_row(
                    name,
                    requested_at=at(6, 16),
                    resolve_due=due,
                    status="closed",
                    close_reason="done",
                    resolved_at=when,
                    closed_at=when + dt.timedelta(minutes=5),
                )
            )
    # The week of the 6th to the 12th, taken at its end: everything fixed by then.
    counts = Trends(demo_cfg, store).counts(
        TrendFilter(dt.date(2026, 11, 6), dt.date(2026, 11, 12)), now=at(30, 12)
    )
    assert (counts.due, counts.on_time, counts.overdue) == (4, 3, 1)  # only tue-late is late
