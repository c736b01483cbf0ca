"""Trends for street leaders: the standard indicators with year-on-year and period-on-period
change, cases over time, top problems, hour x weekday and hexagon hotspots, graded rankings,
supervised and long-overdue cases; every chart and ranking row opens the ticket desk filtered to
the tickets behind it; any table exports as CSV or XLSX, and the period as the PDF brief."""

from __future__ import annotations

import datetime as dt
import logging

import dash
from dash import Input, Output, State, dash_table, dcc, html
from flask import g

from cockpit import trends_view as view
from cockpit.access import Gate
from cockpit.chrome import denied, header
from config.i18n import pick_lang, t
from config.schema import AppConfig
from dispatch.indicators import RATES
from dispatch.reports.tables import shown, to_csv, to_xlsx
from dispatch.reports.trend_report import build
from dispatch.trends import STEPS, TrendError, TrendFilter, Trends
from geo.layers import DistrictLayers

log = logging.getLogger(__name__)
PATH = "/trends"
ROLES = frozenset({"leader", "admin"})
NAV = "nav.trends"
CUTS = ("category", "grid", "community", "department", "unit", "source")
SOURCES = ("camera", "patrol", "hotline", "citizen", "operator", "scenario")
TILES = ("filed", "concluded", "closure_rate", "on_time_rate", "rework_rate", "precise_rate",
         "ai_confirm_rate", "supervised")  # fmt: skip
LISTS = ("supervised", "overdue", "repeats")
EXPORTABLE = ("indicators", "ranking_unit", "ranking_grid", "ranking_department", "categories",
              "series", "hotspots", "supervised", "overdue", "repeats")  # fmt: skip


def _id(name: str) -> str:
    return f"trends-{name}"


def _options(cfg: AppConfig, layers: DistrictLayers, lang: str) -> dict[str, list[dict]]:
    def ids_of(kind: str) -> list[str]:
        layer = layers.get(kind)
        return sorted(str(v) for v in layer["id"]) if layer is not None and "id" in layer else []

    return {
        "category": [{"label": getattr(c.names, lang), "value": c.id} for c in cfg.categories],
        "grid": [{"label": v, "value": v} for v in ids_of("grids")],
        "community": [{"label": v, "value": v} for v in ids_of("communities")],
        "department": [{"label": getattr(d.names, lang), "value": d.id} for d in cfg.departments],
        "unit": [{"label": getattr(u.name, lang), "value": u.id} for u in cfg.units],
        "source": [{"label": t(f"source.{s}", lang), "value": s} for s in SOURCES],
    }


def _day(value, default: dt.date) -> str:
    try:
        return dt.date.fromisoformat(str(value)[:10]).isoformat()
    except ValueError:
        return default.isoformat()


def _filters(
    cfg: AppConfig, layers: DistrictLayers, lang: str, today: dt.date, query: dict
) -> html.Div:
    """Date range, step and cuts; the page address may preset them (a bookmarked view)."""
    options = _options(cfg, layers, lang)

    def preset(cut: str) -> str | None:
        value = query.get(cut)
        return value if value in {o["value"] for o in options[cut]} else None

    return html.Div(
        className="desk-filters trends-filters",
        children=[
            dcc.DatePickerRange(
                id=_id("dates"),
                display_format="YYYY-MM-DD",
                start_date=_day(query.get("from"), today - dt.timedelta(days=30)),
                end_date=_day(query.get("to"), today - dt.timedelta(days=1)),
            ),
            dcc.Dropdown(
                id=_id("step"),
                options=[{"label": t(f"trends.step.{s}", lang), "value": s} for s in STEPS],
                value=query.get("step") if query.get("step") in STEPS else "day",
                clearable=False,
                searchable=False,
            ),
            *(
                dcc.Dropdown(
                    id=_id(cut), options=options[cut], placeholder=t(f"trends.{cut}", lang)
                )
                for cut in CUTS
            ),
        ],
    )


