"""The trends page's queries in the test process, each on a few rows written to the store: the
filter's days and cuts, when a period's figures are taken, cuts and series folded by week and
month, the durations' 90th percentile, the hotspots, repeat places, supervised and long-overdue
lists (their order, limits and boundaries), and rankings."""

from __future__ import annotations

import datetime as dt

import pytest

from dispatch.indicators import Counts
from dispatch.trends import (
    TrendError,
    TrendFilter,
    Trends,
    _as_date,
    _percentile,
    as_of,
    by_standard_class,
    period_before,
    period_start,
    ranking,
)
from tests.support.rows import SH, add_rows, at, trend_row

NOV = TrendFilter(dt.date(2026, 11, 1), dt.date(2026, 11, 30))


@pytest.fixture
def trends(store, demo_cfg) -> Trends:
    return Trends(demo_cfg, store)


def test_a_filter_counts_its_days_and_refuses_more_than_ten_years():
    assert TrendFilter(dt.date(2026, 11, 2), dt.date(2026, 11, 2)).days == 1
    assert NOV.days == 30
    ten_years = TrendFilter(dt.date(2016, 1, 1), dt.date(2016, 1, 1) + dt.timedelta(days=3660))
    assert ten_years.days == 3661
    with pytest.raises(TrendError) as refused:
        TrendFilter(dt.date(2016, 1, 1), dt.date(2016, 1, 1) + dt.timedelta(days=3661))
    assert str(refused.value) == "the range is longer than ten years; pick a shorter one"
    with pytest.raises(TrendError) as backwards:
        TrendFilter(dt.date(2026, 11, 2), dt.date(2026, 11, 1))
    assert str(backwards.value) == "the range ends (2026-11-01) before it starts (2026-11-02)"


@pytest.mark.parametrize(
    ("option", "column", "value"),
    [
        ("category", "service_code", "bin_overflow"),
        ("grid", "grid_id", "G05"),
        ("community", "community_id", "zhonghe"),
        ("department", "department_id", "dept-citymgmt"),
        ("unit", "unit_id", "san-02"),
        ("source", "source", "camera"),
    ],
)
def test_each_cut_narrows_by_its_own_column_and_the_days_include_both_ends(
    store, trends, option, column, value
):
    add_rows(
        store,
        trend_row("in", **{column: value}, requested_at=at(1, 0, 0)),
        trend_row("other", **{column: "x"}, requested_at=at(30, 23, 59)),
        trend_row("before", **{column: value}, requested_at=at(1, 0) - dt.timedelta(seconds=1)),
        trend_row(
            "after", **{column: value}, requested_at=at(30, 23, 59) + dt.timedelta(minutes=1)
        ),
    )
    now = at(30, 12)
    narrowed = TrendFilter(NOV.start, NOV.end, **{option: value})
    assert trends.counts(narrowed, now).filed == 1
    assert trends.counts(NOV, now).filed == 2
    assert trends.counts(TrendFilter(NOV.start, NOV.end, **{option: ""}), now).filed == 2


def test_figures_are_taken_at_the_periods_end_or_now_while_it_runs(demo_cfg):
    end = dt.datetime(2026, 12, 1, tzinfo=SH)  # local midnight after the 30th
    assert as_of(demo_cfg, NOV, dt.datetime(2027, 1, 1, tzinfo=dt.UTC)) == end
    running = at(15, 10)
    assert as_of(demo_cfg, NOV, running) == running


def test_cuts_name_the_empty_value_and_put_most_cases_first(store, trends):
    add_rows(
        store,
        trend_row("a", grid_id="G02"),
        trend_row("b", grid_id="G02"),
        trend_row("c", grid_id=None),
        trend_row("d", grid_id="G01", status="closed", close_reason="done", closed_at=at(2, 10)),
        trend_row("e", grid_id="G03"),
        trend_row("f", grid_id="G03"),
        trend_row("g", grid_id="G03"),
    )
    cut = trends.cut(NOV, "grid", at(30, 12))
    assert [(key, counts.filed) for key, counts in cut] == [
        ("G03", 3),
        ("G02", 2),
        ("-", 1),
        ("G01", 1),
    ]
    with pytest.raises(TrendError) as refused:
        trends.cut(NOV, "hex_cell", at(30, 12))
    assert str(refused.value) == (
        "cannot cut by 'hex_cell'; by one of category, grid, community, department, unit, source"
    )


