"""Scripted street timelines rendered to video clips: a car parks where it must not, a bin
overflows, litter builds up until a cleaner sweeps it, and ordinary traffic passes by."""

from __future__ import annotations

import dataclasses
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from vision.synth.compose import BIN_COLORS, bicycle, bin_thing, litter, person, stall, vehicle
from vision.synth.scene import draw_street, lamps, render
from vision.synth.world import FRAME_H, FRAME_W, Look, Street, Thing, View

log = logging.getLogger(__name__)

PARK_Z = 12.0  # where the scripted car stops on the no-parking kerb (metres from the camera)
ROAD_ZONE_Z = (5.0, 17.0)
PARK_ZONE_Z = (8.0, 17.0)
WALK_ZONE_Z = (11.0, 22.0)  # the stretch of pavement the vending and bicycle zones watch
BAY_Z = (16.5, 19.5)  # the bicycle bay inside it
STALL_Z = (12.5, 15.0)  # where the scripted stalls stand
STRAY_BIKE_Z = (11.2, 12.0, 12.8, 13.6)  # where the scripted bicycles are left


@dataclass(frozen=True)
class Script:
    """What happens in a clip, in seconds from its start; None leaves that story out."""

    duration_s: float = 300.0
    fps: float = 10.0
    park: tuple[float, float] | None = None  # the car stops at .0 and drives off at .1
    overflow: tuple[float, float | None] | None = (
        None  # bags appear at .0; emptied at .1 (or never)
    )
    litter: tuple[float, float, float | None] | None = None  # first piece, last piece, swept at
    stall: tuple[float, float | None] | None = None  # goods put out at .0, taken in at .1
    bikes: tuple[float, float | None] | None = None  # bicycles left from .0, cleared at .1
    traffic_per_min: float = 6.0
    walkers_per_min: float = 4.0
    look: Look = field(default_factory=Look)
    seed: int = 1


def demo_view(pavement: bool = False) -> tuple[View, Street]:
    """The camera geometry of the demo clips (zones in the demo config are cut from it); the
    `pavement` street has shops on the right and painted bicycle bays on the left."""
    view = View(height=6.5, focal=430.0, horizon=140.0, cam_x=-0.5, yaw=0.0)
    street = Street(road_w=8.5, walk_w=3.2, no_parking_side=1, bin_side=-1, bin_z=10.0)
    if pavement:
        street = dataclasses.replace(street, shop_side=1, bay_side=-1, bike_bays=(BAY_Z,))
    return view, street


def zone_polygon(
    kind: str, view: View | None = None, street: Street | None = None
) -> list[list[int]]:
    """Pixel polygon of the zone a rule watches in the demo geometry (clipped to the frame)."""
    if view is None or street is None:
        view, street = demo_view()
    k, side = street.kerb, street.no_parking_side
    if kind == "illegal_parking":
        x_in, x_out = side * (k - 2.4), side * (k + 0.1)
        z0, z1 = PARK_ZONE_Z
        pts = [(x_in, 0, z0), (x_out, 0, z0), (x_out, 0, z1), (x_in, 0, z1)]
    elif kind in ("street_vending", "bike_parking"):
        side = 1 if kind == "street_vending" else -1
        x_in, x_out = side * (k + 0.2), side * (k + street.walk_w + 0.3)
        z0, z1 = WALK_ZONE_Z
        pts = [(x_in, 0, z0), (x_out, 0, z0), (x_out, 0, z1), (x_in, 0, z1)]
    elif kind == "bin_overflow":
        x, z = street.bin_side * (k + 0.6), street.bin_z
        pts = [
            (x - 1.4, 0, z - 1.3),
            (x + 1.4, 0, z - 1.3),
            (x + 1.4, 0, z + 1.3),
            (x - 1.4, 0, z + 1.3),
        ]
    else:
        z0, z1 = ROAD_ZONE_Z
        pts = [(-k, 0, z0), (k, 0, z0), (k, 0, z1), (-k, 0, z1)]
    poly = view.poly(pts)
    poly[:, 0] = poly[:, 0].clip(0, view.width)
    poly[:, 1] = poly[:, 1].clip(0, view.frame_h)
    return poly.tolist()


def bay_zone(view: View | None = None, street: Street | None = None) -> list[list[int]]:
    """Pixel polygon of the demo pavement's bicycle bay (inside the bike_parking zone)."""
    if view is None or street is None:
        view, street = demo_view(pavement=True)
    x_in, x_out = -(street.kerb + 0.2), -(street.kerb + street.walk_w + 0.3)
    z0, z1 = BAY_Z
    return view.poly([(x_in, 0, z0), (x_out, 0, z0), (x_out, 0, z1), (x_in, 0, z1)]).tolist()


