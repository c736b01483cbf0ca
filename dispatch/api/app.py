"""The API application: wiring, limits, uniform errors, credentials, and the unit/operator routes.

Every refusal is a 4xx whose JSON says what is wrong and how to fix it (`{"error": ...}`; the
Open311 routes answer in GeoReport v2's own error format). Bodies over the configured limits
are refused before they are read into memory, and nothing is stored for a refused request.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, File, Form, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse
from sqlalchemy.exc import OperationalError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from cockpit.i18n import pick_lang
from config.schema import AppConfig
from dispatch import kpi, tokens
from dispatch.api import schemas
from dispatch.desk import Desk, DeskError, Photo, utc
from dispatch.gps import FixFilter, RawFix
from dispatch.routing import Router
from dispatch.states import allowed_moves
from dispatch.store import MediaRow, Store, TicketRow, TokenRow, WarningRow
from geo.gazetteer import Gazetteer
from geo.layers import DistrictLayers
from streams.bus import Bus
from streams.records import UnitPosition

log = logging.getLogger(__name__)
API_PREFIX = "/api/v1"
TOKEN_COOKIE = "sc_token"
TOKEN_HINT = "issue one with `python run.py token unit UNIT_ID` (or `token operator NAME`)"


@dataclass
class ApiContext:
    """What the routes share: config, store, bus, desk and the GPS filter."""

    cfg: AppConfig
    store: Store
    bus: Bus
    desk: Desk
    router: Router
    fixes: FixFilter
    gazetteer: Gazetteer
    clock: Callable[[], float]

    @property
    def data_dir(self) -> Path:
        """Where media files live."""
        return self.cfg.services.data_dir


class ApiError(Exception):
    """A refusal with an HTTP status and a message for the client."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


# ----- limits and errors ---------------------------------------------------------------------


class BodyLimit:
    """ASGI middleware: refuse bodies over the limit (413) before anything reads them."""

    def __init__(self, app, max_body: int, max_upload: int):
        self.app, self.max_body, self.max_upload = app, max_body, max_upload

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        is_upload = headers.get(b"content-type", b"").startswith(b"multipart/")
        limit = self.max_upload if is_upload else self.max_body
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            return await self._refuse(scope, send, limit)
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return await self._refuse(scope, send, limit)
            chunks.append(chunk)
            more = message.get("more_body", False)
        body, sent = b"".join(chunks), False

        async def replay():
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        return await self.app(scope, replay, send)

    @staticmethod
    async def _refuse(scope, send, limit: int):
        message = f"request body is larger than {limit // 1024} KB; send less (smaller photo)"
        response = _error_response(scope["path"], 413, message)
        await response(scope, None, send)


