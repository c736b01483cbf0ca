"""Motion gating: run the detector only when the picture changed, plus a periodic full check so
that still problems (a full bin, a parked car) are seen anyway."""

from __future__ import annotations

import math

import cv2
import numpy as np

SMALL = (80, 72)  # the gate compares thumbnails: cheap, and sensor noise averages out
PIXEL_DELTA = 18  # levels any colour channel of a thumbnail pixel must change by to count


class MotionGate:
    """Says whether a frame needs the detector (explicit clock)."""

    def __init__(self, threshold: float, full_check_s: float):
        self.threshold, self.full_check_s = threshold, full_check_s
        self.reference: np.ndarray | None = None
        self.last_full = -math.inf
        self.changed_share = 0.0

    def thumbnail(self, image: np.ndarray) -> np.ndarray:
        """A small blurred colour copy of the frame (a red car on grey asphalt barely changes
        the grey level, so the gate compares colours)."""
        return cv2.GaussianBlur(cv2.resize(image, SMALL, interpolation=cv2.INTER_AREA), (3, 3), 0)

    def needs_detection(self, image: np.ndarray, now: float) -> bool:
        """True when the frame moved since the last detection, or a full check is due."""
        thumb = self.thumbnail(image)
        if self.reference is None or now - self.last_full >= self.full_check_s:
            self.changed_share = 1.0
        else:
            delta = cv2.absdiff(thumb, self.reference).max(axis=2)
            self.changed_share = float((delta > PIXEL_DELTA).mean())
        if self.changed_share <= self.threshold:
            return False
        self.reference, self.last_full = thumb, now
        return True
