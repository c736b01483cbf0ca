"""Multi-object tracking per camera, ByteTrack's way: confident boxes are matched to the tracks'
predicted places first, weak boxes then keep the tracks they overlap alive (a van half hidden by
a passer-by keeps its id), unmatched confident boxes start tracks, and lost tracks are kept for a
while. NumPy and `lap` only: no PyTorch in the worker."""

from __future__ import annotations

from dataclasses import dataclass

import lap
import numpy as np

from vision.detections import Detections

HIGH = 0.3  # a box this sure is matched first and may start a track
LOW = 0.1  # weaker boxes only keep existing tracks alive
MIN_IOU = 0.2  # least overlap with a track's predicted box that counts as the same thing


@dataclass
class _Track:
    track_id: int
    box: np.ndarray  # x0, y0, x1, y1
    velocity: np.ndarray  # per analysed frame
    missed: int = 0

    def predicted(self) -> np.ndarray:
        return self.box + self.velocity * (self.missed + 1)

    def seen(self, box: np.ndarray) -> None:
        step = (box - self.box) / (self.missed + 1)
        self.velocity = 0.6 * self.velocity + 0.4 * step
        self.box, self.missed = box, 0


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise intersection over union of two box arrays (N x 4, M x 4) -> N x M."""
    lo = np.maximum(a[:, None, :2], b[None, :, :2])
    hi = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(hi - lo, 0, None), axis=2)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=1)[:, None]
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=1)[None, :]
    return inter / np.maximum(area_a + area_b - inter, 1e-9)


def _match(tracks: list[_Track], boxes: np.ndarray) -> list[tuple[int, int]]:
    """(track index, box index) pairs with the most overlap in all, each at least MIN_IOU."""
    if not tracks or not len(boxes):
        return []
    overlap = iou(np.array([t.predicted() for t in tracks]), boxes)
    _, rows, _ = lap.lapjv(1 - overlap, extend_cost=True, cost_limit=1 - MIN_IOU)
    return [(i, int(j)) for i, j in enumerate(rows) if j >= 0]


class Tracker:
    """ByteTrack over one camera's analysed frames. Every detection keeps its place in the output;
    the ones the tracker follows carry their track id (-1 for the rest)."""

    def __init__(self, analysis_fps: float, memory_s: float = 10.0):
        self.keep_frames = max(int(memory_s * analysis_fps), 1)  # how long a lost track waits
        self.tracks: list[_Track] = []
        self.next_id = 1

    def update(self, dets: Detections) -> Detections:
        """Assign track ids for one analysed frame."""
        track_id = np.full(len(dets), -1, np.int64)
        boxes = dets.xyxy.astype(np.float64)
        strong = np.flatnonzero(dets.confidence >= HIGH)
        weak = np.flatnonzero((dets.confidence >= LOW) & (dets.confidence < HIGH))
        free = list(range(len(self.tracks)))
        for group in (strong, weak):
            pairs = _match([self.tracks[i] for i in free], boxes[group])
            for ti, bi in pairs:
                track = self.tracks[free[ti]]
                track.seen(boxes[group[bi]])
                track_id[group[bi]] = track.track_id
            taken = {free[ti] for ti, _ in pairs}
            free = [i for i in free if i not in taken]
        for i in free:
            self.tracks[i].missed += 1
        for index in strong[track_id[strong] < 0]:
            self.tracks.append(_Track(self.next_id, boxes[index], np.zeros(4)))
            track_id[index] = self.next_id
            self.next_id += 1
        self.tracks = [t for t in self.tracks if t.missed <= self.keep_frames]
        return Detections(dets.xyxy, dets.confidence, dets.class_name, track_id)
