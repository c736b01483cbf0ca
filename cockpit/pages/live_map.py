"""The live map page: the district with units, cameras, open tickets and fresh events, KPI tiles,
overdue warnings and the ticket feed, updated by pushes (never polled)."""

from __future__ import annotations

import logging

import dash
from dash import ClientsideFunction, Input, Output, State, dcc, html
from flask import g

from cockpit import ids
from cockpit.access import DESK, USERS, Gate
from cockpit.chrome import denied, header
from cockpit.figures import TOGGLED, base_map, layer_positions
from cockpit.pages.cameras import wall_tiles
from cockpit.payload import UNIT_AMBER, UNIT_RED
from config.i18n import pick_lang, t
from config.schema import AppConfig
from dispatch.errors import DeskError
from geo.layers import DistrictLayers

PATH = "/"
ROLES = USERS
NAV = "nav.live_map"
log = logging.getLogger(__name__)


def _kpi(kpi_id: str, label: str) -> html.Div:
    return html.Div(
        className="kpi",
        children=[
            html.Div("—", id=kpi_id, className="kpi-value"),
            html.Div(label, className="kpi-label"),
        ],
    )


def _side(lang: str) -> html.Aside:
    """KPI tiles, overdue warnings and the newest tickets."""
    return html.Aside(
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
    )


def _last_update(cfg: AppConfig, lang: str) -> html.Span:
    """How long ago the last push came; red once the stream has stalled (kiosk walls)."""
    return html.Span(
        "—",
        id=ids.LAST_UPDATE,
        className="last-update",
        **{"data-template": t("live.last_update", lang), "data-stale-s": cfg.wall.stale_s},
    )


def _layer_toggles(cfg: AppConfig, layers: DistrictLayers, lang: str) -> dcc.Checklist:
    """Show or hide the district's grids, communities and streets (not on a kiosk wall)."""
    positions = layer_positions(cfg, layers)
    options = [{"label": t(f"layer.{kind}", lang), "value": positions[kind]}
               for kind in TOGGLED if kind in positions]  # fmt: skip
    return dcc.Checklist(
        id=ids.LAYER_TOGGLES,
        className="layer-toggles",
        options=options,
        value=[option["value"] for option in options],
        inline=True,
    )


def _detail_panel(lang: str, links: dict[str, bool]) -> html.Div:
    """What a click on the map picked (a ticket, a unit, a camera, a place), with a link to
    where it is worked on when the person may go there, and for a unit long on one stage
    (amber or red) a button for operators to say they have seen it; filled in the browser."""
    labels = {key: t(f"map.detail.{key}", lang) for key in ("ticket", "unit", "camera")}
    labels |= {"late": [UNIT_AMBER, UNIT_RED], "lang": lang}
    return html.Div(
        id=ids.MAP_DETAIL,
        className="map-detail",
        hidden=True,
        children=[
            dcc.Store(id=ids.MAP_DETAIL_LABELS, data={**labels, **links}),
            dcc.Store(id=ids.MAP_DETAIL_PICKED),
            html.Button(
                "×",
                id=ids.MAP_DETAIL_CLOSE,
                className="map-detail-close",
                title=t("map.detail.close", lang),
                n_clicks=0,
            ),
            html.Div(id=ids.MAP_DETAIL_BODY),
            html.Button(
                t("map.detail.ack", lang),
                id=ids.MAP_DETAIL_ACK,
                className="map-detail-ack",
                hidden=True,
                n_clicks=0,
            ),
            html.Div(id=ids.MAP_DETAIL_MESSAGE, className="map-detail-message"),
        ],
    )