def _error_response(path: str, status: int, message: str) -> JSONResponse:
    if path.startswith("/open311/"):  # GeoReport v2's error shape
        return JSONResponse([{"code": status, "description": message}], status_code=status)
    return JSONResponse({"error": message}, status_code=status)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors():
        loc = [str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path", "form")]
        where = ".".join(loc) or "body"
        message = error.get("msg", "invalid").removeprefix("Value error, ")
        if error.get("type") == "missing":
            message = "is required"
        elif error.get("type") == "extra_forbidden":
            message = "is not a known field"
        parts.append(f"{where}: {message}")
    return "; ".join(parts) or "the request is not valid"


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError):
        return _error_response(request.url.path, exc.status, exc.message)

    @app.exception_handler(DeskError)
    async def _desk_error(request: Request, exc: DeskError):
        return _error_response(request.url.path, exc.status, str(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        status = 400 if request.url.path.startswith("/open311/") else 422
        return _error_response(request.url.path, status, _validation_message(exc))

    @app.exception_handler(OperationalError)
    async def _database_down(request: Request, exc: OperationalError):
        log.error("database unavailable: %s", exc.orig)
        return _error_response(
            request.url.path,
            503,
            "the ticket database is busy or unreachable; nothing was changed, try again shortly",
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        message = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail)
        if exc.status_code == 404 and message == "Not Found":
            message = f"no such endpoint {request.url.path}; see /openapi.json"
        if exc.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}; see /openapi.json"
        return _error_response(request.url.path, exc.status_code, message)


# ----- credentials ---------------------------------------------------------------------------


def context(request: Request) -> ApiContext:
    """The shared context (a FastAPI dependency)."""
    return request.app.state.ctx


Ctx = Annotated[ApiContext, Depends(context)]


def credential(request: Request, ctx: Ctx) -> TokenRow:
    """The caller's token, from `Authorization: Bearer` or the field page's cookie."""
    header = request.headers.get("authorization", "")
    secret = header[7:].strip() if header.lower().startswith("bearer ") else None
    secret = secret or request.cookies.get(TOKEN_COOKIE)
    if not secret:
        raise ApiError(401, f"missing token: send 'Authorization: Bearer <token>'; {TOKEN_HINT}")
    row = tokens.lookup(ctx.store, secret)
    if row is None:
        raise ApiError(401, f"unknown or revoked token; {TOKEN_HINT}")
    return row


Credential = Annotated[TokenRow, Depends(credential)]


def unit_id(token: Credential, ctx: Ctx) -> str:
    """The calling field unit (a unit token)."""
    if token.role != "unit":
        raise ApiError(403, f"this endpoint is for field units; a {token.role} token was sent")
    if ctx.cfg.unit(token.subject) is None:
        raise ApiError(403, f"unit {token.subject!r} is no longer configured; ask the operator")
    return token.subject


def operator(token: Credential, ctx: Ctx) -> str:
    """The calling operator, or a supervisor unit (it may act as an operator)."""
    if token.role == "operator":
        return f"operator:{token.subject}"
    if token.role == "unit" and token.subject in {d.supervisor for d in ctx.cfg.departments}:
        return f"supervisor:{token.subject}"
    raise ApiError(
        403, f"this endpoint is for operators and supervisors; a {token.role} token was sent"
    )


UnitId = Annotated[str, Depends(unit_id)]
Operator = Annotated[str, Depends(operator)]


# ----- representation ------------------------------------------------------------------------


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
        allowed=list(allowed_moves(ticket.status)),
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


def _can_see(ctx: ApiContext, token: TokenRow, ticket: TicketRow) -> bool:
    if token.role == "operator":
        return True
    if token.role != "unit":
        return False
    if ticket.unit_id == token.subject:
        return True
    supervised = {d.id for d in ctx.cfg.departments if d.supervisor == token.subject}
    return ticket.department_id in supervised


# ----- routes --------------------------------------------------------------------------------

api = APIRouter(prefix=API_PREFIX)
Lang = Annotated[str, Query(pattern="^(zh|en)$", description="language of names")]


@api.get("/me", response_model=schemas.UnitOut, tags=["field units"])
def me(unit: UnitId, ctx: Ctx, lang: Lang = "zh"):
    """The calling unit."""
    config = ctx.cfg.unit(unit)
    return schemas.UnitOut(
        id=config.id, name=config.label(lang), type=config.type, department=config.department
    )


@api.get("/my/tickets", response_model=list[schemas.TicketOut], tags=["field units"])
def my_tickets(unit: UnitId, ctx: Ctx, lang: Lang = "zh"):
    """The unit's tickets that still need something from it (dispatched to resolved)."""
    rows = ctx.desk.tickets(
        unit_id=unit, status=("dispatched", "accepted", "on_site", "reopened", "resolved")
    )
    media = ctx.desk.media(t.id for t in rows)
    return [ticket_out(ctx, t, lang, media[t.id]) for t in rows]


@api.get("/tickets", response_model=list[schemas.TicketOut], tags=["operators"])
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
    """Tickets, newest first, filtered."""
    statuses = [s.strip() for s in status.split(",") if s.strip()] if status else None
    rows = ctx.desk.tickets(
        unit_id=unit,
        status=statuses,
        category=category,
        since=_aware(since),
        until=_aware(until),
        limit=limit,
    )
    return [ticket_out(ctx, t, lang) for t in rows]


@api.get("/tickets/{ticket_id}", response_model=schemas.TicketOut, tags=["field units"])
def get_ticket(ticket_id: str, token: Credential, ctx: Ctx, lang: Lang = "zh"):
    """One ticket with its evidence and audit trail (units see their own and supervised ones)."""
    ticket = ctx.desk.get(ticket_id)
    if not _can_see(ctx, token, ticket):
        raise ApiError(403, f"ticket {ticket_id} is not yours to see")
    return ticket_out(
        ctx, ticket, lang, ctx.desk.media([ticket.id])[ticket.id], ctx.desk.audit(ticket.id)
    )


@api.get(
    "/tickets/{ticket_id}/reporters",
    response_model=list[schemas.ReporterOut],
    tags=["operators"],
)
def ticket_reporters(ticket_id: str, who: Operator, ctx: Ctx):
    """Who reported the problem and how to reach them (Open311 contact fields), oldest first.
    Personal data: operators and supervisors only; never in the public Open311 answers."""
    return [
        schemas.ReporterOut.model_validate(row, from_attributes=True)
        for row in ctx.desk.reporters(ticket_id)
    ]


def _note(body: schemas.NoteBody | None) -> str:
    return body.note if body else ""


@api.post("/tickets/{ticket_id}/accept", response_model=schemas.TicketOut, tags=["field units"])
def accept(ticket_id: str, unit: UnitId, ctx: Ctx, body: schemas.NoteBody | None = None):
    """The assigned unit takes the job."""
    return ticket_out(ctx, ctx.desk.accept(ticket_id, unit, _note(body)), "zh")


@api.post("/tickets/{ticket_id}/arrive", response_model=schemas.TicketOut, tags=["field units"])
def arrive(ticket_id: str, unit: UnitId, ctx: Ctx, body: schemas.NoteBody | None = None):
    """The assigned unit is on site."""
    return ticket_out(ctx, ctx.desk.arrive(ticket_id, unit, _note(body)), "zh")


async def read_photos(files: list[UploadFile]) -> list[Photo]:
    """The uploaded photos' bytes."""
    return [Photo(await f.read(), f.filename or "photo") for f in files]


@api.post("/tickets/{ticket_id}/resolve", response_model=schemas.TicketOut, tags=["field units"])
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


@api.post("/tickets/{ticket_id}/return", response_model=schemas.TicketOut, tags=["field units"])
def give_back(ticket_id: str, unit: UnitId, ctx: Ctx, body: schemas.ReturnBody):
    """Not ours: the ticket goes back and is re-routed (counts against precise dispatch)."""
    return ticket_out(ctx, ctx.desk.give_back(ticket_id, unit, body.note), "zh")


@api.post("/tickets/{ticket_id}/dispatch", response_model=schemas.TicketOut, tags=["operators"])
def dispatch(ticket_id: str, who: Operator, ctx: Ctx, body: schemas.DispatchBody):
    """Send a new, returned, reopened or escalated ticket to a unit."""
    return ticket_out(ctx, ctx.desk.dispatch(ticket_id, body.unit_id, who, body.note), "zh")


@api.post("/tickets/{ticket_id}/verify", response_model=schemas.TicketOut, tags=["operators"])
def verify(ticket_id: str, who: Operator, ctx: Ctx, body: schemas.VerifyBody):
    """A person's verdict on a resolved ticket (for tickets no camera can re-check)."""
    return ticket_out(ctx, ctx.desk.verify(ticket_id, body.ok, who, body.note), "zh")


@api.post("/tickets/{ticket_id}/close", response_model=schemas.TicketOut, tags=["operators"])
def close(ticket_id: str, who: Operator, ctx: Ctx, body: schemas.CloseBody):
    """Close without a fix: duplicate, not responsible, no action needed."""
    return ticket_out(ctx, ctx.desk.close(ticket_id, body.reason, who, body.note), "zh")


@api.get("/warnings", response_model=list[schemas.WarningOut], tags=["operators"])
def warnings(who: Operator, ctx: Ctx, muted: bool = False):
    """Overdue and escalated stages not yet cleared (muted ones with muted=true)."""
    return [warning_out(w) for w in ctx.desk.warnings(include_muted=muted)]


@api.post(
    "/warnings/{warning_id}/acknowledge", response_model=schemas.WarningOut, tags=["operators"]
)
def acknowledge(warning_id: int, who: Operator, ctx: Ctx):
    """Mark a warning as seen and being handled."""
    return warning_out(ctx.desk.acknowledge(warning_id, who))


@api.post("/warnings/{warning_id}/mute", response_model=schemas.WarningOut, tags=["operators"])
def mute(warning_id: int, who: Operator, ctx: Ctx, body: schemas.MuteBody):
    """Hide a warning for some minutes."""
    return warning_out(ctx.desk.mute(warning_id, who, body.minutes))


@api.get("/kpis", tags=["operators"])
def kpis(
    who: Operator, ctx: Ctx, since: dt.datetime | None = None, until: dt.datetime | None = None
):
    """Precise-dispatch rate, on-time rate per stage, stage minutes by category/unit/grid,
    reopen rate, for tickets requested in [since, until]."""
    return kpi.compute(ctx.store, _aware(since), _aware(until), now=utc(ctx.clock()))


@api.get("/media/{media_id}", tags=["field units"], response_class=FileResponse)
def media(media_id: str, ctx: Ctx):
    """A photo or snapshot (ids are unguessable; Open311 media_url links here)."""
    with ctx.store.session() as session:
        row = session.get(MediaRow, media_id[:64])
    if row is None or row.kind == "link":
        raise ApiError(404, f"no media {media_id!r}")
    root = ctx.data_dir.resolve()
    path = (root / row.path).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise ApiError(404, f"media {media_id} is missing from the data dir")
    return FileResponse(path, media_type=row.content_type)


# ----- GPS ingest ----------------------------------------------------------------------------


def ingest(ctx: ApiContext, unit: str, fixes: list[RawFix]) -> schemas.IngestResult:
    """Filter fixes in time order and publish the accepted ones."""
    order = sorted(range(len(fixes)), key=lambda i: fixes[i].fix_time)
    verdicts = ctx.fixes.filter(unit, [fixes[i] for i in order], ctx.clock())
    accepted, dropped = [], []
    for index, reason in zip(order, verdicts, strict=True):
        fix = fixes[index]
        if reason:
            dropped.append(schemas.Dropped(index=index, reason=reason))
            continue
        accepted.append(
            UnitPosition(
                unit_id=unit,
                lon=fix.lon,
                lat=fix.lat,
                fix_time=fix.fix_time,
                speed_mps=fix.speed_mps,
                heading_deg=fix.heading_deg,
                accuracy_m=fix.accuracy_m,
            )
        )
    if accepted:
        ctx.bus.publish_many(accepted)
    return schemas.IngestResult(
        accepted=len(accepted), dropped=sorted(dropped, key=lambda d: d.index)
    )


@api.post("/positions", response_model=schemas.IngestResult, tags=["gps"])
def positions(unit: UnitId, ctx: Ctx, body: schemas.FixBatch):
    """A batch of the unit's own fixes (e.g. buffered while offline)."""
    raw = [
        RawFix(
            lon=f.lon,
            lat=f.lat,
            fix_time=_aware(f.time).timestamp(),
            speed_mps=f.speed_mps,
            heading_deg=f.heading_deg,
            accuracy_m=f.accuracy_m,
        )
        for f in body.fixes
    ]
    return ingest(ctx, unit, raw)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:
        raise ApiError(422, f"time {value.isoformat()} has no time zone; add Z or +08:00")
    return value


def build_app() -> FastAPI:
    """The application's routes, limits and error handling, without any connections."""
    from dispatch.api import field, open311, osmand

    app = FastAPI(
        title="Street Cockpit API",
        version="1",
        description=(
            "Field units (one token each), operators, GPS ingest (JSON batches and the OsmAnd "
            "protocol of Traccar Client) and Open311 GeoReport v2 for hotline and citizen reports."
        ),
        docs_url=None,  # Swagger UI loads from a CDN; command centres are often offline
        redoc_url=None,
    )
    _install_error_handlers(app)
    app.include_router(api)
    app.include_router(osmand.router)
    app.include_router(open311.router)
    app.include_router(field.router)

    @app.get("/", include_in_schema=False)
    def root(request: Request):
        if request.query_params.get("id") or request.query_params.get("deviceid"):
            return osmand.from_query(request, context(request))
        return RedirectResponse("/field")

    return app


def create_api(
    cfg: AppConfig,
    store: Store,
    bus: Bus,
    router: Router,
    layers: DistrictLayers,
    clock: Callable[[], float] = time.time,
) -> FastAPI:
    """The API application wired to the store and the bus."""
    app = build_app()
    app.state.ctx = ApiContext(
        cfg=cfg,
        store=store,
        bus=bus,
        desk=Desk(cfg, store, bus, router, clock),
        router=router,
        fixes=FixFilter(cfg.api.gps, bus.client, bus.namespace),
        gazetteer=Gazetteer(layers),
        clock=clock,
    )
    app.add_middleware(
        BodyLimit,
        max_body=cfg.api.max_body_kb * 1024,
        max_upload=int(cfg.api.max_upload_mb * 1024 * 1024),
    )
    return app
