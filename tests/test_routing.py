"""Routing in the test process: the matrix's most specific cell, and the nearest unit that is
fresh, of the right department and type, and under its workload cap (along the streets or in a
straight line, as the district's `dispatch.distance` says)."""

from __future__ import annotations

import math

import pytest
from pyproj import Transformer
from shapely.geometry import LineString

from config.schema import RouteConfig
from dispatch.routing import Fix, Route, Router
from geo.index import DistrictIndex, Location
from geo.layers import load_layers
from geo.network import StreetNetwork
from sim.district import to_lon_lat

NOW = 1_800_000_000.0
SANITATION = Route("dept-sanitation", "sanitation")


def _with(cfg, **dispatch):
    return cfg.model_copy(update={"dispatch": cfg.dispatch.model_copy(update=dispatch)})


def _fix(x_m: float, y_m: float, fix_time: float = NOW) -> Fix:
    lon, lat = to_lon_lat(x_m, y_m)
    return Fix(lon, lat, fix_time)


def _straight(cfg, a: tuple[float, float], b: tuple[float, float]) -> float:
    """Straight-line metres between two plan points, projected independently of the router."""
    to_metric = Transformer.from_crs("EPSG:4326", cfg.district.crs, always_xy=True).transform
    (x0, y0), (x1, y1) = (to_metric(*to_lon_lat(*p)) for p in (a, b))
    return math.hypot(x1 - x0, y1 - y0)


def test_the_most_specific_cell_wins_grid_then_community_then_anywhere(demo_cfg, demo_index):
    cfg = demo_cfg.model_copy(
        update={
            "routing": [
                *demo_cfg.routing,
                RouteConfig(
                    category="dirty_road",
                    area="zhonghe",
                    department="dept-grid-east",
                    unit_type="gridworker",
                ),
                RouteConfig(
                    category="dirty_road",
                    area="G05",
                    department="dept-citymgmt",
                    unit_type="citymgmt",
                ),
            ]
        }
    )
    router = Router(cfg, demo_index)
    assert router.route("dirty_road", Location("G05", "zhonghe")) == Route(
        "dept-citymgmt", "citymgmt"
    )
    assert router.route("dirty_road", Location("G06", "zhonghe")) == Route(
        "dept-grid-east", "gridworker"
    )
    assert router.route("dirty_road", Location(None, "zhonghe")) == Route(
        "dept-grid-east", "gridworker"
    )
    assert router.route("dirty_road", Location("G01", "nanyuan")) == SANITATION
    assert router.route("dirty_road", Location(None, None)) == SANITATION
    # a cell for another category in the same grid does not apply
    assert router.route("bike_parking", Location("G05", "zhonghe")) == Route(
        "dept-grid-west", "gridworker"
    )


def test_a_category_without_a_route_is_refused_naming_it_and_the_fix(demo_cfg, demo_index):
    with pytest.raises(KeyError) as refused:
        Router(demo_cfg, demo_index).route("graffiti", Location("G01", "nanyuan"))
    assert refused.value.args[0] == (
        "category 'graffiti' has no routing entry; add one with area '*'"
    )


@pytest.mark.parametrize("distance", ["street", "straight"])
def test_a_unit_exactly_at_its_workload_cap_is_passed_over(demo_cfg, demo_index, distance):
    router = Router(_with(demo_cfg, distance=distance), demo_index)
    cap = demo_cfg.unit_type("sanitation").workload_cap
    fixes = {"san-01": _fix(200, 500), "san-02": _fix(900, 500)}
    one_below = router.pick_unit(SANITATION, *to_lon_lat(250, 500), fixes, {"san-01": cap - 1}, NOW)
    assert one_below[0] == "san-01"
    at_cap = router.pick_unit(SANITATION, *to_lon_lat(250, 500), fixes, {"san-01": cap}, NOW)
    assert at_cap[0] == "san-02"
    all_full = {"san-01": cap, "san-02": cap + 1}
    assert router.pick_unit(SANITATION, *to_lon_lat(250, 500), fixes, all_full, NOW) is None


def test_a_unit_with_no_tickets_is_free_even_under_a_cap_of_one(demo_cfg, demo_index):
    types = [
        t.model_copy(update={"workload_cap": 1}) if t.id == "sanitation" else t
        for t in demo_cfg.unit_types
    ]
    router = Router(demo_cfg.model_copy(update={"unit_types": types}), demo_index)
    fixes = {"san-01": _fix(200, 500)}
    assert router.pick_unit(SANITATION, *to_lon_lat(250, 500), fixes, {}, NOW)[0] == "san-01"
    assert router.pick_unit(SANITATION, *to_lon_lat(250, 500), fixes, {"san-01": 1}, NOW) is None


