"""The cockpit: a Dash app (one module per page in `cockpit.pages`) on Flask-SocketIO; live bus
data is pushed to browsers, never polled. Every route and connection is guarded by
`cockpit.access`."""

from __future__ import annotations

import dash
from dash import html
from flask import send_from_directory
from flask_socketio import SocketIO

from cockpit import access
from cockpit.pages import PAGES
from config.i18n import t
from config.schema import AppConfig
from dispatch.store import Store
from geo.layers import DistrictLayers


def create_app(
    cfg: AppConfig, layers: DistrictLayers, store: Store
) -> tuple[dash.Dash, SocketIO, access.Gate]:
    """Build the Dash app with its pages and the Socket.IO server around its Flask server, every
    door guarded against the accounts in `store`."""
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
        page.register(app, cfg, layers, gate)
    app.layout = html.Div(dash.page_container, className="root")
    snapshots = (cfg.services.data_dir / "snapshots").resolve()

    @app.server.route("/snapshots/<path:name>")
    def snapshot(name: str):
        """A camera's annotated evidence JPEG (send_from_directory refuses paths outside)."""
        return send_from_directory(snapshots, name, max_age=86400)

    socketio = SocketIO(
        app.server, async_mode="threading", cors_allowed_origins=access.origin_check(cfg)
    )
    access.install(app, socketio, cfg, store, gate)
    return app, socketio, gate
