"""Geo lookups and the scenario player: positions stay on streets, events play on time."""

from __future__ import annotations

import itertools
import random

import pytest
import shapely
from pyproj import Transformer

from geo.index import Candidate, DistrictIndex
from geo.layers import LayerError, load_layers, read_layer
from geo.projection import Projector
from sim.district import to_lon_lat
from sim.player import ScenarioPlayer, patrol_route, street_graph
from sim.scenario import Scenario, load_scenario
from streams import keys
from streams.records import decode


@pytest.fixture(scope="module")
def layers(demo_cfg):
    return load_layers(demo_cfg)


@pytest.fixture(scope="module")
def index(demo_cfg, layers):
    return DistrictIndex(layers, demo_cfg.district.crs)


@pytest.mark.parametrize(
    ("x_m", "y_m", "grid", "community"),
    [
        (100, 100, "G01", "nanyuan"),
        (2300, 100, "G04", "nanyuan"),
        (700, 600, "G06", "zhonghe"),
        (2300, 1400, "G12", "beitang"),
        (-50, 100, None, None),  # outside the district
    ],
)
def test_point_falls_in_its_grid_and_community(index, x_m, y_m, grid, community):
    location = index.locate(*to_lon_lat(x_m, y_m))
    assert (location.grid_id, location.community_id) == (grid, community)


