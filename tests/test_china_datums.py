"""China's offset datums against published reference values, millimetre round trips, and the
map drawing everything onto GCJ-02 tiles when its tiles are Chinese."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cockpit.figures import base_map
from cockpit.payload import WallView
from cockpit.state import LiveState
from geo.china_datums import (
    bd09_to_gcj02,
    bd09_to_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)
from geo.projection import Projector
from streams.records import UnitPosition

# Published by the widely used `coordtransform` library (test/app.js), input (116.404, 39.915).
REFERENCE = [
    (wgs84_to_gcj02, (116.41024449916938, 39.91640428150164)),
    (gcj02_to_bd09, (116.41036949371029, 39.92133699351021)),
    (bd09_to_gcj02, (116.39762729119315, 39.90865673957631)),
]
METRES = Projector("EPSG:32650")


@pytest.mark.parametrize(("convert", "expected"), REFERENCE)
def test_published_reference_points(convert, expected):
    assert np.allclose(convert(116.404, 39.915), expected, atol=1e-9, rtol=0)


def test_the_way_back_is_exact_where_the_one_step_formula_is_not():
    """coordtransform's one-step gcj02towgs84 of the same point is (116.39775550083061,
    39.91359571849836): a few metres off; ours goes back to the point the forward formula
    maps onto it."""
    back = gcj02_to_wgs84(116.404, 39.915)
    assert np.allclose(wgs84_to_gcj02(*back), (116.404, 39.915), atol=1e-9, rtol=0)
    one_step = (116.39775550083061, 39.91359571849836)
    off = METRES.distance_m(tuple(map(float, back)), one_step)
    assert 0.01 < off < 10


@settings(max_examples=200, deadline=None)
@given(st.floats(73.0, 135.0), st.floats(18.0, 53.0))
def test_round_trips_within_a_metre_anywhere_in_china(lon, lat):
    for there, back in ((wgs84_to_gcj02, gcj02_to_wgs84), (wgs84_to_bd09, bd09_to_wgs84)):
        again = tuple(float(v) for v in back(*there(lon, lat)))
        assert Projector("EPSG:3857").distance_m((lon, lat), again) < 1.0
    shifted = tuple(float(v) for v in wgs84_to_gcj02(lon, lat))
    assert 1 < Projector("EPSG:3857").distance_m((lon, lat), shifted) < 2000  # really offset


def test_outside_china_nothing_moves():
    assert np.allclose(wgs84_to_gcj02(2.35, 48.85), (2.35, 48.85))  # Paris
    assert np.allclose(gcj02_to_wgs84(-74.0, 40.7), (-74.0, 40.7))  # New York


def test_on_gcj02_tiles_the_map_and_its_markers_are_shifted(demo_cfg, demo_layers):
    amap = demo_cfg.map.model_copy(
        update={
            "tile_url": "https://tiles.example/{z}/{x}/{y}.png",
            "tile_datum": "gcj02",
        }
    )
    cfg = demo_cfg.model_copy(update={"map": amap})
    plain, shifted = base_map(demo_cfg, demo_layers, "zh"), base_map(cfg, demo_layers, "zh")
    first = lambda figure: figure.layout.map.layers[-1].source["features"][0]  # noqa: E731
    vertex = np.array(first(plain)["geometry"]["coordinates"]).reshape(-1, 2)[0]
    moved = np.array(first(shifted)["geometry"]["coordinates"]).reshape(-1, 2)[0]
    assert np.allclose(moved, wgs84_to_gcj02(*vertex), atol=1e-6)  # both to 0.1 m
    centre = (shifted.layout.map.center.lon, shifted.layout.map.center.lat)
    assert np.allclose(centre, wgs84_to_gcj02(*demo_cfg.district.center))

    state = LiveState(cfg)
    unit = cfg.units[0]
    state.apply(UnitPosition(unit_id=unit.id, lon=unit.home[0], lat=unit.home[1]))
    trace = WallView(cfg, state).payload("zh")["units"][f"units:{unit.type}"]
    assert np.allclose((trace["lon"][0], trace["lat"][0]), wgs84_to_gcj02(*unit.home))
