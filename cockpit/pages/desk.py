"""The ticket desk (operators): every ticket in a table paged, sorted and filtered in the
database, a ticket's detail with its evidence, deadline clock and audit timeline, and the
operators' actions (confirm or reject a finding, re-assign, priority, escalate, verify, close),
each permission-checked and written to the audit trail by the one ticket desk."""

from __future__ import annotations

import datetime as dt
import logging

import dash
from dash import Input, Output, State, dash_table, dcc, html
from flask import g

from cockpit import desk_view
from cockpit.access import DESK, Gate
from cockpit.chrome import denied, header
from config.i18n import pick_lang, t
from config.schema import AppConfig
from dispatch.desk import Desk
from dispatch.desk_query import SORTABLE, ticket_page
from dispatch.errors import DeskError
from dispatch.states import STATES
from geo.layers import DistrictLayers

log = logging.getLogger(__name__)
PATH = "/desk"
# Leaders read the desk (the trends page drills down to it); only the desk roles act.
ROLES = DESK | {"leader"}
NAV = "nav.desk"
EXTEND_HOURS = (1, 2, 4, 8, 24, 48, 72)  # the extensions offered (the desk takes up to 72 h)
SOURCES = ("camera", "hotline", "citizen", "patrol", "operator", "scenario")
COLUMNS = (
    "short",
    "status",
    "service_code",
    "priority",
    "grid_id",
    "unit_id",
    "source",
    "requested_at",
    "resolve_due",
    "late",
    "address",
)
FILTERS = ("states", "category", "grid", "unit", "source", "overdue", "dates", "search")


def _id(name: str) -> str:
    return f"desk-{name}"


def _filters(cfg: AppConfig, layers: DistrictLayers, lang: str, initial: dict) -> html.Div:
    grids = layers.get("grids")
    grid_ids = sorted(grids["id"]) if grids is not None and "id" in grids else []

    def pick(name: str, options: list, multi: bool = False) -> dcc.Dropdown:
        return dcc.Dropdown(
            id=_id(name),
            options=options,
            multi=multi,
            placeholder=t(f"desk.{name}", lang),
            value=initial.get(name),
        )

    return html.Div(
        className="desk-filters",
        children=[
            pick("states", [{"label": t(f"status.{s}", lang), "value": s} for s in STATES], True),
            pick(
                "category",
                [{"label": getattr(c.names, lang), "value": c.id} for c in cfg.categories],
            ),
            pick("grid", [{"label": g_id, "value": g_id} for g_id in grid_ids]),
            pick(
                "unit",
                [{"label": f"{getattr(u.name, lang)} ({u.id})", "value": u.id} for u in cfg.units],
            ),
            pick("source", [{"label": t(f"source.{s}", lang), "value": s} for s in SOURCES]),
            dcc.Checklist(
                id=_id("overdue"),
                options=[{"label": t("desk.overdue_only", lang), "value": "overdue"}],
            ),
            dcc.DatePickerRange(
                id=_id("dates"),
                display_format="YYYY-MM-DD",
                start_date=initial.get("start"),
                end_date=initial.get("end"),
                start_date_placeholder_text=t("desk.from", lang),
                end_date_placeholder_text=t("desk.to", lang),
            ),
            dcc.Input(
                id=_id("search"),
                type="search",
                debounce=True,
                placeholder=t("desk.search", lang),
                className="desk-search",
                value=initial.get("search"),
            ),
        ],
    )


def _actions(cfg: AppConfig, lang: str, hidden: bool = False) -> html.Div:
    """The operators' controls (hidden from leaders, who read; the server refuses them too)."""
    return html.Div(
        className="desk-actions",
        hidden=hidden,
        children=[
            dcc.Dropdown(id=_id("action"), placeholder=t("desk.action", lang), searchable=False),
            dcc.Dropdown(
                id=_id("to-unit"),
                options=[
                    {"label": f"{getattr(u.name, lang)} ({u.id})", "value": u.id} for u in cfg.units
                ],
                placeholder=t("desk.to_unit", lang),
            ),
            dcc.Dropdown(
                id=_id("reason"),
                options=[
                    {"label": t(f"close.{r}", lang), "value": r} for r in desk_view.CLOSE_REASONS
                ],
                placeholder=t("desk.reason", lang),
                searchable=False,
            ),
            dcc.Dropdown(
                id=_id("priority"),
                options=[{"label": t(f"priority.{p}", lang), "value": p} for p in (1, 2, 3)],
                placeholder=t("desk.priority", lang),
                searchable=False,
            ),
            dcc.Dropdown(
                id=_id("hours"),
                options=[
                    {"label": t("desk.hours_n", lang).format(h=h), "value": h} for h in EXTEND_HOURS
                ],
                placeholder=t("desk.extend_by", lang),
                searchable=False,
            ),
            dcc.Input(id=_id("note"), placeholder=t("desk.note", lang), maxLength=500),
            dcc.Input(id=_id("target"), placeholder=t("desk.merge_into", lang), maxLength=32),
            html.Button(t("desk.apply", lang), id=_id("apply"), n_clicks=0),
            html.Div(id=_id("message"), className="desk-message"),
        ],
    )


