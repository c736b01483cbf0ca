"""Checks across config sections (each a small named function); errors name the key path."""

from __future__ import annotations

import difflib

from config.schema import AppConfig
from config.types import ANY_AREA


class CrossFieldError(ValueError):
    """A reference between sections is broken; `loc` is the key path it was found at."""

    def __init__(self, loc: tuple, message: str):
        super().__init__(message)
        self.loc = loc


def _ids(items) -> set[str]:
    return {item.id for item in items}


def _suggest(value: str, known: set[str]) -> str:
    close = difflib.get_close_matches(value, sorted(known), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"known: {', '.join(sorted(known)) or 'none'}{hint}"


def check_unique_ids(cfg: AppConfig) -> None:
    """No two items of a section share an id (cameras, zones in a camera, units, ...)."""
    for section in ("categories", "rules", "cameras", "unit_types", "departments", "units"):
        seen: set[str] = set()
        for index, item in enumerate(getattr(cfg, section)):
            if item.id in seen:
                raise CrossFieldError((section, index, "id"), f"duplicate id {item.id!r}")
            seen.add(item.id)
    for c_index, camera in enumerate(cfg.cameras):
        seen = set()
        for z_index, zone in enumerate(camera.zones):
            if zone.id in seen:
                raise CrossFieldError(
                    ("cameras", c_index, "zones", z_index, "id"),
                    f"camera {camera.id!r} has two zones named {zone.id!r}",
                )
            seen.add(zone.id)


def check_zones_inside_frame(cfg: AppConfig) -> None:
    """Every zone vertex lies inside its camera's frame."""
    for c_index, camera in enumerate(cfg.cameras):
        width, height = camera.frame_size
        for z_index, zone in enumerate(camera.zones):
            for v_index, (x, y) in enumerate(zone.polygon):
                if not (0 <= x <= width and 0 <= y <= height):
                    raise CrossFieldError(
                        ("cameras", c_index, "zones", z_index, "polygon", v_index),
                        f"camera {camera.id!r} zone {zone.id!r}: vertex [{x}, {y}] lies outside "
                        f"the {width}x{height} frame; draw the zone inside the image",
                    )


def check_rule_categories(cfg: AppConfig) -> None:
    """Every rule raises events of a known category."""
    categories = _ids(cfg.categories)
    for index, rule in enumerate(cfg.rules):
        if rule.category not in categories:
            raise CrossFieldError(
                ("rules", index, "category"),
                f"rule {rule.id!r} names unknown category {rule.category!r} "
                f"({_suggest(rule.category, categories)})",
            )


def check_zone_rules(cfg: AppConfig) -> None:
    """Every camera zone runs a rule that exists."""
    rules = _ids(cfg.rules)
    for c_index, camera in enumerate(cfg.cameras):
        for z_index, zone in enumerate(camera.zones):
            if zone.rule not in rules:
                raise CrossFieldError(
                    ("cameras", c_index, "zones", z_index, "rule"),
                    f"camera {camera.id!r} zone {zone.id!r} names unknown rule {zone.rule!r} "
                    f"({_suggest(zone.rule, rules)})",
                )


def check_units(cfg: AppConfig) -> None:
    """Every unit has a known type and department."""
    types, departments = _ids(cfg.unit_types), _ids(cfg.departments)
    for index, unit in enumerate(cfg.units):
        if unit.type not in types:
            raise CrossFieldError(
                ("units", index, "type"),
                f"unit {unit.id!r} has unknown type {unit.type!r} ({_suggest(unit.type, types)})",
            )
        if unit.department not in departments:
            raise CrossFieldError(
                ("units", index, "department"),
                f"unit {unit.id!r} has unknown department {unit.department!r} "
                f"({_suggest(unit.department, departments)})",
            )


def check_supervisors(cfg: AppConfig) -> None:
    """A department's supervisor is a configured unit; GPS device ids are unique."""
    units = _ids(cfg.units)
    for index, department in enumerate(cfg.departments):
        if department.supervisor and department.supervisor not in units:
            raise CrossFieldError(
                ("departments", index, "supervisor"),
                f"department {department.id!r} names unknown supervisor unit "
                f"{department.supervisor!r} ({_suggest(department.supervisor, units)})",
            )
    devices: dict[str, str] = {}
    for index, unit in enumerate(cfg.units):
        device = unit.device_id or unit.id
        if device in devices:
            raise CrossFieldError(
                ("units", index, "device_id"),
                f"unit {unit.id!r} uses GPS device id {device!r}, already used by unit "
                f"{devices[device]!r}; give each unit its own device id",
            )
        devices[device] = unit.id


def check_routing(cfg: AppConfig) -> None:
    """Every routing cell names known things, and every category can be routed somewhere."""
    known = {
        "category": _ids(cfg.categories),
        "department": _ids(cfg.departments),
        "unit_type": _ids(cfg.unit_types),
    }
    for index, route in enumerate(cfg.routing):
        for key, ids in known.items():
            value = getattr(route, key)
            if value not in ids:
                raise CrossFieldError(
                    ("routing", index, key),
                    f"routing entry {index} names unknown {key} {value!r} ({_suggest(value, ids)})",
                )
    routed = {route.category for route in cfg.routing if route.area == ANY_AREA}
    for index, category in enumerate(cfg.categories):
        if category.id not in routed:
            raise CrossFieldError(
                ("categories", index, "id"),
                f"category {category.id!r} has no catch-all routing entry (area '*'); add one so "
                "every event has a department",
            )


def check_deadlines(cfg: AppConfig) -> None:
    """Deadlines refer to known categories."""
    categories = _ids(cfg.categories)
    for index, deadline in enumerate(cfg.deadlines):
        if deadline.category not in categories:
            raise CrossFieldError(
                ("deadlines", index, "category"),
                f"deadline names unknown category {deadline.category!r} "
                f"({_suggest(deadline.category, categories)})",
            )


CROSS_CHECKS = (
    check_unique_ids,
    check_zones_inside_frame,
    check_rule_categories,
    check_zone_rules,
    check_units,
    check_supervisors,
    check_routing,
    check_deadlines,
)


def check_references(cfg: AppConfig, area_ids: set[str] | None = None) -> None:
    """Run every cross-section check; raise CrossFieldError at the first broken reference."""
    for check in CROSS_CHECKS:
        check(cfg)
    if area_ids is not None:
        for index, route in enumerate(cfg.routing):
            if route.area != ANY_AREA and route.area not in area_ids:
                raise CrossFieldError(
                    ("routing", index, "area"),
                    f"routing entry {index} names unknown area {route.area!r} "
                    f"({_suggest(route.area, area_ids)})",
                )
