"""Evidence files: field photos and camera snapshots, for those who may see their ticket."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from dispatch.api.deps import API_PREFIX, ApiError, Credential, Ctx
from dispatch.api.present import can_see
from dispatch.media import media_file
from dispatch.store import MediaRow, TicketRow

router = APIRouter(prefix=API_PREFIX, tags=["field units"])


@router.get("/media/{media_id}", response_class=FileResponse)
def media(media_id: str, token: Credential, ctx: Ctx):
    """A photo or snapshot of a ticket the caller may see: operators any, a unit its own and
    its departments' (404 otherwise, so an id tells nothing)."""
    with ctx.store.session() as session:
        row = session.get(MediaRow, media_id[:32])
        ticket = session.get(TicketRow, row.ticket_id) if row else None
    if ticket is None or not can_see(ctx, token, ticket):
        raise ApiError(404, f"no media {media_id[:32]!r}")
    path, content_type = media_file(ctx.store, ctx.data_dir, media_id)
    # nosniff: a browser never runs a stored file as anything but the image it claims to be.
    return FileResponse(
        path, media_type=content_type, headers={"X-Content-Type-Options": "nosniff"}
    )