def test_a_fix_exactly_as_old_as_the_stale_limit_still_counts(demo_cfg, demo_index):
    router = Router(demo_cfg, demo_index)
    limit = NOW - demo_cfg.services.position_stale_s
    at = to_lon_lat(250, 500)
    fresh = {"san-01": _fix(200, 500, fix_time=limit), "san-02": _fix(900, 500)}
    assert router.pick_unit(SANITATION, *at, fresh, {}, NOW)[0] == "san-01"
    stale = {"san-01": _fix(200, 500, fix_time=limit - 0.5), "san-02": _fix(900, 500)}
    assert router.pick_unit(SANITATION, *at, stale, {}, NOW)[0] == "san-02"


def test_only_units_of_the_routes_department_and_type_with_a_fix_are_candidates(
    demo_cfg, demo_index
):
    router = Router(demo_cfg, demo_index)
    at = to_lon_lat(250, 500)
    # cmg-01 is nearest but a city-management unit; san-02 has no fix at all
    fixes = {"cmg-01": _fix(250, 500), "san-03": _fix(1200, 500)}
    assert router.pick_unit(SANITATION, *at, fixes, {}, NOW)[0] == "san-03"
    assert router.pick_unit(Route("dept-citymgmt", "sanitation"), *at, fixes, {}, NOW) is None
    assert router.pick_unit(Route("dept-sanitation", "citymgmt"), *at, fixes, {}, NOW) is None
    assert router.pick_unit(SANITATION, *at, {}, {}, NOW) is None


def test_straight_line_distance_is_the_projected_metres(demo_cfg, demo_index):
    router = Router(_with(demo_cfg, distance="straight"), demo_index)
    fixes = {"san-01": _fix(450, 750), "san-02": _fix(850, 500)}
    unit, metres = router.pick_unit(SANITATION, *to_lon_lat(450, 500), fixes, {}, NOW)
    assert unit == "san-01"
    assert metres == pytest.approx(_straight(demo_cfg, (450, 500), (450, 750)), abs=0.5)


def test_street_distance_goes_round_the_block(demo_cfg, demo_index):
    """san-01 is 250 m away across a block, 550 m round it; san-02 400 m along the same road."""
    router = Router(_with(demo_cfg, distance="street"), demo_index)
    fixes = {"san-01": _fix(450, 750), "san-02": _fix(850, 500)}
    unit, metres = router.pick_unit(SANITATION, *to_lon_lat(450, 500), fixes, {}, NOW)
    assert unit == "san-02"
    assert metres > _straight(demo_cfg, (450, 500), (850, 500)) - 1
    assert metres == pytest.approx(400, abs=25)  # the road bends a little


def test_street_ties_go_to_the_lower_unit_id(demo_cfg, demo_index):
    router = Router(_with(demo_cfg, distance="street"), demo_index)
    same = _fix(850, 500)
    fixes = {"san-03": same, "san-02": same}
    assert router.pick_unit(SANITATION, *to_lon_lat(450, 500), fixes, {}, NOW)[0] == "san-02"


def test_no_way_along_the_streets_falls_back_to_a_straight_line(demo_cfg):
    """Units on a street not joined to the problem's: the nearest in a straight line is sent,
    with its straight-line distance, rather than nobody."""
    isolated = DistrictIndex(load_layers(demo_cfg), demo_cfg.district.crs)
    lines = [LineString([to_lon_lat(0, 500), to_lon_lat(600, 500)])]
    lines.append(LineString([to_lon_lat(0, 1500), to_lon_lat(2000, 1500)]))
    isolated.streets = StreetNetwork(lines, isolated.projector)
    router = Router(_with(demo_cfg, distance="street"), isolated)
    fixes = {"san-01": _fix(1500, 1500), "san-02": _fix(300, 1500)}
    unit, metres = router.pick_unit(SANITATION, *to_lon_lat(300, 500), fixes, {}, NOW)
    assert unit == "san-02"
    assert metres == pytest.approx(_straight(demo_cfg, (300, 500), (300, 1500)), abs=0.5)
    # one unit reachable along the streets wins over a nearer unreachable one
    fixes["san-03"] = _fix(580, 500)
    unit, metres = router.pick_unit(SANITATION, *to_lon_lat(300, 500), fixes, {}, NOW)
    assert unit == "san-03"
    # along the street (snapped on and off it), a little more than the straight line
    straight = _straight(demo_cfg, (300, 500), (580, 500))
    assert straight + 1 < metres < straight + 15
