"""Every door of the cockpit has a key: who may open which page, route and live connection.

People sign in at `/login` (name and password, Argon2-checked, rate-limited per client) and get
an HttpOnly, SameSite session cookie; a wall screen opens `/kiosk?token=...` once with its
display token and is then shown `/wall` only. Each request re-checks the session against the
database (cached for `RECHECK_S`), so a disabled user, a changed password or a revoked display
token is shut out within seconds, open live connections included. State-changing requests must
come from the cockpit's own origin (or one the config allows) and forms carry a CSRF token.

`ROUTES` is the one table of who may use what; the role x route test walks it against the
app's real URL map, so a route added without an entry fails the suite.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import threading
import time
from pathlib import Path
from urllib.parse import quote, urlsplit

import dash
from flask import (
    Flask,
    abort,
    g,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    session,
)
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_socketio import SocketIO
from werkzeug.serving import WSGIRequestHandler

from config.i18n import pick_lang, t
from config.schema import AppConfig
from dispatch import accounts
from dispatch.accounts import DISPLAY, Principal
from dispatch.store import Store

log = logging.getLogger(__name__)
RECHECK_S = 2.0  # how long a session's principal is trusted before the database is asked again
USERS = frozenset(accounts.ROLES)
EVERYONE = USERS | {DISPLAY}
PUBLIC = frozenset({"anonymous"}) | EVERYONE
DESK = frozenset({"admin", "operator", "coordinator"})  # who works tickets
# Route (as Flask names it) -> who may use it. Pages are Dash paths (see cockpit.pages); the
# Dash internals serve whichever page the principal may see, the page layouts check again.
ROUTES: dict[str, frozenset[str]] = {
    "/login": PUBLIC,
    "/kiosk": PUBLIC,
    "/logout": EVERYONE,
    "/snapshots/<path:name>": EVERYONE,  # the feed on the wall shows the evidence
    "/media/<media_id>": DESK,  # field photos, on the desk
    "/frames/<camera_id>.jpg": EVERYONE,  # the camera wall's frames
    "/_dash-layout": EVERYONE,
    "/_dash-dependencies": EVERYONE,
    "/_dash-update-component": EVERYONE,
    "/_reload-hash": EVERYONE,
    "/_dash-component-suites/<string:package_name>/<path:fingerprinted_path>": EVERYONE,
    "/assets/<path:filename>": EVERYONE,
    "/_favicon.ico": PUBLIC,
    "/healthz": PUBLIC,  # for load balancers: "alive" / "ready", nothing else
    "/readyz": PUBLIC,
    "/static/<path:filename>": EVERYONE,
}


class _HideTokens(logging.Filter):
    """Request logs (Werkzeug's, at INFO) never show a display token from a kiosk URL."""

    _TOKEN = re.compile(r"(token=)[^&\s\"']+")

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self._TOKEN.sub(r"\1[hidden]", str(record.msg))
        if record.args:
            record.args = tuple(
                self._TOKEN.sub(r"\1[hidden]", a) if isinstance(a, str) else a for a in record.args
            )
        return True


class QuietHandler(WSGIRequestHandler):
    """Werkzeug's handler, except that a request line with bytes no HTTP client sends (a
    closed WebSocket's last frames, read as the next request on its connection; a port
    scanner's TLS hello) ends the connection without a 400 and an error line in the log."""

    def parse_request(self) -> bool:
        if _BINARY.search(self.raw_requestline.rstrip(b"\r\n")):
            self.close_connection = True
            return False
        return super().parse_request()


_BINARY = re.compile(rb"[^\t\x20-\x7e]")  # outside printable ASCII and tab


class Gate:
    """Finds who is asking and whether they may; remembers live connections to cut them off."""

    def __init__(self, cfg: AppConfig, store: Store, pages: dict[str, frozenset[str]]):
        self.cfg, self.store, self.pages = cfg, store, pages
        self._seen: dict[str, tuple[float, Principal | None]] = {}
        self._lock = threading.Lock()
        self.connections: dict[str, str] = {}  # Socket.IO sid -> session key

    def resolve(self, key: str | None) -> Principal | None:
        """The principal behind a session key, from a cache at most RECHECK_S old."""
        if not key:
            return None
        now = time.monotonic()
        with self._lock:
            seen = self._seen.get(key)
        if seen and now - seen[0] < RECHECK_S:
            return seen[1]
        principal = accounts.resolve(self.store, key)
        with self._lock:
            if len(self._seen) > 10_000:
                self._seen.clear()
            self._seen[key] = (now, principal)
        return principal

    def current(self) -> Principal | None:
        """Who the session of this request belongs to, if anyone (still) valid."""
        return self.resolve(session.get("key"))

    def may(self, principal: Principal | None, rule: str | None, path: str) -> bool:
        """Whether `principal` may use this route (or, for a Dash page, this path)."""
        who = principal.role if principal else "anonymous"
        if rule in ROUTES:
            return who in ROUTES[rule]
        return who in self.pages.get(path, frozenset())

    def page_allowed(self, path: str) -> bool:
        """For page layouts (served through Dash's callbacks): may this request see `path`?"""
        principal = getattr(g, "principal", None) or self.current()
        return principal is not None and principal.role in self.pages.get(path, frozenset())

    def sweep(self) -> list[str]:
        """Live connections whose session no longer stands for anyone (to be cut off)."""
        return [sid for sid, key in list(self.connections.items()) if self.resolve(key) is None]


def secret_key(cfg: AppConfig) -> str:
    """The session-signing key: env SC_COCKPIT_SECRET, else a random one kept in the data dir."""
    if os.environ.get("SC_COCKPIT_SECRET"):
        return os.environ["SC_COCKPIT_SECRET"]
    path = Path(cfg.services.data_dir).resolve() / "cockpit-secret"
    if not path.exists():  # replicas starting together on one data dir: the first key wins
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".cockpit-secret-{os.getpid()}")
        with os.fdopen(os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as out:
            out.write(secrets.token_urlsafe(48))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()


def _csrf_ok() -> bool:
    """The form carries this session's CSRF token (a session without one never matches)."""
    sent, expected = request.form.get("csrf_token", ""), session.get("csrf", "")
    return bool(sent and expected) and secrets.compare_digest(sent, expected)


def _csrf() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    return session["csrf"]


def _safe_next(target: str | None) -> str:
    """Only a path on this site (no scheme, no //host) is followed after signing in."""
    target = target or "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def origin_check(cfg: AppConfig):
    """Socket.IO's origin test: the cockpit's own address, or one the config allows."""

    def allowed(origin: str | None, environ: dict) -> bool:
        own = f"{environ.get('wsgi.url_scheme', 'http')}://{environ.get('HTTP_HOST', '')}"
        return origin is None or origin == own or origin in cfg.services.cockpit_origins

    return allowed


def _same_origin(cfg: AppConfig) -> bool:
    """A state-changing request came from the cockpit's own pages (or an allowed origin)."""
    origin = request.headers.get("Origin")
    if origin is None:
        referer = request.headers.get("Referer")
        origin = f"{urlsplit(referer).scheme}://{urlsplit(referer).netloc}" if referer else None
    if origin is None:  # not a browser (no Origin, no Referer): no ambient-cookie forgery
        return True
    return origin_check(cfg)(origin, request.environ)


def _refuse(principal: Principal | None, lang: str):
    """Anonymous: to the sign-in page (pages) or 401 (everything else); others: 403."""
    wants_page = request.method == "GET" and "text/html" in request.headers.get("Accept", "")
    if principal is None:
        if wants_page:
            back = quote(request.full_path.rstrip("?"), safe="/")
            return redirect(f"/login?lang={lang}&next={back}")
        return jsonify(error="sign in first"), 401
    if wants_page:
        body = render_template("denied.html", lang=lang, t=t, message=t("access.denied", lang))
        return body, 403
    return jsonify(error=f"a {principal.role} may not use {request.path}"), 403


def content_policy(app: dash.Dash, cfg: AppConfig):
    """The cockpit's Content-Security-Policy (built on first use, once every page's clientside
    callbacks are known): scripts only from itself and Dash's own inline ones (by hash), the
    map's workers from blob URLs, tiles from the configured tile server, never framed."""
    from urllib.parse import urlsplit

    built: list[str] = []

    def policy() -> str:
        if not built:
            hashes = " ".join(app.csp_hashes())  # each already quoted
            tiles = (
                urlsplit(cfg.map.tile_url.replace("{", "").replace("}", ""))
                if cfg.map.tile_url
                else None
            )
            tile_host = f" {tiles.scheme}://{tiles.netloc}" if tiles and tiles.netloc else ""
            built.append(
                f"default-src 'self'; script-src 'self' {hashes}; "
                "style-src 'self' 'unsafe-inline'; "
                f"img-src 'self' data: blob:{tile_host}; connect-src 'self'{tile_host}; "
                "worker-src 'self' blob:; child-src 'self' blob:; font-src 'self' data:; "
                "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
            )
        return built[0]

    return policy


def _limiter(server: Flask, bus) -> Limiter:
    """Sign-in attempts counted in the bus's Redis (replicas together; this process while
    Redis is away), or in this process without a bus."""
    if bus is None:
        return Limiter(get_remote_address, app=server, storage_uri="memory://")
    uri, options = bus.rate_limits()
    return Limiter(get_remote_address, app=server, storage_uri=uri, storage_options=options,
                   in_memory_fallback_enabled=True,
                   key_prefix=f"{bus.namespace}:limits:cockpit")  # fmt: skip


def install(
    app: dash.Dash, socketio: SocketIO, cfg: AppConfig, store: Store, gate: Gate, bus=None
) -> Limiter:
    """Guard every route of the cockpit's Flask server and its Socket.IO connections (sign-in
    attempts counted as `_limiter` says)."""
    server: Flask = app.server
    werkzeug_log = logging.getLogger("werkzeug")
    if not any(isinstance(f, _HideTokens) for f in werkzeug_log.filters):  # once per process
        werkzeug_log.addFilter(_HideTokens())
    server.config.update(
        SECRET_KEY=secret_key(cfg),
        SESSION_COOKIE_NAME="street_cockpit",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=int(cfg.services.session_hours * 3600),
    )
    limiter = _limiter(server, bus)
    per_minute = f"{cfg.services.login_attempts_per_minute} per minute"

    @server.before_request
    def _guard():
        g.principal = gate.current()
        lang = pick_lang(request.args.get("lang"))
        rule = request.url_rule.rule if request.url_rule else None
        if rule == "/<path:path>" or rule == "/":  # Dash's page routes
            rule = None
        if not gate.may(g.principal, rule, request.path):
            return _refuse(g.principal, lang)
        if request.method not in ("GET", "HEAD", "OPTIONS") and not _same_origin(cfg):
            log.warning("refused %s %s from a foreign origin", request.method, request.path)
            abort(403)
        return None

    @server.errorhandler(Exception)
    def _failed(exc):
        """Malformed callback requests are the client's mistake; nothing leaks a traceback."""
        from werkzeug.exceptions import HTTPException

        if isinstance(exc, HTTPException):
            return exc
        if request.path == "/_dash-update-component" and isinstance(
            exc, KeyError | ValueError | TypeError | IndexError
        ):
            return jsonify(error="not a callback of this cockpit; reload the page"), 400
        log.exception("cockpit request %s failed", request.path)
        return jsonify(error="the cockpit failed on this request; it was logged"), 500

    @server.after_request
    def _no_sniffing(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        if response.mimetype == "text/html":
            response.headers.setdefault("Content-Security-Policy", policy())
            response.headers.setdefault("X-Frame-Options", "DENY")
        return response

    policy = content_policy(app, cfg)
    _install_login(server, cfg, store, limiter, per_minute)
    _install_socket_guard(socketio, gate)
    return limiter


def _login_page(cfg: AppConfig, lang: str, error: str | None = None, status: int = 200):
    other = "en" if lang == "zh" else "zh"
    body = render_template(
        "login.html",
        lang=lang,
        other=other,
        t=t,
        district=getattr(cfg.district.name, lang),
        csrf=_csrf(),
        next=_safe_next(request.values.get("next")),
        error=error,
    )
    return body, status


def _install_login(server: Flask, cfg: AppConfig, store: Store, limiter, per_minute) -> None:
    def too_many(_limit=None):
        """The sign-in page saying to wait (flask-limiter sends a Response it is given)."""
        lang = pick_lang(request.args.get("lang"))
        return make_response(*_login_page(cfg, lang, "login.too_many", 429))

    @server.route("/login", methods=["GET", "POST"])
    @limiter.limit(per_minute, methods=["POST"], on_breach=too_many)
    def login():
        lang = pick_lang(request.args.get("lang"))
        if request.method == "GET":
            return _login_page(cfg, lang)
        if not _csrf_ok():
            return _login_page(cfg, lang, "login.expired", 400)
        name = request.form.get("name", "")[:64]
        principal = accounts.authenticate(store, name, request.form.get("password", "")[:200])
        if principal is None:
            log.warning("sign-in refused for %r from %s", name, get_remote_address())
            return _login_page(cfg, lang, "login.failed", 401)
        session.clear()
        session.permanent = True
        session["key"] = principal.key
        log.info("%s %r signed in from %s", principal.role, principal.name, get_remote_address())
        return redirect(_safe_next(request.form.get("next")))

    @server.route("/kiosk")
    @limiter.limit(per_minute, on_breach=too_many)
    def kiosk():
        lang = pick_lang(request.args.get("lang"))
        principal = accounts.display_login(store, request.args.get("token"))
        if principal is None:
            log.warning("display token refused from %s", get_remote_address())
            body = render_template(
                "denied.html", lang=lang, t=t, message=t("access.bad_display", lang)
            )
            return body, 403
        session.clear()
        session.permanent = True
        session["key"] = principal.key
        log.info("wall %r opened from %s", principal.name, get_remote_address())
        return redirect(f"/wall?lang={lang}")

    @server.route("/logout", methods=["POST"])
    def logout():
        lang = pick_lang(request.args.get("lang"))
        if not _csrf_ok():
            abort(400)
        session.clear()
        return redirect(f"/login?lang={lang}")


def _install_socket_guard(socketio: SocketIO, gate: Gate) -> None:
    """Socket.IO: only a valid session may connect (the origin check is Socket.IO's own, from
    the config's allow-list); a connection whose session dies is cut off by `cut_off`."""

    @socketio.on("connect")
    def _connect(auth=None):
        principal = gate.current()
        if principal is None:
            log.warning("live connection refused: no valid session (%s)", get_remote_address())
            raise ConnectionRefusedError("sign in first")
        gate.connections[request.sid] = session["key"]
        return True

    @socketio.on("disconnect")
    def _disconnect(*_reason):
        gate.connections.pop(request.sid, None)


def cut_off(socketio: SocketIO, gate: Gate, stop: threading.Event, every_s: float = 1.0) -> None:
    """Until stopped: disconnect live connections whose user was disabled or whose display token
    was revoked (within RECHECK_S + every_s of the change)."""
    while not stop.wait(every_s):
        for sid in gate.sweep():
            log.info("closing a live connection whose access ended")
            gate.connections.pop(sid, None)
            try:
                socketio.server.disconnect(sid, namespace="/")
            except Exception:  # already gone
                log.debug("connection %s was already closed", sid)
