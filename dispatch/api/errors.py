"""Uniform refusals: body limits before anything is read, and one error shape per audience.

Every refusal is a 4xx whose JSON says what is wrong and how to fix it (`{"error": ...}`; the
Open311 routes answer with GeoReport v2's error list, in XML unless the URL asks for `.json`).
Bodies over the configured limits are refused before they are read into memory, and nothing is
stored for a refused request.
"""

from __future__ import annotations

import json
import logging
import time

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from dispatch.api.deps import ApiError
from dispatch.api.georeport import error_response, path_format
from dispatch.api.guesses import TooManyGuesses
from dispatch.errors import DeskError
from dispatch.lifecycle import TransitionError
from streams.bus import BUS_DOWN

log = logging.getLogger(__name__)


class BodyLimit:
    """ASGI middleware: refuse bodies over the limit (413) before anything reads them, and
    addresses carrying a NUL character (422)."""

    def __init__(self, app, max_body: int, max_upload: int):
        self.app, self.max_body, self.max_upload = app, max_body, max_upload

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if "\x00" in scope["path"] or b"%00" in scope.get("query_string", b"").lower():
            # No text field may hold a NUL (PostgreSQL refuses it): refused before any route.
            message = "the address holds a NUL character (%00); remove it"
            return await _error_response(scope["path"], 422, message)(scope, None, send)
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


RETRY_AFTER_S = 5  # what a 503 tells the caller to wait before trying again
QUIET_S = 60.0  # an outage is logged once a minute, not once per refused request
_quiet = {"bus": -QUIET_S}


def _error_response(path: str, status: int, message: str, retry_after_s: int = 0) -> Response:
    if path.startswith("/open311/"):  # GeoReport v2's error list, in the format asked for
        response = error_response(path_format(path), status, message)
    else:
        response = JSONResponse({"error": message}, status_code=status)
    if status in (429, 503):
        response.headers["Retry-After"] = str(retry_after_s or RETRY_AFTER_S)
    return response


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors():
        loc = [str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path", "form")]
        where = ".".join(loc) or "body"
        message = error.get("msg", "invalid").removeprefix("Value error, ")
        if error.get("type") == "json_invalid":
            where, message = "body", f"the body is not valid JSON ({message})"
        elif error.get("type") == "missing":
            message = "is required"
        elif error.get("type") == "extra_forbidden":
            message = "is not a known field"
        parts.append(f"{where}: {message}")
    return "; ".join(parts) or "the request is not valid"


def install_error_handlers(app: FastAPI) -> None:
    """Answer every refusal in the caller's error shape, never with a traceback."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError):
        return _error_response(request.url.path, exc.status, exc.message)

    @app.exception_handler(TooManyGuesses)
    async def _guessing(request: Request, exc: TooManyGuesses):
        message = "too many failed credentials from this address; wait a minute and check the key"
        return _error_response(request.url.path, 429, message, exc.retry_after_s)

    @app.exception_handler(DeskError)
    async def _desk_error(request: Request, exc: DeskError):
        return _error_response(request.url.path, exc.status, str(exc))

    @app.exception_handler(TransitionError)
    async def _illegal_move(request: Request, exc: TransitionError):
        return _error_response(request.url.path, 409, str(exc))

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

    async def _bus_down(request: Request, exc: Exception):
        if time.monotonic() - _quiet["bus"] > QUIET_S:  # one line per minute of outage
            _quiet["bus"] = time.monotonic()
            log.warning("event bus unavailable (%s); answering 503", type(exc).__name__)
        return _error_response(
            request.url.path,
            503,
            "the event bus is restarting or unreachable; nothing was changed, try again shortly",
        )

    for kind in BUS_DOWN:
        app.add_exception_handler(kind, _bus_down)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        message = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail)
        if exc.status_code == 404 and message == "Not Found":
            message = f"no such endpoint {request.url.path}; see /openapi.json"
        if exc.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}; see /openapi.json"
        return _error_response(request.url.path, exc.status_code, message)


SECURITY_SCHEMES = {
    "token": {"type": "http", "scheme": "bearer",
              "description": "a unit's, supervisor's, operator's or display token (run.py token)"},
    "open311_key": {"type": "apiKey", "in": "query", "name": "api_key",
                    "description": "a hotline's or citizen app's key (also as a form field)"},
}  # fmt: skip
REFUSALS = {
    "401": "no token, or one that is unknown or revoked",
    "403": "the token may not do this",
    "404": "no such thing, or not one this token may see",
    "503": "the database or the event bus is away; nothing was changed; try again after the "
    "Retry-After header's seconds",
}


def document_refusals(app: FastAPI) -> None:
    """Add to the OpenAPI document what the routes refuse and how callers sign: the security
    schemes, 401/403 on token routes, 404 on routes naming a thing, 503 everywhere."""
    from fastapi.openapi.utils import get_openapi

    def openapi() -> dict:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, description=app.description,
                             routes=app.routes)  # fmt: skip
        components = schema.setdefault("components", {})
        components["securitySchemes"] = SECURITY_SCHEMES
        components.setdefault("schemas", {})["Refusal"] = {
            "type": "object", "properties": {"error": {"type": "string"}}, "required": ["error"],
        }  # fmt: skip
        for path, operations in schema["paths"].items():
            for method, operation in operations.items():
                _refusals(path, method, operation)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi


def _refusals(path: str, method: str, operation: dict) -> None:
    codes = ["503"]
    if path.startswith("/api/v1/"):
        operation["security"] = [{"token": []}]
        codes += ["401", "403"]
    elif path == "/osmand":  # the device key travels as the protocol's device identifier
        codes += ["401"]
    elif path.startswith("/open311/") and method == "post":
        operation["security"] = [{"open311_key": []}]
        codes += ["403"]
    if "{" in path.replace("{fmt}", ""):
        codes.append("404")
    body = {"application/json": {"schema": {"$ref": "#/components/schemas/Refusal"}}}
    for code in codes:
        operation["responses"].setdefault(code, {"description": REFUSALS[code], "content": body})
