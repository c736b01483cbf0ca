"""Field units' routes: who am I, my tickets, and the moves a unit makes (token per unit)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile
from starlette.concurrency import run_in_threadpool

from dispatch.api import schemas
from dispatch.api.deps import API_PREFIX, ApiError, Credential, Ctx, Lang, UnitId
from dispatch.api.present import can_see, ticket_out
from dispatch.media import Photo
from dispatch.states import UNIT_SHOWN

router = APIRouter(prefix=API_PREFIX, tags=["field units"])


@router.get("/me", response_model=schemas.UnitOut)
def me(unit: UnitId, ctx: Ctx, lang: Lang = "zh"):
    """The calling unit."""
    config = ctx.cfg.unit(unit)
    return schemas.UnitOut(
        id=config.id, name=config.label(lang), type=config.type, department=config.department
    )


@router.get("/my/tickets", response_model=list[schemas.TicketOut])
def my_tickets(unit: UnitId, ctx: Ctx, lang: Lang = "zh"):
    """The unit's tickets that still need something from it (dispatched to resolved)."""
    rows = ctx.desk.tickets(unit_id=unit, status=UNIT_SHOWN)
    media = ctx.desk.media(t.id for t in rows)
    return [ticket_out(ctx, t, lang, media[t.id]) for t in rows]


@router.get("/tickets/{ticket_id}", response_model=schemas.TicketOut)
def get_ticket(ticket_id: str, token: Credential, ctx: Ctx, lang: Lang = "zh"):
    """One ticket with its evidence and audit trail (units see their own and supervised ones)."""
    ticket = ctx.desk.get(ticket_id)
    if not can_see(ctx, token, ticket):
        raise ApiError(403, f"ticket {ticket_id} is not yours to see")
    return ticket_out(
        ctx, ticket, lang, ctx.desk.media([ticket.id])[ticket.id], ctx.desk.audit(ticket.id)
    )


def _note(body: schemas.NoteBody | None) -> str:
    return body.note if body else ""


@router.post("/tickets/{ticket_id}/accept", response_model=schemas.TicketOut)
def accept(ticket_id: str, unit: UnitId, ctx: Ctx, body: schemas.NoteBody | None = None):
    """The assigned unit takes the job."""
    return ticket_out(ctx, ctx.desk.accept(ticket_id, unit, _note(body)), "zh")


@router.post("/tickets/{ticket_id}/arrive", response_model=schemas.TicketOut)
def arrive(ticket_id: str, unit: UnitId, ctx: Ctx, body: schemas.NoteBody | None = None):
    """The assigned unit is on site."""
    return ticket_out(ctx, ctx.desk.arrive(ticket_id, unit, _note(body)), "zh")


async def read_photos(files: list[UploadFile]) -> list[Photo]:
    """The uploaded photos' bytes."""
    return [Photo(await f.read(), f.filename or "photo") for f in files]


@router.post("/tickets/{ticket_id}/resolve", response_model=schemas.TicketOut)
async def resolve(
    ticket_id: str,
    unit: UnitId,
    ctx: Ctx,
    photo: Annotated[list[UploadFile], File(description="JPEG or PNG photos of the fix")] = [],  # noqa: B006
    note: Annotated[str, Form(max_length=2000)] = "",
):
    """The unit reports the fix with photos (multipart/form-data); verification follows."""
    photos = await read_photos(photo)
    ticket = await run_in_threadpool(ctx.desk.resolve, ticket_id, unit, photos, note)
    return ticket_out(ctx, ticket, "zh")


@router.post("/tickets/{ticket_id}/return", response_model=schemas.TicketOut)
def give_back(ticket_id: str, unit: UnitId, ctx: Ctx, body: schemas.ReturnBody):
    """Not ours: the ticket goes back and is re-routed (counts against precise dispatch)."""
    return ticket_out(ctx, ctx.desk.give_back(ticket_id, unit, body.note), "zh")