def _drill_chip(drill: dict, lang: str) -> html.Div:
    """What the trends page narrowed the desk to (cleared by opening the desk afresh)."""
    if not drill:
        return html.Div(id=_id("drill-chip"))
    parts = [f"{k}={','.join(map(str, v)) if isinstance(v, list) else v}" for k, v in drill.items()]
    return html.Div(
        [html.Span(f"{t('desk.drilled', lang)}: {'  '.join(parts)}"),
         dcc.Link(t("desk.clear_drill", lang), href=f"{PATH}?lang={lang}")],
        id=_id("drill-chip"),
        className="desk-drill",
    )  # fmt: skip


def page_layout(
    cfg: AppConfig,
    layers: DistrictLayers,
    lang: str,
    query: dict | None = None,
    can_act: bool = True,
) -> html.Div:
    """The desk in one language, filtered as its address asks (links from the trends page);
    without `can_act` (a leader reading) its actions are hidden, and refused on the server."""
    initial, drill = desk_view.from_address(cfg, query or {})
    opened = desk_view.ticket_in_address(query or {})  # from the live map: that ticket, open
    if opened:
        initial["search"] = opened
    columns = [{"name": t(f"desk.col.{c}", lang), "id": c} for c in COLUMNS]
    return html.Div(
        className="cockpit desk",
        children=[
            dcc.Store(id=_id("lang"), data=lang),
            dcc.Store(id=_id("selected"), data=opened),
            dcc.Store(id=_id("refresh"), data=0),
            dcc.Store(id=_id("drill"), data=drill),
            header(cfg, lang, PATH, live=False),
            _filters(cfg, layers, lang, initial),
            _drill_chip(drill, lang),
            html.Main(
                className="desk-body",
                children=[
                    html.Div(
                        className="desk-table",
                        children=[
                            html.Div(id=_id("total"), className="desk-total"),
                            dash_table.DataTable(
                                id=_id("table"),
                                columns=columns,
                                page_current=0,
                                page_size=18,
                                page_action="custom",
                                sort_action="custom",
                                sort_mode="single",
                                sort_by=[{"column_id": "requested_at", "direction": "desc"}],
                                cell_selectable=True,
                                style_as_list_view=True,
                            ),
                        ],
                    ),
                    html.Aside(
                        className="desk-side",
                        children=[
                            html.Div(
                                t("desk.pick", lang), id=_id("detail"), className="desk-detail"
                            ),
                            _actions(cfg, lang, hidden=not can_act),
                        ],
                    ),
                ],
            ),
        ],
    )


def _may_see(gate: Gate) -> bool:
    principal = getattr(g, "principal", None)
    return principal is not None and principal.role in ROLES and gate.page_allowed(PATH)


def _may_act(gate: Gate) -> bool:
    principal = getattr(g, "principal", None)
    return principal is not None and principal.role in DESK and gate.page_allowed(PATH)


def register(app: dash.Dash, cfg: AppConfig, layers: DistrictLayers, gate: Gate, desk: Desk):
    """Add the desk page and its callbacks (each checks the role again)."""

    def layout(lang: str | None = None, **query) -> html.Div:
        if not gate.page_allowed(PATH):
            return denied(pick_lang(lang))
        return page_layout(cfg, layers, pick_lang(lang), query, _may_act(gate))

    dash.register_page("desk", path=PATH, layout=layout, title=t("nav.desk"))
    _register_table(app, cfg, gate, desk)
    _register_detail(app, cfg, gate, desk)
    _register_actions(app, gate, desk)


