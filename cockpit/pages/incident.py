"""Incident mode for emergency coordinators: open an incident on the map (a click or an
address), see its analysis (rings, sensitive places, shelters and the walk there, units by
travel time, cameras, streets to close and detours, grids and their responsible persons), act
(summon a unit, change the level, hand over, pin it on every wall, shelters' occupancy, notes,
close), and follow the timeline. Everyone signed in may watch; coordinators and admins act,
each action checked again where it happens (`dispatch.incidents`)."""

from __future__ import annotations

import datetime as dt
import logging

import dash
from dash import Input, Output, State, dcc, html
from flask import g

from cockpit import incident_view as view
from cockpit.access import USERS, Gate
from cockpit.chrome import denied, header
from cockpit.incident_room import IncidentDesk, act, actor, origin_of
from config.i18n import pick_lang, t
from config.schema import AppConfig
from dispatch.incidents import LEVELS, IncidentError, step_words
from geo.layers import DistrictLayers

log = logging.getLogger(__name__)
PATH = "/incident"
ROLES = USERS
NAV = "nav.incident"
ACT = frozenset({"coordinator", "admin"})
ACTIONS = ("summon", "level", "handover", "pin", "unpin", "shelter", "note", "close")
# Changes are pushed (the incidents' revision over Socket.IO); this refresh is only the safety
# net while the push is away, and moves units' travel times on.
SAFETY_REFRESH_MS = 15_000


def _id(name: str) -> str:
    return f"incident-{name}"


def _may(gate: Gate, roles: frozenset[str]) -> bool:
    principal = getattr(g, "principal", None)
    return principal is not None and principal.role in roles and gate.page_allowed(PATH)


def _opening(cfg: AppConfig, lang: str, hidden: bool, origin: dict | None = None) -> html.Div:
    return html.Div(
        className="incident-open",
        hidden=hidden,
        children=[
            html.H3(t("incident.open", lang)),
            dcc.Dropdown(
                id=_id("type"),
                options=[
                    {"label": getattr(k.names, lang), "value": k.id} for k in cfg.emergency.types
                ],
                value=cfg.emergency.types[0].id,
                clearable=False,
            ),
            dcc.Dropdown(
                id=_id("new-level"),
                options=[{"label": t(f"incident.level.{n}", lang), "value": n} for n in LEVELS],
                value=3,
                clearable=False,
            ),
            dcc.Input(
                id=_id("title"),
                placeholder=t("incident.title", lang),
                maxLength=200,
                value=origin["title"] if origin else None,
            ),
            dcc.Input(id=_id("address"), placeholder=t("incident.address", lang), maxLength=100),
            html.Div(
                f"{t('incident.from_ticket', lang)} {origin['ticket_id'][:8]}"
                if origin
                else t("incident.click_map", lang),
                id=_id("where"),
                className="incident-hint",
            ),
            html.Button(t("incident.open_button", lang), id=_id("open"), n_clicks=0),
        ],
    )


def _row(*children) -> html.Div:
    return html.Div(className="incident-row", children=list(children))


def _actions(cfg: AppConfig, lang: str, hidden: bool) -> html.Div:
    units = [{"label": f"{getattr(u.name, lang)} ({u.id})", "value": u.id} for u in cfg.units]
    levels = [{"label": t(f"incident.level.{n}", lang), "value": n} for n in LEVELS]

    def button(name: str, key: str) -> html.Button:
        return html.Button(t(key, lang), id=_id(name), n_clicks=0)

    def field(name: str, key: str, **extra) -> dcc.Input:
        return dcc.Input(id=_id(name), placeholder=t(key, lang), **extra)

    return html.Div(
        className="incident-actions",
        hidden=hidden,
        children=[
            _row(
                dcc.Dropdown(id=_id("unit"), options=units, placeholder=t("incident.unit", lang)),
                button("summon", "incident.summon"),
            ),
            _row(
                dcc.Dropdown(
                    id=_id("level"), options=levels, placeholder=t("incident.level", lang)
                ),
                button("set-level", "incident.set_level"),
            ),
            _row(
                field("to", "incident.hand_to", maxLength=64),
                button("handover", "incident.hand_over"),
            ),
            _row(button("pin", "incident.pin"), button("unpin", "incident.unpin")),
            _row(
                field("shelter-id", "incident.shelter_id", maxLength=64),
                field("occupied", "incident.occupied", type="number", min=0),
                button("shelter", "incident.set_shelter"),
            ),
            _row(
                field("building", "incident.building_id", maxLength=64),
                field("people", "incident.people", type="number", min=0),
                button("evacuate", "incident.mark_evacuated"),
            ),
            _row(
                field("note", "incident.note", maxLength=1000),
                button("add-note", "incident.add_note"),
            ),
            _row(
                field("summary", "incident.summary", maxLength=4000),
                button("close", "incident.close"),
            ),
        ],
    )


