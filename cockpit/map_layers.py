"""The live map's fixed overlays, each a legend entry that shows or hides it: points of interest,
shelters and the cameras' fields of view. They come after the live traces in the figure, so the
pushed traces keep their places. (Text labels on the map, such as street names, need a glyph
server, which an offline command centre does not have: names show on hover instead.)"""

from __future__ import annotations

import math

import plotly.graph_objects as go

from config.i18n import t
from config.schema import AppConfig
from geo.layers import DistrictLayers

VIEW_M, VIEW_DEG = 60.0, 60.0  # how far and how wide a camera's drawn field of view reaches
POI_COLORS = {"school": "#ffd666", "kindergarten": "#ffd666", "hospital": "#ff7a7a"}


def _name(row, lang: str) -> str:
    english = row.get("name_en") if hasattr(row, "get") else None
    return str(english) if lang == "en" and english else str(row.get("name", row.get("id", "")))


def places(layers: DistrictLayers, kind: str, lang: str, shift) -> go.Scattermap | None:
    """Points of interest (schools, elderly homes, hospitals) or shelters, named on hover."""
    frame = layers.get(kind)
    if frame is None or frame.empty:
        return None
    points = frame.geometry.representative_point()
    lon, lat = shift(points.x.tolist(), points.y.tolist())
    labels, colours = [], []
    for _, row in frame.iterrows():
        what = row.get("kind") or kind
        extra = f" · {t('map.capacity', lang)} {row['capacity']}" if "capacity" in row else ""
        labels.append(f"{_name(row, lang)}{extra}")
        colours.append(POI_COLORS.get(str(what), "#7ee0c3" if kind == "shelters" else "#b4a7ff"))
    return go.Scattermap(
        lon=lon.tolist(),
        lat=lat.tolist(),
        text=labels,
        mode="markers",
        marker={"size": 11, "color": colours},
        name=t(f"legend.{kind}", lang),
        meta=kind,
        hovertemplate="%{text}<extra></extra>",
    )


def fields_of_view(cfg: AppConfig, lang: str, shift) -> go.Scattermap | None:
    """Each camera's view as a sector (its direction, about VIEW_DEG wide, VIEW_M long)."""
    lon: list = []
    lat: list = []
    for camera in cfg.cameras:
        c_lon, c_lat = camera.position
        per_m_lat = 1 / 111_320
        per_m_lon = per_m_lat / max(math.cos(math.radians(c_lat)), 0.01)
        bearings = [
            math.radians(camera.direction_deg - VIEW_DEG / 2 + step * VIEW_DEG / 6)
            for step in range(7)
        ]
        ring_lon = [c_lon, *(c_lon + VIEW_M * math.sin(b) * per_m_lon for b in bearings), c_lon]
        ring_lat = [c_lat, *(c_lat + VIEW_M * math.cos(b) * per_m_lat for b in bearings), c_lat]
        ring_lon, ring_lat = shift(ring_lon, ring_lat)
        lon += [*ring_lon.tolist(), None]  # None: the next camera's sector is a new shape
        lat += [*ring_lat.tolist(), None]
    if not lon:
        return None
    return go.Scattermap(
        lon=lon,
        lat=lat,
        mode="lines",
        fill="toself",
        fillcolor="rgba(245, 247, 250, 0.12)",
        line={"color": "rgba(245, 247, 250, 0.45)", "width": 1},
        name=t("legend.views", lang),
        meta="views",
        hoverinfo="skip",
    )


def overlays(cfg: AppConfig, layers: DistrictLayers, lang: str, shift) -> list[go.Scattermap]:
    """Every fixed overlay the district has."""
    found = [
        fields_of_view(cfg, lang, shift),
        places(layers, "pois", lang, shift),
        places(layers, "shelters", lang, shift),
    ]
    return [trace for trace in found if trace is not None]
