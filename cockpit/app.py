"""The cockpit: a Dash app (one module per page in `cockpit.pages`) on Flask-SocketIO; live bus
data is pushed to browsers, never polled. Every route and connection is guarded by
`cockpit.access`."""

from __future__ import annotations

import dash
from dash import html
from flask import Response, abort, send_from_directory
from flask_socketio import SocketIO
from werkzeug.middleware.proxy_fix import ProxyFix

from cockpit import access
from cockpit.pages import PAGES
from config.i18n import t
from config.schema import AppConfig
from dispatch.api.errors import RETRY_AFTER_S
from dispatch.api.health import readiness
from dispatch.desk import Desk
from dispatch.store import MediaRow, Store
from geo.layers import DistrictLayers
from streams.frames import FrameCache


def _file_routes(server, cfg: AppConfig, store: Store, frames: FrameCache | None) -> None:
    """Evidence snapshots, field photos and the camera wall's frames (guarded by
    cockpit.access.ROUTES like every other route)."""
    snapshots = (cfg.services.data_dir / "snapshots").resolve()

    @server.route("/snapshots/<path:name>")
    def snapshot(name: str):
        """A camera's annotated evidence JPEG (send_from_directory refuses paths outside)."""
        return send_from_directory(snapshots, name, max_age=86400)

    data_dir = cfg.services.data_dir.resolve()

    @server.route("/media/<media_id>")
    def media(media_id: str):
        """A field photo of a ticket (desk roles only; see cockpit.access.ROUTES)."""
        with store.session() as session:
            row = session.get(MediaRow, media_id[:32])
        if row is None or row.kind == "link":
            abort(404)
        return send_from_directory(data_dir, row.path, mimetype=row.content_type, max_age=3600)

    @server.route("/healthz")
    def alive():
        """The process answers (for load balancers)."""
        return {"status": "alive"}

    @server.route("/readyz")
    def ready():
        """Ready: the account and ticket database answers, and the bus when there is one."""
        body, ok = readiness(store, frames.bus if frames else None)
        return body if ok else (body, 503, {"Retry-After": str(RETRY_AFTER_S)})

    @server.route("/frames/<camera_id>.jpg")
    def frame(camera_id: str):
        """A camera's latest wall frame, with when it was taken and how many detections."""
        found = frames.get(camera_id[:64]) if frames else None
        if found is None:  # offline or not analysed: nothing to show (not an error)
            return Response(status=204)
        response = Response(found.jpeg, mimetype="image/jpeg")
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Captured-At"] = f"{found.captured_at:.3f}"
        response.headers["X-Detections"] = str(found.detections)
        response.headers["X-Picture"] = ",".join(found.problems)
        return response


def create_app(
    cfg: AppConfig,
    layers: DistrictLayers,
    store: Store,
    desk: Desk | None = None,
    frames: FrameCache | None = None,
) -> tuple[dash.Dash, SocketIO, access.Gate]:
    """Build the Dash app with its pages and the Socket.IO server around its Flask server, every
    door guarded against the accounts in `store`. The desk page acts through `desk` (by default
    one that neither routes nor publishes: a cockpit without a bus); the camera wall shows the
    frames in `frames` (none without a bus)."""
    desk = desk or Desk(cfg, store, None, None)
    app = dash.Dash(
        __name__,
        title=t("title"),
        update_title=None,
        assets_folder="assets",
        serve_locally=True,
        use_pages=True,
        pages_folder="",  # pages register themselves with the config they need
        suppress_callback_exceptions=True,  # page ids appear after routing
    )
    gate = access.Gate(cfg, store, {page.PATH: page.ROLES for page in PAGES})
    for page in PAGES:
        page.register(app, cfg, layers, gate, desk)
    app.layout = html.Div(dash.page_container, className="root")
    hops = cfg.services.proxy_hops
    if hops:  # behind a reverse proxy: the client's address and scheme are the proxy's word
        app.server.wsgi_app = ProxyFix(app.server.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    _file_routes(app.server, cfg, store, frames)
    socketio = SocketIO(
        app.server, async_mode="threading", cors_allowed_origins=access.origin_check(cfg)
    )
    access.install(app, socketio, cfg, store, gate, frames.bus if frames else None)
    return app, socketio, gate
