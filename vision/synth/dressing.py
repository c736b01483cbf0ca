"""What makes a rendered street less clean than the renderer: real photographs as texture on its
facades, pavements and road, shopfronts, painted bicycle bays and cast shadows. The training set
dresses its streets; the demo's clips keep the plain street."""

from __future__ import annotations

import cv2
import numpy as np

from vision.synth.photos import PhotoBank, paint, patch
from vision.synth.world import Look, Street, View

FAR = 220.0


def dress(
    img: np.ndarray,
    view: View,
    street: Street,
    look: Look,
    facades: list[np.ndarray],
    rng: np.random.Generator,
    photos: PhotoBank | None,
) -> None:
    """Texture, shopfronts, bays and a shadow on the empty street, in place."""
    if photos is not None and photos.train:
        _textures(img, view, street, facades, rng, photos)
    if street.shop_side:
        shopfronts(img, view, street, rng)
    bays(img, view, street)
    if look.time_of_day == "day" and rng.random() < 0.5:
        _shadow(img, view, street, rng)


def _textures(img, view, street, facades, rng, photos: PhotoBank) -> None:
    for quad in facades:
        if rng.random() < 0.6:
            paint(img, quad, patch(photos.pick(rng), rng, (256, 256)), rng.uniform(0.35, 0.8))
    k, w = street.kerb, street.walk_w
    for side in (-1, 1):
        if rng.random() < 0.6:
            walk = view.poly([(side * k, 0, 0.5), (side * (k + w), 0, 0.5)])
            far = view.poly([(side * (k + w), 0, 60), (side * k, 0, 60)])
            quad = np.concatenate([walk, far])
            paint(img, quad, patch(photos.pick(rng), rng, (128, 512)), rng.uniform(0.2, 0.55))
    if rng.random() < 0.5:
        road = view.poly([(-k, 0, 0.5), (k, 0, 0.5), (k, 0, 60), (-k, 0, 60)])
        grey = cv2.cvtColor(patch(photos.pick(rng), rng, (256, 512)), cv2.COLOR_BGR2GRAY)
        paint(img, road, cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR), rng.uniform(0.1, 0.35))
    if rng.random() < 0.3:
        rows = max(int(view.horizon) - 20, 1)
        sky = patch(photos.pick(rng), rng, (view.width, rows))
        img[:rows] = (img[:rows] * 0.4 + sky * 0.6).astype(np.uint8)


def shopfronts(img: np.ndarray, view: View, street: Street, rng: np.random.Generator) -> None:
    """Ground-floor shop windows, doors and sign boards along the shop side's facades."""
    x = street.shop_side * (street.kerb + street.walk_w)
    z = 0.5
    while z < 80:
        width = float(rng.uniform(4, 9))
        sign = tuple(int(v) for v in rng.integers(30, 240, 3))
        glass = tuple(int(v) for v in rng.integers(20, 90, 3))
        _quad(img, view, x, 2.5, 3.2, z + 0.2, z + width - 0.2, sign)
        _quad(img, view, x, 0.15, 2.4, z + 0.5, z + width * 0.65, glass)
        _quad(img, view, x, 0.0, 2.2, z + width * 0.7, z + width * 0.9, shade_of(glass, 0.6))
        light = tuple(min(255, v + 70) for v in glass)  # a reflection across the window
        _quad(img, view, x, 1.2, 1.6, z + 0.8, z + width * 0.4, light)
        z += width


def shade_of(color, factor: float) -> tuple[int, int, int]:
    """`color` darkened by `factor`."""
    return tuple(int(v * factor) for v in color)


def _quad(img, view: View, x: float, y0: float, y1: float, z0: float, z1: float, color) -> None:
    pts = view.poly([(x, y0, z0), (x, y1, z0), (x, y1, z1), (x, y0, z1)])
    cv2.fillPoly(img, [pts], color)


def bay_polygon(street: Street, z0: float, z1: float) -> list[tuple[float, float, float]]:
    """The ground outline of a painted bicycle bay on the bay side's pavement."""
    side, k = street.bay_side, street.kerb
    xa, xb = side * (k + 0.3), side * (k + min(2.0, street.walk_w - 0.4))
    return [(xa, 0, z0), (xb, 0, z0), (xb, 0, z1), (xa, 0, z1)]


def bays(img: np.ndarray, view: View, street: Street) -> None:
    """White outlines of the bicycle bays with a stand line every 0.8 m."""
    for z0, z1 in street.bike_bays:
        outline = bay_polygon(street, z0, z1)
        cv2.polylines(img, [view.poly(outline)], True, (235, 235, 235), 1)
        xa, xb = outline[0][0], outline[1][0]
        for z in np.arange(z0 + 0.8, z1, 0.8):
            cv2.polylines(img, [view.poly([(xa, 0, z), (xb, 0, z)])], False, (210, 210, 210), 1)


def _shadow(img: np.ndarray, view: View, street: Street, rng: np.random.Generator) -> None:
    """A building's shadow across the road and one pavement."""
    side = int(rng.choice([-1, 1]))
    k, w = street.kerb, street.walk_w
    z0 = float(rng.uniform(3, 25))
    z1 = z0 + float(rng.uniform(3, 15))
    reach = float(rng.uniform(-k, k))
    pts = view.poly(
        [(side * (k + w), 0, z0), (reach, 0, z0 + 2), (reach, 0, z1 + 2), (side * (k + w), 0, z1)]
    )
    mask = np.zeros(img.shape[:2], np.uint8)
    cv2.fillPoly(mask, [pts], 1)
    sel = mask.astype(bool)
    img[sel] = (img[sel] * rng.uniform(0.45, 0.7)).astype(np.uint8)