def page_layout(cfg: AppConfig, layers: DistrictLayers, lang: str, incident: str | None,
                can_act: bool, origin: dict | None = None) -> html.Div:  # fmt: skip
    """The incident page in one language, showing `incident` (or the newest open one); opened
    from a ticket (`origin`), the new incident's site and title start from the ticket's."""
    return html.Div(
        className="cockpit incident",
        children=[
            dcc.Store(id=_id("lang"), data=lang),
            dcc.Store(id=_id("selected"), data=incident),
            dcc.Store(id=_id("site"), data=origin and [origin["lon"], origin["lat"]]),
            dcc.Store(id=_id("origin"), data=origin and origin["ticket_id"]),
            dcc.Store(id=_id("done"), data=0),
            dcc.Store(id=_id("screen")),
            dcc.Store(id=_id("rev")),  # the incidents' revision, pushed (incident.js)
            dcc.Interval(id=_id("tick"), interval=SAFETY_REFRESH_MS),
            dcc.Download(id=_id("download")),
            header(cfg, lang, PATH, live=False),
            html.Main(
                className="incident-body",
                children=[
                    dcc.Graph(
                        id=_id("map"),
                        className="incident-map",
                        config={"displayModeBar": False, "scrollZoom": True, "responsive": True},
                    ),  # fmt: skip
                    html.Aside(
                        className="incident-side",
                        children=[
                            dcc.Dropdown(id=_id("pick"), placeholder=t("incident.pick", lang)),
                            html.Div(id=_id("status"), className="incident-status"),
                            _opening(cfg, lang, not can_act, origin),
                            _actions(cfg, lang, not can_act),
                            html.Div(id=_id("message"), className="desk-message"),
                            html.Div(
                                className="incident-downloads",
                                children=[
                                    html.Button("CAP", id=_id("cap"), n_clicks=0),
                                    html.Button("GeoJSON", id=_id("geojson"), n_clicks=0),
                                    html.Button(
                                        t("incident.sitrep", lang), id=_id("sitrep"), n_clicks=0
                                    ),
                                ],
                            ),
                            html.Div(id=_id("lists"), className="incident-lists"),
                            html.H3(t("incident.timeline", lang)),
                            html.Ol(id=_id("timeline"), className="incident-timeline"),
                        ],
                    ),
                ],
            ),
        ],
    )


def register(app: dash.Dash, cfg: AppConfig, layers: DistrictLayers, gate: Gate, desk) -> None:
    """Add the incident page and its callbacks (each checks the role again)."""
    room = IncidentDesk(cfg, layers, desk.store, getattr(desk, "bus", None))

    def layout(lang: str | None = None, incident: str | None = None, ticket: str | None = None,
               **_query) -> html.Div:  # fmt: skip
        lang = pick_lang(lang)
        if not gate.page_allowed(PATH):
            return denied(lang)
        can_act = _may(gate, ACT)
        origin = origin_of(cfg, desk, str(ticket)[:64], lang) if ticket and can_act else None
        return page_layout(cfg, layers, lang, incident, can_act, origin)

    dash.register_page("incident", path=PATH, layout=layout, title=t("nav.incident"))
    _register_view(app, gate, room)
    _register_screen(app)
    _register_open(app, gate, room)
    _register_actions(app, gate, room)
    _register_downloads(app, gate, room)


def _status(incident, cfg: AppConfig, lang: str) -> list:
    kind = cfg.emergency.type(incident.type_id)
    name = getattr(kind.names, lang) if kind else incident.type_id
    state = t(f"incident.state.{incident.status}", lang)
    pinned = f" · {t('incident.pinned', lang)}" if incident.pinned else ""
    return [
        html.Div(incident.title, className="incident-title"),
        html.Div(f"{name} · {t(f'incident.level.{incident.level}', lang)} · {state}{pinned}"),
        html.Div(f"{t('incident.owner', lang)}: {incident.owner}"),
    ]