def test_series_fold_days_into_weeks_from_monday_and_months(store, trends):
    add_rows(
        store,
        trend_row("sun", requested_at=at(1, 9)),  # Sunday: the week of Monday 26 October
        trend_row("mon", requested_at=at(2, 9)),
        trend_row("sun8", requested_at=at(8, 9)),
        trend_row("dec", requested_at=at(30, 9) + dt.timedelta(days=2)),
    )
    now = at(30, 12) + dt.timedelta(days=40)
    span = TrendFilter(dt.date(2026, 11, 1), dt.date(2026, 12, 3))
    weeks = trends.series(span, "week", now)
    assert [(day.isoformat(), c.filed) for day, c in weeks] == [
        ("2026-10-26", 1),
        ("2026-11-02", 2),
        ("2026-11-09", 0),
        ("2026-11-16", 0),
        ("2026-11-23", 0),
        ("2026-11-30", 1),
    ]
    months = trends.series(span, "month", now)
    assert [(day.isoformat(), c.filed) for day, c in months] == [
        ("2026-11-01", 3),
        ("2026-12-01", 1),
    ]
    days = trends.series(span, "day", now)
    assert len(days) == 33 and days[0] == (
        dt.date(2026, 11, 1),
        Counts(filed=1, due=1, overdue=1, sent=1, precise=1),  # open past its 4 hours
    )
    with pytest.raises(TrendError) as refused:
        trends.series(span, "year", now)
    assert str(refused.value) == "unknown step 'year'; use one of day, week, month"


def test_period_starts():
    wednesday = dt.date(2026, 11, 4)
    assert period_start(wednesday, "week") == dt.date(2026, 11, 2)
    assert period_start(dt.date(2026, 11, 2), "week") == dt.date(2026, 11, 2)
    assert period_start(wednesday, "month") == dt.date(2026, 11, 1)
    assert period_start(wednesday, "day") == wednesday


def test_the_period_before_a_span_of_days_is_as_many_days(demo_cfg):
    ten = TrendFilter(dt.date(2026, 11, 5), dt.date(2026, 11, 14), grid="G01")
    assert period_before(ten) == TrendFilter(
        dt.date(2026, 10, 26), dt.date(2026, 11, 4), grid="G01"
    )
    # starting on the 1st but not ending a month: days, not months
    part = TrendFilter(dt.date(2026, 11, 1), dt.date(2026, 11, 10))
    assert period_before(part) == TrendFilter(dt.date(2026, 10, 22), dt.date(2026, 10, 31))
    two_months = TrendFilter(dt.date(2026, 3, 1), dt.date(2026, 4, 30))
    assert period_before(two_months) == TrendFilter(dt.date(2026, 1, 1), dt.date(2026, 2, 28))


def test_the_headline_compares_the_same_days_a_year_before_and_the_period_before(store, trends):
    add_rows(
        store,
        trend_row("now1", requested_at=at(10, 9)),
        trend_row("now2", requested_at=at(11, 9)),
        trend_row("year", requested_at=at(10, 9) - dt.timedelta(days=365)),
        *(trend_row(f"oct{d}", requested_at=at(1, 9) - dt.timedelta(days=d)) for d in (1, 2, 3)),
    )
    headline = trends.headline(NOV, at(30, 12))
    assert {name: c.filed for name, c in headline.items()} == {
        "now": 2,
        "year_before": 1,
        "period_before": 3,
    }
    assert headline["now"] == trends.counts(NOV, at(30, 12))


def test_the_period_before_whole_months_across_a_new_year():
    winter = TrendFilter(dt.date(2025, 11, 1), dt.date(2026, 2, 28))
    assert period_before(winter) == TrendFilter(dt.date(2025, 7, 1), dt.date(2025, 10, 31))