def _register_table(app: dash.Dash, cfg: AppConfig, gate: Gate, desk: Desk) -> None:
    @app.callback(
        Output(_id("table"), "data"),
        Output(_id("table"), "page_count"),
        Output(_id("total"), "children"),
        Input(_id("table"), "page_current"),
        Input(_id("table"), "page_size"),
        Input(_id("table"), "sort_by"),
        *(Input(_id(name), "value") for name in FILTERS if name != "dates"),
        Input(_id("dates"), "start_date"),
        Input(_id("dates"), "end_date"),
        Input(_id("refresh"), "data"),
        Input(_id("drill"), "data"),
        State(_id("lang"), "data"),
    )
    def _table(page, size, sort_by, states, category, grid, unit, source, overdue, search,
               start, end, _refresh, drill, lang):  # fmt: skip
        if not _may_see(gate):
            raise dash.exceptions.PreventUpdate
        lang = pick_lang(lang)
        filters = desk_view.Filters(
            states, category, grid, unit, source, overdue, start, end, search
        )
        sort = (sort_by or [{}])[0]
        column = sort.get("column_id", "requested_at")
        now = dt.datetime.now(dt.UTC)
        size = max(1, min(int(size or 18), 100))
        rows, total = ticket_page(
            desk.store,
            desk_view.narrowed(filters.query(cfg.district.zone), drill),
            now,
            sort=column if column in SORTABLE else "requested_at",
            descending=sort.get("direction", "desc") == "desc",
            offset=int(page or 0) * size,
            limit=size,
        )
        data = [desk_view.row(cfg, ticket, lang, now) for ticket in rows]
        pages = max(1, -(-total // size))
        return data, pages, t("desk.total", lang).format(n=total)


def _register_detail(app: dash.Dash, cfg: AppConfig, gate: Gate, desk: Desk) -> None:
    @app.callback(
        Output(_id("selected"), "data"),
        Input(_id("table"), "active_cell"),
        State(_id("table"), "data"),
        prevent_initial_call=True,
    )
    def _select(cell, data):
        if not cell or not data or cell.get("row", -1) >= len(data):
            raise dash.exceptions.PreventUpdate
        return data[cell["row"]]["id"]

    @app.callback(
        Output(_id("detail"), "children"),
        Output(_id("action"), "options"),
        Input(_id("selected"), "data"),
        Input(_id("refresh"), "data"),
        State(_id("lang"), "data"),
    )
    def _detail(ticket_id, _refresh, lang):
        lang = pick_lang(lang)
        if not ticket_id or not _may_see(gate):
            raise dash.exceptions.PreventUpdate
        try:
            shown = desk_view.detail(cfg, desk, ticket_id, lang, dt.datetime.now(dt.UTC))
        except DeskError:
            return t("desk.gone", lang), []
        return shown, desk_view.action_options(desk.get(ticket_id).status, lang)


def _register_actions(app: dash.Dash, gate: Gate, desk: Desk) -> None:
    @app.callback(
        Output(_id("message"), "children"),
        Output(_id("refresh"), "data"),
        Input(_id("apply"), "n_clicks"),
        State(_id("selected"), "data"),
        State(_id("action"), "value"),
        State(_id("to-unit"), "value"),
        State(_id("reason"), "value"),
        State(_id("priority"), "value"),
        State(_id("hours"), "value"),
        State(_id("note"), "value"),
        State(_id("target"), "value"),
        State(_id("refresh"), "data"),
        State(_id("lang"), "data"),
        prevent_initial_call=True,
    )
    def _apply(
        clicks, ticket_id, action, unit, reason, priority, hours, note, target, refresh, lang
    ):
        lang = pick_lang(lang)
        if not clicks or not ticket_id or not action:
            return t("desk.pick_action", lang), dash.no_update
        if not _may_act(gate):
            return t("access.denied", lang), dash.no_update
        principal = g.principal
        actor = f"{principal.role}:{principal.name}"[:64]
        choice = {
            "unit": unit,
            "reason": reason,
            "priority": priority,
            "hours": hours,
            "note": note,
            "target": target,
        }
        try:
            ticket = desk_view.act(desk, ticket_id, action, actor, choice)
        except DeskError as refused:
            return f"{t('desk.refused', lang)}: {refused}", dash.no_update
        log.info("%s did %s on ticket %s", actor, action, ticket_id)
        done = t("desk.done", lang).format(status=t(f"status.{ticket.status}", lang))
        return done, (refresh or 0) + 1