def _table(name: str) -> dash_table.DataTable:
    return dash_table.DataTable(
        id=_id(f"table-{name}"),
        page_size=12,
        style_as_list_view=True,
        cell_selectable=name.startswith("ranking") or name in ("supervised", "overdue"),
    )


def _graph(name: str) -> dcc.Graph:
    return dcc.Graph(
        id=_id(name), className="trends-chart", config={"displayModeBar": False, "responsive": True}
    )


def page_layout(
    cfg: AppConfig, layers: DistrictLayers, lang: str, today: dt.date, query: dict | None = None
) -> html.Div:
    """The trends page in one language."""
    rankings = [
        {"label": t(f"trends.by.{by}", lang), "value": by} for by in ("unit", "grid", "department")
    ]
    return html.Div(
        className="cockpit desk trends",
        children=[
            dcc.Store(id=_id("lang"), data=lang),
            dcc.Store(id=_id("filter")),
            dcc.Location(id=_id("go"), refresh=True),
            dcc.Download(id=_id("download")),
            header(cfg, lang, PATH, live=False),
            _filters(cfg, layers, lang, today, query or {}),
            html.Div(id=_id("message"), className="desk-message"),
            html.Div(id=_id("tiles"), className="trends-tiles"),
            html.Div(t("trends.drill", lang), className="trends-hint"),
            html.Div(
                className="trends-charts",
                children=[_graph(n) for n in ("series", "top", "heat", "hexes")],
            ),
            html.Section(
                className="trends-tables",
                children=[
                    html.H3(t("trends.ranking", lang)),
                    dcc.RadioItems(
                        id=_id("ranking-by"), options=rankings, value="unit", inline=True
                    ),
                    _table("ranking"),
                    *(
                        child
                        for name in LISTS
                        for child in (html.H3(t(f"trends.{name}_list", lang)), _table(name))
                    ),
                ],
            ),
            html.Div(
                className="trends-export",
                children=[
                    dcc.Dropdown(
                        id=_id("export-table"),
                        options=[{"label": n, "value": n} for n in EXPORTABLE],
                        value="ranking_unit",
                        clearable=False,
                    ),
                    html.Button("CSV", id=_id("csv"), n_clicks=0),
                    html.Button("XLSX", id=_id("xlsx"), n_clicks=0),
                    html.Button(t("trends.brief", lang), id=_id("brief"), n_clicks=0),
                ],
            ),
        ],
    )


def _may_see(gate: Gate) -> bool:
    principal = getattr(g, "principal", None)
    return principal is not None and principal.role in ROLES and gate.page_allowed(PATH)


def _filter_of(values: dict) -> TrendFilter:
    """The trends filter from the controls (dates are local days); TrendError when unusable."""
    try:
        start = dt.date.fromisoformat(str(values["start"])[:10])
        end = dt.date.fromisoformat(str(values["end"])[:10])
    except (KeyError, TypeError, ValueError):
        raise TrendError("pick a start and an end day") from None
    # What the browser sends back is checked: a cut is one id, anything else is no cut.
    cuts = {cut: v[:64] if isinstance(v := values.get(cut), str) and v else None for cut in CUTS}
    return TrendFilter(start, end, **cuts)


def _tile(report, key: str, lang: str) -> html.Div:
    rate = key in RATES
    values = {when: getattr(c, key) for when, c in report.headline.items()}
    text = shown(values["now"], "pct" if rate else "int")

    def delta(label: str, before) -> html.Span:
        now = values["now"]
        if now is None or before is None or (not rate and not before):
            return html.Span(f"{label} —", className="delta")
        change = (now - before) * 100 if rate else (now - before) / before * 100
        unit = t("trends.points", lang) if rate else "%"
        return html.Span(f"{label} {change:+.1f}{unit}", className="delta")

    return html.Div(
        className="trends-tile",
        id=_id(f"tile-{key}"),
        children=[
            html.Div(t(f"trends.{key}", lang), className="tile-label"),
            html.Div(text, className="tile-value"),
            delta(t("trends.yoy", lang), values["year_before"]),
            delta(t("trends.mom", lang), values["period_before"]),
        ],
    )


