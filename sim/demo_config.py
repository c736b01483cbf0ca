"""Write the fictional demo district (Qinghe Street): GeoJSON layers, config YAML and scenario.

Run `python -m sim.demo_config` to regenerate config/demo/ after changing this file or
`sim.district`; the output is committed so the demo needs nothing generated at start-up.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import yaml

from config.paths import PROJECT_ROOT
from sim.buildings import write_buildings
from sim.demo_rules import DEADLINES, RULES
from sim.demo_scenario import scenario_dict
from sim.demo_units import demo_units
from sim.district import (
    COLS,
    HEIGHT_M,
    ROWS,
    WIDTH_M,
    boundary,
    bridges,
    communities,
    grids,
    heading_at,
    metro,
    pois,
    shelters,
    streets,
    to_lon_lat,
    water,
)
from vision.synth.timeline import bay_zone, demo_view, zone_polygon

OUT_DIR = PROJECT_ROOT / "config" / "demo"

# Zones cut from the synthetic clips' street geometry (vision/synth/timeline.py).
PARKING_ZONE = zone_polygon("illegal_parking")
BIN_ZONE = zone_polygon("bin_overflow")
ROAD_ZONE = zone_polygon("dirty_road")
VENDING_ZONE = zone_polygon("street_vending", *demo_view(pavement=True))
BIKE_ZONE = zone_polygon("bike_parking", *demo_view(pavement=True))

CAMERAS = [
    # id, zh, en, x, y, direction, zones: (zone id, rule, polygon, anchor offset metres)
    (
        "cam-01",
        "中山路建国路口",
        "Zhongshan/Jianguo",
        600,
        500,
        90,
        [("noparking-1", "no-parking", PARKING_ZONE, (40, 0))],
    ),
    (
        "cam-02",
        "解放路延安路口",
        "Jiefang/Yan'an",
        1200,
        1000,
        270,
        [("bin-1", "bin-overflow", BIN_ZONE, (-25, 8))],
    ),
    (
        "cam-03",
        "书院街",
        "Shuyuan St",
        900,
        750,
        0,
        [("road-1", "dirty-road", ROAD_ZONE, (0, 30))],
    ),
    (
        "cam-04",
        "东坡路南段",
        "Dongpo Rd South",
        1800,
        250,
        180,
        [
            ("noparking-1", "no-parking", PARKING_ZONE, (0, -40)),
            ("bin-1", "bin-overflow", BIN_ZONE, (8, -10)),
        ],
    ),
    (
        "cam-05",
        "河坊街",
        "Hefang St",
        300,
        1250,
        90,
        [("road-1", "dirty-road", ROAD_ZONE, (35, 0))],
    ),
    (
        "cam-06",
        "北环路东段",
        "Beihuan Rd East",
        2100,
        1500,
        270,
        [("noparking-1", "no-parking", PARKING_ZONE, (-40, -6))],
    ),
    (
        "cam-07",
        "青石街竹林巷口",
        "Qingshi/Zhulin",
        1500,
        250,
        0,
        [("bin-1", "bin-overflow", BIN_ZONE, (10, 20))],
    ),
    (
        "cam-09",
        "河坊街商铺段",
        "Hefang St shops",
        750,
        1250,
        90,
        [
            ("stall-1", "street-vending", VENDING_ZONE, (20, -6)),
            ("bikes-1", "bike-parking", BIKE_ZONE, (20, 6), [bay_zone()]),
        ],
    ),
]

UNIT_TYPES = [
    ("sanitation", "环卫作业", "Sanitation", 3),
    ("citymgmt", "城管巡查", "City management", 3),
    ("gridworker", "网格员", "Grid worker", 4),
    ("supervisor", "值班长", "Duty supervisor", 50),
]
# Department, Chinese name, English name, supervisor unit (gets the escalations).
DEPARTMENTS = [
    ("dept-sanitation", "街道环卫所", "Sanitation Station", "sup-san"),
    ("dept-citymgmt", "城管中队", "City Management Squad", "sup-cmg"),
    ("dept-grid-west", "西片网格工作站", "West Grid Office", "sup-grid"),
    ("dept-grid-east", "东片网格工作站", "East Grid Office", "sup-grid"),
]


def _routing() -> list[dict]:
    routes = [
        {"category": "illegal_parking", "department": "dept-citymgmt", "unit_type": "citymgmt"},
        {"category": "bin_overflow", "department": "dept-sanitation", "unit_type": "sanitation"},
        {"category": "dirty_road", "department": "dept-sanitation", "unit_type": "sanitation"},
        {"category": "street_vending", "department": "dept-citymgmt", "unit_type": "citymgmt"},
        {"category": "bike_parking", "department": "dept-grid-west", "unit_type": "gridworker"},
        {"category": "facility_damage", "department": "dept-grid-west", "unit_type": "gridworker"},
    ]
    for number in range(1, ROWS * COLS + 1):
        col = (number - 1) % COLS
        if col >= COLS // 2:
            routes += [
                {
                    "category": category,
                    "area": f"G{number:02d}",
                    "department": "dept-grid-east",
                    "unit_type": "gridworker",
                }
                for category in ("bike_parking", "facility_damage")
            ]
    return routes


def _names(zh: str, en: str) -> dict:
    return {"zh": zh, "en": en}


class _OneLine(dict):
    """A mapping written on one line of the YAML (a list value's choices)."""


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(
    _OneLine, lambda dumper, data: dumper.represent_mapping("tag:yaml.org,2002:map", data, True)
)


def _choices(*pairs: tuple[str, str, str]) -> list[dict]:
    return [_OneLine(key=key, names=_names(zh, en)) for key, zh, en in pairs]


CATEGORIES = [
    {
        "id": "illegal_parking",
        "names": _names("违章停车", "Illegal parking"),
        "standard": "event/0505",
        "attributes": [
            {
                "code": "plate",
                "names": _names("车牌号（如看得到）", "Licence plate, if visible"),
                "max_length": 16,
            },
            {
                "code": "vehicle",
                "datatype": "singlevaluelist",
                "names": _names("车辆类型", "Kind of vehicle"),
                "values": _choices(
                    ("car", "小汽车", "Car"),
                    ("truck", "货车", "Truck"),
                    ("motorbike", "摩托车", "Motorbike"),
                    ("ebike", "电动自行车", "E-bike"),
                ),
            },
        ],
    },
    {
        "id": "bin_overflow",
        "names": _names("垃圾满溢", "Overflowing bin"),
        "standard": "event/0102",
    },
    {"id": "dirty_road", "names": _names("道路脏污", "Dirty road"), "standard": "event/0104"},
    {
        "id": "street_vending",
        "names": _names("店外经营", "Goods or stalls outside a shop"),
        "standard": "event/0504",
    },
    {
        "id": "bike_parking",
        "names": _names("非机动车乱停放", "Bicycles parked outside the bays"),
        "standard": "event/0506",
    },
    {
        "id": "facility_damage",
        "names": _names("设施损坏", "Damaged facility"),
        "standard": "event/0601",
        "auto_dispatch": False,
        "confirm_timeout_min": 15,
        "attributes": [
            {
                "code": "facility",
                "datatype": "singlevaluelist",
                "required": True,
                "names": _names("损坏的设施", "Which facility is damaged"),
                "values": _choices(
                    ("manhole", "井盖", "Manhole cover"),
                    ("streetlight", "路灯", "Street light"),
                    ("railing", "护栏", "Railing"),
                    ("bench", "座椅", "Bench"),
                    ("sign", "标志牌", "Sign"),
                ),
            },
            {
                "code": "hazards",
                "datatype": "multivaluelist",
                "names": _names("现场危险（可多选）", "Hazards on site (any)"),
                "values": _choices(
                    ("open_hole", "有坑洞", "Open hole"),
                    ("live_wire", "电线外露", "Exposed wire"),
                    ("blocks_way", "阻挡通行", "Blocks the way"),
                ),
            },
        ],
    },
]

DISPATCH = {
    "merge_radius_m": 250,
    "calendar": {
        "work_days": [1, 2, 3, 4, 5],
        "day_start": "08:30",
        "day_end": "17:30",
        "holidays": [
            "2027-01-01",
            "2027-02-05",
            "2027-02-08",
            "2027-02-09",
            "2027-02-10",
            "2027-02-11",
        ],
        "extra_workdays": ["2027-02-20"],
    },
}


def config_dict(rng: random.Random) -> dict:
    """The demo district's config, as it is written to district.yaml."""
    return {
        "district": {
            "name": _names("清河街道", "Qinghe Street"),
            "crs": "EPSG:32651",
            "center": to_lon_lat(WIDTH_M / 2, HEIGHT_M / 2),
            "zoom": 15.2,
            "timezone": "Asia/Shanghai",
        },
        "map": {
            "layers": [
                {"kind": kind, "path": f"{kind}.geojson"}
                for kind in (
                    "boundary",
                    "communities",
                    "grids",
                    "streets",
                    "water",
                    "bridges",
                    "metro",
                    "buildings",
                    "pois",
                    "shelters",
                )  # fmt: skip
            ]
        },
        "categories": CATEGORIES,
        "rules": RULES,
        "cameras": [_camera(*spec) for spec in CAMERAS] + [REAL_CAMERA],
        "unit_types": [
            {"id": i, "names": _names(zh, en), "workload_cap": cap} for i, zh, en, cap in UNIT_TYPES
        ],
        "departments": [
            {"id": i, "names": _names(zh, en), "supervisor": sup} for i, zh, en, sup in DEPARTMENTS
        ],
        "units": demo_units(rng),
        "routing": _routing(),
        "deadlines": DEADLINES,
        "dispatch": DISPATCH,
        "services": {"data_dir": "data", "cockpit_host": "127.0.0.1", "cockpit_port": 8050},
        "sim": {"enabled": True, "scenario": "scenario.yaml", "speed": 1.0, "loop": True},
    }


# Real footage (OpenCV's vtest.avi) beside the project, when it is there: health and analysis on
# a feed nobody here produced. No zones: the bundled model knows synthetic streets only.
REAL_CAMERA = {
    "id": "cam-08",
    "name": {"zh": "校园路（实拍）", "en": "Campus Rd (real footage)"},
    "source": "../shared/media/vtest.avi",
    "optional": True,
    "position": to_lon_lat(2400, 1000),
    "direction_deg": 270,
    "frame_size": [768, 576],
    "analysis_fps": 2,
    "zones": [],
}


def _camera(cid, zh, en, x, y, direction, zones) -> dict:
    return {
        "id": cid,
        "name": {"zh": zh, "en": en},
        "source": f"vision/synth/clips/{cid}.mp4",
        "position": to_lon_lat(x, y),
        "direction_deg": round(heading_at(x, y, direction)),
        "frame_size": [640, 576],
        "analysis_fps": 2,
        "crops": "frame",  # rendered at the scale the bundled model was trained at
        "zones": [
            {
                "id": zid,
                "rule": rule,
                "polygon": [list(p) for p in poly],
                "map_anchor": to_lon_lat(x + dx, y + dy),
                **({"bays": [[list(p) for p in bay] for bay in more[0]]} if more else {}),
            }
            for zid, rule, poly, (dx, dy), *more in zones
        ],
    }


def write(out_dir: Path = OUT_DIR) -> None:
    """Write every demo file into out_dir."""
    out_dir.mkdir(parents=True, exist_ok=True)
    layers = {
        "boundary": boundary(),
        "communities": communities(),
        "grids": grids(),
        "streets": streets(),
        "pois": pois(),
        "shelters": shelters(),
        "water": water(),
        "bridges": bridges(),
        "metro": metro(),
    }
    for kind, collection in layers.items():
        (out_dir / f"{kind}.geojson").write_text(
            json.dumps(collection, ensure_ascii=False, indent=1), encoding="utf-8"
        )
    write_buildings(out_dir)
    header = "# Demo district (fictional), made by `python -m sim.demo_config`; edit freely.\n"
    for name, data in (
        ("district.yaml", config_dict(random.Random(7))),
        ("scenario.yaml", scenario_dict()),
    ):
        text = yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False,
                         default_flow_style=None, width=100)  # fmt: skip
        (out_dir / name).write_text(header + text, encoding="utf-8")


if __name__ == "__main__":
    write()
    print(f"demo district written to {OUT_DIR}")
