"""Open311 GeoReport v2 for hotline systems and citizen apps, in XML and JSON.

GET services, a service definition, GET/POST requests, GET a request, GET a token, and
discovery, with the standard field names and nesting, W3C datetimes and GeoReport's error list;
each route builds its records once and `georeport.respond` writes them in the asked format.
A category's extra fields (service-definition attributes) are answered as `attribute[CODE]`.
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
from dispatch.api.deps import EARLIEST, LATEST, ApiContext, ApiError, Ctx
from dispatch.api.georeport import DISCOVERY_FORMATS, FormatError, check_format, respond
from dispatch.api.report_attributes import definition, read_answers
from dispatch.publish import utc
from dispatch.states import OPEN311_STATUSES, open311_states, open311_status
from dispatch.store import EventLinkRow, MediaRow, TicketRow
from streams.records import Event, Reporter

PREFIX = "/open311/v2"
router = APIRouter(prefix=PREFIX, tags=["open311"])
MAX_DAYS = 90  # GeoReport v2: without dates, the last 90 days; at most 1000 requests


def _format(fmt: str) -> str:
    try:
        return check_format(fmt)
    except FormatError as refused:
        raise ApiError(400, str(refused)) from None


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
        "metadata": bool(category.attributes),
        "type": "realtime",
        "keywords": category.id.replace("_", ","),
        "group": "street",
    }


@router.get("/discovery.{fmt}")
def discovery(fmt: str, request: Request, ctx: Ctx):
    """Where the endpoint is and what it speaks."""
    fmt = _format(fmt)
    base = str(request.base_url).rstrip("/") + PREFIX + "/"
    record = {
        "changeset": "2026-01-01T00:00:00Z",
        "contact": "the district command centre",
        "key_service": "ask the command centre for an api_key (`python run.py token hotline NAME`)",
        "endpoints": [
            {
                "specification": "http://wiki.open311.org/GeoReport_v2",
                "url": base,
                "changeset": "2026-01-01T00:00:00Z",
                "type": "production",
                "formats": DISCOVERY_FORMATS,
            }
        ],
    }
    return respond(fmt, "discovery", record)


@router.get("/services.{fmt}")
def services(
    fmt: str,
    ctx: Ctx,
    jurisdiction_id: Annotated[str | None, Query(max_length=200)] = None,
    lang: Annotated[str | None, Query(max_length=8)] = None,
):
    """The problem categories reports can be filed under."""
    fmt = _format(fmt)
    _jurisdiction(ctx, jurisdiction_id)
    records = [_service(ctx, c, pick_lang(lang)) for c in ctx.cfg.categories]
    return respond(fmt, "services", records)


@router.get("/services/{service_code}.{fmt}")
def service_definition(
    service_code: str,
    fmt: str,
    ctx: Ctx,
    jurisdiction_id: Annotated[str | None, Query(max_length=200)] = None,
    lang: Annotated[str | None, Query(max_length=8)] = None,
):
    """The extra fields a report of this service carries (`attribute[CODE]` on POST)."""
    fmt = _format(fmt)
    _jurisdiction(ctx, jurisdiction_id)
    category = next((c for c in ctx.cfg.categories if c.id == service_code), None)
    if category is None:
        raise ApiError(404, f"unknown service_code {service_code[:64]!r}; see services.{fmt}")
    return respond(fmt, "service_definition", definition(category, pick_lang(lang)))


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
async def post_request(  # noqa: PLR0913 (GeoReport v2's fields)
    fmt: str,
    request: Request,
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
    """File a report (form-encoded or multipart, as GeoReport v2 clients send it)."""
    fmt = _format(fmt)
    _jurisdiction(ctx, jurisdiction_id)
    ctx.check_guesses(request)
    key = await run_in_threadpool(tokens.lookup, ctx.store, api_key)
    if key is None or key.role not in tokens.OPEN311_ROLES:
        ctx.guessed(request)
        raise ApiError(403, "invalid api_key; ask the command centre for one")
    category = next((c for c in ctx.cfg.categories if c.id == service_code), None)
    if category is None:
        raise ApiError(400, f"unknown service_code {service_code!r}; see services.{fmt}")
    form = await request.form()
    answers = read_answers(category, form)
    if media_url and not media_url.startswith(("http://", "https://")):
        raise ApiError(400, "media_url must be an http(s) URL")
    lon, lat = _locate(ctx, lat, long, address_string)
    reporter = _reporter(form)  # the contact fields above, as validated
    event = Event(
        category=service_code,
        source=key.role,
        lon=lon,
        lat=lat,
        detected_at=ctx.clock(),
        description=(description or "").strip()[:2000],
        address=address_string,
        media_url=media_url,
        reporter=reporter,
        attributes=answers,
    )
    await run_in_threadpool(ctx.bus.publish, event)
    ticket_id = await run_in_threadpool(_wait_for_ticket, ctx, event.event_id)
    found = {"service_request_id": ticket_id} if ticket_id else {"token": event.event_id}
    account = reporter.account_id if reporter else None
    record = found | {"service_notice": "已受理 / received", "account_id": account}
    return respond(fmt, "service_requests", [record], status=201)


def _reporter(form) -> Reporter | None:
    """The contact a person left (Open311's optional fields), blanks dropped."""
    contact = {}
    for name in Reporter.model_fields:
        value = form.get(name)
        if isinstance(value, str) and value.strip():
            contact[name] = value.strip()
    return Reporter(**contact) if contact else None


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
    fmt = _format(fmt)
    with ctx.store.session() as session:
        link = session.get(EventLinkRow, token[:64])
    if link is None:
        raise ApiError(404, f"token {token[:64]!r} is unknown or not filed yet; try again shortly")
    record = {"service_request_id": link.ticket_id, "token": token}
    return respond(fmt, "service_requests", [record])


def _request_out(ctx: ApiContext, ticket: TicketRow, media: list[MediaRow]) -> dict:
    department = next((d for d in ctx.cfg.departments if d.id == ticket.department_id), None)
    category = next((c for c in ctx.cfg.categories if c.id == ticket.service_code), None)
    # Only what reporters sent is public; field photos and camera snapshots stay inside.
    url = next((m.path for m in media if m.kind == "link"), None)
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
    if not EARLIEST <= moment.year <= LATEST:
        raise ApiError(400, f"{name}={value[:40]!r} is out of range ({EARLIEST}-{LATEST})")
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


@router.get("/requests.{fmt}")
def get_requests(
    fmt: str,
    ctx: Ctx,
    jurisdiction_id: Annotated[str | None, Query(max_length=200)] = None,
    service_request_id: Annotated[str | None, Query(max_length=2000)] = None,
    service_code: Annotated[str | None, Query(max_length=500)] = None,
    start_date: Annotated[str | None, Query(max_length=40)] = None,
    end_date: Annotated[str | None, Query(max_length=40)] = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
):
    """Reports, newest first: by id list, or filtered by service, dates and open/closed."""
    fmt = _format(fmt)
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
    return respond(fmt, "service_requests", [_request_out(ctx, t, media[t.id]) for t in rows])


@router.get("/requests/{service_request_id}.{fmt}")
def get_request(
    service_request_id: str,
    fmt: str,
    ctx: Ctx,
    jurisdiction_id: Annotated[str | None, Query(max_length=200)] = None,
):
    """One report (as a one-element list, as GeoReport v2 answers)."""
    fmt = _format(fmt)
    _jurisdiction(ctx, jurisdiction_id)
    rows = ctx.desk.tickets(ids=[service_request_id[:64]], limit=1)
    if not rows:
        raise ApiError(404, f"no service request {service_request_id[:64]!r}")
    media = ctx.desk.media([rows[0].id])
    record = _request_out(ctx, rows[0], media[rows[0].id])
    return respond(fmt, "service_requests", [record])
