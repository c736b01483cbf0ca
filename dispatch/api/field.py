"""The field page: a phone-sized page where a unit sees its tickets and moves them on.

Plain HTML forms rendered on the server (works on any phone browser); the unit signs in once
with its token, kept in an HttpOnly, SameSite=Strict cookie. A small script asks every
POLL_S seconds whether the unit's tickets changed and reloads the page when nothing is being
typed (otherwise it offers a refresh), so a new job shows up without anyone pressing a button.
"""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from config.i18n import LANGS, pick_lang, t
from dispatch import tokens
from dispatch.api.deps import TOKEN_COOKIE, ApiContext, Ctx
from dispatch.api.present import ticket_out
from dispatch.api.units import read_photos
from dispatch.errors import DeskError
from dispatch.states import UNIT_SHOWN, TicketState

# The field page's policy: its own script (by nonce) and styles, photos from itself, forms to
# itself, never framed.
FIELD_CSP = ("default-src 'self'; script-src 'nonce-{nonce}'; style-src 'self' 'unsafe-inline'; "
             "img-src 'self' data: blob:; connect-src 'self'; form-action 'self'; "
             "frame-ancestors 'none'; base-uri 'none'; object-src 'none'")  # fmt: skip
router = APIRouter(prefix="/field", include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
LANG_COOKIE = "sc_lang"
ACTIONS = ("accept", "arrive", "return")

POLL_S = 15


def _lang(request: Request) -> str:
    return pick_lang(request.query_params.get("lang") or request.cookies.get(LANG_COOKIE))


def _unit(request: Request, ctx: ApiContext) -> str | None:
    row = tokens.lookup(ctx.store, request.cookies.get(TOKEN_COOKIE))
    return row.subject if row and row.role == "unit" and ctx.cfg.unit(row.subject) else None


def _back(message: str, ok: bool) -> RedirectResponse:
    from urllib.parse import urlencode

    return RedirectResponse("/field?" + urlencode({"ok" if ok else "err": message[:300]}), 303)


@router.get("", response_class=HTMLResponse)
def page(request: Request, ctx: Ctx):
    """Sign-in form, or the unit's tickets."""
    lang = _lang(request)
    unit = _unit(request, ctx)
    zone = ctx.cfg.district.zone
    nonce = secrets.token_urlsafe(16)  # the page's one script runs; nothing injected would
    tickets, digest = [], ""
    if unit:
        rows = ctx.desk.tickets(unit_id=unit, status=UNIT_SHOWN)
        digest = _digest(rows)
        media = ctx.desk.media(r.id for r in rows)
        tickets = [ticket_out(ctx, r, lang, media[r.id]) for r in rows]
    response = templates.TemplateResponse(
        request,
        "field.html",
        {
            "t": lambda key, **kw: t(key, lang).format(**kw),
            "S": TicketState,
            "lang": lang,
            "other_lang": next(code for code in LANGS if code != lang),
            "unit": ctx.cfg.unit(unit) if unit else None,
            "tickets": tickets,
            "local": lambda moment: (
                moment.astimezone(zone).strftime("%m-%d %H:%M") if moment else ""
            ),
            "ok": request.query_params.get("ok"),
            "err": request.query_params.get("err"),
            "bad_token": request.query_params.get("bad") == "1",
            "digest": digest,
            "poll_ms": POLL_S * 1000,
            "nonce": nonce,
        },
    )
    response.headers["Content-Security-Policy"] = FIELD_CSP.format(nonce=nonce)
    if request.query_params.get("lang") in LANGS:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="strict")
    return response


def _digest(rows) -> str:
    """Changes whenever a ticket of the unit's list comes, goes or moves on."""
    state = ",".join(sorted(f"{r.id}:{r.version}" for r in rows))
    return hashlib.sha256(state.encode()).hexdigest()[:16]


@router.get("/state")
def state(request: Request, ctx: Ctx):
    """The signed-in unit's ticket list fingerprint, for the page's change check."""
    unit = _unit(request, ctx)
    if unit is None:
        return JSONResponse({"error": "not signed in"}, 401)
    return {"digest": _digest(ctx.desk.tickets(unit_id=unit, status=UNIT_SHOWN))}


@router.post("/login")
def login(request: Request, ctx: Ctx, token: Annotated[str, Form(max_length=200)]):
    """Check the token and keep it in a cookie."""
    ctx.check_guesses(request)
    row = tokens.lookup(ctx.store, token.strip())
    if row is None or row.role != "unit" or ctx.cfg.unit(row.subject) is None:
        ctx.guessed(request)
        return RedirectResponse("/field?bad=1", 303)
    response = RedirectResponse("/field", 303)
    response.set_cookie(
        TOKEN_COOKIE, token.strip(), max_age=30 * 86400, httponly=True, samesite="strict"
    )
    return response


@router.post("/logout")
def logout():
    """Forget the token on this phone."""
    response = RedirectResponse("/field", 303)
    response.delete_cookie(TOKEN_COOKIE)
    return response


@router.post("/t/{ticket_id}/resolve")
async def resolve(
    ticket_id: str,
    request: Request,
    ctx: Ctx,
    photo: Annotated[list[UploadFile], File()] = [],  # noqa: B006
    note: Annotated[str, Form(max_length=2000)] = "",
):
    """Report the fix with photos."""
    unit = _unit(request, ctx)
    if unit is None:
        return RedirectResponse("/field?bad=1", 303)
    photos = [p for p in await read_photos(photo) if p.data]  # an empty file input sends b""
    lang = _lang(request)
    try:
        await run_in_threadpool(ctx.desk.resolve, ticket_id, unit, photos, note)
    except DeskError as exc:
        return _back(f"{t('field.failed', lang)}: {exc}", ok=False)
    return _back(t("field.done", lang), ok=True)


@router.post("/t/{ticket_id}/{action}")
def act(
    ticket_id: str,
    action: str,
    request: Request,
    ctx: Ctx,
    note: Annotated[str, Form(max_length=2000)] = "",
):
    """Accept, arrive, or give the ticket back."""
    unit = _unit(request, ctx)
    if unit is None:
        return RedirectResponse("/field?bad=1", 303)
    lang = _lang(request)
    try:
        if action == "accept":
            ctx.desk.accept(ticket_id, unit, note)
        elif action == "arrive":
            ctx.desk.arrive(ticket_id, unit, note)
        elif action == "return":
            ctx.desk.give_back(ticket_id, unit, note)
        else:
            raise DeskError(f"unknown action {action[:20]!r}; one of {', '.join(ACTIONS)}", 404)
    except DeskError as exc:
        return _back(f"{t('field.failed', lang)}: {exc}", ok=False)
    return _back(t("field.done", lang), ok=True)
