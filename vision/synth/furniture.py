"""Things on the pavement: market stalls and goods put out before a shop (class `stall`), bicycles
and e-bikes (class `bicycle`), and traffic cones (never labelled: a hard negative that real
footage showed the model taking for bins)."""

from __future__ import annotations

import math

import cv2
import numpy as np

from vision.synth.canvas import Canvas, shade
from vision.synth.world import NEAR_Z, Thing

GOODS = (
    (40, 60, 200),
    (40, 160, 230),
    (60, 170, 60),
    (30, 120, 230),
    (200, 200, 210),
    (150, 80, 160),
    (60, 200, 200),
)


def draw_stall(c: Canvas, t: Thing, owner: int) -> None:
    """A stall as laid out on a pavement: a table with goods and a cloth, stacked crates of
    produce, or a clothes rail; sometimes under a parasol."""
    rng = np.random.default_rng(t.seed)
    style = t.extra.get("style", "table")
    if style == "crates":
        _crates(c, t, owner, rng)
    elif style == "rail":
        _rail(c, t, owner, rng)
    else:
        _table(c, t, owner, rng)
    if t.extra.get("parasol"):
        _parasol(c, t, owner, rng)


def _table(c: Canvas, t: Thing, owner: int, rng: np.random.Generator) -> None:
    hw, hl, top = t.width / 2, t.length / 2, t.height
    c.box(owner, t.color, t.x - hw, t.x + hw, 0.05, top, t.z - hl, t.z + hl)  # the cloth
    for _ in range(int(rng.integers(4, 10))):
        gx = t.x + rng.uniform(-hw * 0.8, hw * 0.8)
        gz = t.z + rng.uniform(-hl * 0.8, hl * 0.8)
        s = rng.uniform(0.12, 0.3)
        color = GOODS[int(rng.integers(len(GOODS)))]
        c.box(owner, color, gx - s, gx + s, top, top + rng.uniform(0.08, 0.3), gz - s, gz + s)


def _crates(c: Canvas, t: Thing, owner: int, rng: np.random.Generator) -> None:
    hw, hl = t.width / 2, t.length / 2
    for z in np.arange(t.z + hl - 0.2, t.z - hl, -0.45):  # far to near
        for layer in range(int(rng.integers(1, 4))):
            y0 = layer * 0.3
            crate = (150, 110, 70) if rng.random() < 0.6 else (60, 60, 160)
            c.box(owner, crate, t.x - hw, t.x + hw, y0, y0 + 0.28, z - 0.2, z + 0.2)
        fruit = GOODS[int(rng.integers(len(GOODS)))]
        y1 = (layer + 1) * 0.3
        c.box(owner, fruit, t.x - hw + 0.05, t.x + hw - 0.05, y1 - 0.04, y1, z - 0.17, z + 0.17)


def _rail(c: Canvas, t: Thing, owner: int, rng: np.random.Generator) -> None:
    hl, top = t.length / 2, 1.5
    for z in (t.z + hl, t.z - hl):
        c.box(owner, (70, 70, 70), t.x - 0.03, t.x + 0.03, 0, top, z - 0.03, z + 0.03)
    c.box(owner, (70, 70, 70), t.x - 0.03, t.x + 0.03, top - 0.04, top, t.z - hl, t.z + hl)
    for z in np.arange(t.z + hl - 0.15, t.z - hl, -rng.uniform(0.12, 0.25)):
        color = GOODS[int(rng.integers(len(GOODS)))]
        drop = rng.uniform(0.6, 1.2)
        c.box(owner, color, t.x - 0.25, t.x + 0.25, top - drop, top - 0.05, z - 0.05, z + 0.05)


