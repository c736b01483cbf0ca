"""Spatial queries on the district: which grid/community a point is in, and the nearest unit."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import shapely

from geo.layers import DistrictLayers
from geo.network import StreetNetwork
from geo.projection import Projector


@dataclass(frozen=True)
class Location:
    """Where a point falls: its grid cell and community (None outside the district's layers)."""

    grid_id: str | None
    community_id: str | None


@dataclass(frozen=True)
class Candidate:
    """A unit that could take a job, with its last known position."""

    unit_id: str
    lon: float
    lat: float


class AreaIndex:
    """Point-in-polygon lookup over one polygon layer, with an STRtree spatial index."""

    def __init__(self, ids: list[str], geometries):
        self.ids = ids
        self.tree = shapely.STRtree(list(geometries))

    def lookup(self, lon: float, lat: float) -> str | None:
        """Id of the polygon containing the point (lowest index wins on a shared edge)."""
        hits = self.tree.query(shapely.Point(lon, lat), predicate="intersects")
        return self.ids[int(min(hits))] if len(hits) else None


class DistrictIndex:
    """The district's spatial index: grids, communities, and nearest-unit search."""

    def __init__(self, layers: DistrictLayers, metric_crs: str):
        self.projector = Projector(metric_crs)
        self.grids = self._area(layers, "grids")
        self.communities = self._area(layers, "communities")
        streets = layers.get("streets")
        self.streets = None
        if streets is not None and len(streets):
            self.streets = StreetNetwork(list(streets.geometry), self.projector)
        grid_frame = layers.get("grids")
        self._grid_community: dict[str, str] = {}
        if grid_frame is not None and "community" in grid_frame.columns:
            self._grid_community = dict(
                zip(grid_frame["id"], grid_frame["community"].astype(str), strict=True)
            )

    @staticmethod
    def _area(layers: DistrictLayers, kind: str) -> AreaIndex | None:
        frame = layers.get(kind)
        return AreaIndex(list(frame["id"]), frame.geometry) if frame is not None else None

    def locate(self, lon: float, lat: float) -> Location:
        """Grid and community of a point; a grid's own community attribute wins when present."""
        grid = self.grids.lookup(lon, lat) if self.grids else None
        community = self._grid_community.get(grid) if grid else None
        if community is None and self.communities:
            community = self.communities.lookup(lon, lat)
        return Location(grid, community)

    def nearest(
        self, lon: float, lat: float, candidates: Iterable[Candidate]
    ) -> tuple[Candidate, float] | None:
        """The candidate closest to the point in straight-line metres, with that distance."""
        pool = list(candidates)
        if not pool:
            return None
        xs, ys = self.projector.to_metric([c.lon for c in pool], [c.lat for c in pool])
        px, py = self.projector.to_metric(lon, lat)
        distances = np.hypot(np.asarray(xs) - px, np.asarray(ys) - py)
        best = int(np.argmin(distances))
        return pool[best], float(distances[best])
