"""The world a synthetic camera sees: classes, the camera, the street, things on it, the light.

World coordinates are metres on the ground plane: x to the right of the street's axis, y up, z away
from the camera along the street. Drawing it is `vision.synth.scene`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

CLASSES = (
    "car",
    "van",
    "truck",
    "person",
    "bin",
    "bin_overflow",
    "litter",
    "stall",
    "bicycle",
)
CLASS_ID = {name: i for i, name in enumerate(CLASSES)}
FRAME_W, FRAME_H = 640, 576
NEAR_Z = 1.5
MIN_VISIBLE = 0.35  # a label needs this share of its box's pixels unoccluded
# Smallest box side (px, at the 640 px render) worth labelling, by class: about 4-7 px at the
# model's 320 px input. People are thin, so their width may be smaller than a vehicle's.
MIN_BOX_PX = {"person": 8, "litter": 10, "bin": 12, "bin_overflow": 12, "bicycle": 10, "stall": 12}
MIN_BOX_DEFAULT = 14


@dataclass(frozen=True)
class View:
    """A pinhole camera above the street: height, focal length, horizon row, side offset, yaw."""

    height: float = 6.0
    focal: float = 430.0
    horizon: float = 150.0
    cam_x: float = 0.0
    yaw: float = 0.0
    width: int = FRAME_W
    frame_h: int = FRAME_H

    def project(self, x: float, y: float, z: float) -> tuple[float, float]:
        """Pixel (u, v) of a world point; points behind the near plane are pulled onto it."""
        dx = x - self.cam_x
        c, s = math.cos(self.yaw), math.sin(self.yaw)
        xr, zr = dx * c - z * s, dx * s + z * c
        zr = max(zr, NEAR_Z)
        return (
            self.width / 2 + self.focal * xr / zr,
            self.horizon + self.focal * (self.height - y) / zr,
        )

    def poly(self, points: list[tuple[float, float, float]]) -> np.ndarray:
        """Projected polygon as int32 pixel points for OpenCV."""
        return (
            np.array([self.project(*p) for p in points], dtype=np.float64).round().astype(np.int32)
        )

    def ground_homography(
        self, position: tuple[float, float], direction_deg: float
    ) -> list[list[float]]:
        """This camera's calibration for a map: the 3x3 homography from pixels to [lon, lat] of
        the ground it sees, standing at `position` and looking `direction_deg` from north."""
        h, f, c, s = self.height, self.focal, math.cos(self.yaw), math.sin(self.yaw)
        to_view = np.array([[h, 0, -self.width / 2 * h], [0, 0, f * h], [0, 1, -self.horizon]])
        unyaw = np.array([[c, s, 0], [-s, c, 0], [0, 0, 1]])  # (x from camera, z) on the ground
        t = math.radians(direction_deg)
        to_map = np.array(
            [[math.cos(t), math.sin(t), 0], [-math.sin(t), math.cos(t), 0], [0, 0, 1]]
        )
        lon, lat = position
        m_lon = 111_320.0 * math.cos(math.radians(lat))
        to_degrees = np.array([[1 / m_lon, 0, lon], [0, 1 / 111_320.0, lat], [0, 0, 1]])
        matrix = to_degrees @ to_map @ unyaw @ to_view
        return matrix.tolist()

    def depth(self, x: float, z: float) -> float:
        """Distance along the viewing axis (for painter's order)."""
        dx = x - self.cam_x
        return dx * math.sin(self.yaw) + z * math.cos(self.yaw)


@dataclass(frozen=True)
class Street:
    """The static layout: road and pavements, kerb markings, buildings, trees and lamps."""

    road_w: float = 8.0
    walk_w: float = 3.2
    no_parking_side: int = 1  # +1: the right kerb is painted no-parking; the left has bays
    bin_x: float = 0.0  # set by `street_for`
    bin_z: float = 11.0
    bin_side: int = -1
    building_h: tuple[float, ...] = (14.0, 20.0, 9.0, 24.0, 16.0, 12.0)
    building_colors: tuple[tuple[int, int, int], ...] = ((150, 160, 170), (120, 135, 160))
    tree_z: tuple[float, ...] = (14.0, 30.0, 46.0)
    lamp_z: tuple[float, ...] = (9.0, 27.0, 45.0, 63.0)
    road_color: tuple[int, int, int] = (88, 88, 92)
    walk_color: tuple[int, int, int] = (160, 165, 170)
    shop_side: int = 0  # +1/-1: that side's ground floors are shopfronts (stalls stand before them)
    bay_side: int = -1  # the pavement with the marked bicycle bays
    bike_bays: tuple[tuple[float, float], ...] = ()  # (z0, z1) of each painted bay on it

    @property
    def kerb(self) -> float:
        """x of the right kerb (the left one is its mirror)."""
        return self.road_w / 2


def street_for(rng: np.random.Generator) -> tuple[View, Street]:
    """A random but plausible camera and street, for dataset variety."""
    view = View(
        height=float(rng.uniform(4.5, 8.0)),
        focal=float(rng.uniform(380, 480)),
        horizon=float(rng.uniform(110, 190)),
        cam_x=float(rng.uniform(-2.0, 2.0)),
        yaw=float(rng.uniform(-0.12, 0.12)),
    )
    road_w = float(rng.uniform(7.0, 10.0))
    side = int(rng.choice([-1, 1]))
    street = Street(
        road_w=road_w,
        walk_w=float(rng.uniform(2.5, 4.0)),
        no_parking_side=side,
        bin_side=-side if rng.random() < 0.5 else side,
        bin_z=float(rng.uniform(8.5, 16.0)),
        building_h=tuple(float(h) for h in rng.uniform(8, 28, size=8)),
        building_colors=tuple(tuple(int(c) for c in rng.integers(90, 200, 3)) for _ in range(3)),
        tree_z=tuple(float(z) for z in np.sort(rng.uniform(8, 60, size=int(rng.integers(1, 5))))),
        lamp_z=tuple(float(z) for z in np.arange(rng.uniform(6, 14), 80, rng.uniform(14, 22))),
        road_color=tuple(
            int(c) for c in (rng.integers(70, 110),) * 2 + (int(rng.integers(70, 115)),)
        ),
        walk_color=tuple(int(c) for c in rng.integers(130, 190, 3)),
        shop_side=int(rng.choice([-1, 0, 1, 1])),
        bay_side=int(rng.choice([-1, 1])),
        bike_bays=_bays(rng),
    )
    return view, street


def _bays(rng: np.random.Generator) -> tuple[tuple[float, float], ...]:
    """Zero to two painted bicycle bays, 3-6 m long, on one pavement."""
    out, z = [], float(rng.uniform(5, 12))
    for _ in range(int(rng.integers(0, 3))):
        length = float(rng.uniform(3, 6))
        out.append((z, z + length))
        z += length + float(rng.uniform(4, 12))
    return tuple(out)


@dataclass
class Thing:
    """Something drawn on the street; `label` is a class name or None (scenery, bags' owner)."""

    kind: str
    x: float
    z: float
    label: str | None = None
    color: tuple[int, int, int] = (200, 200, 200)
    length: float = 4.3
    width: float = 1.8
    height: float = 1.5
    bags: int = 0
    seed: int = 0
    heading: int = 1  # vehicles: +1 drives away from the camera, -1 towards it
    lights: bool = False
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Label:
    """One YOLO box in pixels (x0, y0, x1, y1) with its class name."""

    name: str
    box: tuple[float, float, float, float]


@dataclass(frozen=True)
class Look:
    """Light and weather: time of day, rain, sensor noise, shake, blur."""

    time_of_day: str = "day"  # day | dusk | night
    rain: float = 0.0  # 0..1 streak density
    noise: float = 3.0  # sensor noise sigma
    shake: tuple[int, int] = (0, 0)
    blur: bool = False


def look_for(rng: np.random.Generator) -> Look:
    """A random light and weather."""
    tod = str(rng.choice(["day", "day", "dusk", "night"]))
    return Look(
        time_of_day=tod,
        rain=float(rng.uniform(0.2, 0.8)) if rng.random() < 0.2 else 0.0,
        noise=float(rng.uniform(1, 8)),
        shake=(int(rng.integers(-3, 4)), int(rng.integers(-3, 4))),
        blur=bool(rng.random() < 0.25),
    )


# ---- the static street -----------------------------------------------------------------------
