"""Routing: the config matrix picks the department, GPS picks the nearest available unit."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from config.schema import ANY_AREA, AppConfig
from geo.index import Candidate, DistrictIndex, Location


@dataclass(frozen=True)
class Route:
    """Who is responsible for a problem: a department and the unit type it sends."""

    department_id: str
    unit_type: str


@dataclass(frozen=True)
class Fix:
    """A unit's last position."""

    lon: float
    lat: float
    fix_time: float


class Router:
    """Applies the routing matrix and the nearest-available-unit rule."""

    def __init__(self, cfg: AppConfig, index: DistrictIndex):
        self.cfg = cfg
        self.index = index
        self._matrix = {(r.category, r.area): Route(r.department, r.unit_type) for r in cfg.routing}

    def route(self, category: str, location: Location) -> Route:
        """Most specific matrix cell wins: grid, then community, then '*'."""
        for area in (location.grid_id, location.community_id, ANY_AREA):
            route = self._matrix.get((category, area)) if area else None
            if route:
                return route
        raise KeyError(f"category {category!r} has no routing entry; add one with area '*'")

    def pick_unit(
        self,
        route: Route,
        lon: float,
        lat: float,
        fixes: Mapping[str, Fix],
        workloads: Mapping[str, int],
        now: float,
    ) -> tuple[str, float] | None:
        """Nearest unit of the route's department and type that is fresh and under its cap:
        by travel along the streets when the district has them, else in a straight line."""
        cap = self.cfg.unit_type(route.unit_type).workload_cap
        stale_before = now - self.cfg.services.position_stale_s
        candidates = [
            Candidate(unit.id, fixes[unit.id].lon, fixes[unit.id].lat)
            for unit in self.cfg.units
            if unit.department == route.department_id
            and unit.type == route.unit_type
            and unit.id in fixes
            and fixes[unit.id].fix_time >= stale_before
            and workloads.get(unit.id, 0) < cap
        ]
        if not candidates:
            return None
        streets = self.index.streets if self.cfg.dispatch.distance == "street" else None
        if streets is not None:
            travel = streets.distances((lon, lat), [(c.lon, c.lat) for c in candidates])
            best = min(range(len(candidates)), key=lambda i: (travel[i], candidates[i].unit_id))
            if math.isfinite(travel[best]):
                return candidates[best].unit_id, travel[best]
        found = self.index.nearest(lon, lat, candidates)
        return (found[0].unit_id, found[1]) if found else None
