"""Drills: a scripted incident played against the real stack, for training and for the tests.

`road-collapse`: the road caves in over the metro line at the district's centre. The incident is
opened and pinned on every wall, the nearest units are summoned and accept and arrive on their
phones (through the ticket lifecycle), the nearest shelter fills, the level is lowered once the
gas main is shut, the incident is closed with a summary and the situation report is written.
Each step waits its drill time divided by `speed`, so a wall can follow it live or a test can
run it in seconds.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from config.schema import AppConfig
from dispatch.desk import Desk
from dispatch.incidents import Incidents
from dispatch.reports.sitrep import write_sitrep
from dispatch.store import Store
from geo.emergency import EmergencyMap, analyse

log = logging.getLogger(__name__)
COORDINATOR = "coordinator:drill"
DRILLS = ("road-collapse",)


@dataclass(frozen=True)
class DrillResult:
    """What a drill left behind: its incident and the situation report."""

    incident_id: str
    sitrep: Path
    steps: int


class Drill:
    """Plays one drill; `stop` ends it early (what was done stays on the timeline)."""

    def __init__(self, cfg: AppConfig, store: Store, layers, bus=None, say: Callable = log.info):
        self.cfg, self.store, self.say, self.layers = cfg, store, say, layers
        self.emap = EmergencyMap(layers, cfg.district.crs)
        self.incidents = Incidents(cfg, store, self.emap, bus)
        self.desk = Desk(cfg, store, bus, None)
        self.stop = threading.Event()

    def _over_the_metro(self) -> tuple[float, float]:
        """The metro station nearest the district's centre (the centre without a metro layer)."""
        centre = self.cfg.district.center
        metro = self.layers.get("metro")
        if metro is None or "kind" not in metro:
            return centre
        stations = metro[metro["kind"] == "station"].geometry
        if stations.empty:
            return centre
        nearest = min(stations, key=lambda p: (p.x - centre[0]) ** 2 + (p.y - centre[1]) ** 2)
        return round(nearest.x, 7), round(nearest.y, 7)

    def _wait(self, seconds: float, speed: float) -> None:
        if self.stop.wait(seconds / speed):
            raise InterruptedError("the drill was stopped")

    def road_collapse(self, out: Path, speed: float = 1.0) -> DrillResult:
        """The road-collapse drill; the situation report goes to `out`."""
        now = lambda: dt.datetime.now(dt.UTC)  # noqa: E731 (the drill runs in real time)
        lon, lat = self._over_the_metro()
        site = {"type": "Point", "coordinates": [lon, lat]}
        incident = self.incidents.open("road_collapse", 2, site, "地铁上方路面塌陷（演练）",
                                       COORDINATOR, now())  # fmt: skip
        self.say(f"incident {incident.id} opened at {lon:.6f}, {lat:.6f}")
        self.incidents.pin(incident.id, True, COORDINATOR, now())
        analysis = analyse(self.emap, self.cfg.emergency, "road_collapse", _point(site))
        self._wait(5, speed)
        units = [u.id for u in self.cfg.units if u.type != "supervisor"][:3]
        tasks = [self.incidents.summon(incident.id, unit, COORDINATOR, now(), "封闭现场、疏导交通")
                 for unit in units]  # fmt: skip
        self.say(f"summoned {', '.join(units)}")
        self._wait(10, speed)
        for task in tasks:
            self.desk.accept(task.id, task.unit_id, "收到")
        shelter = analysis.shelters[0].id if analysis.shelters else None
        for occupied in (60, 180, 320):
            self._wait(10, speed)
            if shelter:
                self.incidents.shelter(incident.id, shelter, COORDINATOR, now(), occupied=occupied)
        for task in tasks:
            self.desk.arrive(task.id, task.unit_id, "已到场")
        self.say("units on site; shelter filling")
        self._wait(10, speed)
        self.incidents.set_level(incident.id, 3, COORDINATOR, now(), "燃气管线已关闭")
        self._wait(10, speed)
        self.incidents.close(
            incident.id, "塌陷区已回填，道路恢复通行，居民已返回。", COORDINATOR, now()
        )
        ended = self.incidents.get(incident.id)
        steps = self.incidents.timeline(incident.id)
        used = self.incidents.shelter_use(incident.id)
        occupied = {sid: use.occupied for sid, use in used.items()}
        final = analyse(self.emap, self.cfg.emergency, "road_collapse", _point(site),
                        occupied=occupied)  # fmt: skip
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(write_sitrep(self.cfg, self.emap, ended, final, steps, "zh", now()))
        self.say(f"incident closed; situation report {out}")
        return DrillResult(incident.id, out, len(steps))


def _point(site: dict):
    from shapely.geometry import shape

    return shape(site)
