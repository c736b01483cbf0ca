"""The incident page's map and lists: rings, sensitive places, shelters and the walk to them,
units by travel time, cameras that see the site, streets to close and their detours."""

from __future__ import annotations

import json
import math

import numpy as np
import plotly.graph_objects as go
from dash import html

from cockpit.figures import BACKGROUND, BASE_STYLE, district_layers, shown_layers
from config.i18n import t
from config.schema import AppConfig
from geo.emergency import Analysis, EmergencyMap
from geo.layers import DistrictLayers

RING_COLORS = ("#ff4d4f", "#ff9c3a", "#ffd666", "#9ad0ff", "#9ad0ff", "#9ad0ff")
KIND_COLORS = {"school": "#ffd666", "kindergarten": "#ffe58f", "elderly_home": "#d3adf7",
               "hospital": "#ff7a7a"}  # fmt: skip


def _line(lons, lats, name: str, color: str, width: float = 3, dash: str = "solid", meta=""):
    return go.Scattermap(lon=list(lons), lat=list(lats), mode="lines", name=name,
                         line={"color": color, "width": width}, meta=meta, hoverinfo="name",
                         showlegend=bool(name))  # fmt: skip


def _points(points: list[tuple[float, float, str]], name: str, color, size: int):
    return go.Scattermap(
        lon=[p[0] for p in points], lat=[p[1] for p in points], text=[p[2] for p in points],
        mode="markers", name=name, marker={"size": size, "color": color},
        hovertemplate="%{text}<extra></extra>",
    )  # fmt: skip


def incident_figure(
    cfg: AppConfig,
    layers: DistrictLayers,
    emap: EmergencyMap,
    analysis: Analysis | None,
    unit_fixes: dict,
    lang: str,
    evacuated: frozenset[str] = frozenset(),
    screen_px: int | None = None,
) -> go.Figure:
    """The district with the incident drawn on it (or the plain district to pick a site on):
    the buildings around it, those inside the rings amber and those evacuated green."""
    # An empty map trace first: without any, Plotly draws axes instead of the map.
    traces = [go.Scattermap(lon=[], lat=[], mode="markers", showlegend=False, hoverinfo="skip")]
    if analysis is not None:
        for index, ring in enumerate(analysis.rings):
            lons, lats = zip(
                *emap.ring_outline(analysis.lon, analysis.lat, ring.radius_m), strict=True
            )
            traces.append(_line(lons, lats, f"{ring.radius_m:g} m", RING_COLORS[index], 2))
        for closure in analysis.closures:
            for stretch in closure.closed:
                lons, lats = zip(*stretch, strict=True)
                traces.append(_line(lons, lats, "", "#ff2d2d", 7, meta="closure"))
            if closure.route:
                lons, lats = zip(*closure.route, strict=True)
                traces.append(_line(lons, lats, "", "#ffa940", 3, meta="detour"))
        for shelter in analysis.shelters[:2]:
            if shelter.route:
                lons, lats = zip(*shelter.route, strict=True)
                traces.append(_line(lons, lats, "", "#3ddc84", 4, meta="evacuation"))
        traces += _places(cfg, layers, emap, analysis, unit_fixes, lang)
        traces += [_key(t("incident.at_risk", lang), BUILDING_COLORS["at_risk"]),
                   _key(t("incident.out", lang), BUILDING_COLORS["out"])]  # fmt: skip
    figure = go.Figure(traces)
    scale = max(1.0, 2 ** _screen_zoom(screen_px))  # legible from as far on a 4K wall
    for trace in figure.data:
        if trace.marker.size:
            trace.marker.size = trace.marker.size * scale
        if trace.line.width:
            trace.line.width = trace.line.width * scale
    lon, lat = cfg.district.center
    if analysis is not None:
        lon, lat = analysis.lon, analysis.lat
    figure.update_layout(
        map={"style": BASE_STYLE, "center": {"lon": float(lon), "lat": float(lat)},
             "zoom": cfg.district.zoom + (0.6 if analysis else 0) + _screen_zoom(screen_px),
             "layers": district_layers(cfg, layers, shown_layers(layers, kiosk=True), lang)
                       + _buildings(layers, emap, analysis, evacuated)},
        margin={"l": 0, "r": 0, "t": 0, "b": 0}, paper_bgcolor=BACKGROUND,
        font={"color": "#dfe7f2", "size": 15 * scale}, clickmode="event",
        legend={"x": 0.01, "y": 0.99, "bgcolor": "rgba(11,18,32,0.92)"},
        uirevision=f"{analysis.type_id if analysis else 'pick'}:{screen_px}",
    )  # fmt: skip
    return figure


