"""Evidence on tickets: camera snapshots, field photos and reporters' links.

Photos must be JPEGs or PNGs that decode; what is stored is never the upload itself but the
picture decoded and encoded again as a JPEG (Pillow): upright, at most MAX_SIDE_PX, without
metadata (a phone's EXIF carries its owner's location) and without anything appended to the
file. Kept under the data dir's `media/` by ticket; the database row names the file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.errors import DeskError
from dispatch.store import MediaRow, Store
from streams.records import new_id

PHOTO_MAGIC = (b"\xff\xd8\xff", b"\x89PNG")  # JPEG, PNG: what a field photo may be


@dataclass(frozen=True)
class Photo:
    """An uploaded picture: its bytes and the name the client gave it."""

    data: bytes
    filename: str = "photo"


MAX_SIDE_PX = 2560  # longer side of a stored photo: plenty to see a fix, a tenth of the bytes
MAX_PIXELS = 50_000_000  # larger claims are refused before decoding (decompression bombs)


def clean_photo(data: bytes) -> bytes:
    """The upload decoded and encoded again as a JPEG: upright, at most MAX_SIDE_PX on its longer
    side, no metadata, nothing appended. DeskError 415 unless it is a JPEG or PNG that decodes."""
    import io

    from PIL import Image, ImageOps

    refused = DeskError("the photo is not a JPEG or PNG image; take the picture again", 415)
    if not data.startswith(PHOTO_MAGIC):
        raise refused
    try:
        with Image.open(io.BytesIO(data), formats=("JPEG", "PNG")) as image:
            if image.width * image.height > MAX_PIXELS:
                raise DeskError("the photo has too many pixels; send a smaller picture", 413)
            picture = ImageOps.exif_transpose(image).convert("RGB")
    except DeskError:
        raise
    except Exception:  # noqa: BLE001 - Pillow raises many kinds for a broken file
        raise refused from None
    picture.thumbnail((MAX_SIDE_PX, MAX_SIDE_PX))
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=85, optimize=True)
    return out.getvalue()


def add_media(
    session: Session,
    ticket_id: str,
    kind: str,
    path: str,
    actor: str,
    at: dt.datetime,
    content_type: str = "image/jpeg",
    media_id: str | None = None,
) -> None:
    """Attach evidence to a ticket: a snapshot or photo (path in the data dir) or a link."""
    session.add(
        MediaRow(
            id=media_id or new_id(),
            ticket_id=ticket_id,
            kind=kind,
            path=path,
            content_type=content_type,
            added_at=at,
            added_by=actor[:64],
        )
    )


def save_photo(
    session: Session, data_dir: Path, ticket_id: str, jpeg: bytes, actor: str, at: dt.datetime
) -> Path:
    """Write a photo as `clean_photo` made it under the data dir and attach it; return the file
    (the caller removes it if its transaction fails)."""
    media_id = new_id()
    relative = Path("media") / ticket_id / f"{media_id}.jpg"
    path = data_dir / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(jpeg)
    add_media(session, ticket_id, "photo", str(relative), actor, at, "image/jpeg", media_id)
    return path


def media_for(store: Store, ticket_ids: Iterable[str]) -> dict[str, list[MediaRow]]:
    """Evidence per ticket, oldest first."""
    ids = list(ticket_ids)
    found: dict[str, list[MediaRow]] = {i: [] for i in ids}
    if not ids:
        return found
    with store.session() as session:
        query = select(MediaRow).where(MediaRow.ticket_id.in_(ids)).order_by(MediaRow.added_at)
        for row in session.scalars(query):
            found[row.ticket_id].append(row)
    return found


def media_file(store: Store, data_dir: Path, media_id: str) -> tuple[Path, str]:
    """(file, content type) of a stored photo or snapshot, contained in the data dir;
    DeskError 404 for an unknown id, a link, or a file that is gone."""
    with store.session() as session:
        row = session.get(MediaRow, media_id[:64])
    if row is None or row.kind == "link":
        raise DeskError(f"no media {media_id!r}", 404)
    root = data_dir.resolve()
    path = (root / row.path).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise DeskError(f"media {media_id} is missing from the data dir", 404)
    return path, row.content_type
