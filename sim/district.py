"""The fictional demo district's map (Qinghe Street): streets, grids, communities, POIs, shelters.

`sim.demo_config` writes these layers with the district's config and scenario into config/demo/.
"""

from __future__ import annotations

import math

ORIGIN = (120.160, 30.270)  # south-west corner, [lon, lat]; fictional place, real datum
WIDTH_M, HEIGHT_M = 2400, 1500
COLS, ROWS = 4, 3

MAIN_EW = [
    (0, "南环路", "Nanhuan Rd"),
    (500, "中山路", "Zhongshan Rd"),
    (1000, "解放路", "Jiefang Rd"),
    (1500, "北环路", "Beihuan Rd"),
]
MAIN_NS = [
    (0, "西河路", "Xihe Rd"),
    (600, "建国路", "Jianguo Rd"),
    (1200, "延安路", "Yan'an Rd"),
    (1800, "东坡路", "Dongpo Rd"),
    (2400, "东河路", "Donghe Rd"),
]
LANES_NS = [
    (300, "梅花巷", "Meihua Ln"),
    (900, "桃源巷", "Taoyuan Ln"),
    (1500, "竹林巷", "Zhulin Ln"),
    (2100, "兰亭巷", "Lanting Ln"),
]
LANES_EW = [
    (250, "青石街", "Qingshi St"),
    (750, "书院街", "Shuyuan St"),
    (1250, "河坊街", "Hefang St"),
]
COMMUNITIES = [
    ("nanyuan", "南苑社区", "Nanyuan Community"),
    ("zhonghe", "中河社区", "Zhonghe Community"),
    ("beitang", "北塘社区", "Beitang Community"),
]
X_STOPS = sorted({x for x, *_ in MAIN_NS + LANES_NS})
Y_STOPS = sorted({y for y, *_ in MAIN_EW + LANES_EW})


def bend(x_m: float, y_m: float) -> tuple[float, float]:
    """The district is planned on a straight grid and then bent, as towns grow: streets curve by
    up to about 55 m over a few hundred metres. The bend is smooth and its slope stays under 0.25,
    so every crossing, block and building keeps its order and no street folds over another."""
    dx = 36 * math.sin(y_m / 260 + 0.7) + 20 * math.sin((x_m + y_m) / 510)
    dy = 28 * math.sin(x_m / 330 + 1.3) + 16 * math.sin((x_m - y_m) / 450)
    return x_m + dx, y_m + dy


def to_lon_lat(x_m: float, y_m: float) -> list[float]:
    """Plan metres east/north of ORIGIN to [lon, lat]: bent (see `bend`), then the small-area
    approximation."""
    x_m, y_m = bend(x_m, y_m)
    lat = ORIGIN[1] + y_m / 111_320
    lon = ORIGIN[0] + x_m / (111_320 * math.cos(math.radians(ORIGIN[1])))
    return [round(lon, 7), round(lat, 7)]


def heading_at(x_m: float, y_m: float, plan_deg: float) -> float:
    """A compass heading drawn on the plan at (x, y), as it points once the district is bent."""
    step = 5.0
    tx = x_m + step * math.sin(math.radians(plan_deg))
    ty = y_m + step * math.cos(math.radians(plan_deg))
    (x0, y0), (x1, y1) = bend(x_m, y_m), bend(tx, ty)
    return round(math.degrees(math.atan2(x1 - x0, y1 - y0)) % 360, 1)


def path(points: list[tuple[float, float]], step_m: float = 20.0) -> list[list[float]]:
    """A plan polyline as [lon, lat] with a vertex every `step_m` (the bend curves it), keeping
    every given point."""
    result = [to_lon_lat(*points[0])]
    for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
        count = max(1, math.ceil(math.hypot(x1 - x0, y1 - y0) / step_m))
        result += [to_lon_lat(x0 + (x1 - x0) * k / count, y0 + (y1 - y0) * k / count)
                   for k in range(1, count + 1)]  # fmt: skip
    return result


def _feature(geometry: dict, **props) -> dict:
    return {"type": "Feature", "properties": props, "geometry": geometry}


def _rect(x0: float, y0: float, x1: float, y1: float) -> dict:
    ring = path([(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)])
    return {"type": "Polygon", "coordinates": [ring]}


def _collection(features: list[dict]) -> dict:
    return {"type": "FeatureCollection", "features": features}