REFERENCE_SCREEN_PX = 1920  # the configured zoom suits a screen this wide


def _screen_zoom(screen_px: int | None) -> float:
    """Zoom in by one step for each doubling of the screen's width (a 4K wall shows the same
    streets as a 1080p one, twice as large), within sane screens."""
    if not isinstance(screen_px, int | float) or screen_px <= 0:
        return 0.0
    return math.log2(min(max(float(screen_px), 960.0), 7680.0) / REFERENCE_SCREEN_PX)


BUILDING_COLORS = {"near": "rgba(120, 138, 170, 0.45)", "at_risk": "rgba(255, 169, 64, 0.7)",
                   "out": "rgba(61, 220, 132, 0.85)"}  # fmt: skip
CONTEXT_M = 300  # buildings drawn this far beyond the outer ring, for the lie of the land


def _buildings(layers, emap: EmergencyMap, analysis: Analysis | None, evacuated) -> list[dict]:
    """Map layers of the buildings around the site: beyond the rings, inside them, evacuated."""
    frame = layers.get("buildings")
    if analysis is None or frame is None or "id" not in frame or not analysis.rings:
        return []
    outer = analysis.rings[-1].radius_m
    near = set(emap.buildings_near(analysis.lon, analysis.lat, outer + CONTEXT_M).tolist())
    inside = set(emap.buildings_near(analysis.lon, analysis.lat, outer).tolist())
    ids = frame["id"].astype(str).to_numpy()
    out = np.flatnonzero(np.isin(ids, list(evacuated))).tolist()  # wherever they stand
    groups = {"near": sorted(near - inside - set(out)), "at_risk": sorted(inside - set(out)),
              "out": out}  # fmt: skip
    drawn = frame[["id", "geometry"]]
    return [
        {"sourcetype": "geojson", "source": json.loads(drawn.iloc[rows].to_json()),
         "type": "fill", "color": BUILDING_COLORS[group], "below": "traces"}
        for group, rows in groups.items() if rows
    ]  # fmt: skip


def _key(name: str, color: str) -> go.Scattermap:
    """A legend entry for a map layer (Plotly's legend lists traces only)."""
    return go.Scattermap(lon=[None], lat=[None], mode="markers", name=name, hoverinfo="skip",
                         marker={"size": 14, "color": color, "symbol": "circle"})  # fmt: skip


def _places(cfg, layers, emap, analysis: Analysis, unit_fixes: dict, lang: str) -> list:
    places = [
        (*_where(emap, layers, p.id), f"{p.name} · {p.distance_m:.0f} m")
        for ring in analysis.rings
        for p in ring.places
    ]
    shelters = [
        (s.route[-1][0], s.route[-1][1], f"{s.name} · {t('incident.room', lang)} {s.remaining}")
        for s in analysis.shelters
        if s.route
    ]
    units = [
        (*unit_fixes[u.id], f"{u.id} · {u.minutes:g} min")
        for u in analysis.units[:8]
        if u.id in unit_fixes
    ]
    cameras = [
        (*cfg.camera_position(c.id), c.id) for c in analysis.cameras if cfg.camera_position(c.id)
    ]
    return [
        _points([p for p in places if p[0] is not None], t("incident.places", lang), "#ffd666", 13),
        _points(shelters, t("incident.shelters", lang), "#3ddc84", 15),
        _points(units, t("incident.units", lang), "#40a9ff", 13),
        _points(cameras, t("incident.cameras", lang), "#f5f7fa", 12),
        _points(
            [(analysis.lon, analysis.lat, t("incident.site", lang))],
            t("incident.site", lang),
            "#ff2d2d",
            22,
        ),  # fmt: skip
    ]


