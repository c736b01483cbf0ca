"""The standard indicators of digital city management, in one place (docs/INDICATORS.md).

Counted over the tickets filed in a period, as things stood at `as_of` (the period's end, or now
while it runs), leaving out findings a person rejected as false (不予立案):

- 立案数 `filed`: tickets filed;
- 结案数 `concluded`: closed by `as_of`;
- 应结案数 `due`: closed, plus still open with the resolve deadline passed (结案数 + 超期未结案数);
- 结案率 `closure_rate` = 结案数 / 应结案数;
- 按期结案数 `on_time`: closed, and fixed (or closed, when never fixed) by the resolve deadline;
- 按期结案率 `on_time_rate` = 按期结案数 / 应结案数;
- 超期数 `overdue`: the resolve deadline passed before the fix (closed late, or still open);
- 返工数 `rework`: a fix failed a camera re-check or a person's verification (reopened);
  返工率 `rework_rate` = 返工数 / `fixed` (tickets fixed at least once);
- precise dispatch `precise_rate` = `precise` (no unit gave it back as "not ours") / `sent`;
- AI-finding confirmation `ai_confirm_rate` = camera findings a person or the rules dispatched /
  camera findings decided (dispatched or rejected as false);
- 督办 `supervised`: escalated to the department's supervisor; `repeats`: filed at a spot reported
  within the repeat window;
- time to accept, arrive and resolve: working hours from dispatch, mean and 90th percentile.

Every count is a SQL `SUM(CASE ...)` over indexed rows (see dispatch/trends.py); the rates are
computed from the counts here, so a week and its days always agree.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, case, func, literal, not_, or_

from dispatch.states import CloseReason
from dispatch.store import TicketRow as T

FALSE = CloseReason.FALSE_POSITIVE.value
STAGES = ("accept", "arrive", "resolve")


def rate(part: int, whole: int) -> float | None:
    """part / whole to four places (93.72 % is 0.9372); None when nothing counts."""
    return round(part / whole, 4) if whole else None


@dataclass(frozen=True)
class Counts:
    """The counts behind the indicators, for one period and one cut."""

    filed: int = 0
    due: int = 0
    concluded: int = 0
    on_time: int = 0
    overdue: int = 0
    fixed: int = 0
    rework: int = 0
    sent: int = 0
    precise: int = 0
    ai_decided: int = 0
    ai_confirmed: int = 0
    supervised: int = 0
    repeats: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in FIELDS})

    @property
    def closure_rate(self) -> float | None:
        """结案率 = 结案数 / 应结案数."""
        return rate(self.concluded, self.due)

    @property
    def on_time_rate(self) -> float | None:
        """按期结案率 = 按期结案数 / 应结案数."""
        return rate(self.on_time, self.due)

    @property
    def rework_rate(self) -> float | None:
        """返工率 = 返工数 / tickets fixed at least once."""
        return rate(self.rework, self.fixed)

    @property
    def precise_rate(self) -> float | None:
        """Dispatched tickets never given back as wrongly assigned / dispatched."""
        return rate(self.precise, self.sent)

    @property
    def ai_confirm_rate(self) -> float | None:
        """Camera findings confirmed / camera findings decided."""
        return rate(self.ai_confirmed, self.ai_decided)

    def as_dict(self) -> dict:
        """Counts and rates, as the API, exports and brief show them."""
        return {
            **dataclasses.asdict(self),
            **{name: getattr(self, name) for name in RATES},
        }


FIELDS = dataclasses.fields(Counts)
RATES = ("closure_rate", "on_time_rate", "rework_rate", "precise_rate", "ai_confirm_rate")


def _count(condition) -> object:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def counted():
    """Tickets that count as cases: all but findings rejected as false."""
    return or_(T.close_reason.is_(None), T.close_reason != FALSE)


def count_columns(as_of: dt.datetime) -> list:
    """The SELECT columns of Counts over the rows a query keeps, as things stood at `as_of`."""
    case_ = counted()
    closed = and_(T.closed_at.is_not(None), T.closed_at <= as_of)
    finished = func.coalesce(T.resolved_at, T.closed_at)
    late_open = and_(not_(closed), T.resolve_due.is_not(None), T.resolve_due < as_of)
    on_time = and_(closed, or_(T.resolve_due.is_(None), finished <= T.resolve_due))
    dispatched = or_(T.dispatched_at.is_not(None), T.returned_count > 0)
    resolved = or_(T.resolved_at <= as_of, T.verified_at <= as_of, T.reopened_count > 0)
    camera = T.source == "camera"
    columns = {
        "filed": literal(True),
        "due": or_(closed, late_open),
        "concluded": closed,
        "on_time": on_time,
        "overdue": and_(
            T.resolve_due.is_not(None),
            T.resolve_due < as_of,
            or_(not_(closed), finished > T.resolve_due),
        ),
        "fixed": resolved,
        "rework": T.reopened_count > 0,
        "sent": dispatched,
        "precise": and_(dispatched, T.returned_count == 0),
        "ai_decided": None,
        "ai_confirmed": None,
        "supervised": and_(T.supervised_at.is_not(None), T.supervised_at <= as_of),
        "repeats": T.repeat_of.is_not(None),
    }
    found = [
        _count(and_(case_, condition)).label(name)
        for name, condition in columns.items()
        if condition is not None
    ]
    # AI findings are decided by a dispatch or by a person's rejection (which is not a case).
    rejected = T.close_reason == FALSE
    found.append(
        _count(and_(camera, or_(T.dispatched_at.is_not(None), rejected))).label("ai_decided")
    )
    found.append(_count(and_(camera, case_, T.dispatched_at.is_not(None))).label("ai_confirmed"))
    return found


def counts_of(row) -> Counts:
    """Counts from a result row that holds the `count_columns`."""
    return Counts(**{f.name: int(getattr(row, f.name) or 0) for f in FIELDS})


@dataclass(frozen=True)
class Durations:
    """Working hours from dispatch to a stage: how many, mean and 90th percentile."""

    stage: str
    count: int
    mean_h: float | None
    p90_h: float | None


def score(counts: Counts, weights) -> float | None:
    """The weighted score (0-100) of a unit, grid or department; None when nothing was due."""
    parts = (
        (weights.closure_rate, counts.closure_rate),
        (weights.on_time_rate, counts.on_time_rate),
        (weights.precise_rate, counts.precise_rate),
        (weights.rework_free, None if counts.rework_rate is None else 1 - counts.rework_rate),
    )
    if counts.due == 0:
        return None
    # A rate that cannot be computed (nothing dispatched, nothing fixed) counts as met.
    return round(100 * sum(w * (1.0 if r is None else r) for w, r in parts), 1)


GRADES = ("excellent", "good", "passing", "failing")  # 优秀 / 良好 / 合格 / 不合格


def grade(value: float | None, thresholds) -> str | None:
    """The grade of a score under the configured thresholds."""
    if value is None:
        return None
    for name in GRADES[:3]:
        if value >= getattr(thresholds, name):
            return name
    return GRADES[3]
