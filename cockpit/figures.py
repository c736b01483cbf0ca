"""Pure figure builders for the cockpit map: base layers from the district's GeoJSON, live traces."""

from __future__ import annotations

import json

import plotly.graph_objects as go

from cockpit.i18n import t
from config.schema import AppConfig
from geo.layers import DistrictLayers

BACKGROUND = "#0b1220"
# Plotly's "white-bg" style has no tile sources, so the map needs no server; this fill paints it
# dark. (A custom style object breaks MapLibre's style diff on every update, so we avoid one.)
DARK_FILL = {
    "sourcetype": "geojson", "type": "fill", "below": "traces", "color": BACKGROUND,
    "source": {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [
        [[-180, -85], [180, -85], [180, 85], [-180, 85], [-180, -85]]]}},
}
LAYER_STYLE = {
    "communities": {"type": "fill", "color": "rgba(56, 88, 140, 0.18)"},
    "grids": {"type": "line", "color": "rgba(120, 160, 220, 0.45)", "line": {"width": 1}},
    "streets": {"type": "line", "color": "#4a5a78", "line": {"width": 3}},
    "boundary": {"type": "line", "color": "#5fb3ff", "line": {"width": 3}},
}
UNIT_COLORS = ["#3ddc84", "#4aa8ff", "#c77dff", "#ffd166", "#ff8fab"]
TRACES = ("cameras", "tickets", "events")  # fixed order; unit types follow, one trace each


def trace_index(cfg: AppConfig) -> dict[str, int]:
    """Position of each live trace in figure.data, shared with the browser code."""
    index = {name: i for i, name in enumerate(TRACES)}
    for offset, unit_type in enumerate(cfg.unit_types):
        index[f"units:{unit_type.id}"] = len(TRACES) + offset
    return index


def _map_layers(cfg: AppConfig, layers: DistrictLayers) -> list[dict]:
    result = [DARK_FILL]
    if cfg.map.tile_url:
        result.append({"sourcetype": "raster", "source": [cfg.map.tile_url], "below": "traces"})
    for kind in ("communities", "grids", "streets", "boundary"):
        frame = layers.get(kind)
        if frame is None:
            continue
        geojson = json.loads(frame[["id", "geometry"]].to_json())
        result.append({"sourcetype": "geojson", "source": geojson, "below": "traces",
                       **LAYER_STYLE[kind]})
    return result


def _points(name: str, color: str, size: int) -> go.Scattermap:
    marker = {"size": size, "color": color, "opacity": 0.95}
    return go.Scattermap(
        lon=[], lat=[], text=[], customdata=[], mode="markers", name=name, marker=marker,
        hovertemplate="%{text}<extra></extra>", showlegend=True,
    )


def base_map(cfg: AppConfig, layers: DistrictLayers, lang: str) -> go.Figure:
    """The map with the district's layers and empty live traces (filled by pushes)."""
    traces = [
        _points(t("legend.cameras", lang), "#9aa5b1", 13),
        _points(t("legend.tickets", lang), "#ffb020", 16),
        _points(t("legend.events", lang), "#ff4d4f", 24),
    ]
    for offset, unit_type in enumerate(cfg.unit_types):
        color = UNIT_COLORS[offset % len(UNIT_COLORS)]
        traces.append(_points(getattr(unit_type.names, lang), color, 12))
    lon, lat = cfg.district.center
    figure = go.Figure(traces)
    figure.update_layout(
        map={"style": "white-bg", "center": {"lon": lon, "lat": lat}, "zoom": cfg.district.zoom,
             "layers": _map_layers(cfg, layers)},
        margin={"l": 0, "r": 0, "t": 0, "b": 0},
        paper_bgcolor=BACKGROUND, plot_bgcolor=BACKGROUND,
        font={"color": "#dfe7f2", "size": 18},
        legend={"x": 0.01, "y": 0.99, "bgcolor": "rgba(11,18,32,0.75)", "font": {"size": 18}},
        uirevision="keep",  # pushes never reset the operator's pan/zoom
    )
    return figure
