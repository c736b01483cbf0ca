"""Fixed-camera street views in perspective: drawing the static street, the things on it, and
the labels (the world itself is `vision.synth.world`).

A scene is drawn far to near (painter's order); every labelled thing is also painted into an id
mask so that a label is kept only when enough of it is visible.
"""

from __future__ import annotations

import cv2
import numpy as np

from vision.synth.canvas import Canvas, shade
from vision.synth.dressing import dress
from vision.synth.furniture import draw_bicycle, draw_cone, draw_stall
from vision.synth.photos import PhotoBank
from vision.synth.world import NEAR_Z, Label, Look, Street, Thing, View


def draw_street(
    view: View,
    street: Street,
    look: Look,
    rng: np.random.Generator | None = None,
    photos: PhotoBank | None = None,
) -> np.ndarray:
    """The empty street (sky, facades, road, markings, trees, lamps) for one camera and light;
    given `rng` it is dressed (shopfronts, bays, a shadow, and `photos` as texture)."""
    img = np.zeros((view.frame_h, view.width, 3), np.uint8)
    _sky(img, view, look)
    far = 220.0
    k, w = street.kerb, street.walk_w
    facades = []
    for side in (-1, 1):
        facades += _facades(img, view, street, side, k + w)
        cv2.fillPoly(
            img,
            [
                view.poly(
                    [
                        (side * k, 0, 0.5),
                        (side * (k + w), 0, 0.5),
                        (side * (k + w), 0, far),
                        (side * k, 0, far),
                    ]
                )
            ],
            street.walk_color,
        )
        cv2.fillPoly(
            img,
            [
                view.poly(
                    [
                        (side * k, 0, 0.5),
                        (side * (k + 0.18), 0.15, 0.5),
                        (side * (k + 0.18), 0.15, far),
                        (side * k, 0, far),
                    ]
                )
            ],
            (190, 190, 185),
        )
    cv2.fillPoly(
        img, [view.poly([(-k, 0, 0.5), (k, 0, 0.5), (k, 0, far), (-k, 0, far)])], street.road_color
    )
    _markings(img, view, street)
    if rng is not None:
        dress(img, view, street, look, facades, rng, photos)
    for z in street.tree_z:
        _tree(img, view, -street.no_parking_side * (k + w * 0.55), z)
    for z in street.lamp_z:
        _lamp(img, view, street.no_parking_side * (k + 0.5), z)
    return img


def _sky(img: np.ndarray, view: View, look: Look) -> None:
    top, bottom = {
        "day": ((235, 190, 140), (250, 230, 210)),
        "dusk": ((120, 80, 90), (120, 170, 240)),
        "night": ((40, 20, 15), (70, 50, 40)),
    }[look.time_of_day]
    rows = max(int(view.horizon) + 40, 1)
    ramp = np.linspace(0, 1, rows)[:, None, None]
    grad = (np.array(top) * (1 - ramp) + np.array(bottom) * ramp).astype(np.uint8)
    img[:rows] = np.broadcast_to(grad, (rows, view.width, 3))[: img.shape[0]]


def _facades(img: np.ndarray, view: View, street: Street, side: int, x: float) -> list[np.ndarray]:
    """Draw one side's buildings; returns each facade's pixel quad (bottom near, bottom far,
    top far, top near) for texturing."""
    z, quads = 0.5, []
    for i, h in enumerate(street.building_h * 4):
        depth = 12.0 + (i % 3) * 4.0
        color = street.building_colors[i % len(street.building_colors)]
        quad = [
            (side * x, 0, z),
            (side * x, h, z),
            (side * x, h, z + depth),
            (side * x, 0, z + depth),
        ]
        cv2.fillPoly(img, [view.poly(quad)], color)
        quads.append(view.poly([quad[0], quad[3], quad[2], quad[1]]))
        win = tuple(max(0, c - 60) for c in color)
        for floor in np.arange(3.0, h - 1.0, 3.2):
            for wz in np.arange(z + 1.0, z + depth - 1.0, 2.5):
                pane = [
                    (side * x, floor, wz),
                    (side * x, floor + 1.4, wz),
                    (side * x, floor + 1.4, wz + 1.2),
                    (side * x, floor, wz + 1.2),
                ]
                cv2.fillPoly(img, [view.poly(pane)], win)
        z += depth
        if z > 200:
            break
    return quads