def _data(table) -> tuple[list[dict], list[dict]]:
    columns = [{"name": c.heading, "id": c.key} for c in table.columns]
    rows = [{c.key: shown(row.get(c.key), c.kind) for c in table.columns} for row in table.rows]
    return rows, columns


def register(app: dash.Dash, cfg: AppConfig, layers: DistrictLayers, gate: Gate, desk) -> None:
    """Add the trends page and its callbacks (each checks the role again)."""
    trends = Trends(cfg, desk.store)

    def layout(lang: str | None = None, **query) -> html.Div:
        if not gate.page_allowed(PATH):
            return denied(pick_lang(lang))
        today = dt.datetime.now(cfg.district.zone).date()
        return page_layout(cfg, layers, pick_lang(lang), today, query)

    dash.register_page("trends", path=PATH, layout=layout, title=t("nav.trends"))
    _register_figures(app, cfg, gate, trends)
    _register_drill(app, gate)
    _register_exports(app, cfg, gate, trends)


def _register_figures(app: dash.Dash, cfg: AppConfig, gate: Gate, trends: Trends) -> None:
    @app.callback(
        Output(_id("tiles"), "children"),
        *(Output(_id(name), "figure") for name in ("series", "top", "heat", "hexes")),
        Output(_id("table-ranking"), "data"),
        Output(_id("table-ranking"), "columns"),
        *(Output(_id(f"table-{name}"), prop) for name in LISTS for prop in ("data", "columns")),
        Output(_id("filter"), "data"),
        Output(_id("message"), "children"),
        Input(_id("dates"), "start_date"),
        Input(_id("dates"), "end_date"),
        Input(_id("step"), "value"),
        *(Input(_id(cut), "value") for cut in CUTS),
        Input(_id("ranking-by"), "value"),
        State(_id("lang"), "data"),
    )
    def _show(start, end, step, *rest):
        *cuts, ranking_by, lang = rest
        step = step if step in STEPS else "day"
        ranking_by = ranking_by if ranking_by in ("unit", "grid", "department") else "unit"
        lang = pick_lang(lang)
        if not _may_see(gate):
            raise dash.exceptions.PreventUpdate
        values = {"start": start, "end": end, **dict(zip(CUTS, cuts, strict=True))}
        try:
            flt = _filter_of(values)
        except TrendError as problem:
            return (dash.no_update,) * 14 + (str(problem),)
        report = build(cfg, trends, flt, dt.datetime.now(dt.UTC), lang, step or "day")
        figures = (
            view.series_figure(report, lang),
            view.top_figure(report, lang),
            view.heat_figure(report, lang),
            view.hex_figure(cfg, report, lang),
        )
        tables = [_data(report.tables[f"ranking_{ranking_by or 'unit'}"])]
        tables += [_data(report.tables[name]) for name in LISTS]
        tiles = [_tile(report, key, lang) for key in TILES]
        stored = {**values, "step": step or "day", "ranking_by": ranking_by or "unit"}
        flat = [part for pair in tables for part in pair]
        message = "" if report.headline["now"].filed else t("trends.none", lang)
        return (tiles, *figures, *flat, stored, message)


def _clicked(click) -> dict | None:
    points = (click or {}).get("points") or []
    return points[0] if points else None


