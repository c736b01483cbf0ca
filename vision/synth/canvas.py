"""The drawing surface of a synthetic scene: an image plus an id mask that says which labelled
thing owns each pixel, so that a label is kept only when enough of its thing stays visible."""

from __future__ import annotations

import cv2
import numpy as np

from vision.synth.world import MIN_BOX_DEFAULT, MIN_BOX_PX, MIN_VISIBLE, Label, View


def _box_faces(view: View, x0, x1, y0, y1, z0, z1) -> list[tuple[np.ndarray, float]]:
    """Visible faces of an axis-aligned box with a brightness factor each (front, side, top)."""
    faces = [(view.poly([(x0, y0, z0), (x1, y0, z0), (x1, y1, z0), (x0, y1, z0)]), 1.0)]
    if x1 < view.cam_x:
        faces.append((view.poly([(x1, y0, z0), (x1, y0, z1), (x1, y1, z1), (x1, y1, z0)]), 0.8))
    elif x0 > view.cam_x:
        faces.append((view.poly([(x0, y0, z0), (x0, y0, z1), (x0, y1, z1), (x0, y1, z0)]), 0.8))
    if y1 < view.height:
        faces.append((view.poly([(x0, y1, z0), (x1, y1, z0), (x1, y1, z1), (x0, y1, z1)]), 1.15))
    return faces


def shade(color, factor: float) -> tuple[int, int, int]:
    """`color` brightened (factor > 1) or darkened, clipped to 255."""
    return tuple(int(min(255, c * factor)) for c in color)


class Canvas:
    """An image plus the id mask and the projected extent of every labelled thing drawn on it."""

    def __init__(self, base: np.ndarray, view: View):
        self.img = base.copy()
        self.view = view
        self.ids = np.zeros(base.shape[:2], np.int32)
        self.extent: dict[int, list[np.ndarray]] = {}
        self.names: dict[int, str] = {}

    def fill(self, pts: np.ndarray, color, owner: int) -> None:
        """Paint a polygon; it counts towards `owner`'s box when owner > 0."""
        cv2.fillPoly(self.img, [pts], color)
        cv2.fillPoly(self.ids, [pts], owner)
        if owner:
            self.extent.setdefault(owner, []).append(pts)

    def box(self, owner: int, color, x0, x1, y0, y1, z0, z1) -> None:
        """Paint a shaded box."""
        for pts, f in _box_faces(self.view, x0, x1, y0, y1, z0, z1):
            self.fill(pts, shade(color, f), owner)

    def labels(self) -> list[Label]:
        """Boxes of the labelled things that remain visible enough after occlusion."""
        out = []
        h, w = self.ids.shape
        counts = np.bincount(self.ids.ravel(), minlength=max(self.extent, default=0) + 1)
        for owner, polys in self.extent.items():
            pts = np.concatenate(polys).astype(np.float64)
            x0, y0 = np.clip(pts.min(0), 0, [w, h])
            x1, y1 = np.clip(pts.max(0), 0, [w, h])
            least = MIN_BOX_PX.get(self.names[owner], MIN_BOX_DEFAULT)
            if x1 - x0 < least or y1 - y0 < least:
                continue
            drawn = np.zeros_like(self.ids, np.uint8)
            cv2.fillPoly(drawn, [p for p in polys], 1)
            total = int(drawn.sum())
            if total and counts[owner] / total >= MIN_VISIBLE:
                out.append(Label(self.names[owner], (float(x0), float(y0), float(x1), float(y1))))
        return out
