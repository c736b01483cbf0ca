"""Emergency analysis: for a site (a point or an area) and an incident type, who and what is
near, where people can go, who can get there first, what sees it and which streets to close.

Pure functions over an `EmergencyMap` (the district's layers indexed once, in metres):
- rings (per incident type, default 100/300/500 m): buildings, residents and sensitive places
  (schools, kindergartens, elderly homes, hospitals) in each band, nearest first;
- shelters with room left and the walking route along streets, distance and minutes;
- field units ranked by travel time along the street network;
- cameras whose field of view covers the site;
- streets crossing the inner ring, to close, each with the detour around the ring;
- grids affected, with their responsible person.
Every answer is a frozen dataclass; bad input raises EmergencyError naming the fix.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry
from shapely.ops import nearest_points

from config.emergency import EmergencyConfig
from geo.layers import DistrictLayers
from geo.network import StreetNetwork
from geo.projection import Projector

SENSITIVE = ("school", "kindergarten", "elderly_home", "hospital")


class EmergencyError(ValueError):
    """An analysis that cannot be made as asked; the message names the fix."""


@dataclass(frozen=True)
class Place:
    """A sensitive place near the site."""

    id: str
    name: str
    kind: str
    distance_m: float


@dataclass(frozen=True)
class Ring:
    """What lies from `inner_m` to `radius_m` around the site."""

    inner_m: float
    radius_m: float
    buildings: int
    residents: int
    places: tuple[Place, ...]


@dataclass(frozen=True)
class ShelterOption:
    """A shelter with room, and the walk there along streets."""

    id: str
    name: str
    capacity: int
    remaining: int
    distance_m: float
    minutes: float
    route: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class UnitOption:
    """A field unit and how long it needs to the site along streets."""

    id: str
    distance_m: float
    minutes: float


@dataclass(frozen=True)
class CameraView:
    """A camera whose field of view covers the site."""

    id: str
    distance_m: float


@dataclass(frozen=True)
class Closure:
    """A street crossing the inner ring: close it; the detour goes around the ring."""

    name: str
    length_m: float
    detour_m: float | None
    route: tuple[tuple[float, float], ...]
    closed: tuple[tuple[tuple[float, float], ...], ...] = ()  # the closed stretches, [lon, lat]


@dataclass(frozen=True)
class GridContact:
    """A grid the rings reach, and who answers for it."""

    id: str
    name: str
    responsible: str
    phone: str


@dataclass(frozen=True)
class Analysis:
    """The whole analysis of one site."""

    type_id: str
    lon: float
    lat: float
    rings: tuple[Ring, ...]
    shelters: tuple[ShelterOption, ...]
    units: tuple[UnitOption, ...]
    cameras: tuple[CameraView, ...]
    closures: tuple[Closure, ...]
    grids: tuple[GridContact, ...]

    @property
    def residents(self) -> int:
        """Residents inside the outer ring."""
        return sum(ring.residents for ring in self.rings)


def _text(row, column: str, default: str = "") -> str:
    value = row.get(column) if hasattr(row, "get") else None
    return (
        default if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)
    )


def _number(frame, column: str, default: float = 0.0) -> np.ndarray:
    if frame is None or column not in frame:
        return np.full(0 if frame is None else len(frame), default)
    return frame[column].fillna(default).to_numpy(dtype=float)


class EmergencyMap:
    """The district's layers for emergency analysis, in metres, indexed once."""

    def __init__(self, layers: DistrictLayers, metric_crs: str):
        self.projector = Projector(metric_crs)

        def metric(kind: str):
            frame = layers.get(kind)
            return None if frame is None or frame.empty else frame.to_crs(metric_crs)

        self.buildings, self.pois = metric("buildings"), metric("pois")
        self.shelters, self.grids = metric("shelters"), metric("grids")
        self.streets = metric("streets")
        area = metric("boundary")
        area = area if area is not None else self.grids
        self.area = None if area is None else area.union_all().buffer(1.0)
        self.building_tree = None if self.buildings is None else shapely.STRtree(
            self.buildings.geometry.to_numpy()
        )  # fmt: skip
        self.residents = _number(self.buildings, "residents")
        streets = layers.get("streets")
        self.network = None
        if streets is not None and not streets.empty:
            self.network = StreetNetwork(list(streets.geometry), self.projector)
        self.sensitive = self._sensitive()

    def _sensitive(self) -> list[tuple[str, str, str, BaseGeometry]]:
        """(id, name, kind, geometry) of schools, kindergartens, elderly homes, hospitals: the
        points of interest and buildings used as such."""
        found = []
        for frame, column in ((self.pois, "kind"), (self.buildings, "use")):
            if frame is None or column not in frame:
                continue
            for row in frame[frame[column].isin(SENSITIVE)].itertuples():
                name = getattr(row, "name", None) or row.id
                found.append((str(row.id), str(name), getattr(row, column), row.geometry))
        return found

    def ring_outline(self, lon: float, lat: float, radius: float) -> list[tuple[float, float]]:
        """A circle of `radius` metres around [lon, lat] as a closed ring of [lon, lat] points
        (what maps, exports and walls draw a ring with)."""
        x, y = self.projector.to_metric(lon, lat)
        angles = np.linspace(0, 2 * math.pi, 73)
        lons, lats = self.projector.to_lon_lat(
            x + radius * np.sin(angles), y + radius * np.cos(angles)
        )
        ring = [(round(float(a), 7), round(float(b), 7)) for a, b in zip(lons, lats, strict=True)]
        ring[-1] = ring[0]
        return ring

    def buildings_near(self, lon: float, lat: float, radius: float) -> np.ndarray:
        """Row positions of the buildings within `radius` metres of [lon, lat] (for drawing)."""
        if self.building_tree is None:
            return np.zeros(0, dtype=int)
        centre = Point(*self.projector.to_metric(lon, lat))
        return np.sort(self.building_tree.query(centre, predicate="dwithin", distance=radius))

    def site(self, geometry: BaseGeometry) -> BaseGeometry:
        """The site in metres; EmergencyError unless it is a valid point or area in the district."""
        if not isinstance(geometry, BaseGeometry) or geometry.is_empty:
            raise EmergencyError("the site is empty; give a point [lon, lat] or a polygon")
        if geometry.geom_type not in ("Point", "Polygon", "MultiPolygon"):
            raise EmergencyError(f"a site is a point or an area, not a {geometry.geom_type}")
        west, south, east, north = geometry.bounds
        lon, lat = geometry.centroid.x, geometry.centroid.y
        if not (-180 <= west <= east <= 180 and -90 <= south <= north <= 90):
            raise EmergencyError(f"[{lon}, {lat}] is not a WGS-84 [longitude, latitude]")
        if not geometry.is_valid:
            reason = shapely.is_valid_reason(geometry)
            raise EmergencyError(f"the site's outline is not a valid area ({reason}); redraw it")
        metric = shapely.transform(
            geometry, lambda xy: np.column_stack(self.projector.to_metric(xy[:, 0], xy[:, 1]))
        )
        if self.area is not None and not self.area.intersects(metric):
            raise EmergencyError(
                f"the site [{lon:.6f}, {lat:.6f}] lies outside the district; pick a place on "
                "the district's map"
            )
        return metric


