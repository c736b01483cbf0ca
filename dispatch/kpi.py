"""Key figures of the closed loop, computed from the ticket store (served at `/api/v1/kpis`).

- precise-dispatch rate: dispatched tickets never given back by a unit as "not ours";
- on-time rate per stage: stages reached by their due time, out of those reached or overdue;
- minutes per stage (mean, median) by category, unit and grid;
- reopen rate: resolved tickets whose fix failed verification at least once;
- false-finding rate per camera and category: camera tickets a person rejected as false
  positives (closed `false_positive`), out of that camera's tickets of the category.

A reopened ticket's stage times describe its latest pass; the audit log keeps every pass.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict

from sqlalchemy import select

from dispatch.states import TicketState
from dispatch.store import Store, TicketRow

S = TicketState

# stage -> (start column, end column, due column)
STAGES = {
    "dispatch": ("requested_at", "dispatched_at", None),
    "accept": ("dispatched_at", "accepted_at", "accept_due"),
    "arrive": ("accepted_at", "arrived_at", "arrive_due"),
    "resolve": ("arrived_at", "resolved_at", "resolve_due"),
    "verify": ("resolved_at", "verified_at", None),
}
GROUPS = {"category": "service_code", "unit": "unit_id", "grid": "grid_id"}


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _summary(minutes: list[float]) -> dict:
    if not minutes:
        return {"count": 0, "mean_min": None, "median_min": None}
    return {
        "count": len(minutes),
        "mean_min": round(statistics.fmean(minutes), 2),
        "median_min": round(statistics.median(minutes), 2),
    }


def compute(
    store: Store, since: dt.datetime | None = None, until: dt.datetime | None = None, now=None
) -> dict:
    """The KPIs of tickets requested in [since, until]; `now` decides what is overdue."""
    now = now or dt.datetime.now(dt.UTC)
    query = select(TicketRow)
    if since:
        query = query.where(TicketRow.requested_at >= since)
    if until:
        query = query.where(TicketRow.requested_at <= until)
    with store.session() as session:
        tickets = list(session.scalars(query))

    dispatched = [t for t in tickets if t.dispatched_at or t.returned_count]
    precise = sum(1 for t in dispatched if not t.returned_count)
    resolved_once = [t for t in tickets if t.resolved_at or t.verified_at or t.reopened_count]
    reopened = sum(1 for t in resolved_once if t.reopened_count)
    overall, durations = _durations(tickets)
    return {
        "tickets": len(tickets),
        "since": since.isoformat() if since else None,
        "until": until.isoformat() if until else None,
        "precise_dispatch": {
            S.DISPATCHED: len(dispatched),
            "precise": precise,
            "rate": _rate(precise, len(dispatched)),
        },
        "reopen": {
            S.RESOLVED: len(resolved_once),
            S.REOPENED: reopened,
            "rate": _rate(reopened, len(resolved_once)),
        },
        "on_time": _on_time(tickets, now),
        "false_findings": _false_findings(tickets),
        "stage_minutes": {stage: _summary(overall[stage]) for stage in STAGES},
        "by": {
            group: {
                key: {stage: _summary(values[stage]) for stage in STAGES}
                for key, values in sorted(per_key.items())
            }
            for group, per_key in durations.items()
        },
    }


def _false_findings(tickets: list[TicketRow]) -> list[dict]:
    """Per camera and category: its findings, how many a person rejected, and the rate."""
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for ticket in tickets:
        if ticket.source == "camera" and ticket.camera_id:
            seen = counts[(ticket.camera_id, ticket.service_code)]
            seen[0] += 1
            seen[1] += ticket.close_reason == "false_positive"
    return [
        {
            "camera_id": camera,
            "category": category,
            "findings": found,
            "rejected": rejected,
            "rate": _rate(rejected, found),
        }
        for (camera, category), (found, rejected) in sorted(counts.items())
    ]


def _on_time(tickets: list[TicketRow], now: dt.datetime) -> dict[str, dict]:
    """Per timed stage: reached by the due time, out of those reached or already late."""
    on_time: dict[str, dict] = {}
    for stage, (_, end, due) in STAGES.items():
        if due is None:
            continue
        counted = met = 0
        for ticket in tickets:
            due_at, done_at = getattr(ticket, due), getattr(ticket, end)
            if due_at is None:
                continue
            if done_at is not None:
                counted += 1
                met += done_at <= due_at
            elif due_at < now and ticket.status != S.CLOSED:
                counted += 1  # still not reached and already late
        on_time[stage] = {"counted": counted, "on_time": met, "rate": _rate(met, counted)}
    return on_time


def _durations(tickets: list[TicketRow]) -> tuple[dict, dict]:
    """Minutes per stage overall, and per group (category, unit, grid) and key."""
    durations: dict[str, dict[str, dict[str, list[float]]]] = {
        group: defaultdict(lambda: defaultdict(list)) for group in GROUPS
    }
    overall: dict[str, list[float]] = defaultdict(list)
    for ticket in tickets:
        for stage, (start, end, _) in STAGES.items():
            begin, finish = getattr(ticket, start), getattr(ticket, end)
            if begin is None or finish is None or finish < begin:
                continue
            minutes = (finish - begin).total_seconds() / 60
            overall[stage].append(minutes)
            for group, column in GROUPS.items():
                key = getattr(ticket, column) or "-"
                durations[group][key][stage].append(minutes)
    return overall, durations
