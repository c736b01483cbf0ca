"""The trends page's figures (Plotly) and its links down to the tickets behind each figure."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

import h3
import plotly.graph_objects as go

from config.i18n import t
from config.schema import AppConfig
from dispatch.reports.trend_report import TrendReport
from dispatch.trends import TrendFilter

DARK = {"paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "rgba(0,0,0,0)"}
FONT = {"color": "#d8e2f0", "size": 13}
MARGIN = {"l": 48, "r": 16, "t": 36, "b": 40}


def _layout(figure: go.Figure, title: str) -> go.Figure:
    figure.update_layout(title={"text": title, "x": 0.01}, font=FONT, margin=MARGIN, **DARK)
    figure.update_xaxes(gridcolor="#2a3a52")
    figure.update_yaxes(gridcolor="#2a3a52")
    return figure


def series_figure(report: TrendReport, lang: str) -> go.Figure:
    days = [d.isoformat() for d, _ in report.series]
    figure = go.Figure(
        [
            go.Bar(x=days, y=[c.filed for _, c in report.series], name=t("trends.filed", lang),
                   marker_color="#4f8fd6", customdata=days),
            go.Bar(x=days, y=[c.concluded for _, c in report.series],
                   name=t("trends.concluded", lang), marker_color="#46b07a", customdata=days),
            go.Scatter(x=days, y=[c.on_time_rate for _, c in report.series], yaxis="y2",
                       name=t("trends.on_time_rate", lang), mode="lines+markers",
                       line_color="#f0b429", customdata=days),
        ]
    )  # fmt: skip
    figure.update_layout(
        barmode="group",
        legend={"orientation": "h", "y": -0.18},
        yaxis2={"overlaying": "y", "side": "right", "tickformat": ".0%", "range": [0, 1.05]},
    )
    return _layout(figure, t("trends.series", lang))


def top_figure(report: TrendReport, lang: str) -> go.Figure:
    rows = report.tables["categories"].rows[::-1]
    figure = go.Figure(
        go.Bar(
            x=[r["filed"] for r in rows],
            y=[r["name"] for r in rows],
            orientation="h",
            marker_color="#7aa6e0",
            customdata=[r["code"] for r in rows],
        )
    )
    figure.update_yaxes(automargin=True)
    return _layout(figure, t("trends.top", lang))


def heat_figure(report: TrendReport, lang: str) -> go.Figure:
    days = t("trends.weekday", lang).split(",")
    figure = go.Figure(
        go.Heatmap(z=report.heat, x=list(range(24)), y=days, colorscale="YlOrRd",
                   customdata=[[d + 1] * 24 for d in range(7)])
    )  # fmt: skip
    figure.update_yaxes(autorange="reversed")
    return _layout(figure, t("trends.heat", lang))


def hex_figure(cfg: AppConfig, report: TrendReport, lang: str) -> go.Figure:
    cells = report.hexagons
    features = [
        {
            "type": "Feature",
            "id": cell,
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[lon, lat] for lat, lon in h3.cell_to_boundary(cell)]],
            },
        }
        for cell, _ in cells
    ]
    figure = go.Figure(
        go.Choroplethmap(
            geojson={"type": "FeatureCollection", "features": features},
            locations=[cell for cell, _ in cells],
            z=[n for _, n in cells],
            colorscale="YlOrRd",
            marker_opacity=0.7,
            marker_line_width=0.5,
        )
    )
    lon, lat = cfg.district.center
    figure.update_layout(
        map={
            "style": "white-bg",
            "center": {"lon": lon, "lat": lat},
            "zoom": cfg.district.zoom - 1.3,
        }
    )
    return _layout(figure, t("trends.hexes", lang))


def desk_link(flt: TrendFilter, **narrower) -> str:
    """The ticket desk filtered to the tickets behind a figure (the trends filter, narrowed)."""
    query = {"from": flt.start.isoformat(), "to": flt.end.isoformat()}
    for name in ("category", "grid", "community", "department", "unit", "source"):
        if getattr(flt, name):
            query[name] = getattr(flt, name)
    query.update({k: v for k, v in narrower.items() if v not in (None, "")})
    return "/desk?" + urlencode(query)


def period_end(start: dt.date, step: str) -> dt.date:
    """The last day of the period a series point stands for."""
    if step == "week":
        return start + dt.timedelta(days=6)
    if step == "month":
        return (start + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    return start
