"""Pure figure builders for the cockpit map: the district's GeoJSON layers and live traces."""

from __future__ import annotations

import json

import numpy as np
import plotly.graph_objects as go
import shapely

from cockpit.map_layers import overlays
from config.i18n import t
from config.schema import AppConfig
from geo.china_datums import from_wgs84
from geo.layers import DistrictLayers

BACKGROUND = "#0b1220"
REFERENCE_MAP_WIDTH_PX = 1400  # the configured zoom fits a map this wide (a 1920 px screen)
BASE_LAYER = "white-bg"  # the background's id in Plotly's own styles, kept for the pages' code
# The map's own style: no tile server, no glyph server (MapLibre then draws street names with the
# browser's own fonts, which an intranet wall has), no fades (each fade step is one more frame on
# a software-drawn wall). `sources` may not be empty: Plotly drops an empty one on a redraw.
# Hidden "slots" give every map layer and trace a place of its own (see `stack`).
SLOTS = 64
TRACE_SLOT0 = 16  # district layers (and an incident's rings) below, the traces from here up
BASE_STYLE = {
    "version": 8,
    "sources": {"none": {"type": "geojson", "data": {"type": "FeatureCollection", "features": []}}},
    "layers": [{"id": BASE_LAYER, "type": "background", "paint": {"background-color": BACKGROUND}}]
    + [
        {"id": f"slot-{n:02d}", "type": "background", "layout": {"visibility": "none"}}
        for n in range(SLOTS)
    ],
    "transition": {"duration": 0, "delay": 0},
}
MARKER_PX = {"cameras": 14, "tickets": 17, "events": 34, "units": 12, "tracks": 1}  # 1920 px


LAYER_STYLE = {
    "communities": {"type": "fill", "color": "rgba(56, 88, 140, 0.18)"},
    "buildings": {"type": "fill", "color": "rgba(150, 172, 205, 0.2)"},
    "water": {"type": "fill", "color": "rgba(40, 110, 190, 0.55)"},
    "metro": {"type": "line", "color": "rgba(230, 80, 160, 0.75)", "line": {"width": 4}},
    "grids": {"type": "line", "color": "rgba(120, 160, 220, 0.45)", "line": {"width": 1}},
    "streets": {"type": "line", "color": "#4a5a78", "line": {"width": 3}},
    "bridges": {"type": "line", "color": "#8a9bb8", "line": {"width": 6}},
    "boundary": {"type": "line", "color": "#5fb3ff", "line": {"width": 3}},
    "street_names": {
        "type": "symbol",
        "symbol": {
            "text": "{name}",
            "placement": "line",
            "icon": "",
            "textfont": {"size": 17, "color": "#c3d0e4"},
        },
    },  # fmt: skip
}
NAMES = "street_names"  # not a layer file: the streets' names, drawn along them
UNIT_COLORS = ["#3ddc84", "#22d3ee", "#c77dff", "#a3e635", "#f472b6"]  # cool: units
# Fixed order; unit types follow, one trace each.
TRACES = ("tracks", "cameras", "tickets", "events")


def view_settings(cfg: AppConfig) -> dict:
    """What the browser needs to fit the map to its screen: zoom, sizes, base colours."""
    index = trace_index(cfg)
    return {
        "zoom": cfg.district.zoom,
        "reference_px": REFERENCE_MAP_WIDTH_PX,
        "marker_px": {i: MARKER_PX[name.split(":")[0]] for name, i in index.items()},
        "base_layer": BASE_LAYER,
        "background": BACKGROUND,
        "software_map_px": cfg.wall.software_map_pixels,
        "layer_slots": TRACE_SLOT0,  # an incident's rings take the slots above the district's
    }


def trace_index(cfg: AppConfig) -> dict[str, int]:
    """Position of each live trace in figure.data, shared with the browser code."""
    index = {name: i for i, name in enumerate(TRACES)}
    for offset, unit_type in enumerate(cfg.unit_types):
        index[f"units:{unit_type.id}"] = len(TRACES) + offset
    return index


def on_tiles(cfg: AppConfig):
    """WGS-84 (lon, lat) arrays -> the datum the map is drawn in: the tiles' (Chinese tiles are
    offset), else WGS-84 as it is."""
    return from_wgs84(cfg.map.tile_datum if cfg.map.tile_url else "wgs84")


LAYER_ORDER = (
    "communities", "water", "buildings", "grids", "streets", "bridges", "metro", "boundary", NAMES,
)  # fmt: skip
TOGGLED = ("grids", "communities", "buildings", "streets", NAMES)  # an operator may hide these
WALL_SKIPS = frozenset({"buildings"})  # too fine to read across a room, and costly to repaint


def stack(layers: list[dict], traces: list) -> None:
    """Give each map layer and trace its own slot, in order: map layers from the bottom, traces
    above them. Plotly removes and re-adds (and MapLibre re-cuts) every layer that shares its
    `below` with another on every change of the figure; with a place each, a push touches only
    the data that changed. (A trace with no points loses its place: Plotly gives it the one of
    the trace before, so live traces always hold at least a blank point.)"""
    if len(layers) > TRACE_SLOT0 or TRACE_SLOT0 + len(traces) > SLOTS:
        raise ValueError(f"the map has {len(layers)} layers and {len(traces)} traces: too many")
    for n, layer in enumerate(layers):
        layer["below"] = f"slot-{n:02d}"
    for n, trace in enumerate(traces):
        trace.below = f"slot-{TRACE_SLOT0 + n:02d}"


def shown_layers(layers: DistrictLayers, kiosk: bool = False) -> list[str]:
    """The district's layers a map draws, in order (a wall leaves out the buildings)."""
    return [k for k in LAYER_ORDER if _frame(layers, k) is not None
            and not (kiosk and k in WALL_SKIPS)]  # fmt: skip