def test_nearest_candidate_by_metric_distance(index):
    a = Candidate("a", *to_lon_lat(0, 300))
    b = Candidate("b", *to_lon_lat(250, 0))
    unit, distance = index.nearest(*to_lon_lat(0, 0), [a, b])
    assert unit.unit_id == "b"
    metric = Transformer.from_crs("EPSG:4326", "EPSG:32651", always_xy=True).transform
    (x0, y0), (x1, y1) = metric(*to_lon_lat(0, 0)), metric(b.lon, b.lat)
    assert distance == pytest.approx(((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5, abs=0.5)
    assert 230 < distance < 290  # the plan's 250 m, bent
    assert index.nearest(0, 0, []) is None


def test_layer_missing_its_id_attribute_says_how_to_fix(demo_cfg):
    layer = demo_cfg.layer("grids").model_copy(update={"id_field": "code"})
    with pytest.raises(LayerError, match="no attribute 'code'.*set id_field"):
        read_layer(layer)


def test_a_shapefile_without_a_crs_and_a_broken_geometry_are_named(demo_cfg, tmp_path):
    """GeoJSON is WGS-84 by definition; a Shapefile without its .prj is not guessed; a
    self-crossing polygon is named with the fix."""
    from shapely.geometry import Polygon

    frame = read_layer(demo_cfg.layer("grids"))
    shapefile = tmp_path / "grids.shp"
    frame.set_crs(None, allow_override=True).to_file(shapefile)
    shapefile.with_suffix(".prj").unlink(missing_ok=True)
    layer = demo_cfg.layer("grids").model_copy(update={"path": shapefile})
    with pytest.raises(LayerError, match="no coordinate reference system; add its .prj"):
        read_layer(layer)
    bowtie = Polygon([(120.16, 30.27), (120.17, 30.28), (120.17, 30.27), (120.16, 30.28)])
    frame.loc[3, "geometry"] = bowtie
    broken = tmp_path / "grids.gpkg"
    frame.to_file(broken, driver="GPKG")
    layer = demo_cfg.layer("grids").model_copy(update={"path": broken})
    with pytest.raises(LayerError, match="feature 'G04' has a broken geometry .*Self-intersection"):
        read_layer(layer)


def test_layers_in_another_crs_are_reprojected(demo_cfg, tmp_path):
    frame = read_layer(demo_cfg.layer("grids")).to_crs("EPSG:32651")
    path = tmp_path / "grids.gpkg"
    frame.to_file(path, driver="GPKG")
    back = read_layer(demo_cfg.layer("grids").model_copy(update={"path": path}))
    assert back.crs.to_epsg() == 4326
    assert back.geometry.iloc[0].equals_exact(
        read_layer(demo_cfg.layer("grids")).geometry.iloc[0], tolerance=1e-7
    )


def test_patrol_routes_follow_the_street_graph(layers):
    graph = street_graph(layers)
    route = patrol_route(graph, to_lon_lat(10, 10), random.Random(1), hops=30)
    assert all(b in graph[a] for a, b in itertools.pairwise(route))


@pytest.fixture(scope="module")
def player_factory(demo_cfg, layers):
    scenario = load_scenario(demo_cfg.sim.scenario, demo_cfg)

    def make(bus, **kwargs):
        return ScenarioPlayer(demo_cfg, scenario, layers, bus, **kwargs)

    return make


def test_unit_positions_stay_on_streets(player_factory, layers, demo_cfg):
    player = player_factory(bus=None)
    to_metric = Transformer.from_crs("EPSG:4326", demo_cfg.district.crs, always_xy=True)
    streets = shapely.union_all(
        [
            shapely.transform(g, lambda xy: list(zip(*to_metric.transform(*xy.T), strict=True)))
            for g in layers.get("streets").geometry
        ]
    )
    assert len(player.paths) == len([u for u in demo_cfg.units if u.type != "supervisor"])
    for t in range(0, 600, 37):
        for fix in player.positions(t, wall_t=1.0):
            point = shapely.Point(to_metric.transform(fix.lon, fix.lat))
            assert streets.distance(point) < 1.0, f"{fix.unit_id} left the streets at t={t}"


def test_units_move_at_their_speed(player_factory, demo_cfg):
    player = player_factory(bus=None)
    projector = Projector(demo_cfg.district.crs)
    before = {f.unit_id: f for f in player.positions(100, 1.0)}
    after = {f.unit_id: f for f in player.positions(110, 11.0)}
    near_speed = 0
    for unit_id, fix in before.items():
        step = projector.distance_m((fix.lon, fix.lat), (after[unit_id].lon, after[unit_id].lat))
        expected = player.speeds[unit_id] * 10
        assert step <= expected + 0.5, f"{unit_id} moved {step:.1f} m, faster than its speed"
        near_speed += step >= 0.7 * expected  # a corner makes the straight-line step shorter
    assert near_speed >= len(before) * 0.6


def test_timeline_plays_into_the_bus_once_per_loop(player_factory, bus, demo_cfg):
    scenario = load_scenario(demo_cfg.sim.scenario, demo_cfg)
    fake_now = [0.0]

    def clock():
        fake_now[0] += 0.01  # each reading advances 10 ms (10 scenario seconds at x1000)
        return fake_now[0]

    player = player_factory(bus=bus, speed=1000.0, clock=clock, sleep=lambda seconds: None)
    sent = player.run(max_loops=2)
    assert sent == 2 * len(scenario.events)
    events = [decode(f) for _, f in bus.client.xrange(bus.key(keys.EVENTS))]
    assert len({e.event_id for e in events}) == sent  # each play is a new event
    on_camera = [e for e in events if e.camera_id == "cam-02"]
    anchor = demo_cfg.cameras[1].zones[0].map_anchor
    assert on_camera and all((e.lon, e.lat) == anchor for e in on_camera)
    assert bus.client.xlen(bus.key(keys.UNIT_POSITIONS)) > 0


def test_scenario_referring_to_unknown_things_is_refused(demo_cfg, tmp_path):
    bad = tmp_path / "scenario.yaml"
    bad.write_text(
        "duration_s: 60\nevents:\n- {at_s: 1, category: bin_overflow, camera: cam-99, zone: z}\n"
        "- {at_s: 2, category: nope, position: [120.17, 30.27]}\n",
        encoding="utf-8",
    )
    from config.loader import ConfigError

    with pytest.raises(ConfigError) as caught:
        load_scenario(bad, demo_cfg)
    text = str(caught.value)
    assert "events[0].camera: unknown camera 'cam-99'" in text
    assert "events[1].category: unknown category 'nope'" in text


def test_scenario_event_needs_exactly_one_place():
    with pytest.raises(ValueError, match="either camera \\+ zone, or position"):
        Scenario.model_validate({"duration_s": 5, "events": [{"at_s": 1, "category": "x"}]})


def test_simulated_cameras_go_offline_during_an_outage(player_factory, demo_cfg):
    player = player_factory(bus=None)
    outage = player.scenario.outages[0]
    during = {h.camera_id: h.online for h in player.camera_health(outage.from_s + 1, 1.0)}
    after = {h.camera_id: h.online for h in player.camera_health(outage.to_s + 1, 2.0)}
    assert during[outage.camera] is False
    assert sum(during.values()) == len(demo_cfg.cameras) - 1
    assert all(after.values())
