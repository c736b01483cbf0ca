"""The standard indicators in the test process, one ticket at a time: each count's condition at
its boundary (a deadline met to the second, a closing exactly at the period's end), what a
rejected finding does and does not count in, and the rates, scores and grades made from them."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from sqlalchemy import select

from config.trends import GradeThresholds, RankingWeights
from dispatch.indicators import RATES, Counts, count_columns, counts_of, grade, rate, score
from dispatch.store import TicketRow
from tests.support.rows import ticket_row

T0 = dt.datetime(2026, 11, 2, 1, 0, tzinfo=dt.UTC)
AS_OF = T0 + dt.timedelta(days=2)
DUE = T0 + dt.timedelta(hours=4)


def _row(**fields) -> TicketRow:
    defaults = {"dispatched_at": T0 + dt.timedelta(minutes=2), "resolve_due": DUE}
    return ticket_row("t1", T0, **{**defaults, **fields})


def _closed(at: dt.datetime, **fields) -> dict:
    return {"status": "closed", "close_reason": "done", "closed_at": at, **fields}


def _counts(store, row: TicketRow, as_of: dt.datetime = AS_OF) -> dict:
    with store.session() as session:
        session.add(row)
        session.commit()
        found = counts_of(session.execute(select(*count_columns(as_of))).one())
    return {k: v for k, v in dataclasses.asdict(found).items() if v}


SENT = {"filed": 1, "sent": 1, "precise": 1}
LATE = DUE + dt.timedelta(seconds=1)
CASES = {
    "open, not yet due": ({"resolve_due": AS_OF + dt.timedelta(hours=1)}, SENT),
    "open, due exactly now": ({"resolve_due": AS_OF}, SENT),
    "open, past due": ({}, {**SENT, "due": 1, "overdue": 1}),
    "open, no deadline": ({"resolve_due": None}, SENT),
    "fixed on the second of its deadline": (
        _closed(LATE, resolved_at=DUE),
        {**SENT, "due": 1, "concluded": 1, "on_time": 1, "fixed": 1},
    ),
    "fixed a second late": (
        _closed(LATE, resolved_at=LATE),
        {**SENT, "due": 1, "concluded": 1, "overdue": 1, "fixed": 1},
    ),
    "closed unfixed on time (by its closing)": (
        _closed(DUE),
        {**SENT, "due": 1, "concluded": 1, "on_time": 1},
    ),
    "closed unfixed late": (_closed(LATE), {**SENT, "due": 1, "concluded": 1, "overdue": 1}),
    "closed exactly at the period's end": (
        _closed(AS_OF, resolved_at=T0),
        {**SENT, "due": 1, "concluded": 1, "on_time": 1, "fixed": 1},
    ),
    "closed after the period's end": (
        _closed(AS_OF + dt.timedelta(seconds=1), resolved_at=AS_OF + dt.timedelta(seconds=1)),
        {**SENT, "due": 1, "overdue": 1},
    ),
    "closed with no deadline": (
        _closed(LATE, resolve_due=None),
        {**SENT, "due": 1, "concluded": 1, "on_time": 1},
    ),
    "verified but not marked fixed": (
        {"resolve_due": None, "verified_at": T0},
        {**SENT, "fixed": 1},
    ),
    "fixed after the period's end": (
        {"resolve_due": None, "resolved_at": AS_OF + dt.timedelta(seconds=1)},
        SENT,
    ),
    "reopened once": (
        {"resolve_due": None, "reopened_count": 1},
        {**SENT, "fixed": 1, "rework": 1},
    ),
    "given back, now waiting": (
        {"resolve_due": None, "dispatched_at": None, "returned_count": 1},
        {"filed": 1, "sent": 1},
    ),
    "never dispatched": ({"resolve_due": None, "dispatched_at": None}, {"filed": 1}),
    "supervised in the period": (
        {"resolve_due": None, "supervised_at": AS_OF},
        {**SENT, "supervised": 1},
    ),
    "supervised after it": (
        {"resolve_due": None, "supervised_at": AS_OF + dt.timedelta(seconds=1)},
        SENT,
    ),
    "a repeat of an earlier ticket": (
        {"resolve_due": None, "repeat_of": "t0"},
        {**SENT, "repeats": 1},
    ),
    "a camera finding dispatched": (
        {"resolve_due": None, "source": "camera"},
        {**SENT, "ai_decided": 1, "ai_confirmed": 1},
    ),
    "a camera finding still waiting": (
        {"resolve_due": None, "source": "camera", "dispatched_at": None},
        {"filed": 1},
    ),
    "a camera finding rejected as false": (
        {"source": "camera", "dispatched_at": None, **_closed(T0, close_reason="false_positive")},
        {"ai_decided": 1},
    ),
    "fixed exactly at the period's end": (
        {"resolve_due": None, "resolved_at": AS_OF},
        {**SENT, "fixed": 1},
    ),
    "verified exactly at the period's end": (
        {"resolve_due": None, "verified_at": AS_OF},
        {**SENT, "fixed": 1},
    ),
    "a camera finding dispatched, then found false": (
        {"source": "camera", **_closed(T0, close_reason="false_positive")},
        {"ai_decided": 1},
    ),
    "a patrol report rejected as false": (
        {"dispatched_at": None, "supervised_at": T0, **_closed(T0, close_reason="false_positive")},
        {},
    ),
    "a dispatched report closed as false": (
        {"resolved_at": T0, "repeat_of": "t0", **_closed(LATE, close_reason="false_positive")},
        {},
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_ticket_counts_where_the_standard_says(store, case):
    fields, expected = CASES[case]
    assert _counts(store, _row(**fields)) == expected


def test_no_tickets_count_nothing(store):
    with store.session() as session:
        row = session.execute(select(*count_columns(AS_OF)).select_from(TicketRow)).one()
    assert counts_of(row) == Counts()


def test_rates_are_to_four_places_and_none_when_nothing_counts():
    assert rate(2, 3) == 0.6667
    assert rate(1, 8) == 0.125
    assert rate(0, 5) == 0.0
    assert rate(0, 0) is None
    counts = Counts(due=4, concluded=3, on_time=2, fixed=5, rework=1, sent=8, precise=7,
                    ai_decided=3, ai_confirmed=2)  # fmt: skip
    assert [getattr(counts, name) for name in RATES] == [0.75, 0.5, 0.2, 0.875, 0.6667]
    shown = counts.as_dict()
    assert shown["closure_rate"] == 0.75 and shown["ai_confirm_rate"] == 0.6667
    assert shown["concluded"] == 3 and set(shown) >= set(RATES)
    assert [getattr(Counts(), name) for name in RATES] == [None] * 5


def test_counts_add_field_by_field():
    fields = [f.name for f in dataclasses.fields(Counts)]
    one = Counts(**{name: i + 1 for i, name in enumerate(fields)})
    two = Counts(**{name: 10 * (i + 1) for i, name in enumerate(fields)})
    assert one + two == Counts(**{name: 11 * (i + 1) for i, name in enumerate(fields)})


def test_a_score_weighs_the_rates_and_counts_what_cannot_be_computed_as_met():
    weights = RankingWeights()  # 0.3 closure, 0.4 on time, 0.15 precise, 0.15 rework-free
    counts = Counts(due=4, concluded=3, on_time=2, fixed=5, rework=1, sent=8, precise=7)
    # 100 * (0.3 * 0.75 + 0.4 * 0.5 + 0.15 * 0.875 + 0.15 * 0.8) = 67.625
    assert score(counts, weights) == 67.6
    nothing_sent = Counts(due=2, concluded=2, on_time=2)
    assert score(nothing_sent, weights) == 100.0
    assert score(Counts(filed=3, sent=3, precise=1), weights) is None  # nothing was due
    heavy = RankingWeights(closure_rate=0, on_time_rate=0, precise_rate=0, rework_free=1)
    assert score(counts, heavy) == 80.0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (100, "excellent"),
        (90, "excellent"),
        (89.9, "good"),
        (80, "good"),
        (79.9, "passing"),
        (60, "passing"),
        (59.9, "failing"),
        (0, "failing"),
        (None, None),
    ],
)
def test_grades_start_at_their_threshold(value, expected):
    assert grade(value, GradeThresholds()) == expected
