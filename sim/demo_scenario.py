"""The demo district's ten-minute scenario: reports by people, a camera outage, patrol tracks."""

from __future__ import annotations

from sim.district import path, to_lon_lat

# The demo timeline's reports: (second, category, where and who).
SCENARIO_EVENTS = [
    (
        6,
        "illegal_parking",
        {
            "position": to_lon_lat(1500, 1010),
            "source": "citizen",
            "description": "小区门口车辆堵住消防通道 / car blocking a fire lane",
        },
    ),
    (
        12,
        "bin_overflow",
        {
            "position": to_lon_lat(310, 480),
            "source": "hotline",
            "description": "菜场门口垃圾桶满溢 / bins overflowing at the market",
        },
    ),
    (3, "bin_overflow", {"camera": "cam-02", "zone": "bin-1"}),
    (9, "illegal_parking", {"camera": "cam-01", "zone": "noparking-1"}),
    (15, "dirty_road", {"camera": "cam-03", "zone": "road-1"}),
    (
        24,
        "facility_damage",
        {
            "position": to_lon_lat(1950, 760),
            "source": "hotline",
            "description": "人行道井盖松动 / loose manhole cover",
        },
    ),
    (33, "illegal_parking", {"camera": "cam-06", "zone": "noparking-1"}),
    (45, "bin_overflow", {"camera": "cam-07", "zone": "bin-1"}),
    (58, "dirty_road", {"camera": "cam-05", "zone": "road-1"}),
    (
        75,
        "facility_damage",
        {
            "position": to_lon_lat(420, 1130),
            "source": "hotline",
            "description": "路灯不亮 / street light out",
        },
    ),
    (95, "illegal_parking", {"camera": "cam-04", "zone": "noparking-1"}),
    (120, "bin_overflow", {"camera": "cam-04", "zone": "bin-1"}),
    (
        160,
        "dirty_road",
        {
            "position": to_lon_lat(1320, 300),
            "source": "patrol",
            "description": "施工渣土洒落 / spilled construction debris",
        },
    ),
    (140, "street_vending", {"camera": "cam-09", "zone": "stall-1"}),
    (
        185,
        "bike_parking",
        {
            "position": to_lon_lat(1210, 760),
            "source": "citizen",
            "description": "地铁口共享单车堆满盲道 / shared bikes piled on the tactile path",
        },
    ),
    (210, "illegal_parking", {"camera": "cam-01", "zone": "noparking-1"}),
    (230, "bike_parking", {"camera": "cam-09", "zone": "bikes-1"}),
    (
        260,
        "facility_damage",
        {
            "position": to_lon_lat(2280, 1180),
            "source": "hotline",
            "description": "护栏倒伏 / fallen guard rail",
        },
    ),
    (320, "bin_overflow", {"camera": "cam-02", "zone": "bin-1"}),
    (400, "dirty_road", {"camera": "cam-03", "zone": "road-1"}),
    (480, "illegal_parking", {"camera": "cam-06", "zone": "noparking-1"}),
]


def scenario_dict() -> dict:
    """A ten-minute demo timeline: camera findings (played only when no vision worker watches
    the camera), reports by people, patrolling units."""
    return {
        "duration_s": 600,
        "position_interval_s": 2,
        "patrol": {"sanitation": 1.2, "citymgmt": 4.0, "gridworker": 1.4},
        "seed": 7,
        "events": [{"at_s": at, "category": cat, **where} for at, cat, where in SCENARIO_EVENTS],
        "outages": [{"camera": "cam-05", "from_s": 40, "to_s": 160}],
        "tracks": [
            {
                "unit": "cmg-01",
                "speed_mps": 6.0,
                "waypoints": path(
                    [(600, 0), (600, 500), (1800, 500), (1800, 1500), (600, 1500), (600, 0)],
                    step_m=40,
                ),
            },
        ],
    }