def page_layout(
    cfg: AppConfig,
    layers: DistrictLayers,
    lang: str,
    kiosk: bool = False,
    links: dict[str, bool] | None = None,
) -> html.Div:
    """The live map page in one language; as a kiosk wall it takes turns with its other views
    (`wall.views`, every `wall.rotate_s`) and says how fresh its data is."""
    extra = (_last_update(cfg, lang),) if kiosk else ()
    rotation = (
        {"data-views": ",".join(cfg.wall.views), "data-rotate": cfg.wall.rotate_s} if kiosk else {}
    )
    return html.Div(
        className="cockpit kiosk" if kiosk else "cockpit",
        id=ids.ROOT,
        **rotation,
        children=[
            dcc.Store(id=ids.LIVE),
            dcc.Store(id=ids.LANG, data=lang),
            header(cfg, lang, PATH, extra=extra),
            html.Main(
                className="body",
                children=[
                    dcc.Graph(
                        id=ids.MAP,
                        className="map",
                        figure=base_map(cfg, layers, lang, kiosk),
                        config={"displayModeBar": False, "scrollZoom": True, "responsive": True},
                    ),
                    _side(lang),
                    html.Div(id="emergency-banner", className="emergency-banner", hidden=True),
                    *(
                        ()
                        if kiosk
                        else (_layer_toggles(cfg, layers, lang), _detail_panel(lang, links or {}))
                    ),
                    *((wall_tiles(cfg, lang),) if kiosk and "cameras" in cfg.wall.views else ()),
                ],
            ),
        ],
    )


def _may_acknowledge() -> bool:
    principal = getattr(g, "principal", None)
    return principal is not None and principal.role in DESK


def register(app: dash.Dash, cfg: AppConfig, layers: DistrictLayers, gate: Gate, desk) -> None:
    """Add the page (at PATH, in the language of `?lang=`) and its callbacks to the app."""

    def layout(lang: str | None = None, **_query) -> html.Div:
        if not gate.page_allowed(PATH):
            return denied(pick_lang(lang))
        links = {"desk": gate.page_allowed("/desk"), "cameras": gate.page_allowed("/cameras"),
                 "ack": _may_acknowledge()}  # fmt: skip
        return page_layout(cfg, layers, pick_lang(lang), links=links)

    dash.register_page("live_map", path=PATH, layout=layout, title=t("title"))
    # The browser applies each pushed payload to the map, the tiles, the warnings and the feed.
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
    app.clientside_callback(  # in the browser only: no request, nothing to guard
        ClientsideFunction(namespace="cockpit", function_name="details"),
        Output(ids.MAP_DETAIL_BODY, "children"),
        Output(ids.MAP_DETAIL, "hidden"),
        Output(ids.MAP_DETAIL_ACK, "hidden"),
        Output(ids.MAP_DETAIL_PICKED, "data"),
        Output(ids.MAP_DETAIL_MESSAGE, "children"),
        Input(ids.MAP, "clickData"),
        Input(ids.MAP_DETAIL_CLOSE, "n_clicks"),
        State(ids.MAP_DETAIL_LABELS, "data"),
        prevent_initial_call=True,
    )
    app.clientside_callback(  # in the browser only: no request, nothing to guard
        ClientsideFunction(namespace="cockpit", function_name="layers"),
        Output(ids.MAP, "figure", allow_duplicate=True),
        Input(ids.LAYER_TOGGLES, "value"),
        State(ids.LAYER_TOGGLES, "options"),
        prevent_initial_call=True,
    )
    _register_acknowledge(app, desk)


def _register_acknowledge(app: dash.Dash, desk) -> None:
    @app.callback(
        Output(ids.MAP_DETAIL_MESSAGE, "children", allow_duplicate=True),
        Input(ids.MAP_DETAIL_ACK, "n_clicks"),
        State(ids.MAP_DETAIL_PICKED, "data"),
        State(ids.LANG, "data"),
        prevent_initial_call=True,
    )
    def _acknowledge(clicks, picked, lang):
        """An operator has seen a unit long on one stage: noted on its ticket, shown on all maps."""
        lang = pick_lang(lang)
        if not clicks or not isinstance(picked, str):
            raise dash.exceptions.PreventUpdate
        if not _may_acknowledge() or desk is None:
            return t("access.denied", lang)
        principal = g.principal
        actor = f"{principal.role}:{principal.name}"[:64]
        try:
            desk.acknowledge_unit(picked[:64], actor)
        except DeskError as refused:
            return f"{t('desk.refused', lang)}: {refused}"
        log.info("%s acknowledged unit %s", actor, picked[:64])
        return t("map.detail.acked", lang).format(who=principal.name)