def _frame(layers: DistrictLayers, kind: str):
    """The layer of this kind; for the street names, the streets if any of them has a name."""
    if kind != NAMES:
        return layers.get(kind)
    streets = layers.get("streets")
    if streets is None or "name" not in streets:
        return None
    return streets if streets["name"].fillna("").astype(str).str.strip().ne("").any() else None


def layer_positions(cfg: AppConfig, layers: DistrictLayers) -> dict[str, int]:
    """Where each of the district's layers sits in the live map's layers (after the tiles, if
    any), on an operator's screen."""
    present = shown_layers(layers)
    return {kind: (1 if cfg.map.tile_url else 0) + n for n, kind in enumerate(present)}


def district_layers(
    cfg: AppConfig,
    layers: DistrictLayers,
    kinds: list[str] | tuple[str, ...] = LAYER_ORDER,
    lang: str = "zh",
) -> list[dict]:
    """The district's own layers (and the tile layer, if any) as map layers below the traces;
    street names in `lang` (English names where the streets layer has them)."""
    result = []
    if cfg.map.tile_url:
        result.append({"sourcetype": "raster", "source": [cfg.map.tile_url]})
    datum = cfg.map.tile_datum if cfg.map.tile_url else "wgs84"
    for kind in kinds:
        frame = _frame(layers, kind)
        if frame is None:
            continue
        source = _geojson(frame, datum, on_tiles(cfg), lang if kind == NAMES else None)
        result.append({"sourcetype": "geojson", "source": source, **LAYER_STYLE[kind]})
    return result


# A layer's GeoJSON, made once per frame, datum and names' language (every page load draws the
# same district).
_GEOJSON: dict[tuple[int, str, str | None], tuple[object, dict]] = {}


def _geojson(frame, datum: str, shift, names: str | None = None) -> dict:
    """The frame's ids and shapes; with `names` (a language) also each one's name in it."""
    key = (id(frame), datum, names)
    cached = _GEOJSON.get(key)
    if cached is not None and cached[0] is frame:  # the frame itself, not one at its old address
        return cached[1]
    plain = frame[["id", "geometry"]].copy()
    if names is not None:
        plain["name"] = _names(frame, names)
    plain["geometry"] = shapely.transform(  # to 0.1 m: the page carries every vertex
        plain.geometry.to_numpy(),
        lambda xy: np.round(np.column_stack(shift(xy[:, 0], xy[:, 1])), 6),
    )
    geojson = json.loads(plain.to_json())
    _GEOJSON[key] = (frame, geojson)
    return geojson


def _names(frame, lang: str):
    """Each feature's name in `lang`: `name_<lang>` where the layer has one, else `name`."""
    names = frame["name"].fillna("").astype(str).str.strip()
    column = f"name_{lang}"
    if column in frame:
        own = frame[column].fillna("").astype(str).str.strip()
        names = own.where(own != "", names)
    return names


def _points(key: str, name: str, color: str, size: int, opacity: float = 0.95) -> go.Scattermap:
    marker = {"size": size, "color": color, "opacity": opacity}
    return go.Scattermap(
        lon=[None],  # a blank point: Plotly hides a trace with none (see `stack`)
        lat=[None],
        text=[""],
        customdata=[None],
        mode="markers",
        name=name,
        marker=marker,
        meta=key,
        hovertemplate="%{text}<extra></extra>",
        showlegend=False,  # until it has something on the map
    )


def base_map(cfg: AppConfig, layers: DistrictLayers, lang: str, kiosk: bool = False) -> go.Figure:
    """The map with the district's layers and empty live traces (filled by pushes)."""
    tracks = go.Scattermap(
        lon=[None],
        lat=[None],
        text=[""],
        customdata=[None],
        mode="lines",
        line={"color": "rgba(61, 220, 132, 0.55)", "width": 2},
        name=t("legend.tracks", lang),
        meta="tracks",
        hoverinfo="skip",  # the units' markers say who; the line only where they went
        showlegend=False,
    )
    traces = [
        tracks,
        _points("cameras", t("legend.cameras", lang), "#f5f7fa", MARKER_PX["cameras"]),
        _points("tickets", t("legend.tickets", lang), "#ffb020", MARKER_PX["tickets"]),
        _points("events", t("legend.events", lang), "#ff4d4f", MARKER_PX["events"], opacity=0.45),
    ]
    for offset, unit_type in enumerate(cfg.unit_types):
        color = UNIT_COLORS[offset % len(UNIT_COLORS)]
        traces.append(
            _points(
                f"units:{unit_type.id}", getattr(unit_type.names, lang), color, MARKER_PX["units"]
            )
        )
    lon, lat = (float(v) for v in on_tiles(cfg)(*cfg.district.center))
    traces += overlays(cfg, layers, lang, on_tiles(cfg))  # after the live traces
    map_layers = district_layers(cfg, layers, shown_layers(layers, kiosk), lang)
    stack(map_layers, traces)
    figure = go.Figure(traces)
    figure.update_layout(
        map={
            "style": BASE_STYLE,
            "center": {"lon": lon, "lat": lat},
            "zoom": cfg.district.zoom,
            "layers": map_layers,
        },
        margin={"l": 0, "r": 0, "t": 0, "b": 0},
        paper_bgcolor=BACKGROUND,
        plot_bgcolor=BACKGROUND,
        font={"color": "#dfe7f2", "size": 18},
        legend={"x": 0.01, "y": 0.99, "bgcolor": "rgba(11,18,32,0.92)", "font": {"size": 18}},
        uirevision="keep",  # pushes never reset the operator's pan/zoom
    )
    return figure
