"""Replays a scenario into the bus: unit GPS along the streets and events at their times."""

from __future__ import annotations

import bisect
import itertools
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from config.schema import AppConfig
from geo.layers import DistrictLayers
from geo.projection import Projector
from sim.scenario import Scenario, ScenarioEvent
from streams.bus import BUS_DOWN, Bus
from streams.outage import Outage
from streams.records import CameraHealth, Event, UnitPosition

if TYPE_CHECKING:
    from sim.crews import Crews

log = logging.getLogger(__name__)


class LoopPath:
    """A closed polyline in lon/lat, walked at constant speed; distances in metres."""

    def __init__(self, points: list[tuple[float, float]], projector: Projector):
        if points[0] != points[-1]:
            points = points + [points[0]]
        self.points = np.asarray(points, dtype=float)
        xs, ys = projector.to_metric(self.points[:, 0], self.points[:, 1])
        steps = np.hypot(np.diff(xs), np.diff(ys))
        self.cumulative = np.concatenate([[0.0], np.cumsum(steps)])
        self.length = float(self.cumulative[-1])

    def at(self, distance_m: float) -> tuple[float, float]:
        """[lon, lat] after walking distance_m from the start (wrapping around the loop)."""
        if self.length == 0:
            return tuple(self.points[0])
        d = distance_m % self.length
        i = min(bisect.bisect_right(self.cumulative, d) - 1, len(self.points) - 2)
        span = self.cumulative[i + 1] - self.cumulative[i]
        f = (d - self.cumulative[i]) / span if span else 0.0
        lon, lat = self.points[i] + f * (self.points[i + 1] - self.points[i])
        return float(lon), float(lat)


def street_graph(layers: DistrictLayers) -> dict[tuple, set[tuple]]:
    """Adjacency of street vertices (rounded lon/lat) from the streets layer."""
    graph: dict[tuple, set[tuple]] = {}
    frame = layers.get("streets")
    if frame is None:
        return graph
    for line in frame.geometry:
        parts = getattr(line, "geoms", [line])
        for part in parts:
            nodes = [(round(x, 6), round(y, 6)) for x, y in part.coords]
            for a, b in itertools.pairwise(nodes):
                graph.setdefault(a, set()).add(b)
                graph.setdefault(b, set()).add(a)
    return graph


def patrol_route(
    graph: dict, start: tuple[float, float], rng: random.Random, hops: int = 40
) -> list[tuple[float, float]]:
    """A random walk along streets from the node nearest `start`, never turning straight back."""
    nodes = list(graph)
    here = min(nodes, key=lambda n: (n[0] - start[0]) ** 2 + (n[1] - start[1]) ** 2)
    route, previous = [here], None
    for _ in range(hops):
        options = sorted(graph[here] - {previous}) or sorted(graph[here])
        previous, here = here, rng.choice(options)
        route.append(here)
    return route + route[-2::-1]  # walk back the same way: the loop stays on streets


@dataclass(frozen=True)
class _Step:
    """What one pass of the timeline did."""

    sent: int
    loops: int
    played_to: float
    wait: bool
    done: bool


