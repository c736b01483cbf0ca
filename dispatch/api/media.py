"""Evidence files: field photos and camera snapshots, by unguessable id."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from dispatch.api.deps import API_PREFIX, Ctx
from dispatch.media import media_file

router = APIRouter(prefix=API_PREFIX, tags=["field units"])


@router.get("/media/{media_id}", response_class=FileResponse)
def media(media_id: str, ctx: Ctx):
    """A photo or snapshot (ids are unguessable; Open311 media_url links here)."""
    path, content_type = media_file(ctx.store, ctx.data_dir, media_id)
    return FileResponse(path, media_type=content_type)
