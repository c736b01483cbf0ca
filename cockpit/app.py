"""The cockpit: a Dash app on Flask-SocketIO; live bus data is pushed to browsers, never polled."""

from __future__ import annotations

import logging
import threading
import time

import dash
from dash import ClientsideFunction, Input, Output, dcc, html
from flask import request, send_from_directory
from flask_socketio import SocketIO, join_room

from cockpit import ids
from cockpit.figures import base_map
from cockpit.live import BusFeed, LiveState
from config.i18n import LANGS, pick_lang, t
from config.schema import AppConfig
from geo.layers import DistrictLayers

log = logging.getLogger(__name__)
PUSH_INTERVAL_S = 0.5
REFRESH_S = 30  # pushed even without news: minutes late, muted warnings coming back, hourly counts


def _kpi(kpi_id: str, label: str) -> html.Div:
    return html.Div(
        className="kpi",
        children=[
            html.Div("—", id=kpi_id, className="kpi-value"),
            html.Div(label, className="kpi-label"),
        ],
    )


def page_layout(cfg: AppConfig, layers: DistrictLayers, lang: str) -> html.Div:
    """The live map page in one language."""
    other = "en" if lang == "zh" else "zh"
    return html.Div(
        className="cockpit",
        children=[
            dcc.Store(id=ids.LIVE),
            dcc.Store(id=ids.LANG, data=lang),
            html.Header(
                className="bar",
                children=[
                    html.H1(f"{getattr(cfg.district.name, lang)} · {t('title', lang)}"),
                    html.Div(
                        className="bar-right",
                        children=[
                            html.Span(
                                t("live.disconnected", lang),
                                id=ids.LINK_STATE,
                                className="link down",
                                **{
                                    "data-up": t("live.connected", lang),
                                    "data-down": t("live.disconnected", lang),
                                },
                            ),
                            html.Span(
                                id=ids.CLOCK,
                                className="clock",
                                **{"data-tz": cfg.district.timezone},  # district time
                            ),
                            html.A(t("switch_lang", lang), href=f"?lang={other}", className="lang"),
                        ],
                    ),
                ],
            ),
            html.Main(
                className="body",
                children=[
                    dcc.Graph(
                        id=ids.MAP,
                        className="map",
                        figure=base_map(cfg, layers, lang),
                        config={"displayModeBar": False, "scrollZoom": True, "responsive": True},
                    ),
                    html.Aside(
                        className="side",
                        children=[
                            html.Div(
                                className="kpis",
                                children=[
                                    _kpi(ids.KPI_OPEN, t("kpi.open_tickets", lang)),
                                    _kpi(ids.KPI_EVENTS, t("kpi.events_hour", lang)),
                                    _kpi(ids.KPI_UNITS, t("kpi.units_online", lang)),
                                    _kpi(ids.KPI_CAMERAS, t("kpi.cameras_online", lang)),
                                ],
                            ),
                            html.H2(
                                className="alerts-title",
                                children=[
                                    t("alert.title", lang),
                                    html.Span("0", id=ids.ALERT_COUNT, className="alert-count"),
                                ],
                            ),
                            html.Div(
                                id=ids.ALERTS,
                                className="alerts",
                                children=html.Div(t("alert.none", lang), className="alerts-none"),
                            ),
                            html.H2(t("feed.title", lang)),
                            html.Div(
                                id=ids.FEED,
                                className="feed",
                                children=html.Div(t("feed.empty", lang), className="feed-empty"),
                            ),
                        ],
                    ),
                ],
            ),
        ],
    )


def create_app(cfg: AppConfig, layers: DistrictLayers) -> tuple[dash.Dash, SocketIO]:
    """Build the Dash app and the Socket.IO server around its Flask server."""
    app = dash.Dash(
        __name__,
        title=t("title"),
        update_title=None,
        assets_folder="assets",
        serve_locally=True,
        use_pages=True,
        pages_folder="",
        suppress_callback_exceptions=True,
    )  # page ids appear after routing

    def live_map(lang: str | None = None, **_query) -> html.Div:
        return page_layout(cfg, layers, pick_lang(lang))

    dash.register_page("live_map", path="/", layout=live_map, title=t("title"))
    app.layout = html.Div(dash.page_container, className="root")
    app.clientside_callback(
        ClientsideFunction(namespace="cockpit", function_name="apply"),
        Output(ids.MAP, "figure"),
        Output(ids.KPI_OPEN, "children"),
        Output(ids.KPI_EVENTS, "children"),
        Output(ids.KPI_UNITS, "children"),
        Output(ids.KPI_CAMERAS, "children"),
        Output(ids.FEED, "children"),
        Output(ids.ALERT_COUNT, "children"),
        Output(ids.ALERT_COUNT, "className"),
        Output(ids.ALERTS, "children"),
        Input(ids.LIVE, "data"),
        prevent_initial_call=True,
    )
    snapshots = (cfg.services.data_dir / "snapshots").resolve()

    @app.server.route("/snapshots/<path:name>")
    def snapshot(name: str):
        """A camera's annotated evidence JPEG (send_from_directory refuses paths outside)."""
        return send_from_directory(snapshots, name, max_age=86400)

    socketio = SocketIO(app.server, async_mode="threading", cors_allowed_origins=[])
    return app, socketio


class Pusher:
    """Reads the bus into the live state and pushes a fresh payload to each language room."""

    def __init__(self, socketio: SocketIO, feed: BusFeed, state: LiveState):
        self.socketio, self.feed, self.state = socketio, feed, state
        self.stop = threading.Event()
        socketio.on_event("join", self.on_join)

    def on_join(self, message) -> None:
        """A browser says which language it shows; send it the full state at once."""
        lang = pick_lang((message or {}).get("lang"))
        join_room(lang)
        self.socketio.emit("live", self.state.payload(lang), to=request.sid)

    def run(self) -> None:
        """Poll the bus (blocking briefly) and push changes at most every PUSH_INTERVAL_S, and
        the whole state every REFRESH_S (what depends on the time moves on without news)."""
        pushed, pushed_at = -1, 0.0
        while not self.stop.is_set():
            try:
                self.feed.poll(block_ms=int(PUSH_INTERVAL_S * 1000))
            except Exception:  # the bus may restart; keep the screen up and retry
                log.exception("bus read failed; retrying")
                self.stop.wait(1)
                continue
            if self.state.version != pushed or time.monotonic() - pushed_at >= REFRESH_S:
                pushed, pushed_at = self.state.version, time.monotonic()
                for lang in LANGS:
                    self.socketio.emit("live", self.state.payload(lang), to=lang)
