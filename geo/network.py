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
from shapely.ops import substring, unary_union

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

    def route(
        self, origin: tuple[float, float], target: tuple[float, float], blocked=None
    ) -> tuple[float, list[tuple[float, float]]]:
        """The shortest way along streets from `origin` to `target` ([lon, lat]): metres and the
        line as [lon, lat] points; (inf, []) when unconnected. Streets crossing the `blocked`
        metric polygon are not used (a closed area)."""
        return self.routes(origin, [target], blocked)[0]

    def routes(
        self, origin: tuple[float, float], targets: list[tuple[float, float]], blocked=None
    ) -> list[tuple[float, list[tuple[float, float]]]]:
        """`route` to each target, from one search of the network (two, one per end of the
        street the origin joins)."""
        graph = self.graph
        if blocked is not None:
            closed = [(u, v) for u, v, line in self.edges if line.intersects(blocked)]
            graph = nx.restricted_view(self.graph, [], closed)
        start = self._join(origin, graph)
        if start is None:
            return [(math.inf, [])] * len(targets)
        searches = {a: nx.single_source_dijkstra(graph, a, weight="weight") for a in start[1]}
        found = []
        for target in targets:
            end = self._join(target, graph)
            best: tuple[float, list | None] = (math.inf, None)
            for a, lead in start[1].items():
                lengths, paths = searches[a]
                for b, tail in end[1].items() if end else ():
                    total = start[0] + lead + lengths.get(b, math.inf) + tail + end[0]
                    if total < best[0]:
                        best = (total, paths.get(b))
            if best[1] is None:
                found.append((math.inf, []))
                continue
            xs, ys = zip(*([start[2]] + best[1] + [end[2]]), strict=True)
            lons, lats = self.projector.to_lon_lat(xs, ys)
            found.append((best[0], list(zip(lons, lats, strict=True))))
        return found

    def around(self, a: Point, b: Point, blocked) -> tuple[float, list[tuple[float, float]]]:
        """The way round a closed area between two metric points where streets leave it: out
        along each street to its first crossing outside, then the shortest way along open
        streets. Metres and the line as [lon, lat]; (inf, []) when there is none."""
        graph = nx.restricted_view(
            self.graph, [], [(u, v) for u, v, line in self.edges if line.intersects(blocked)]
        )
        ends = [self._way_out(point, blocked) for point in (a, b)]
        if None in ends:
            return math.inf, []
        (node_a, lead), (node_b, tail) = ends
        try:
            metres, nodes = nx.single_source_dijkstra(graph, node_a, node_b, weight="weight")
        except (nx.NetworkXNoPath, nx.NodeNotFound):
            return math.inf, []
        coords = list(lead.coords) + [tuple(n) for n in nodes] + list(tail.coords)[::-1]
        lons, lats = self.projector.to_lon_lat(*np.asarray(coords).T)
        return lead.length + metres + tail.length, list(zip(lons, lats, strict=True))

    def _way_out(self, point: Point, blocked):
        """The crossing outside `blocked` nearest along the street through `point`, and the
        stretch of street from `point` to it."""
        best = None
        for index in self.tree.query(point.buffer(0.5)):
            u, v, line = self.edges[int(index)]
            along = line.project(point)
            for node, end in ((u, 0.0), (v, line.length)):
                stretch = substring(line, along, end)
                inside = stretch.intersection(blocked).length if stretch.length else 0.0
                if blocked.contains(Point(node)) or inside > 1.0:
                    continue
                if best is None or stretch.length < best[1].length:
                    best = (node, stretch)
        return best

    def _join(self, lon_lat: tuple[float, float], graph):
        """How a point joins `graph`: metres off, {end node: metres along}, its metric point."""
        x, y = self.projector.to_metric(*lon_lat)
        point = Point(x, y)
        order = self.tree.query_nearest(point, all_matches=False, max_distance=None)
        candidates = [int(i) for i in np.atleast_1d(order)]
        if graph is not self.graph:  # the nearest open street
            distances = shapely.distance(np.asarray([e[2] for e in self.edges]), point)
            candidates = [int(i) for i in np.argsort(distances)]
        for index in candidates:
            u, v, line = self.edges[index]
            if graph.has_edge(u, v):
                along = line.project(point)
                return line.distance(point), {u: along, v: line.length - along}, (x, y)
        return None
