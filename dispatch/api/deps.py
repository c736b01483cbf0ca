"""What every API route shares: the context (config, store, bus, desks), refusals, and the one
guard per kind of caller (a unit token, an operator or supervisor token)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Query, Request

from config.schema import AppConfig
from dispatch import tokens
from dispatch.api.guesses import Guesses
from dispatch.desk import Desk
from dispatch.gps import FixFilter
from dispatch.incidents import Incidents
from dispatch.routing import Router
from dispatch.store import Store, TokenRow
from dispatch.warnings import Warnings
from geo.gazetteer import Gazetteer
from streams.bus import Bus

API_PREFIX = "/api/v1"
TOKEN_COOKIE = "sc_token"
TOKEN_HINT = "issue one with `python run.py token unit UNIT_ID` (or `token operator NAME`)"
Lang = Annotated[str, Query(pattern="^(zh|en)$", description="language of names")]


@dataclass
class ApiContext:
    """What the routes share: config, store, bus, desks and the GPS filter."""

    cfg: AppConfig
    store: Store
    bus: Bus
    desk: Desk
    warnings: Warnings
    router: Router
    fixes: FixFilter
    gazetteer: Gazetteer
    clock: Callable[[], float]
    incidents: Incidents | None = None
    guesses: Guesses | None = None

    def check_guesses(self, request: Request) -> None:
        """Refuse a client that failed too many credentials lately."""
        if self.guesses is not None:
            self.guesses.check(request)

    def guessed(self, request: Request) -> None:
        """Count a failed credential from this client."""
        if self.guesses is not None:
            self.guesses.failed(request)

    @property
    def data_dir(self) -> Path:
        """Where media files live."""
        return self.cfg.services.data_dir


class ApiError(Exception):
    """A refusal with an HTTP status and a message for the client."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


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
    ctx.check_guesses(request)
    row = tokens.lookup(ctx.store, secret)
    if row is None:
        ctx.guessed(request)
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


def departments_of(ctx: ApiContext, who: str) -> set[str] | None:
    """The departments an operator-route caller answers for: all (None) for an operator, those
    it supervises for a supervisor unit."""
    if not who.startswith("supervisor:"):
        return None
    unit = who.removeprefix("supervisor:")
    return {d.id for d in ctx.cfg.departments if d.supervisor == unit}


def own_ticket(ctx: ApiContext, who: str, ticket_id: str) -> None:
    """ApiError 403 when a supervisor reaches for another department's ticket."""
    departments = departments_of(ctx, who)
    if departments is None:
        return
    ticket = ctx.desk.get(ticket_id[:64])
    if ticket.department_id not in departments:
        raise ApiError(403, f"ticket {ticket.id} belongs to another department's supervisor")


UnitId = Annotated[str, Depends(unit_id)]
Operator = Annotated[str, Depends(operator)]


EARLIEST, LATEST = 1970, 2200  # the years a time sent to the API may fall in


def aware(value: dt.datetime | None) -> dt.datetime | None:
    """A time from a client, which must say its time zone (422 otherwise)."""
    if value is not None and value.tzinfo is None:
        raise ApiError(422, f"time {value.isoformat()} has no time zone; add Z or +08:00")
    if value is not None and not EARLIEST <= value.year <= LATEST:
        raise ApiError(422, f"time {value.isoformat()} is out of range ({EARLIEST}-{LATEST})")
    return value