def test_days_read_back_as_text_become_dates():
    assert _as_date("2026-11-02 00:00:00.000000") == dt.date(2026, 11, 2)
    assert _as_date("2026-11-02") == dt.date(2026, 11, 2)
    assert _as_date(dt.date(2026, 11, 2)) == dt.date(2026, 11, 2)


def test_the_90th_percentile_is_the_nearest_rank_of_half_minute_buckets():
    histogram = [(0, 5, 1.0), (4, 3, 6.0), (10, 2, 10.0)]  # 0-0.5, 2-2.5, 5-5.5 minutes
    assert _percentile(histogram, 10, 0.9) == 5.25  # rank 9: in the last bucket
    assert _percentile(histogram, 10, 0.8) == 2.25  # rank 8: the second bucket's last
    assert _percentile(histogram, 10, 0.5) == 0.25
    assert _percentile([], 0, 0.9) is None


def test_durations_in_working_hours_with_their_percentile(store, trends):
    rows = []
    for i, minutes in enumerate([30, 60, 60, 90, 120, 150, 180, 210, 240, 600]):
        rows.append(trend_row(f"t{i}", accept_work_min=float(minutes)))
    rows.append(trend_row("rejected", accept_work_min=5000.0, close_reason="false_positive"))
    rows.append(
        trend_row("october", accept_work_min=9000.0, requested_at=at(1, 9) - dt.timedelta(1))
    )
    add_rows(store, *rows)
    accept, arrive, resolve = trends.durations(NOV)
    assert (accept.stage, accept.count) == ("accept", 10)
    assert accept.mean_h == 2.9  # 1740 minutes / 10, in hours
    assert accept.p90_h == 4.0  # rank 9: 240 minutes (its half-minute bucket's middle)
    assert (arrive.stage, arrive.count, arrive.mean_h, arrive.p90_h) == ("arrive", 0, None, None)
    assert resolve.stage == "resolve"


def test_hotspots_count_cases_by_hour_weekday_and_hexagon(store, trends):
    add_rows(
        store,
        trend_row("a", hex_cell="cell-b"),
        trend_row("b", hex_cell="cell-b"),
        trend_row("c", hex_cell="cell-a", requested_at=at(3, 23, 30)),
        trend_row("d", hex_cell="cell-c", requested_at=at(3, 0, 10)),
        trend_row("e", hex_cell=None, local_dow=None, local_hour=None),
        trend_row("f", hex_cell="cell-b", close_reason="false_positive", status="closed"),
        trend_row("g", hex_cell="cell-c", requested_at=at(1, 9) - dt.timedelta(days=1)),
        trend_row("h", hex_cell=None, local_dow=None, local_hour=5),
    )
    assert trends.hexagons(NOV) == [("cell-b", 2), ("cell-a", 1), ("cell-c", 1)]
    grid = trends.hour_by_weekday(NOV)
    assert len(grid) == 7 and {len(hours) for hours in grid} == {24}
    assert (grid[0][9], grid[1][23], grid[1][0]) == (2, 1, 1)  # Monday 9:00; Tuesday 23:00, 0:00
    assert sum(map(sum, grid)) == 4  # e and h have no weekday; g was in October


def test_repeat_places_most_repeats_first_with_the_latest_report(store, trends):
    add_rows(
        store,
        trend_row("r1", hex_cell="x1", repeat_of="o", address="北街 1号", requested_at=at(3, 9)),
        trend_row("r2", hex_cell="x1", repeat_of="o", address="北街 2号", requested_at=at(4, 9)),
        trend_row("r3", hex_cell="x0", repeat_of="o", requested_at=at(5, 9)),
        trend_row("r4", hex_cell="x2", repeat_of="o", service_code="bin_overflow"),
        trend_row("r5", hex_cell="x1", repeat_of="o", service_code="bin_overflow"),
        trend_row("first", hex_cell="x1"),  # not a repeat itself
        trend_row("false", hex_cell="x1", repeat_of="o", close_reason="false_positive"),
        trend_row(
            "oct", hex_cell="x0", repeat_of="o", requested_at=at(1, 9) - dt.timedelta(days=1)
        ),
    )
    places = trends.repeat_places(NOV)
    assert [(p.hex_cell, p.category, p.repeats) for p in places] == [
        ("x1", "dirty_road", 2),
        ("x0", "dirty_road", 1),
        ("x1", "bin_overflow", 1),
        ("x2", "bin_overflow", 1),
    ]
    assert (places[0].address, places[0].last) == ("北街 2号", at(4, 9))
    assert places[1].address == ""
    assert len(trends.repeat_places(NOV, limit=2)) == 2


