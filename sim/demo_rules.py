"""The demo district's zone rules and deadlines (written into config/demo/district.yaml by
`python -m sim.demo_config`)."""

from __future__ import annotations

RULES = [
    {
        "id": "no-parking",
        "kind": "illegal_parking",
        "category": "illegal_parking",
        "classes": ["car", "van", "truck"],
        "dwell_s": 120,
        "exit_grace_s": 5,
        "cooldown_s": 900,
        "active_hours": {"start": "07:00", "end": "22:00"},
    },
    {
        "id": "bin-overflow",
        "kind": "bin_overflow",
        "category": "bin_overflow",
        "classes": ["bin_overflow"],
        "dwell_s": 60,
        "cooldown_s": 1800,
    },
    {
        "id": "dirty-road",
        "kind": "dirty_road",
        "category": "dirty_road",
        "classes": ["litter"],
        "dwell_s": 60,
        "threshold": 3,
        "cooldown_s": 1800,
    },
    {
        "id": "street-vending",
        "kind": "street_vending",
        "category": "street_vending",
        "classes": ["stall"],
        "dwell_s": 90,
        "exit_grace_s": 10,
        "cooldown_s": 1800,
        "active_hours": {"start": "07:00", "end": "22:00"},
    },
    {
        "id": "bike-parking",
        "kind": "bike_parking",
        "category": "bike_parking",
        "classes": ["bicycle"],
        "dwell_s": 60,
        "exit_grace_s": 10,
        "threshold": 3,
        "cooldown_s": 1800,
    },
]

DEADLINES = [
    {"category": "illegal_parking", "accept_min": 5, "arrive_min": 15, "resolve_min": 30},
    {"category": "bin_overflow", "accept_min": 10, "arrive_min": 30, "resolve_min": 60},
    {"category": "dirty_road", "accept_min": 10, "arrive_min": 30, "resolve_min": 90},
    {"category": "street_vending", "accept_min": 5, "arrive_min": 20, "resolve_min": 45},
    {"category": "bike_parking", "accept_min": 15, "arrive_min": 45, "resolve_min": 120},
    {
        "category": "facility_damage",
        "accept_min": 30,
        "arrive_min": 120,
        "resolve_min": 480,
    },
]