def _markings(img: np.ndarray, view: View, street: Street) -> None:
    k = street.kerb
    for z in np.arange(1.0, 200, 6.0):  # dashed centre line
        cv2.fillPoly(
            img,
            [view.poly([(-0.08, 0, z), (0.08, 0, z), (0.08, 0, z + 3), (-0.08, 0, z + 3)])],
            (225, 225, 225),
        )
    side = street.no_parking_side
    xa, xb = side * (k - 0.12), side * (k - 0.3)
    cv2.fillPoly(
        img, [view.poly([(xa, 0, 0.5), (xb, 0, 0.5), (xb, 0, 200), (xa, 0, 200)])], (30, 200, 235)
    )
    xb2 = -side * (k - 2.3)
    for z in np.arange(2.0, 120, 6.0):  # parking bays on the other kerb
        cv2.polylines(img, [view.poly([(xb2, 0, z), (-side * k, 0, z)])], False, (230, 230, 230), 1)
    cv2.polylines(img, [view.poly([(xb2, 0, 0.5), (xb2, 0, 120)])], False, (230, 230, 230), 1)


def _tree(img: np.ndarray, view: View, x: float, z: float) -> None:
    (u0, v0), (_, v1) = view.project(x, 0, z), view.project(x, 3.0, z)
    r = max(int(view.focal * 1.8 / max(z, NEAR_Z)), 2)
    cv2.line(img, (int(u0), int(v0)), (int(u0), int(v1)), (40, 60, 80), max(r // 6, 1))
    cv2.circle(img, (int(u0), int(v1) - r // 2), r, (50, 120, 60), -1)


def _lamp(img: np.ndarray, view: View, x: float, z: float) -> None:
    (u0, v0), (u1, v1) = view.project(x, 0, z), view.project(x, 6.5, z)
    cv2.line(
        img,
        (int(u0), int(v0)),
        (int(u1), int(v1)),
        (60, 60, 60),
        max(int(view.focal * 0.15 / z), 1),
    )


# ---- things on the street --------------------------------------------------------------------


def draw_vehicle(c: Canvas, t: Thing, owner: int, night: bool) -> None:
    """A car, van or truck as shaded boxes: body, cabin or cargo, wheels, lights."""
    hw, z0, z1 = t.width / 2, t.z - t.length / 2, t.z + t.length / 2
    x0, x1 = t.x - hw, t.x + hw
    for wz in (z0 + 0.7, z1 - 0.7):
        c.box(owner, (25, 25, 25), x0 - 0.02, x1 + 0.02, 0.0, 0.55, wz - 0.35, wz + 0.35)
    if t.kind == "truck":
        cab = (z0, z0 + 2.0) if t.heading < 0 else (z1 - 2.0, z1)
        cargo = (z0 + 2.1, z1) if t.heading < 0 else (z0, z1 - 2.1)
        c.box(owner, (80, 80, 80), x0, x1, 0.45, 1.0, z0, z1)
        c.box(owner, t.color, x0, x1, 0.9, t.height, *cargo)
        c.box(owner, shade(t.color, 0.7), x0 + 0.05, x1 - 0.05, 0.9, t.height * 0.8, *cab)
    elif t.kind == "van":
        c.box(owner, t.color, x0, x1, 0.35, t.height, z0, z1)
        c.box(
            owner,
            (60, 55, 50),
            x0 + 0.1,
            x1 - 0.1,
            t.height * 0.62,
            t.height * 0.92,
            z0 - 0.01,
            z0 + 0.01,
        )
    else:
        c.box(owner, t.color, x0, x1, 0.3, 0.95, z0, z1)
        c.box(owner, (70, 60, 55), x0 + 0.12, x1 - 0.12, 0.95, t.height, z0 + 1.0, z1 - 1.1)
        c.box(
            owner,
            shade(t.color, 0.9),
            x0 + 0.14,
            x1 - 0.14,
            t.height - 0.05,
            t.height,
            z0 + 1.05,
            z1 - 1.15,
        )
    lamp = (60, 230, 255) if t.heading < 0 else (40, 40, 220)  # headlights face us, tail lights red
    if night or t.lights:
        lamp = (200, 255, 255) if t.heading < 0 else (60, 60, 255)
    for lx in (x0 + 0.15, x1 - 0.45):
        c.fill(
            c.view.poly(
                [(lx, 0.65, z0), (lx + 0.3, 0.65, z0), (lx + 0.3, 0.85, z0), (lx, 0.85, z0)]
            ),
            lamp,
            owner,
        )


def draw_person(c: Canvas, t: Thing, owner: int) -> None:
    """A pedestrian or a street cleaner (vest) as legs, torso and head."""
    h = t.height
    c.box(owner, (50, 45, 40), t.x - 0.18, t.x - 0.03, 0, h * 0.48, t.z - 0.1, t.z + 0.1)
    c.box(owner, (50, 45, 40), t.x + 0.03, t.x + 0.18, 0, h * 0.48, t.z - 0.1, t.z + 0.1)
    c.box(owner, t.color, t.x - 0.22, t.x + 0.22, h * 0.46, h * 0.84, t.z - 0.13, t.z + 0.13)
    u, v = c.view.project(t.x, h * 0.92, t.z)
    r = max(int(c.view.focal * 0.11 / max(t.z, NEAR_Z)), 1)
    cv2.circle(c.img, (int(u), int(v)), r, (120, 150, 190), -1)
    cv2.circle(c.ids, (int(u), int(v)), r, owner, -1)
    c.extent[owner].append(np.array([[u - r, v - r], [u + r, v + r]], np.int32))


def draw_bin(c: Canvas, t: Thing, owner: int) -> None:
    """A street bin; with `bags` > 0 it overflows: lid up, bags on top and around its foot."""
    x0, x1, z0, z1 = t.x - 0.35, t.x + 0.35, t.z - 0.35, t.z + 0.35
    c.box(owner, t.color, x0, x1, 0, 1.0, z0, z1)
    rng = np.random.default_rng(t.seed)
    if t.bags <= 0:
        c.box(owner, shade(t.color, 0.7), x0 - 0.03, x1 + 0.03, 1.0, 1.07, z0 - 0.03, z1 + 0.03)
        return
    c.fill(
        c.view.poly([(x0, 1.0, z1), (x1, 1.0, z1), (x1, 1.55, z1 + 0.25), (x0, 1.55, z1 + 0.25)]),
        shade(t.color, 0.6),
        owner,
    )
    colors = [(30, 30, 30), (40, 70, 40), (225, 225, 225), (50, 50, 120), (150, 110, 60)]
    for i in range(t.bags):
        on_top = i < 3
        bx = t.x + rng.uniform(-0.3, 0.3) if on_top else t.x + rng.uniform(-0.9, 0.9)
        bz = t.z + rng.uniform(-0.25, 0.25) if on_top else t.z + rng.uniform(-0.7, 0.5)
        by = 1.0 if on_top else 0.0
        size = rng.uniform(0.3, 0.5)
        (u, v) = c.view.project(bx, by + size / 2, bz)
        r = max(int(c.view.focal * size / 2 / max(bz, NEAR_Z)), 2)
        axes = (r, max(int(r * rng.uniform(0.7, 1.0)), 1))
        color = colors[int(rng.integers(len(colors)))]
        cv2.ellipse(c.img, (int(u), int(v)), axes, 0, 0, 360, color, -1)
        cv2.ellipse(
            c.img,
            (int(u), int(v) - axes[1] // 2),
            (max(axes[0] // 4, 1), max(axes[1] // 3, 1)),
            0,
            0,
            360,
            shade(color, 1.3),
            -1,
        )
        cv2.ellipse(c.ids, (int(u), int(v)), axes, 0, 0, 360, owner, -1)
        c.extent[owner].append(
            np.array([[u - axes[0], v - axes[1]], [u + axes[0], v + axes[1]]], np.int32)
        )


def draw_litter(c: Canvas, t: Thing, owner: int) -> None:
    """A piece of litter lying on the road: paper, a carton, a bottle or a bag."""
    rng = np.random.default_rng(t.seed)
    size = t.length
    n = int(rng.integers(5, 8))
    angles = np.sort(rng.uniform(0, 2 * np.pi, n))
    radii = rng.uniform(0.5, 1.0, n) * size / 2
    pts = [
        (t.x + r * np.cos(a), 0.0, t.z + r * np.sin(a)) for a, r in zip(angles, radii, strict=True)
    ]
    c.fill(c.view.poly(pts), t.color, owner)
    if t.height > 0:  # a carton or bottle stands a little off the ground
        c.box(
            owner,
            shade(t.color, 0.8),
            t.x - size * 0.2,
            t.x + size * 0.2,
            0,
            t.height,
            t.z - size * 0.15,
            t.z + size * 0.15,
        )


def render(
    view: View,
    base: np.ndarray,
    things: list[Thing],
    look: Look,
    rng: np.random.Generator,
    labelled: bool = True,
) -> tuple[np.ndarray, list[Label]]:
    """Draw `things` over the empty street and apply light and weather; returns the image and,
    when `labelled` (the dataset; clips need none), the labels. `rng` drives noise and rain."""
    canvas = Canvas(base, view)
    night = look.time_of_day == "night"
    order = sorted(things, key=lambda t: -view.depth(t.x, t.z))
    for owner, t in enumerate(order, start=1):
        if t.label:
            canvas.names[owner] = t.label
            canvas.extent[owner] = []
        tag = owner if t.label else 0
        if t.kind in ("car", "van", "truck"):
            draw_vehicle(canvas, t, tag, night)
        elif t.kind == "person":
            draw_person(canvas, t, tag)
        elif t.kind == "bin":
            draw_bin(canvas, t, tag)
        elif t.kind == "litter":
            draw_litter(canvas, t, tag)
        elif t.kind == "stall":
            draw_stall(canvas, t, tag)
        elif t.kind == "bicycle":
            draw_bicycle(canvas, t, tag)
        elif t.kind == "cone":
            draw_cone(canvas, t)
    labels = canvas.labels() if labelled else []
    img = apply_look(canvas.img, view, look, things, rng)
    dx, dy = look.shake
    if dx or dy:
        img = np.roll(img, (dy, dx), axis=(0, 1))
        labels = [Label(lb.name, _shift(lb.box, dx, dy, view)) for lb in labels]
    return img, labels


def _shift(box, dx, dy, view: View) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = box
    return (
        min(max(x0 + dx, 0), view.width),
        min(max(y0 + dy, 0), view.frame_h),
        min(max(x1 + dx, 0), view.width),
        min(max(y1 + dy, 0), view.frame_h),
    )


_NOISE_BANK: dict[tuple, np.ndarray] = {}


def _noise(shape: tuple, rng: np.random.Generator) -> np.ndarray:
    """Sensor noise from a small precomputed bank (fresh noise costs more than drawing)."""
    key = shape
    if key not in _NOISE_BANK:
        _NOISE_BANK[key] = np.random.default_rng(7).normal(0, 1, (4, *shape)).astype(np.float32)
    bank = _NOISE_BANK[key]
    return np.roll(bank[int(rng.integers(4))], int(rng.integers(shape[0])), axis=0)


def apply_look(
    img: np.ndarray, view: View, look: Look, things: list[Thing], rng: np.random.Generator
) -> np.ndarray:
    """Dusk or night light with street-lamp pools and vehicle lights, rain, blur and noise."""
    out = img.astype(np.float32)
    if look.time_of_day == "dusk":
        out *= np.array([0.62, 0.68, 0.82], np.float32)
    elif look.time_of_day == "night":
        out *= 0.28
        glow = np.zeros(img.shape[:2], np.float32)
        for t in things:
            if t.kind in ("car", "van", "truck"):
                u, v = view.project(t.x, 0.75, t.z - t.length / 2)
                r = max(int(view.focal * 1.2 / max(t.z, NEAR_Z)), 3)
                cv2.circle(glow, (int(u), int(v)), r, 0.5, -1)
        for t in things:
            if t.kind == "lamp":
                u, v = view.project(t.x, 0, t.z)
                r = max(int(view.focal * 5 / max(t.z, NEAR_Z)), 4)
                cv2.ellipse(glow, (int(u), int(v)), (r, max(r // 3, 2)), 0, 0, 360, 1.0, -1)
        glow = cv2.GaussianBlur(glow, (0, 0), 9)
        out *= (1 + 2.0 * glow)[..., None]
        out += (glow * 40)[..., None] * np.array([0.6, 0.9, 1.0], np.float32)
    if look.rain > 0:
        streaks = np.zeros(img.shape[:2], np.uint8)
        for _ in range(int(400 * look.rain)):
            x, y = int(rng.integers(img.shape[1])), int(rng.integers(img.shape[0]))
            cv2.line(streaks, (x, y), (x + 3, y + 14), 255, 1)
        out = out * 0.9 + streaks[..., None].astype(np.float32) * 0.25
    if look.blur:
        out = cv2.GaussianBlur(out, (3, 3), 0)
    if look.noise > 0:
        out += _noise(img.shape, rng) * look.noise
    return np.clip(out, 0, 255).astype(np.uint8)


def lamps(street: Street) -> list[Thing]:
    """The street lamps as unlabelled things (they light the road at night)."""
    return [Thing("lamp", street.no_parking_side * (street.kerb + 0.5), z) for z in street.lamp_z]