def _where(emap: EmergencyMap, layers: DistrictLayers, place_id: str):
    for kind in ("pois", "buildings"):
        frame = layers.get(kind)
        if frame is not None and "id" in frame:
            found = frame[frame["id"].astype(str) == place_id]
            if not found.empty:
                point = found.geometry.iloc[0].representative_point()
                return point.x, point.y
    return None, None


def _table(headings: list[str], rows: list[list], empty: str) -> html.Table | html.Div:
    if not rows:
        return html.Div(empty, className="incident-empty")
    return html.Table(
        [html.Thead(html.Tr([html.Th(h) for h in headings])),
         html.Tbody([html.Tr([html.Td(str(v)) for v in row]) for row in rows])],
        className="incident-table",
    )  # fmt: skip


def lists(analysis: Analysis, lang: str) -> list:
    """The analysis as a coordinator reads it: rings, shelters, units, cameras, closures, grids."""
    none = t("incident.none", lang)
    return [
        html.H3(t("incident.rings", lang)),
        _table(
            [
                t("incident.ring", lang),
                t("incident.buildings", lang),
                t("incident.residents", lang),
                t("incident.places", lang),
            ],
            [
                [
                    f"{r.inner_m:g}-{r.radius_m:g} m",
                    r.buildings,
                    r.residents,
                    "、".join(f"{p.name}({p.distance_m:.0f}m)" for p in r.places) or "—",
                ]
                for r in analysis.rings
            ],
            none,
        ),
        html.H3(t("incident.shelters", lang)),
        _table(
            [t("incident.name", lang), t("incident.room", lang), t("incident.walk", lang)],
            [
                [s.name, f"{s.remaining}/{s.capacity}", f"{s.distance_m:.0f} m · {s.minutes:g} min"]
                for s in analysis.shelters[:6]
            ],
            none,
        ),
        html.H3(t("incident.units", lang)),
        _table(
            [t("incident.unit", lang), t("incident.travel", lang)],
            [[u.id, f"{u.distance_m:.0f} m · {u.minutes:g} min"] for u in analysis.units[:8]],
            none,
        ),
        html.H3(t("incident.closures", lang)),
        _table(
            [t("incident.street", lang), t("incident.closed_m", lang), t("incident.detour", lang)],
            [
                [c.name, f"{c.length_m:.0f} m", f"{c.detour_m:.0f} m" if c.detour_m else "—"]
                for c in analysis.closures
            ],
            none,
        ),
        html.H3(t("incident.cameras", lang)),
        html.Div(", ".join(f"{c.id} ({c.distance_m:.0f} m)" for c in analysis.cameras) or none),
        html.H3(t("incident.grids", lang)),
        _table(
            [t("incident.grid", lang), t("incident.responsible", lang), t("incident.phone", lang)],
            [[g.name, g.responsible or "—", g.phone or "—"] for g in analysis.grids],
            none,
        ),
    ]


def evacuated(rows, zone, lang: str) -> list:
    """Buildings reported evacuated, the latest first, and how many people left them."""
    if not rows:
        return []
    total = sum(row.people for row in rows)
    return [
        html.H3(f"{t('incident.evacuated', lang)} · {len(rows)} / {total}"),
        _table(
            [t("incident.building_id", lang), t("incident.people", lang), t("incident.at", lang)],
            [[r.building_id, r.people, r.at.astimezone(zone).strftime("%H:%M")]
             for r in sorted(rows, key=lambda r: r.at, reverse=True)[:20]],
            t("incident.none", lang),
        ),
    ]  # fmt: skip
