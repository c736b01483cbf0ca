"""Operators' and supervisors' routes: ticket lists, dispatch, verdicts, closing, reopening,
warnings, KPIs."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Path, Query

from dispatch import kpi
from dispatch.api import schemas
from dispatch.api.deps import API_PREFIX, Ctx, Lang, Operator, aware, departments_of, own_ticket
from dispatch.api.present import ticket_out, warning_out
from dispatch.publish import utc

# Warning ids are database integers: anything beyond them is refused, not looked up.
WarningId = Annotated[int, Path(ge=1, le=2_147_483_647)]
router = APIRouter(prefix=API_PREFIX, tags=["operators"])


@router.get("/tickets", response_model=list[schemas.TicketOut])
def list_tickets(
    who: Operator,
    ctx: Ctx,
    status: Annotated[str | None, Query(max_length=200, description="comma-separated")] = None,
    category: Annotated[str | None, Query(max_length=64)] = None,
    unit: Annotated[str | None, Query(max_length=64)] = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    lang: Lang = "zh",
):
    """Tickets, newest first, filtered (a supervisor sees its own departments' only)."""
    statuses = [s.strip() for s in status.split(",") if s.strip()] if status else None
    rows = ctx.desk.tickets(
        unit_id=unit,
        status=statuses,
        category=category,
        since=aware(since),
        until=aware(until),
        limit=limit,
        departments=departments_of(ctx, who),
    )
    return [ticket_out(ctx, t, lang) for t in rows]


@router.get("/tickets/{ticket_id}/reporters", response_model=list[schemas.ReporterOut])
def ticket_reporters(ticket_id: str, who: Operator, ctx: Ctx):
    """Who reported the problem and how to reach them (Open311 contact fields), oldest first.
    Personal data: operators and supervisors only; never in the public Open311 answers."""
    own_ticket(ctx, who, ticket_id)
    return [
        schemas.ReporterOut.model_validate(row, from_attributes=True)
        for row in ctx.desk.reporters(ticket_id)
    ]


@router.post("/tickets/{ticket_id}/dispatch", response_model=schemas.TicketOut)
def dispatch(ticket_id: str, who: Operator, ctx: Ctx, body: schemas.DispatchBody):
    """Send a new, returned, reopened or escalated ticket to a unit."""
    own_ticket(ctx, who, ticket_id)
    return ticket_out(ctx, ctx.desk.dispatch(ticket_id, body.unit_id, who, body.note), "zh")


@router.post("/tickets/{ticket_id}/verify", response_model=schemas.TicketOut)
def verify(ticket_id: str, who: Operator, ctx: Ctx, body: schemas.VerifyBody):
    """A person's verdict on a resolved ticket (for tickets no camera can re-check)."""
    own_ticket(ctx, who, ticket_id)
    return ticket_out(ctx, ctx.desk.verify(ticket_id, body.ok, who, body.note), "zh")


@router.post("/tickets/{ticket_id}/close", response_model=schemas.TicketOut)
def close(ticket_id: str, who: Operator, ctx: Ctx, body: schemas.CloseBody):
    """Close without a fix: duplicate, not responsible, no action needed."""
    own_ticket(ctx, who, ticket_id)
    return ticket_out(ctx, ctx.desk.close(ticket_id, body.reason, who, body.note), "zh")


@router.post("/tickets/{ticket_id}/reopen", response_model=schemas.TicketOut)
def reopen(ticket_id: str, who: Operator, ctx: Ctx, body: schemas.ReopenBody):
    """A closed ticket's problem is back: reopened with fresh deadlines and sent to the unit
    that had it (else the nearest); 409 for an open ticket, a duplicate, or one closed more than
    `dispatch.reopen_within_days` ago."""
    own_ticket(ctx, who, ticket_id)
    return ticket_out(ctx, ctx.desk.reopen(ticket_id, who, body.note), "zh")


@router.get("/warnings", response_model=list[schemas.WarningOut])
def warnings(who: Operator, ctx: Ctx, muted: bool = False):
    """Overdue and escalated stages not yet cleared (muted ones with muted=true)."""
    return [warning_out(w) for w in ctx.warnings.active(include_muted=muted)]


@router.post("/warnings/{warning_id}/acknowledge", response_model=schemas.WarningOut)
def acknowledge(warning_id: WarningId, who: Operator, ctx: Ctx):
    """Mark a warning as seen and being handled."""
    return warning_out(ctx.warnings.acknowledge(warning_id, who))


@router.post("/warnings/{warning_id}/mute", response_model=schemas.WarningOut)
def mute(warning_id: WarningId, who: Operator, ctx: Ctx, body: schemas.MuteBody):
    """Hide a warning for some minutes."""
    return warning_out(ctx.warnings.mute(warning_id, who, body.minutes))


@router.get("/kpis")
def kpis(
    who: Operator, ctx: Ctx, since: dt.datetime | None = None, until: dt.datetime | None = None
):
    """Precise-dispatch rate, on-time rate per stage, stage minutes by category/unit/grid,
    reopen rate, for tickets requested in [since, until]."""
    return kpi.compute(ctx.store, aware(since), aware(until), now=utc(ctx.clock()))
