"""Random street moments for the training set: traffic, parked cars, people, bins, litter."""

from __future__ import annotations

import numpy as np

from vision.synth.world import Street, Thing, View

VEHICLE_COLORS = (
    (235, 235, 235),
    (30, 30, 30),
    (180, 180, 185),
    (40, 40, 190),
    (170, 90, 30),
    (60, 110, 60),
    (40, 160, 220),
    (120, 120, 130),
    (200, 200, 160),
    (90, 50, 130),
)
BIN_COLORS = ((40, 120, 40), (140, 90, 30), (90, 90, 90), (30, 60, 150))
LITTER_COLORS = (
    (240, 240, 240),
    (60, 120, 170),
    (200, 130, 40),
    (40, 40, 200),
    (220, 220, 90),
    (30, 30, 30),
)
SHIRTS = (
    (40, 40, 160),
    (160, 60, 40),
    (60, 140, 60),
    (200, 200, 200),
    (40, 40, 40),
    (30, 140, 240),
)
STALL_CLOTHS = ((40, 40, 180), (180, 60, 40), (220, 220, 220), (50, 140, 60), (40, 150, 220))
SIZES = {"car": (4.3, 1.8, 1.5), "van": (5.0, 2.0, 2.3), "truck": (7.5, 2.4, 3.2)}


def vehicle(rng: np.random.Generator, kind: str, x: float, z: float, heading: int) -> Thing:
    """A vehicle of `kind` with size jitter and a random paint colour."""
    length, width, height = (s * rng.uniform(0.92, 1.08) for s in SIZES[kind])
    color = VEHICLE_COLORS[int(rng.integers(len(VEHICLE_COLORS)))]
    return Thing(kind, x, z, kind, color, length, width, height, heading=heading)


def person(rng: np.random.Generator, x: float, z: float, vest: bool = False) -> Thing:
    """A pedestrian (or a cleaner in an orange vest)."""
    color = (0, 120, 255) if vest else SHIRTS[int(rng.integers(len(SHIRTS)))]
    return Thing("person", x, z, "person", color, height=float(rng.uniform(1.55, 1.9)))


def bin_thing(x: float, z: float, bags: int, color, seed: int) -> Thing:
    """A bin; with bags it is an overflowing bin."""
    return Thing("bin", x, z, "bin_overflow" if bags else "bin", color, bags=bags, seed=seed)


def litter(rng: np.random.Generator, x: float, z: float) -> Thing:
    """One piece of litter big enough to matter on a camera: a bag, a carton, a spilled heap."""
    color = LITTER_COLORS[int(rng.integers(len(LITTER_COLORS)))]
    size = float(rng.uniform(0.5, 1.0))
    height = float(rng.choice([0.0, 0.15, 0.25, 0.35]))
    return Thing(
        "litter", x, z, "litter", color, length=size, height=height, seed=int(rng.integers(1 << 30))
    )


def random_moment(rng: np.random.Generator, view: View, street: Street) -> list[Thing]:
    """A random street moment covering every class in many sizes, places and overlaps."""
    k, side = street.kerb, street.no_parking_side
    things: list[Thing] = []
    kinds = ("car", "car", "car", "van", "truck")
    for _ in range(int(rng.integers(0, 5))):  # moving traffic
        heading = int(rng.choice([-1, 1]))
        lane = heading * k / 2 * rng.uniform(0.6, 1.2)
        things.append(
            vehicle(rng, str(rng.choice(kinds)), lane, float(rng.uniform(5, 60)), heading)
        )
    for z in np.arange(rng.uniform(4, 10), 55, rng.uniform(6.5, 12)):  # the parking bays
        if rng.random() < 0.55:
            things.append(vehicle(rng, str(rng.choice(kinds[:4])), -side * (k - 1.15), float(z), 1))
    if rng.random() < 0.6:  # someone parked on the no-parking kerb
        things.append(
            vehicle(rng, str(rng.choice(kinds)), side * (k - 1.2), float(rng.uniform(6, 40)), -1)
        )
    for _ in range(int(rng.integers(0, 5))):
        on_road = rng.random() < 0.2
        x = (
            rng.uniform(-k, k)
            if on_road
            else rng.choice([-1, 1]) * (k + rng.uniform(0.4, street.walk_w - 0.3))
        )
        things.append(person(rng, float(x), float(rng.uniform(4, 25)), vest=rng.random() < 0.1))
    bin_x = street.bin_side * (k + 0.6)
    for z in (street.bin_z, street.bin_z + float(rng.uniform(8, 20))):
        if rng.random() < 0.85:
            bags = int(rng.integers(3, 9)) if rng.random() < 0.5 else 0
            color = BIN_COLORS[int(rng.integers(len(BIN_COLORS)))]
            things.append(bin_thing(bin_x, z, bags, color, int(rng.integers(1 << 30))))
    for _ in range(int(rng.integers(0, 9))):
        x = rng.uniform(-k + 0.3, k - 0.3)
        things.append(litter(rng, float(x), float(rng.uniform(3.5, 14))))
    return things + pavement_things(rng, street)


def stall(rng: np.random.Generator, x: float, z: float) -> Thing:
    """A stall or goods put out on the pavement: a table, crates or a clothes rail."""
    style = str(rng.choice(["table", "table", "crates", "rail"]))
    cloth = STALL_CLOTHS[int(rng.integers(len(STALL_CLOTHS)))]
    return Thing(
        "stall",
        x,
        z,
        "stall",
        cloth,
        length=float(rng.uniform(1.2, 2.6)),
        width=float(rng.uniform(0.6, 1.0)),
        height=float(rng.uniform(0.7, 0.9)),
        seed=int(rng.integers(1 << 30)),
        extra={"style": style, "parasol": bool(rng.random() < 0.35)},
    )


def bicycle(rng: np.random.Generator, x: float, z: float, axis: str) -> Thing:
    """A parked bicycle or (half the time) e-bike standing along `axis` ('x' or 'z')."""
    color = VEHICLE_COLORS[int(rng.integers(len(VEHICLE_COLORS)))]
    return Thing("bicycle", x, z, "bicycle", color, extra={"axis": axis, "e": rng.random() < 0.5})


def pavement_things(rng: np.random.Generator, street: Street) -> list[Thing]:
    """Stalls before shops, bicycles in their bays and outside them, and traffic cones."""
    k, w = street.kerb, street.walk_w
    out: list[Thing] = []
    side = street.shop_side or int(rng.choice([-1, 1]))
    if street.shop_side or rng.random() < 0.25:  # a market needs no shop behind it
        for _ in range(int(rng.integers(1, 3))):
            x = side * (k + w * rng.uniform(0.4, 0.7))
            out.append(stall(rng, float(x), float(rng.uniform(4, 24))))
    for z0, z1 in street.bike_bays:
        for z in np.arange(z0 + 0.4, z1 - 0.3, 0.8):
            if rng.random() < 0.6:
                out.append(bicycle(rng, street.bay_side * (k + 1.15), float(z), "x"))
    for _ in range(int(rng.integers(0, 4))):
        x = rng.choice([-1, 1]) * (k + rng.uniform(0.5, w - 0.4))
        axis = str(rng.choice(["x", "z"]))
        out.append(bicycle(rng, float(x), float(rng.uniform(3.5, 22)), axis))
    if rng.random() < 0.3:
        for _ in range(int(rng.integers(1, 4))):
            x, z = rng.uniform(-k - 1, k + 1), rng.uniform(4, 20)
            out.append(Thing("cone", float(x), float(z), height=float(rng.uniform(0.5, 0.8))))
    return out