# An old street older than the grid, cutting across it diagonally south of the river.
OLD_STREET = ("st-laojie", "青龙老街", "Qinglong Old St", [(300, 250), (760, 470), (1200, 750)])


def _street_id(en: str) -> str:
    return f"st-{en.split()[0].lower().replace(chr(39), '')}"


def streets() -> dict:
    """Streets as curving LineStrings (arterials `main`, the rest `lane`); crossings are found
    by the street network itself, so the layer stays routable."""
    features = []
    for y, zh, en in MAIN_EW + LANES_EW:
        coords = path([(x, y) for x in X_STOPS])
        kind = "main" if (y, zh, en) in MAIN_EW else "lane"
        features.append(_street(coords, _street_id(en), zh, en, kind))
    for x, zh, en in MAIN_NS + LANES_NS:
        coords = path([(x, y) for y in Y_STOPS])
        kind = "main" if (x, zh, en) in MAIN_NS else "lane"
        features.append(_street(coords, _street_id(en), zh, en, kind))
    sid, zh, en, points = OLD_STREET
    features.append(_street(path(points), sid, zh, en, "lane"))
    return _collection(features)


def _street(coords: list, sid: str, zh: str, en: str, kind: str) -> dict:
    return _feature({"type": "LineString", "coordinates": coords}, id=sid, name=zh, name_en=en,
                    kind=kind)  # fmt: skip


def near_old_street(x: float, y: float, clear_m: float) -> bool:
    """Whether a plan point lies within `clear_m` of the old street (no building there)."""
    points = OLD_STREET[3]
    for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
        dx, dy = x1 - x0, y1 - y0
        share = max(0.0, min(1.0, ((x - x0) * dx + (y - y0) * dy) / (dx * dx + dy * dy)))
        if math.hypot(x - x0 - share * dx, y - y0 - share * dy) < clear_m:
            return True
    return False


def grids() -> dict:
    """Twelve grid cells (4 x 3), each inside one community (one community per row)."""
    cell_w, cell_h = WIDTH_M / COLS, HEIGHT_M / ROWS
    features = []
    for row in range(ROWS):
        for col in range(COLS):
            number = row * COLS + col + 1
            community = COMMUNITIES[row][0]
            geometry = _rect(col * cell_w, row * cell_h, (col + 1) * cell_w, (row + 1) * cell_h)
            features.append(
                _feature(
                    geometry,
                    id=f"G{number:02d}",
                    name=f"第{number}网格",
                    name_en=f"Grid {number}",
                    community=community,
                    responsible=GRID_LEADS[number - 1],
                    phone=f"0571-8700-{number:04d}",
                )
            )
    return _collection(features)


def communities() -> dict:
    """Three communities, one per row of grid cells."""
    cell_h = HEIGHT_M / ROWS
    return _collection(
        [
            _feature(
                _rect(0, row * cell_h, WIDTH_M, (row + 1) * cell_h), id=cid, name=zh, name_en=en
            )
            for row, (cid, zh, en) in enumerate(COMMUNITIES)
        ]
    )


def boundary() -> dict:
    """The district outline."""
    return _collection(
        [
            _feature(
                _rect(0, 0, WIDTH_M, HEIGHT_M),
                id="qinghe",
                name="清河街道",
                name_en="Qinghe Street",
            )
        ]
    )


POIS = [
    ("kindergarten-1", "kindergarten", "阳光幼儿园", "Sunshine Kindergarten", 1080, 560),
    ("kindergarten-2", "kindergarten", "北塘幼儿园", "Beitang Kindergarten", 1990, 1120),
    ("market-1", "market", "中河菜市场", "Zhonghe Market", 1320, 1060),
    ("petrol-1", "petrol_station", "东河加油站", "Donghe Petrol Station", 2340, 760),
    ("school-1", "school", "清河小学", "Qinghe Primary School", 450, 380),
    ("school-2", "school", "北塘中学", "Beitang Middle School", 1650, 1380),
    ("elderly-1", "elderly_home", "中河颐养院", "Zhonghe Elderly Home", 1050, 880),
    ("elderly-2", "elderly_home", "南苑老年公寓", "Nanyuan Senior Flats", 2200, 120),
    ("hospital-1", "hospital", "清河社区医院", "Qinghe Community Clinic", 1350, 620),
]
SHELTERS = [  # id, names, x, y, capacity by day, by night (fewer beds than standing room)
    ("shelter-1", "清河体育馆避难点", "Qinghe Gym Shelter", 750, 1120, 800, 500),
    ("shelter-2", "南苑公园避难点", "Nanyuan Park Shelter", 1950, 380, 1500, 600),
    ("shelter-3", "北塘广场避难点", "Beitang Square Shelter", 150, 1400, 600, 300),
]
GRID_LEADS = ("王芳", "李强", "张伟", "刘洋", "陈静", "杨勇", "赵敏", "黄磊", "周丽", "吴刚",
              "徐婷", "孙涛")  # fmt: skip


