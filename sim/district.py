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


def to_lon_lat(x_m: float, y_m: float) -> list[float]:
    """Local metres east/north of ORIGIN to [lon, lat] (small-area approximation)."""
    lat = ORIGIN[1] + y_m / 111_320
    lon = ORIGIN[0] + x_m / (111_320 * math.cos(math.radians(ORIGIN[1])))
    return [round(lon, 7), round(lat, 7)]


def _feature(geometry: dict, **props) -> dict:
    return {"type": "Feature", "properties": props, "geometry": geometry}


def _rect(x0: float, y0: float, x1: float, y1: float) -> dict:
    ring = [to_lon_lat(x, y) for x, y in [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]]
    return {"type": "Polygon", "coordinates": [ring]}


def _collection(features: list[dict]) -> dict:
    return {"type": "FeatureCollection", "features": features}


def streets() -> dict:
    """Streets as LineStrings with a vertex at every crossing, so they form a routable graph."""
    features = []
    for y, zh, en in MAIN_EW + LANES_EW:
        coords = [to_lon_lat(x, y) for x in X_STOPS]
        kind = "main" if (y, zh, en) in MAIN_EW else "lane"
        features.append(
            _feature(
                {"type": "LineString", "coordinates": coords},
                id=f"st-{en.split()[0].lower()}",
                name=zh,
                name_en=en,
                kind=kind,
            )
        )
    for x, zh, en in MAIN_NS + LANES_NS:
        coords = [to_lon_lat(x, y) for y in Y_STOPS]
        kind = "main" if (x, zh, en) in MAIN_NS else "lane"
        features.append(
            _feature(
                {"type": "LineString", "coordinates": coords},
                id=f"st-{en.split()[0].lower().replace(chr(39), '')}",
                name=zh,
                name_en=en,
                kind=kind,
            )
        )
    return _collection(features)


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
    import math

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
        "coordinates": [to_lon_lat(0, METRO_Y), to_lon_lat(WIDTH_M, METRO_Y)],
    }
    features = [_feature(line, id="metro-1", kind="line", name="地铁1号线", name_en="Metro Line 1")]
    for sid, zh, en, x in METRO_STATIONS:
        point = {"type": "Point", "coordinates": to_lon_lat(x, METRO_Y)}
        features.append(_feature(point, id=sid, kind="station", name=zh, name_en=en))
    return _collection(features)
