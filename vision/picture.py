"""A camera's picture, beyond whether frames arrive: frozen, too dark, blurred, or view shifted.

A camera that was turned or zoomed still delivers frames, but its zones no longer lie on the
road they were drawn on: every rule then watches the wrong place. The first good picture a
worker sees becomes the camera's reference; later pictures are compared with it by ORB
landmarks and a RANSAC similarity transform (translation, rotation, scale), so people and cars
passing do not count as a move. Frozen is the very same picture for `frozen_s`, dark is a low
mean brightness, blurred is a sharpness (variance of the Laplacian) far below the reference's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from config.picture import PictureConfig
from streams.records import PICTURE_PROBLEMS

WIDTH = 320  # pictures are compared at this width: cheap, and enough for landmarks
FROZEN, DARK, BLURRED, SHIFTED = PICTURE_PROBLEMS


@dataclass
class _Reference:
    keypoints: tuple
    descriptors: np.ndarray
    sharpness: float


@dataclass
class PictureCheck:
    """One camera's picture checks; `update` with each analysed frame, read `problems`."""

    cfg: PictureConfig
    problems: tuple[str, ...] = ()
    shift_px: float | None = None  # the move measured by the last check (pixels at WIDTH)
    reference: _Reference | None = None
    _last: np.ndarray | None = None
    _same_since: float | None = None
    _next_check: float = float("-inf")
    _orb: cv2.ORB = field(default_factory=lambda: cv2.ORB_create(nfeatures=600))

    def update(self, image: np.ndarray, at: float) -> bool:
        """Look at the picture if a check is due (every `check_every_s`; nothing is done on
        the frames between); True when the set of problems changed."""
        if at < self._next_check:
            return False
        self._next_check = at + self.cfg.check_every_s
        small = _grey(image)
        same = self._last is not None and float(cv2.absdiff(small, self._last).mean()) < 0.5
        self._last = small
        self._same_since = (self._same_since or at) if same else None
        frozen = self._same_since is not None and at - self._same_since >= self.cfg.frozen_s
        found = self._look(small, frozen)
        changed = found != self.problems
        self.problems = found
        return changed

    def rebase(self) -> None:
        """The view as it is now is the right one (zones were re-drawn): the next good picture
        becomes the reference."""
        self.reference = None
        self.problems = tuple(p for p in self.problems if p != SHIFTED)

    def _look(self, small: np.ndarray, frozen: bool) -> tuple[str, ...]:
        self.shift_px = None
        if float(small.mean()) < self.cfg.dark_level:
            return (DARK,)  # nothing more can be told in the dark (still frames look frozen)
        found = [FROZEN] if frozen else []
        sharpness = float(cv2.Laplacian(small, cv2.CV_64F).var())
        keypoints, descriptors = self._orb.detectAndCompute(small, None)
        if self.reference is None:
            if (
                not frozen
                and descriptors is not None
                and len(keypoints) >= 4 * self.cfg.min_matches
            ):
                self.reference = _Reference(tuple(keypoints), descriptors, sharpness)
            return tuple(found)
        if sharpness < self.cfg.blur_ratio * self.reference.sharpness:
            return (*found, BLURRED)  # landmarks are unreliable in a blurred picture
        self.shift_px = self._shift(keypoints, descriptors, small.shape)
        if self.shift_px > self.cfg.shift_ratio * WIDTH:
            found.append(SHIFTED)
        return tuple(found)

    def _shift(self, keypoints, descriptors, shape) -> float:
        """How far the picture's corners moved against the reference (inf: not recognised)."""
        if descriptors is None or len(keypoints) < self.cfg.min_matches:
            return float("inf")
        matcher = cv2.BFMatcher(cv2.NORM_HAMMING, crossCheck=True)
        matches = matcher.match(self.reference.descriptors, descriptors)
        if len(matches) < self.cfg.min_matches:
            return float("inf")
        before = np.float32([self.reference.keypoints[m.queryIdx].pt for m in matches])
        after = np.float32([keypoints[m.trainIdx].pt for m in matches])
        moved, inliers = cv2.estimateAffinePartial2D(
            before, after, method=cv2.RANSAC, ransacReprojThreshold=3.0
        )
        if moved is None or int(inliers.sum()) < self.cfg.min_matches:
            return float("inf")
        h, w = shape
        corners = np.float32([[0, 0], [w, 0], [0, h], [w, h]])
        placed = corners @ moved[:, :2].T + moved[:, 2]
        return float(np.linalg.norm(placed - corners, axis=1).max())


def _grey(image: np.ndarray) -> np.ndarray:
    """The picture in grey, WIDTH pixels wide."""
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    h, w = grey.shape
    return cv2.resize(grey, (WIDTH, max(1, round(h * WIDTH / w))), interpolation=cv2.INTER_AREA)