def _rings(emap: EmergencyMap, site: BaseGeometry, radii: list[float]) -> tuple[Ring, ...]:
    edges = [0.0, *radii]
    counts = np.zeros(len(radii), dtype=int)
    residents = np.zeros(len(radii))
    if emap.building_tree is not None:
        near = emap.building_tree.query(site, predicate="dwithin", distance=radii[-1])
        geometries = emap.buildings.geometry.to_numpy()[near]
        band = np.searchsorted(radii, shapely.distance(site, geometries), side="left")
        np.add.at(counts, band, 1)
        np.add.at(residents, band, emap.residents[near])
    places: list[list[Place]] = [[] for _ in radii]
    for pid, name, kind, geometry in emap.sensitive:
        distance = float(site.distance(geometry))
        if distance <= radii[-1]:
            band = int(np.searchsorted(radii, distance, side="left"))
            places[band].append(Place(pid, name, kind, round(distance, 1)))
    return tuple(
        Ring(edges[i], radii[i], int(counts[i]), int(round(residents[i])),
             tuple(sorted(places[i], key=lambda p: (p.distance_m, p.id))))
        for i in range(len(radii))
    )  # fmt: skip


def _lon_lat(emap: EmergencyMap, point: Point) -> tuple[float, float]:
    lon, lat = emap.projector.to_lon_lat(point.x, point.y)
    return float(lon), float(lat)


def _shelters(emap, cfg, site, inner: float, occupied: dict, night: bool):
    if emap.shelters is None:
        return ()
    column = "capacity_night" if night and "capacity_night" in emap.shelters else "capacity"
    if column not in emap.shelters and "capacity_day" in emap.shelters:
        column = "capacity_day"
    open_rows = []
    for row, capacity in zip(
        emap.shelters.itertuples(), _number(emap.shelters, column), strict=True
    ):
        point = row.geometry.representative_point()
        remaining = int(capacity) - int(occupied.get(str(row.id), 0))
        if remaining > 0 and site.distance(point) > inner:  # not full, not where people leave
            open_rows.append((row, int(capacity), remaining, point))
    origin = _lon_lat(emap, site.centroid)
    targets = [_lon_lat(emap, point) for *_, point in open_rows]
    ways = emap.network.routes(origin, targets) if emap.network is not None and targets else []
    found = []
    for index, (row, capacity, remaining, point) in enumerate(open_rows):
        metres, route = ways[index] if ways else (math.inf, [])
        if not math.isfinite(metres):
            metres = float(site.distance(point))  # no street leads there: as the crow flies
        name = getattr(row, "name", None) or row.id
        minutes = round(metres / cfg.walk_mps / 60, 1)
        found.append(ShelterOption(str(row.id), str(name), capacity, remaining,
                                   round(metres, 1), minutes, tuple(route)))  # fmt: skip
    return tuple(sorted(found, key=lambda s: (s.distance_m, s.id)))