def _parasol(c: Canvas, t: Thing, owner: int, rng: np.random.Generator) -> None:
    height, radius = rng.uniform(2.0, 2.4), rng.uniform(0.9, 1.4)
    c.box(owner, (200, 200, 200), t.x - 0.02, t.x + 0.02, 0, height, t.z - 0.02, t.z + 0.02)
    ring = [
        (t.x + radius * math.cos(a), height, t.z + radius * math.sin(a))
        for a in np.linspace(0, 2 * math.pi, 16, endpoint=False)
    ]
    color = GOODS[int(rng.integers(len(GOODS)))]
    c.fill(c.view.poly(ring), shade(color, 0.7), owner)  # seen from below: its shaded side
    top = [(x, height + 0.3 if i % 2 else height, z) for i, (x, _, z) in enumerate(ring)]
    c.fill(cv2.convexHull(c.view.poly(top)).reshape(-1, 2), color, owner)


def draw_bicycle(c: Canvas, t: Thing, owner: int) -> None:
    """A parked bicycle (wheels and frame) or e-bike (small wheels, a body, a seat), standing
    along the street (`axis` z) or across it (x)."""
    e_bike = bool(t.extra.get("e"))
    r, base = (0.24, 1.15) if e_bike else (0.34, 1.05)

    def at(a: float, y: float) -> tuple[float, float, float]:
        return (t.x, y, t.z + a) if t.extra.get("axis") == "z" else (t.x + a, y, t.z)

    hull: list[np.ndarray] = []
    width = max(int(round(c.view.focal * 0.045 / max(t.z, NEAR_Z))), 1)
    for hub in (-base / 2, base / 2):
        rim = [at(hub + r * math.cos(a), r + r * math.sin(a)) for a in np.linspace(0, 6.3, 18)]
        pts = c.view.poly(rim)
        cv2.polylines(c.img, [pts], True, (30, 30, 30), width + 1)
        hull.append(pts)
    if e_bike:
        body = [at(-0.45, r), at(0.35, r), at(0.45, 0.75), at(0.3, 1.05), at(-0.15, 0.65)]
        hull.append(c.view.poly(body))
        cv2.fillPoly(c.img, [hull[-1]], t.color)
        seat = [at(-0.5, 0.72), at(-0.05, 0.72), at(-0.05, 0.8), at(-0.5, 0.8)]
        cv2.fillPoly(c.img, [c.view.poly(seat)], (35, 35, 35))
        bars = [(at(0.35, 1.05), at(0.3, 1.12))]
    else:
        rear, front = at(-base / 2, r), at(base / 2, r)
        crank, seat, head = at(0, r * 0.9), at(-0.18, 0.92), at(0.36, 0.95)
        bars = [(rear, crank), (rear, seat), (seat, crank), (seat, head), (crank, head)]
        bars += [(head, front), (head, at(0.3, 1.08)), (at(-0.28, 0.95), at(-0.08, 0.95))]
    for a, b in bars:
        pts = c.view.poly([a, b])
        cv2.line(
            c.img, tuple(int(v) for v in pts[0]), tuple(int(v) for v in pts[1]), t.color, width
        )
        hull.append(pts)
    outline = cv2.convexHull(np.concatenate(hull))
    cv2.fillConvexPoly(c.ids, outline, owner)
    if owner:
        c.extent[owner].append(outline.reshape(-1, 2))


def draw_cone(c: Canvas, t: Thing) -> None:
    """A traffic cone: orange, a white band, a square foot (scenery, never labelled)."""
    x, z, h = t.x, t.z, t.height
    c.box(0, (20, 20, 20), x - 0.2, x + 0.2, 0, 0.04, z - 0.2, z + 0.2)
    cone = c.view.poly(
        [(x - 0.15, 0.04, z), (x + 0.15, 0.04, z), (x + 0.03, h, z), (x - 0.03, h, z)]
    )
    c.fill(cone, (0, 110, 250), 0)
    band = [(x - 0.1, h * 0.45, z), (x + 0.1, h * 0.45, z), (x + 0.08, h * 0.6, z)]
    c.fill(c.view.poly([*band, (x - 0.08, h * 0.6, z)]), (235, 235, 235), 0)
