"""Open311 GeoReport v2 for hotline systems and citizen apps (JSON format).

GET services, GET/POST requests, GET a request, GET a token, and discovery, with the standard
field names, W3C datetimes and GeoReport's error list `[{"code": .., "description": ..}]`.
A POST is a report: it goes onto the bus like every other event, so it merges with camera
findings and other reports of the same problem; the answer carries the ticket id once the
dispatcher has filed it (within a couple of seconds), else a token to look it up later.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from starlette.concurrency import run_in_threadpool

from config.i18n import pick_lang
from dispatch import tokens
from dispatch.api.deps import ApiContext, ApiError, Ctx
from dispatch.api.present import media_url
from dispatch.publish import utc
from dispatch.states import OPEN311_STATUSES, open311_states, open311_status
from dispatch.store import EventLinkRow, MediaRow, TicketRow
from streams.records import Event, Reporter

PREFIX = "/open311/v2"
router = APIRouter(prefix=PREFIX, tags=["open311"])
MAX_DAYS = 90  # GeoReport v2: without dates, the last 90 days; at most 1000 requests


def _format(fmt: str) -> None:
    if fmt != "json":
        raise ApiError(400, f"format {fmt!r} is not served; use .json")


def _jurisdiction(ctx: ApiContext, jurisdiction_id: str | None) -> None:
    if jurisdiction_id and jurisdiction_id != ctx.cfg.api.jurisdiction_id:
        raise ApiError(
            404,
            f"jurisdiction_id {jurisdiction_id[:80]!r} is not served here; "
            f"this endpoint serves {ctx.cfg.api.jurisdiction_id!r}",
        )


def _w3c(moment: dt.datetime | None) -> str | None:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds") if moment else None


def _service(ctx: ApiContext, category, lang: str) -> dict:
    names = category.names
    return {
        "service_code": category.id,
        "service_name": getattr(names, lang),
        "description": f"{names.zh} / {names.en}",
        "metadata": False,
        "type": "realtime",
        "keywords": category.id.replace("_", ","),
        "group": "street",
    }


@router.get("/discovery.{fmt}")
def discovery(fmt: str, request: Request, ctx: Ctx):
    """Where the endpoint is and what it speaks."""
    _format(fmt)
    base = str(request.base_url).rstrip("/") + PREFIX + "/"
    return {
        "changeset": "2026-01-01T00:00:00Z",
        "contact": "the district command centre",
        "key_service": "ask the command centre for an api_key (`python run.py token hotline NAME`)",
        "endpoints": [
            {
                "specification": "http://wiki.open311.org/GeoReport_v2",
                "url": base,
                "changeset": "2026-01-01T00:00:00Z",
                "type": "production",
                "formats": ["application/json"],
            }
        ],
    }


@router.get("/services.{fmt}")
def services(
    fmt: str,
    ctx: Ctx,
    jurisdiction_id: Annotated[str | None, Query(max_length=200)] = None,
    lang: Annotated[str | None, Query(max_length=8)] = None,
):
    """The problem categories reports can be filed under."""
    _format(fmt)
    _jurisdiction(ctx, jurisdiction_id)
    return [_service(ctx, c, pick_lang(lang)) for c in ctx.cfg.categories]


@router.get("/services/{service_code}.{fmt}")
def service_definition(
    service_code: str,
    fmt: str,
    ctx: Ctx,
    jurisdiction_id: Annotated[str | None, Query(max_length=200)] = None,
):
    """No service here has extra attributes (metadata is false for all)."""
    _format(fmt)
    _jurisdiction(ctx, jurisdiction_id)
    if service_code not in {c.id for c in ctx.cfg.categories}:
        raise ApiError(404, f"unknown service_code {service_code[:64]!r}; see services.json")
    return {"service_code": service_code, "attributes": []}


def _locate(ctx: ApiContext, lat, lon, address: str | None) -> tuple[float, float]:
    if lat is None or lon is None:
        if lat is not None or lon is not None:
            raise ApiError(400, "send both lat and long, or neither (with address_string)")
        found = ctx.gazetteer.find(address or "") if address else None
        if found is None:
            raise ApiError(
                400,
                "a location is required: send lat and long (WGS-84); address_string alone "
                "works only when it names a street or place of this district",
            )
        return found
    location = ctx.router.index.locate(lon, lat)
    if location.grid_id is None and location.community_id is None:
        raise ApiError(400, f"lat {lat}, long {lon} is outside this district; check the point")
    return lon, lat


@router.post("/requests.{fmt}", status_code=201)
async def post_request(
    fmt: str,
    ctx: Ctx,
    api_key: Annotated[str, Form(max_length=200)],
    service_code: Annotated[str, Form(max_length=64)],
    jurisdiction_id: Annotated[str | None, Form(max_length=200)] = None,
    lat: Annotated[float | None, Form(ge=-90, le=90)] = None,
    long: Annotated[float | None, Form(ge=-180, le=180)] = None,
    address_string: Annotated[str | None, Form(max_length=255)] = None,
    address_id: Annotated[str | None, Form(max_length=64)] = None,
    email: Annotated[str | None, Form(max_length=200)] = None,
    device_id: Annotated[str | None, Form(max_length=200)] = None,
    account_id: Annotated[str | None, Form(max_length=200)] = None,
    first_name: Annotated[str | None, Form(max_length=100)] = None,
    last_name: Annotated[str | None, Form(max_length=100)] = None,
    phone: Annotated[str | None, Form(max_length=50)] = None,
    description: Annotated[str | None, Form(max_length=4000)] = None,
    media_url: Annotated[str | None, Form(max_length=1000)] = None,
):
    """File a report (form-encoded, as GeoReport v2 clients send it)."""
    _format(fmt)
    _jurisdiction(ctx, jurisdiction_id)
    key = await run_in_threadpool(tokens.lookup, ctx.store, api_key)
    if key is None or key.role not in tokens.OPEN311_ROLES:
        raise ApiError(403, "invalid api_key; ask the command centre for one")
    if service_code not in {c.id for c in ctx.cfg.categories}:
        raise ApiError(400, f"unknown service_code {service_code!r}; see services.json")
    if media_url and not media_url.startswith(("http://", "https://")):
        raise ApiError(400, "media_url must be an http(s) URL")
    lon, lat = _locate(ctx, lat, long, address_string)
    text = (description or "").strip()[:2000]
    contact = {
        "first_name": first_name,
        "last_name": last_name,
        "email": email,
        "phone": phone,
        "device_id": device_id,
        "account_id": account_id,
    }
    contact = {k: v.strip() for k, v in contact.items() if v and v.strip()}
    event = Event(
        category=service_code,
        source=key.role,
        lon=lon,
        lat=lat,
        detected_at=ctx.clock(),
        description=text,
        address=address_string,
        media_url=media_url,
        reporter=Reporter(**contact) if contact else None,
    )
    await run_in_threadpool(ctx.bus.publish, event)
    ticket_id = await run_in_threadpool(_wait_for_ticket, ctx, event.event_id)
    notice = "已受理 / received"
    account = contact.get("account_id")
    if ticket_id:
        return [{"service_request_id": ticket_id, "service_notice": notice, "account_id": account}]
    return [{"token": event.event_id, "service_notice": notice, "account_id": account}]


def _wait_for_ticket(ctx: ApiContext, event_id: str) -> str | None:
    """The ticket the dispatcher filed the report into, as soon as it has; None when that takes
    longer than `api.open311_file_wait_s` (the client then follows the token)."""
    deadline = time.monotonic() + ctx.cfg.api.open311_file_wait_s
    while True:
        with ctx.store.session() as session:
            link = session.get(EventLinkRow, event_id)
        if link:
            return link.ticket_id
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.05)


@router.get("/tokens/{token}.{fmt}")
def get_token(token: str, fmt: str, ctx: Ctx):
    """The request id a token turned into (once the report was filed)."""
    _format(fmt)
    with ctx.store.session() as session:
        link = session.get(EventLinkRow, token[:64])
    if link is None:
        raise ApiError(404, f"token {token[:64]!r} is unknown or not filed yet; try again shortly")
    return [{"service_request_id": link.ticket_id, "token": token}]


def _request_out(ctx: ApiContext, ticket: TicketRow, media: list[MediaRow], base: str) -> dict:
    department = next((d for d in ctx.cfg.departments if d.id == ticket.department_id), None)
    category = next((c for c in ctx.cfg.categories if c.id == ticket.service_code), None)
    first = next((m for m in media if m.kind != "snapshot"), media[0] if media else None)
    url = media_url(first) if first else None
    if url and url.startswith("/"):
        url = base + url
    return {
        "service_request_id": ticket.id,
        "status": open311_status(ticket.status),
        "status_notes": ticket.status if ticket.close_reason is None else ticket.close_reason,
        "service_name": category.names.zh if category else ticket.service_code,
        "service_code": ticket.service_code,
        "description": ticket.description,
        "agency_responsible": department.names.zh if department else None,
        "service_notice": None,
        "requested_datetime": _w3c(ticket.requested_at),
        "updated_datetime": _w3c(ticket.updated_at),
        "expected_datetime": _w3c(ticket.resolve_due),
        "address": ticket.address,
        "address_id": None,
        "zipcode": None,
        "lat": ticket.lat,
        "long": ticket.lon,
        "media_url": url,
    }


def _date(value: str | None, name: str) -> dt.datetime | None:
    if not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(400, f"{name}={value[:40]!r} is not a W3C datetime") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


@router.get("/requests.{fmt}")
def get_requests(
    fmt: str,
    request: Request,
    ctx: Ctx,
    jurisdiction_id: Annotated[str | None, Query(max_length=200)] = None,
    service_request_id: Annotated[str | None, Query(max_length=2000)] = None,
    service_code: Annotated[str | None, Query(max_length=500)] = None,
    start_date: Annotated[str | None, Query(max_length=40)] = None,
    end_date: Annotated[str | None, Query(max_length=40)] = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
):
    """Reports, newest first: by id list, or filtered by service, dates and open/closed."""
    _format(fmt)
    _jurisdiction(ctx, jurisdiction_id)
    statuses = None
    if status:
        wanted = {s.strip() for s in status.split(",")}
        if not wanted <= set(OPEN311_STATUSES):
            raise ApiError(400, "status is open, closed, or both comma-separated")
        statuses = open311_states(wanted)
    ids = [i.strip() for i in service_request_id.split(",")] if service_request_id else None
    end = _date(end_date, "end_date") or utc(ctx.clock())
    start = _date(start_date, "start_date") or end - dt.timedelta(days=MAX_DAYS)
    if ids is not None:
        rows = ctx.desk.tickets(ids=ids, limit=1000)
    else:
        codes = [c.strip() for c in service_code.split(",")] if service_code else [None]
        rows = []
        for code in codes:
            rows += ctx.desk.tickets(
                status=statuses, category=code, since=start, until=end, limit=1000
            )
        rows = sorted(rows, key=lambda t: t.requested_at, reverse=True)[:1000]
    media = ctx.desk.media(t.id for t in rows)
    base = str(request.base_url).rstrip("/")
    return [_request_out(ctx, t, media[t.id], base) for t in rows]


@router.get("/requests/{service_request_id}.{fmt}")
def get_request(
    service_request_id: str,
    fmt: str,
    request: Request,
    ctx: Ctx,
    jurisdiction_id: Annotated[str | None, Query(max_length=200)] = None,
):
    """One report (as a one-element list, as GeoReport v2 answers)."""
    _format(fmt)
    _jurisdiction(ctx, jurisdiction_id)
    rows = ctx.desk.tickets(ids=[service_request_id[:64]], limit=1)
    if not rows:
        raise ApiError(404, f"no service request {service_request_id[:64]!r}")
    media = ctx.desk.media([rows[0].id])
    return [_request_out(ctx, rows[0], media[rows[0].id], str(request.base_url).rstrip("/"))]