class Timeline:
    """The things in view at any second of a script (pure function of time)."""

    def __init__(self, script: Script, view: View, street: Street):
        self.s, self.view, self.street = script, view, street
        rng = np.random.default_rng(script.seed)
        self.cars = self._traffic(rng)
        self.walkers = self._walkers(rng)
        self.parker = vehicle(rng, "car", street.no_parking_side * (street.kerb - 1.2), PARK_Z, -1)
        self.bin_color = BIN_COLORS[int(rng.integers(len(BIN_COLORS)))]
        self.litter = [
            litter(
                rng,
                float(rng.uniform(-street.kerb + 0.6, street.kerb - 0.6)),
                float(rng.uniform(7, 15)),
            )
            for _ in range(5)
        ]
        kerb, walk = street.kerb, street.walk_w
        self.stalls = [stall(rng, kerb + walk * 0.55, z) for z in STALL_Z]
        self.in_bay = [
            bicycle(rng, -(kerb + 1.15), z, "x")
            for z in np.arange(BAY_Z[0] + 0.4, BAY_Z[1] - 0.3, 0.8)
        ]
        self.stray = [bicycle(rng, -(kerb + 1.3), z, "x") for z in STRAY_BIKE_Z]

    def _traffic(self, rng) -> list[tuple[float, float, Thing]]:
        n = int(self.s.duration_s / 60 * self.s.traffic_per_min)
        out = []
        for t0 in np.sort(rng.uniform(0, self.s.duration_s, n)):
            heading = int(rng.choice([-1, 1]))
            kind = str(rng.choice(["car", "car", "car", "van", "truck"]))
            out.append(
                (
                    float(t0),
                    float(rng.uniform(7, 12)),
                    vehicle(rng, kind, heading * self.street.kerb / 2 * 0.8, 0, heading),
                )
            )
        return out

    def _walkers(self, rng) -> list[tuple[float, float, Thing]]:
        n = int(self.s.duration_s / 60 * self.s.walkers_per_min)
        out = []
        for t0 in np.sort(rng.uniform(0, self.s.duration_s, n)):
            x = float(
                rng.choice([-1, 1])
                * (self.street.kerb + rng.uniform(1.2, self.street.walk_w - 0.3))
            )
            out.append(
                (float(t0), float(rng.choice([-1, 1]) * rng.uniform(1.0, 1.6)), person(rng, x, 0))
            )
        return out

    def at(self, t: float) -> list[Thing]:
        """Everything in view at second `t`."""
        things = lamps(self.street)
        for t0, speed, car in self.cars:
            z = 90 - speed * (t - t0) if car.heading < 0 else 2 + speed * (t - t0)
            if t - t0 >= 0 and -3 < z < 95:
                things.append(_moved(car, z=z))
        for t0, speed, walker in self.walkers:
            z = (3 if speed > 0 else 45) + speed * (t - t0)
            if t - t0 >= 0 and 2 < z < 46:
                things.append(_moved(walker, z=z))
        things += self._parking(t) + self._bin(t) + self._litter(t) + self._pavement(t)
        return things

    def _pavement(self, t: float) -> list[Thing]:
        """Bicycles in their bay all along; stalls put out and taken in; bicycles left outside
        the bay one every 15 s, cleared all at once."""
        out: list[Thing] = []
        if self.s.bikes:
            out += self.in_bay
            start, cleared = self.s.bikes
            if start <= t and (cleared is None or t < cleared):
                out += self.stray[: 1 + int((t - start) // 15)]
        if self.s.stall:
            start, packed = self.s.stall
            if start <= t and (packed is None or t < packed):
                out += self.stalls
        return out

    def _parking(self, t: float) -> list[Thing]:
        if not self.s.park:
            return []
        stop, leave = self.s.park
        if stop - 8 <= t < stop:  # pulling in from further down the street
            return [_moved(self.parker, z=PARK_Z + (stop - t) * 5)]
        if stop <= t < leave:
            return [self.parker]
        if leave <= t < leave + 8:
            return [_moved(self.parker, z=PARK_Z - (t - leave) * 3)]
        return []

    def _bin(self, t: float) -> list[Thing]:
        x, z = self.street.bin_side * (self.street.kerb + 0.6), self.street.bin_z
        bags = 0
        if self.s.overflow:
            start, emptied = self.s.overflow
            if start <= t and (emptied is None or t < emptied):
                bags = min(3 + int((t - start) // 20), 8)
        return [bin_thing(x, z, bags, self.bin_color, self.s.seed)]

    def _litter(self, t: float) -> list[Thing]:
        if not self.s.litter:
            return []
        first, last, swept = self.s.litter
        step = (last - first) / max(len(self.litter) - 1, 1)
        out = [item for i, item in enumerate(self.litter) if t >= first + i * step]
        if swept is not None and t >= swept:  # the cleaner walks from near to far picking it up
            cz = 4 + (t - swept) * 0.8
            out = [item for item in out if item.z > cz]
            if cz < 26:
                out.append(person(np.random.default_rng(3), self.street.kerb - 1.5, cz, vest=True))
        return out


def _moved(thing: Thing, **changes) -> Thing:
    return dataclasses.replace(thing, **changes)


def render_clip(
    path: Path,
    script: Script,
    view: View | None = None,
    street: Street | None = None,
    progress: bool = True,
    stop: threading.Event | None = None,
) -> Path | None:
    """Render a script to an MP4 clip (MPEG-4 Part 2, so OpenCV alone can write and read it);
    None when `stop` was set before it finished (nothing half-written is left)."""
    if view is None or street is None:
        view, street = demo_view(pavement=bool(script.stall or script.bikes))
    timeline = Timeline(script, view, street)
    dressed = street.shop_side or street.bike_bays  # shopfronts and bays; no photographs
    rng = np.random.default_rng(script.seed)
    base = draw_street(view, street, script.look, rng if dressed else None)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part.mp4")
    writer = cv2.VideoWriter(
        str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), script.fps, (FRAME_W, FRAME_H)
    )
    frames = int(script.duration_s * script.fps)
    rng = np.random.default_rng(script.seed)
    for i in tqdm(range(frames), desc=f"rendering {path.name}", unit="frame", disable=not progress):
        shake = (int(rng.integers(-1, 2)), 0) if i % 7 == 0 else (0, 0)
        look = dataclasses.replace(script.look, shake=shake)
        img, _ = render(view, base, timeline.at(i / script.fps), look, rng, labelled=False)
        writer.write(img)
        if stop is not None and stop.is_set():
            writer.release()
            tmp.unlink(missing_ok=True)
            return None
    writer.release()
    tmp.replace(path)
    return path