def drill_target(stored: dict, source: str, click: dict | None, cell: dict | None, rows) -> str:
    """The desk address of the tickets behind a clicked chart point or ranking row."""
    flt = _filter_of(stored)
    point = _clicked(click)
    if source == "series" and point:
        start = dt.date.fromisoformat(str(point["customdata"])[:10])
        end = min(view.period_end(start, stored.get("step", "day")), flt.end)
        return view.desk_link(flt, **{"from": start.isoformat(), "to": end.isoformat()})
    if source == "top" and point:
        return view.desk_link(flt, standard=point["customdata"])
    if source == "heat" and point:
        return view.desk_link(flt, dow=point["customdata"], hour=point["x"])
    if source == "hexes" and point:
        return view.desk_link(flt, hex=point["location"])
    if source == "ranking" and cell and rows and cell.get("row", -1) < len(rows):
        key = rows[cell["row"]].get("key")
        return view.desk_link(flt, **{stored.get("ranking_by", "unit"): key})
    if source in ("supervised", "overdue") and cell and rows and cell.get("row", -1) < len(rows):
        return view.desk_link(flt, search=rows[cell["row"]].get("id"))
    raise dash.exceptions.PreventUpdate


def _register_drill(app: dash.Dash, gate: Gate) -> None:
    @app.callback(
        Output(_id("go"), "href"),
        *(Input(_id(name), "clickData") for name in ("series", "top", "heat", "hexes")),
        *(
            Input(_id(f"table-{name}"), "active_cell")
            for name in ("ranking", "supervised", "overdue")
        ),
        State(_id("filter"), "data"),
        State(_id("table-ranking"), "data"),
        State(_id("table-supervised"), "data"),
        State(_id("table-overdue"), "data"),
        prevent_initial_call=True,
    )
    def _drill(series, top, heat, hexes, ranked, supervised, overdue, stored, *tables):
        if not _may_see(gate) or not stored:
            raise dash.exceptions.PreventUpdate
        source = dash.ctx.triggered_id.removeprefix("trends-").removeprefix("table-")
        clicks = {"series": series, "top": top, "heat": heat, "hexes": hexes}
        cells = {"ranking": ranked, "supervised": supervised, "overdue": overdue}
        rows = dict(zip(("ranking", "supervised", "overdue"), tables, strict=True))
        try:
            return drill_target(
                stored, source, clicks.get(source), cells.get(source), rows.get(source)
            )
        except (TrendError, ValueError, KeyError, TypeError):
            raise dash.exceptions.PreventUpdate from None


def _register_exports(app: dash.Dash, cfg: AppConfig, gate: Gate, trends: Trends) -> None:
    @app.callback(
        Output(_id("download"), "data"),
        Input(_id("csv"), "n_clicks"),
        Input(_id("xlsx"), "n_clicks"),
        Input(_id("brief"), "n_clicks"),
        State(_id("export-table"), "value"),
        State(_id("filter"), "data"),
        State(_id("lang"), "data"),
        prevent_initial_call=True,
    )
    def _export(_csv, _xlsx, _brief, name, stored, lang):
        lang = pick_lang(lang)
        if not _may_see(gate) or not stored:
            raise dash.exceptions.PreventUpdate
        what = dash.ctx.triggered_id.removeprefix("trends-")
        try:
            flt = _filter_of(stored)
        except TrendError:
            raise dash.exceptions.PreventUpdate from None
        now = dt.datetime.now(dt.UTC)
        label = f"{flt.start.isoformat()}_{flt.end.isoformat()}"
        if what == "brief":
            from dispatch.reports.brief import write_brief

            kind = "week" if flt.days <= 7 else "month"
            report = build(cfg, trends, flt, now, lang, "day" if kind == "week" else "week")
            pdf = write_brief(cfg, report, kind, lang, now)
            log.info("%s downloaded the brief %s", g.principal.name, label)
            return dcc.send_bytes(pdf, f"brief_{label}.pdf")
        report = build(cfg, trends, flt, now, lang, stored.get("step", "day"))
        table = report.tables.get(name if name in EXPORTABLE else "ranking_unit")
        log.info("%s exported %s %s as %s", g.principal.name, table.name, label, what)
        if what == "csv":
            return dcc.send_bytes(to_csv(table), f"{table.name}_{label}.csv")
        return dcc.send_bytes(to_xlsx([table]), f"{table.name}_{label}.xlsx")
