"""Tickets, warnings and evidence as the API shows them."""

from __future__ import annotations

from config.i18n import pick_lang
from dispatch.api import schemas
from dispatch.api.deps import API_PREFIX, ApiContext
from dispatch.states import allowed_moves
from dispatch.store import MediaRow, TicketRow, TokenRow, WarningRow


def media_url(media: MediaRow) -> str:
    """Where a piece of evidence can be fetched (links are kept as given)."""
    if media.kind == "link":
        return media.path
    return f"{API_PREFIX}/media/{media.id}"


def ticket_out(
    ctx: ApiContext, ticket: TicketRow, lang: str, media=(), audit=None
) -> schemas.TicketOut:
    """A ticket as the API shows it."""
    category = next((c for c in ctx.cfg.categories if c.id == ticket.service_code), None)
    name = getattr(category.names, pick_lang(lang)) if category else ticket.service_code
    return schemas.TicketOut(
        id=ticket.id,
        status=ticket.status,
        category=ticket.service_code,
        category_name=name,
        priority=ticket.priority,
        source=ticket.source,
        description=ticket.description,
        address=ticket.address,
        lat=ticket.lat,
        lon=ticket.lon,
        grid_id=ticket.grid_id,
        community_id=ticket.community_id,
        department_id=ticket.department_id,
        unit_id=ticket.unit_id,
        camera_id=ticket.camera_id,
        zone_id=ticket.zone_id,
        reports=ticket.merged_events,
        reopened=ticket.reopened_count or 0,
        requested_at=ticket.requested_at,
        updated_at=ticket.updated_at,
        accept_due=ticket.accept_due,
        arrive_due=ticket.arrive_due,
        resolve_due=ticket.resolve_due,
        map_url=f"geo:{ticket.lat:.6f},{ticket.lon:.6f}?q={ticket.lat:.6f},{ticket.lon:.6f}",
        allowed=[str(move) for move in allowed_moves(ticket.status)],
        media=[
            schemas.MediaOut(
                kind=m.kind, url=media_url(m), added_at=m.added_at, added_by=m.added_by
            )
            for m in media
        ],
        audit=None
        if audit is None
        else [
            schemas.AuditOut(
                at=a.at,
                actor=a.actor,
                from_status=a.from_status,
                to_status=a.to_status,
                note=a.note,
            )
            for a in audit
        ],
    )


def warning_out(row: WarningRow) -> schemas.WarningOut:
    """A warning as the API shows it."""
    return schemas.WarningOut.model_validate(row, from_attributes=True)


def can_see(ctx: ApiContext, token: TokenRow, ticket: TicketRow) -> bool:
    """Operators see every ticket; a unit its own and those of departments it supervises."""
    if token.role == "operator":
        return True
    if token.role != "unit":
        return False
    if ticket.unit_id == token.subject:
        return True
    supervised = {d.id for d in ctx.cfg.departments if d.supervisor == token.subject}
    return ticket.department_id in supervised