class ScenarioPlayer:
    """Publishes a scenario's positions and events; time is scenario seconds x speed."""

    def __init__(
        self,
        cfg: AppConfig,
        scenario: Scenario,
        layers: DistrictLayers,
        bus: Bus,
        speed: float = 1.0,
        loop: bool = True,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], object] | None = None,
        crews: Crews | None = None,
        live_cameras: frozenset[str] = frozenset(),
    ):
        self.cfg, self.scenario, self.bus = cfg, scenario, bus
        self.live_cameras = live_cameras  # watched by vision workers: no simulated findings/health
        self.crews = crews
        self.speed, self.loop, self.clock, self.sleep = speed, loop, clock, sleep
        self.paths, self.speeds = self._unit_paths(layers)
        self._events = sorted(
            (e for e in scenario.events if e.camera not in live_cameras), key=lambda e: e.at_s
        )
        self._zones = {(c.id, z.id): (c, z) for c in cfg.cameras for z in c.zones}

    def _unit_paths(self, layers: DistrictLayers) -> tuple[dict[str, LoopPath], dict[str, float]]:
        projector = Projector(self.cfg.district.crs)
        graph = street_graph(layers)
        rng = random.Random(self.scenario.seed)
        paths, speeds = {}, {}
        for track in self.scenario.tracks:
            paths[track.unit] = LoopPath(list(track.waypoints), projector)
            speeds[track.unit] = track.speed_mps
        for unit in self.cfg.units:
            speed = self.scenario.patrol.get(unit.type)
            if unit.id in paths or speed is None or not graph:
                continue
            paths[unit.id] = LoopPath(patrol_route(graph, unit.home, rng), projector)
            speeds[unit.id] = speed
        return paths, speeds

    def positions(self, scenario_t: float, wall_t: float) -> list[UnitPosition]:
        """Every moving unit's fix at scenario time t, stamped with wall time."""
        fixes = []
        for unit_id, path in self.paths.items():
            lon, lat = path.at(self.speeds[unit_id] * scenario_t)
            if self.crews is not None:
                lon, lat = self.crews.position(unit_id, (lon, lat))
            fixes.append(
                UnitPosition(
                    unit_id=unit_id,
                    lon=lon,
                    lat=lat,
                    fix_time=wall_t,
                    speed_mps=self.speeds[unit_id],
                    accuracy_m=5,
                )
            )
        return fixes

    def camera_health(self, scenario_t: float, wall_t: float) -> list[CameraHealth]:
        """Each simulated camera's state at scenario time t (offline during its outages)."""
        if not self.scenario.cameras_online:
            return []
        down = {o.camera for o in self.scenario.outages if o.from_s <= scenario_t < o.to_s}
        return [
            CameraHealth(
                camera_id=c.id,
                online=c.id not in down,
                checked_at=wall_t,
                fps=None if c.id in down else c.analysis_fps,
                detail="simulated outage" if c.id in down else "simulated",
            )
            for c in self.cfg.cameras
            if c.id not in self.live_cameras
        ]

    def due(self, start_t: float, end_t: float) -> list[ScenarioEvent]:
        """Timeline events with start_t <= at_s < end_t."""
        return [e for e in self._events if start_t <= e.at_s < end_t]

    def to_event(self, item: ScenarioEvent, wall_t: float) -> Event:
        """The bus record for a timeline entry (a fresh event id every time it plays)."""
        if item.camera is not None:
            camera, zone = self._zones[(item.camera, item.zone)]
            return Event(
                category=item.category,
                source=item.source or "camera",
                lon=zone.map_anchor[0],
                lat=zone.map_anchor[1],
                detected_at=wall_t,
                camera_id=camera.id,
                zone_id=zone.id,
                rule_id=zone.rule,
                confidence=0.9,
                description=item.description,
            )
        lon, lat = item.position
        return Event(
            category=item.category,
            source=item.source or "scenario",
            lon=lon,
            lat=lat,
            detected_at=wall_t,
            description=item.description,
        )

    def run(self, stop: threading.Event | None = None, max_loops: int | None = None) -> int:
        """Play until stopped (or after max_loops passes); return the number of events sent."""
        stop = stop or threading.Event()
        duration, interval = self.scenario.duration_s, self.scenario.position_interval_s
        sent, loops, played_to = 0, 0, 0.0
        start = self.clock()
        log.info(
            "scenario started: %d units moving, %d events per %.0f s, speed x%g",
            len(self.paths),
            len(self._events),
            duration,
            self.speed,
        )
        outage = Outage(log, "Redis for the scenario player")
        while not stop.is_set():
            scenario_t = (self.clock() - start) * self.speed - loops * duration
            try:
                step = self._step(scenario_t, played_to, duration, loops, max_loops)
                outage.ok()
            except BUS_DOWN as exc:  # the events not sent are sent once it is back
                outage.failed(exc)
                stop.wait(1.0)
                continue
            sent, loops, played_to = sent + step.sent, step.loops, step.played_to
            if step.done:
                break
            if step.wait:
                (self.sleep or stop.wait)(max(0.05, interval / self.speed))
        return sent

    def _step(self, scenario_t: float, played_to: float, duration: float, loops: int,
              max_loops: int | None) -> _Step:  # fmt: skip
        """One pass of the timeline (raises BUS_DOWN before anything counts as played)."""
        if scenario_t >= duration:  # the end of a loop: its last events, then the next loop
            sent = self._publish_events(played_to, duration)
            done = (max_loops is not None and loops + 1 >= max_loops) or not self.loop
            return _Step(sent, loops + 1, 0.0, wait=False, done=done)
        sent = self._publish_events(played_to, scenario_t)
        if self.crews is not None:
            self.crews.step(self.clock())
        wall_t = self.clock()
        self.bus.publish_many(
            self.positions(scenario_t, wall_t) + self.camera_health(scenario_t, wall_t)
        )
        return _Step(sent, loops, scenario_t, wait=True, done=False)

    def _publish_events(self, start_t: float, end_t: float) -> int:
        events = [self.to_event(item, self.clock()) for item in self.due(start_t, end_t)]
        if events:
            self.bus.publish_many(events)
        return len(events)