def _register_screen(app: dash.Dash) -> None:
    app.clientside_callback(  # the screen's width, for the map's zoom
        "function (lang) { return window.innerWidth; }",
        Output(_id("screen"), "data"),
        Input(_id("lang"), "data"),
    )


def _register_view(app: dash.Dash, gate: Gate, room: IncidentDesk) -> None:
    @app.callback(
        Output(_id("map"), "figure"),
        Output(_id("lists"), "children"),
        Output(_id("timeline"), "children"),
        Output(_id("status"), "children"),
        Output(_id("pick"), "options"),
        Output(_id("pick"), "value"),
        Input(_id("tick"), "n_intervals"),
        Input(_id("selected"), "data"),
        Input(_id("done"), "data"),
        Input(_id("screen"), "data"),
        Input(_id("rev"), "data"),
        State(_id("lang"), "data"),
    )
    def _show(_tick, selected, _done, screen, _rev, lang):
        lang = pick_lang(lang)
        screen = int(screen) if isinstance(screen, int | float) and 0 < screen < 20_000 else None
        if not _may(gate, ROLES):
            raise dash.exceptions.PreventUpdate
        active = room.incidents.active()
        options = [{"label": f"{i.title} ({t(f'incident.level.{i.level}', lang)})", "value": i.id}
                   for i in active]  # fmt: skip
        incident = room.incidents.get(selected) if selected else (active[0] if active else None)
        if incident is None:
            figure = view.incident_figure(room.cfg, room.layers, room.emap, None, {}, lang,
                                          screen_px=screen)  # fmt: skip
            return figure, t("incident.none_open", lang), [], [], options, None
        analysis, fixes = room.analysis(incident)
        evacuations = room.incidents.evacuations(incident.id)
        out = frozenset(e.building_id for e in evacuations)
        figure = view.incident_figure(room.cfg, room.layers, room.emap, analysis, fixes, lang, out,
                                      screen)  # fmt: skip
        zone = room.cfg.district.zone
        steps = [
            html.Li(
                f"{s.at.astimezone(zone):%H:%M:%S} {s.actor} · "
                f"{step_words(s.action, lang)} {s.detail}"
            )
            for s in room.incidents.timeline(incident.id)
        ]
        status = _status(incident, room.cfg, lang)
        listed = view.evacuated(evacuations, zone, lang)
        return figure, view.lists(analysis, lang) + listed, steps, status, options, incident.id

    @app.callback(
        Output(_id("selected"), "data"),
        Input(_id("pick"), "value"),
        State(_id("selected"), "data"),
        prevent_initial_call=True,
    )
    def _pick(value, selected):
        if not value or value == selected or not _may(gate, ROLES):
            raise dash.exceptions.PreventUpdate
        return value


def _register_open(app: dash.Dash, gate: Gate, room: IncidentDesk) -> None:
    @app.callback(
        Output(_id("where"), "children"),
        Input(_id("site"), "data"),
        State(_id("lang"), "data"),
        prevent_initial_call=True,
    )
    def _place(site, lang):
        """A click on the map (assets/incident.js) placed the site of the next incident."""
        if not site or not _may(gate, ACT):
            raise dash.exceptions.PreventUpdate
        lon, lat = float(site[0]), float(site[1])
        return f"{t('incident.site', lang)}: {lon:.6f}, {lat:.6f}"

    @app.callback(
        Output(_id("selected"), "data", allow_duplicate=True),
        Output(_id("message"), "children", allow_duplicate=True),
        Input(_id("open"), "n_clicks"),
        State(_id("type"), "value"),
        State(_id("new-level"), "value"),
        State(_id("title"), "value"),
        State(_id("address"), "value"),
        State(_id("site"), "data"),
        State(_id("origin"), "data"),
        State(_id("lang"), "data"),
        prevent_initial_call=True,
    )
    def _open(clicks, type_id, level, title, address, site, origin, lang):
        lang = pick_lang(lang)
        if not clicks:
            raise dash.exceptions.PreventUpdate
        if not _may(gate, ACT):
            return dash.no_update, t("access.denied", lang)
        where = room.gazetteer.find(address or "") if address else None
        where = where or site
        if not where:
            return dash.no_update, t("incident.need_site", lang)
        point = {"type": "Point", "coordinates": [float(where[0]), float(where[1])]}
        try:
            incident = room.incidents.open(type_id, int(level or 3), point, title or "",
                                           actor(), dt.datetime.now(dt.UTC), origin)  # fmt: skip
        except (IncidentError, ValueError, TypeError) as refused:
            return dash.no_update, f"{t('desk.refused', lang)}: {refused}"
        return incident.id, t("incident.opened", lang)


