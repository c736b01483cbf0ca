"""The ground-size check: on a camera calibrated with a pixel -> [lon, lat] homography, each box's
footprint is measured in metres where it stands, and boxes whose size is impossible for their
class (a 'bin' 6 m wide is a shop window, a 'truck' whose foot is above the horizon is a
facade) are dropped and counted."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np

from config.detection import GroundSize
from vision.detections import Detections

EDGE_PX = 4  # a box this close to the frame's edge is cut by it
EARTH_M_PER_DEG = 111_320.0  # metres per degree of latitude (and of longitude at the equator)


class GroundPlane:
    """Image pixels (of the analysed frame) <-> metres on the ground around the camera."""

    def __init__(
        self,
        homography: list[list[float]],
        frame: tuple[int, int],
        scale: tuple[float, float] = (1.0, 1.0),
    ):
        self.frame = frame
        to_config = np.diag([1 / scale[0], 1 / scale[1], 1.0])  # analysed px -> configured px
        matrix = np.asarray(homography, np.float64) @ to_config
        # The horizon splits the picture; the frame's bottom centre is on the ground. A
        # homography's overall sign is arbitrary, so turn it to make the ground side positive.
        foot = np.array([frame[0] / 2, frame[1] - 1, 1.0])
        matrix = matrix if (matrix @ foot)[2] > 0 else -matrix
        lon0, lat0, w0 = matrix @ foot
        self.origin = (lon0 / w0, lat0 / w0)
        m_lon = EARTH_M_PER_DEG * math.cos(math.radians(self.origin[1]))
        # Pixels -> metres east/north of that foot point, in one well-conditioned matrix (degrees
        # around 120 next to pixels would lose precision when inverted).
        to_metres = np.array(
            [
                [m_lon, 0, -self.origin[0] * m_lon],
                [0, EARTH_M_PER_DEG, -self.origin[1] * EARTH_M_PER_DEG],
                [0, 0, 1],
            ]
        )
        self.matrix = to_metres @ matrix
        self.inverse = np.linalg.inv(self.matrix)

    def metres(self, pixels: np.ndarray) -> np.ndarray:
        """Ground positions (east, north metres from the ground at the frame's bottom centre);
        NaN above the horizon."""
        points = np.column_stack([pixels, np.ones(len(pixels))]) @ self.matrix.T
        with np.errstate(divide="ignore", invalid="ignore"):
            out = points[:, :2] / points[:, 2:3]
        out[points[:, 2] <= 0] = np.nan
        return out

    def pixels(self, metres: np.ndarray) -> np.ndarray:
        """Image pixels of ground points given in metres (for drawing the calibration grid)."""
        points = np.column_stack([metres, np.ones(len(metres))]) @ self.inverse.T
        return points[:, :2] / points[:, 2:3]

    def box_sizes(self, xyxy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each box's footprint width and standing height in metres: the width between its
        bottom corners on the ground; the height from its pixel height at the same scale (a
        thing standing up is about as many metres per pixel tall as wide). NaN: not on the
        ground at all."""
        left = self.metres(xyxy[:, [0, 3]])
        right = self.metres(xyxy[:, [2, 3]])
        width_m = np.linalg.norm(right - left, axis=1)
        width_px = np.maximum(xyxy[:, 2] - xyxy[:, 0], 1e-6)
        height_m = (xyxy[:, 3] - xyxy[:, 1]) * width_m / width_px
        return width_m, height_m

    def grid(self, around: np.ndarray, half_m: float = 20, step_m: float = 5) -> list[np.ndarray]:
        """Pixel polylines of a ground grid (step_m squares, half_m each way) around the pixel
        point `around`: the calibration drawn over the picture. Parts beyond the horizon are
        left out."""
        centre = self.metres(around.reshape(1, 2))[0]
        if not np.isfinite(centre).all():
            return []
        ticks = np.arange(-half_m, half_m + step_m / 2, step_m)
        along = np.linspace(-half_m, half_m, 41)
        lines = []
        for tick in ticks:
            for points in (np.column_stack([np.full_like(along, tick), along]),
                           np.column_stack([along, np.full_like(along, tick)])):  # fmt: skip
                pixels = self.pixels(points + centre)
                seen = np.isfinite(self.metres(pixels)).all(axis=1)  # not mirrored from behind
                pixels = pixels[seen & (np.abs(pixels) < 1e5).all(axis=1)]
                if len(pixels) > 1:
                    lines.append(pixels)
        return lines


class GroundCheck:
    """Drops boxes of impossible size for their class and counts them."""

    def __init__(self, plane: GroundPlane, sizes: dict[str, GroundSize]):
        self.plane, self.sizes = plane, sizes
        self.dropped: Counter[str] = Counter()

    def plausible(self, dets: Detections) -> np.ndarray:
        """Boolean mask of the boxes whose size fits their class. Unchecked classes fit, and so
        do boxes cut by the frame's edge (a truck half out of the picture cannot be measured)."""
        keep = np.ones(len(dets), bool)
        if not len(dets):
            return keep
        xyxy = dets.xyxy.astype(np.float64)
        width, height = self.plane.box_sizes(xyxy)
        w, h = self.plane.frame
        cut = (xyxy[:, :2].min(axis=1) <= EDGE_PX) | (xyxy[:, 2] >= w - EDGE_PX)
        cut |= xyxy[:, 3] >= h - EDGE_PX
        for i, name in enumerate(dets.class_name):
            size = self.sizes.get(str(name))
            if size is None or cut[i]:
                continue
            keep[i] = bool(
                np.isfinite(width[i])
                and size.min_width_m <= width[i] <= size.max_width_m
                and height[i] <= size.max_height_m
            )
        return keep

    def filter(self, dets: Detections) -> Detections:
        """The plausible boxes; the others are counted by class in `dropped`."""
        keep = self.plausible(dets)
        if keep.all():
            return dets
        self.dropped.update(str(n) for n in dets.class_name[~keep])
        return dets[keep]
