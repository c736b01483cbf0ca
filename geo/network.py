"""Street-network distances: how far a unit has to travel along the district's streets.

The streets layer is split at every crossing into a graph (networkx) in the metric CRS. A point
off the network (a unit in a courtyard, a bin on a pavement) joins it at the nearest point of the
nearest street; the distance is that short walk plus the shortest path along streets.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import networkx as nx
import numpy as np
import shapely
from shapely.geometry import LineString, Point
from shapely.ops import unary_union

from geo.projection import Projector


@dataclass(frozen=True)
class Snap:
    """Where a point joins the network: edge, metres along it from its first node, metres off."""

    edge: int
    along: float
    off: float


class StreetNetwork:
    """Shortest travel distances along streets, in metres."""

    def __init__(self, lines_lon_lat, projector: Projector):
        self.projector = projector
        metric = []
        for line in lines_lon_lat:
            for part in getattr(line, "geoms", [line]):
                xs, ys = projector.to_metric(*np.asarray(part.coords).T)
                metric.append(LineString(np.column_stack([xs, ys])))
        noded = unary_union(metric)  # splits the lines at every crossing
        self.edges: list[tuple[tuple, tuple, LineString]] = []
        self.graph = nx.Graph()
        for segment in getattr(noded, "geoms", [noded]):
            u, v = self._node(segment.coords[0]), self._node(segment.coords[-1])
            if u == v:
                continue
            self.edges.append((u, v, segment))
            if not self.graph.has_edge(u, v) or self.graph[u][v]["weight"] > segment.length:
                self.graph.add_edge(u, v, weight=segment.length)
        self.tree = shapely.STRtree([edge[2] for edge in self.edges])

    @staticmethod
    def _node(coord) -> tuple[float, float]:
        return (round(coord[0], 2), round(coord[1], 2))

    def snap(self, lon: float, lat: float) -> Snap:
        """The nearest point of the network to a [lon, lat]."""
        x, y = self.projector.to_metric(lon, lat)
        point = Point(x, y)
        index = int(self.tree.nearest(point))
        line = self.edges[index][2]
        return Snap(index, line.project(point), line.distance(point))

    def distances(
        self, origin: tuple[float, float], targets: list[tuple[float, float]]
    ) -> list[float]:
        """Travel metres from `origin` to each target ([lon, lat] pairs); inf when unconnected."""
        start = self.snap(*origin)
        u0, v0, line0 = self.edges[start.edge]
        ends = {u0: start.along, v0: line0.length - start.along}
        reach = {
            node: nx.single_source_dijkstra_path_length(self.graph, node, weight="weight")
            for node in ends
        }
        result = []
        for lon, lat in targets:
            snap = self.snap(lon, lat)
            u1, v1, line1 = self.edges[snap.edge]
            if snap.edge == start.edge:
                along = abs(snap.along - start.along)
            else:
                legs = {u1: snap.along, v1: line1.length - snap.along}
                along = min(
                    (
                        first + reach[a].get(b, math.inf) + last
                        for a, first in ends.items()
                        for b, last in legs.items()
                    ),
                    default=math.inf,
                )
            result.append(start.off + along + snap.off)
        return result