def _register_actions(app: dash.Dash, gate: Gate, room: IncidentDesk) -> None:
    buttons = ("summon", "set-level", "handover", "pin", "unpin", "shelter", "evacuate", "add-note",
               "close")  # fmt: skip

    @app.callback(
        Output(_id("message"), "children"),
        Output(_id("done"), "data"),
        *(Input(_id(name), "n_clicks") for name in buttons),
        State(_id("selected"), "data"),
        State(_id("unit"), "value"),
        State(_id("level"), "value"),
        State(_id("to"), "value"),
        State(_id("shelter-id"), "value"),
        State(_id("occupied"), "value"),
        State(_id("building"), "value"),
        State(_id("people"), "value"),
        State(_id("note"), "value"),
        State(_id("summary"), "value"),
        State(_id("done"), "data"),
        State(_id("lang"), "data"),
        prevent_initial_call=True,
    )
    def _apply(*values):
        unit, level, to, shelter, occupied, building, people, note, summary, done, lang = values[
            -11:
        ]
        lang = pick_lang(lang)
        incident_id = values[len(buttons)]
        action = (dash.ctx.triggered_id or "").removeprefix("incident-")
        if action not in buttons or not dash.ctx.triggered[0].get("value"):
            raise dash.exceptions.PreventUpdate
        if not _may(gate, ACT):
            return t("access.denied", lang), dash.no_update
        if not incident_id:
            return t("incident.none_open", lang), dash.no_update
        asked = {
            "unit": unit,
            "level": level,
            "to": to,
            "shelter": shelter,
            "occupied": occupied,
            "building": building,
            "people": people,
            "note": note,
            "summary": summary,
        }
        try:
            act(room, incident_id, action, asked)
        except (IncidentError, ValueError, TypeError) as refused:
            return f"{t('desk.refused', lang)}: {refused}", dash.no_update
        log.info("%s did %s on incident %s", actor(), action, incident_id)
        return t("incident.done", lang), (done or 0) + 1


def _register_downloads(app: dash.Dash, gate: Gate, room: IncidentDesk) -> None:
    @app.callback(
        Output(_id("download"), "data"),
        Input(_id("cap"), "n_clicks"),
        Input(_id("geojson"), "n_clicks"),
        Input(_id("sitrep"), "n_clicks"),
        State(_id("selected"), "data"),
        State(_id("lang"), "data"),
        prevent_initial_call=True,
    )
    def _download(_cap, _geojson, _sitrep, incident_id, lang):
        lang = pick_lang(lang)
        what = (dash.ctx.triggered_id or "").removeprefix("incident-")
        incident = room.incidents.get(incident_id) if incident_id else None
        if incident is None or not _may(gate, ROLES) or not dash.ctx.triggered[0].get("value"):
            raise dash.exceptions.PreventUpdate
        analysis, _ = room.analysis(incident)
        now = dt.datetime.now(dt.UTC)
        log.info("%s downloaded the %s of incident %s", actor(), what, incident.id)
        if what == "cap":
            from dispatch.reports.cap import cap_alert

            xml = cap_alert(room.cfg, incident, analysis, now)
            return dcc.send_bytes(xml, f"incident-{incident.id}.cap.xml")
        if what == "geojson":
            from dispatch.reports.incident_layers import incident_geojson

            data = incident_geojson(incident, analysis, room.emap)
            return dcc.send_bytes(data, f"incident-{incident.id}.geojson")
        from dispatch.reports.sitrep import write_sitrep

        steps = room.incidents.timeline(incident.id)
        pdf = write_sitrep(room.cfg, room.emap, incident, analysis, steps, lang, now)
        return dcc.send_bytes(pdf, f"sitrep-{incident.id}.pdf")