def pois() -> dict:
    """Schools, elderly homes and clinics (used by emergency analysis)."""
    return _collection(
        [
            _feature(
                {"type": "Point", "coordinates": to_lon_lat(x, y)},
                id=pid,
                kind=kind,
                name=zh,
                name_en=en,
            )
            for pid, kind, zh, en, x, y in POIS
        ]
    )


def shelters() -> dict:
    """Emergency shelters with capacity."""
    return _collection(
        [
            _feature(
                {"type": "Point", "coordinates": to_lon_lat(x, y)},
                id=sid,
                name=zh,
                name_en=en,
                capacity=day,
                capacity_day=day,
                capacity_night=night,
            )
            for sid, zh, en, x, y, day, night in SHELTERS
        ]
    )


# The river: the Qinghe, wandering west to east between 书院街 and 解放路; every street that
# crosses it crosses on a bridge. The metro: line 1 under 解放路, three stations.
RIVER_Y = 880.0
RIVER_WIDTH_M = 36.0
METRO_Y = 1000.0
METRO_STATIONS = [
    ("metro-west", "西河站", "Xihe Station", 300),
    ("metro-centre", "解放路站", "Jiefang Rd Station", 1200),
    ("metro-east", "东坡站", "Dongpo Station", 2100),
]


def river_centre(x: float) -> float:
    """The river's centre line (metres north) at `x` metres east: a gentle meander."""
    return RIVER_Y + 45 * math.sin(x / 380) + 20 * math.sin(x / 131)


def water() -> dict:
    """The river as a polygon, with its name."""
    xs = [x * 20.0 for x in range(int(WIDTH_M / 20) + 1)]
    north = [(x, river_centre(x) + RIVER_WIDTH_M / 2) for x in xs]
    south = [(x, river_centre(x) - RIVER_WIDTH_M / 2) for x in reversed(xs)]
    ring = [to_lon_lat(x, y) for x, y in north + south + north[:1]]
    geometry = {"type": "Polygon", "coordinates": [ring]}
    return _collection([_feature(geometry, id="river-qinghe", name="清河", name_en="Qinghe River")])


def metro() -> dict:
    """Metro line 1 under 解放路 and its stations."""
    line = {
        "type": "LineString",
        "coordinates": path([(0, METRO_Y), (WIDTH_M, METRO_Y)]),
    }
    features = [_feature(line, id="metro-1", kind="line", name="地铁1号线", name_en="Metro Line 1")]
    for sid, zh, en, x in METRO_STATIONS:
        point = {"type": "Point", "coordinates": to_lon_lat(x, METRO_Y)}
        features.append(_feature(point, id=sid, kind="station", name=zh, name_en=en))
    return _collection(features)


BRIDGE_APPROACH_M = 6.0  # each end stands this far beyond the bank
BRIDGE_LOAD_T = {"main": 40, "lane": 15}


def bridges() -> dict:
    """A bridge wherever a street crosses the river: its deck as a line, its name (the street's,
    as towns name them), the street it carries, its length and the heaviest vehicle allowed."""
    features = []
    for x, zh, en in MAIN_NS + LANES_NS:
        centre = river_centre(x)
        half = RIVER_WIDTH_M / 2 + BRIDGE_APPROACH_M
        coords = path([(x, centre - half), (x, centre + half)], step_m=8)
        kind = "main" if (x, zh, en) in MAIN_NS else "lane"
        stem, stem_en = zh[:-1], en.rsplit(" ", 1)[0]
        features.append(
            _feature(
                {"type": "LineString", "coordinates": coords},
                id=f"bridge-{_street_id(en)[3:]}",
                name=f"{stem}桥",
                name_en=f"{stem_en} Bridge",
                street=zh,
                street_en=en,
                length_m=round(2 * half),
                max_load_t=BRIDGE_LOAD_T[kind],
            )  # fmt: skip
        )
    return _collection(features)
