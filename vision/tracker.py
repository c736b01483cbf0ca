"""Multi-object tracking per camera with Ultralytics' ByteTrack: stable ids for the rules."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from vision.detections import Detections


class _Boxes:
    """The results-like view ByteTrack reads: conf, cls, xywh, boolean indexing, len."""

    def __init__(self, xyxy: np.ndarray, conf: np.ndarray, cls: np.ndarray):
        self.xyxy, self.conf, self.cls = xyxy, conf, cls

    @property
    def xywh(self) -> np.ndarray:
        wh = self.xyxy[:, 2:] - self.xyxy[:, :2]
        return np.concatenate([self.xyxy[:, :2] + wh / 2, wh], axis=1)

    def __getitem__(self, mask) -> _Boxes:
        return _Boxes(self.xyxy[mask], self.conf[mask], self.cls[mask])

    def __len__(self) -> int:
        return len(self.conf)


class Tracker:
    """ByteTrack over one camera's analysed frames. Every detection keeps its place in the output;
    the ones the tracker follows carry their track id (-1 for the rest)."""

    def __init__(self, analysis_fps: float, memory_s: float = 10.0):
        from ultralytics.trackers.byte_tracker import BYTETracker  # heavy: only where tracking runs

        self.classes: dict[str, int] = {}
        args = SimpleNamespace(
            tracker_type="bytetrack",
            track_high_thresh=0.3,
            track_low_thresh=0.1,
            new_track_thresh=0.3,
            track_buffer=max(int(memory_s * analysis_fps), 1),  # frames a lost track is kept
            match_thresh=0.8,
            fuse_score=True,
        )
        self.bytetrack = BYTETracker(args)

    def update(self, dets: Detections) -> Detections:
        """Assign track ids for one analysed frame."""
        cls = np.array(
            [self.classes.setdefault(str(n), len(self.classes)) for n in dets.class_name],
            np.float32,
        )
        rows = self.bytetrack.update(
            _Boxes(dets.xyxy.astype(np.float32), dets.confidence.astype(np.float32), cls)
        )
        track_id = np.full(len(dets), -1, np.int64)
        for row in np.asarray(rows).reshape(-1, 8):
            index = int(row[7])
            if 0 <= index < len(dets):
                track_id[index] = int(row[4])
        return Detections(dets.xyxy, dets.confidence, dets.class_name, track_id)