def _units(emap, cfg, site, units: list[tuple[str, float, float]]) -> tuple[UnitOption, ...]:
    if not units:
        return ()
    origin = _lon_lat(emap, site.centroid)
    if emap.network is not None:
        metres = emap.network.distances(origin, [(lon, lat) for _, lon, lat in units])
    else:
        metres = [emap.projector.distance_m(origin, (lon, lat)) for _, lon, lat in units]
    found = [
        UnitOption(uid, round(m, 1), round(m / cfg.unit_mps / 60, 1))
        for (uid, _, _), m in zip(units, metres, strict=True)
        if math.isfinite(m)
    ]
    return tuple(sorted(found, key=lambda u: (u.distance_m, u.id)))


def _cameras(emap, cfg, site, cameras) -> tuple[CameraView, ...]:
    """Cameras within reach whose view direction holds the nearest point of the site."""
    found = []
    for camera in cameras:
        x, y = emap.projector.to_metric(*camera.position)
        here = Point(x, y)
        target = nearest_points(site, here)[0] if site.geom_type != "Point" else site
        distance = here.distance(target)
        if distance > cfg.camera_view_m:
            continue
        bearing = math.degrees(math.atan2(target.x - x, target.y - y)) % 360
        off = abs((bearing - camera.direction_deg + 180) % 360 - 180)
        if distance < 1 or off <= cfg.camera_view_deg / 2:
            found.append(CameraView(camera.id, round(distance, 1)))
    return tuple(sorted(found, key=lambda c: (c.distance_m, c.id)))


def _closures(emap: EmergencyMap, site: BaseGeometry, inner: float) -> tuple[Closure, ...]:
    if emap.streets is None:
        return ()
    zone = site.buffer(inner)
    crossing = emap.streets[emap.streets.intersects(zone)]
    found = []
    for name, group in crossing.groupby(crossing["name"].fillna("").astype(str), sort=True):
        lines = group.geometry.union_all()
        exits = [p for p in _points(lines.intersection(zone.boundary))]
        detour, route = None, ()
        if len(exits) >= 2 and emap.network is not None:
            a, b = max(
                ((p, q) for i, p in enumerate(exits) for q in exits[i + 1 :]),
                key=lambda pair: pair[0].distance(pair[1]),
            )
            metres, line = emap.network.around(a, b, zone)
            if math.isfinite(metres):
                detour, route = round(metres, 1), tuple(line)
        stretch = lines.intersection(zone)
        closed = tuple(
            tuple(zip(*emap.projector.to_lon_lat(*np.asarray(part.coords).T), strict=True))
            for part in getattr(stretch, "geoms", [stretch])
            if part.geom_type == "LineString" and not part.is_empty
        )
        found.append(Closure(name or "—", round(stretch.length, 1), detour, route, closed))
    return tuple(found)


def _points(geometry: BaseGeometry) -> list[Point]:
    if geometry.is_empty:
        return []
    parts = getattr(geometry, "geoms", [geometry])
    return [p for part in parts for p in ([part] if part.geom_type == "Point" else [])]


def _grids(emap: EmergencyMap, site: BaseGeometry, outer: float) -> tuple[GridContact, ...]:
    if emap.grids is None:
        return ()
    reached = emap.grids[emap.grids.intersects(site.buffer(outer))]
    return tuple(
        GridContact(
            str(row["id"]),
            _text(row, "name", str(row["id"])),
            _text(row, "responsible"),
            _text(row, "phone"),
        )
        for _, row in reached.sort_values("id").iterrows()
    )


def analyse(
    emap: EmergencyMap,
    cfg: EmergencyConfig,
    type_id: str,
    site: BaseGeometry,
    units: list[tuple[str, float, float]] = (),
    cameras=(),
    occupied: dict[str, int] | None = None,
    night: bool = False,
) -> Analysis:
    """The analysis of an incident of `type_id` at `site` (WGS-84 point or polygon), with the
    field units' last positions (id, lon, lat), the cameras (config), and shelters' occupancy."""
    kind = cfg.type(type_id)
    if kind is None:
        known = ", ".join(t.id for t in cfg.types)
        raise EmergencyError(f"unknown incident type {type_id!r}; use one of {known}")
    metric = emap.site(site)
    radii = list(kind.rings_m)
    lon, lat = _lon_lat(emap, metric.centroid)
    return Analysis(
        type_id,
        round(lon, 7),
        round(lat, 7),
        _rings(emap, metric, radii),
        _shelters(emap, cfg, metric, radii[0], occupied or {}, night),
        _units(emap, cfg, metric, list(units)),
        _cameras(emap, cfg, metric, cameras),
        _closures(emap, metric, radii[0]),
        _grids(emap, metric, radii[-1]),
    )