def test_supervised_and_long_overdue_lists(store, trends, demo_cfg):
    hours = demo_cfg.trends.long_overdue_hours  # 72
    now = at(20, 12)
    limit_at = now - dt.timedelta(hours=hours)
    add_rows(
        store,
        trend_row("s1", supervised_at=at(5, 9), resolve_due=None),
        trend_row("s2", supervised_at=at(6, 9), resolve_due=None),
        trend_row("s0", supervised_at=at(6, 9), resolve_due=None),
        trend_row("sf", supervised_at=at(7, 9), close_reason="false_positive", status="closed"),
        trend_row("edge", resolve_due=limit_at),  # exactly 72 hours overdue: not yet long
        trend_row("long", resolve_due=limit_at - dt.timedelta(seconds=1)),
        trend_row("longer", resolve_due=limit_at - dt.timedelta(days=2)),
        trend_row("long-b", resolve_due=limit_at - dt.timedelta(days=1)),
        trend_row("long-a", resolve_due=limit_at - dt.timedelta(days=1)),
        trend_row(
            "october",
            supervised_at=at(1, 9),
            resolve_due=limit_at - dt.timedelta(days=9),
            requested_at=at(1, 9) - dt.timedelta(days=1),
        ),
        trend_row("done", resolve_due=at(2, 9), status="closed", close_reason="done"),
    )
    assert [t.id for t in trends.supervised(NOV)] == ["s0", "s2", "s1"]
    assert [t.id for t in trends.supervised(NOV, limit=1)] == ["s0"]
    overdue = [t.id for t in trends.long_overdue(NOV, now)]
    assert overdue == ["longer", "long-a", "long-b", "long"]
    assert [t.id for t in trends.long_overdue(NOV, now, limit=1)] == ["longer"]


def test_rankings_put_the_ungraded_last_and_ties_by_name(demo_cfg):
    min_cases = demo_cfg.trends.min_cases  # 5
    perfect = Counts(due=min_cases, concluded=min_cases, on_time=min_cases)
    cut = [
        ("zz", perfect),
        ("aa", perfect),
        ("short", Counts(due=min_cases - 1, concluded=min_cases - 1, on_time=min_cases - 1)),
        ("ab", Counts(due=min_cases, concluded=min_cases)),  # closed all, none on time: 60
        ("ac", Counts()),
    ]
    graded = ranking(demo_cfg, cut)
    assert graded[0].counts == perfect
    assert [(g.key, g.score, g.grade) for g in graded] == [
        ("aa", 100.0, "excellent"),
        ("zz", 100.0, "excellent"),
        ("ab", 60.0, "passing"),
        ("ac", None, None),
        ("short", None, None),
    ]


def test_standard_classes_merge_and_unknown_categories_keep_their_id(demo_cfg):
    cut = [
        ("graffiti", Counts(filed=4)),
        ("illegal_parking", Counts(filed=3, due=1)),
        ("dirty_road", Counts(filed=3, due=2)),
        ("event/0505", Counts(filed=2, due=2)),  # an id that is itself the class: merged in
    ]
    assert by_standard_class(demo_cfg, cut) == [
        ("event/0505", Counts(filed=5, due=3)),
        ("graffiti", Counts(filed=4)),
        ("event/0104", Counts(filed=3, due=2)),
    ]
