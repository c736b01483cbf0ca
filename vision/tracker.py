"""Multi-object tracking per camera (supervision's ByteTrack): stable ids for the rules."""

from __future__ import annotations

import numpy as np
import supervision as sv

from vision.detections import Detections


class Tracker:
    """ByteTrack over one camera's analysed frames; every detection keeps its place in the output,
    and the ones the tracker follows get their track id."""

    def __init__(self, analysis_fps: float, memory_s: float = 10.0):
        self.classes: dict[str, int] = {}
        self.bytetrack = sv.ByteTrack(
            track_activation_threshold=0.3,
            lost_track_buffer=max(int(memory_s * 30), 1),  # supervision counts in 30 fps frames
            minimum_matching_threshold=0.8,
            frame_rate=max(int(round(analysis_fps)), 1),
        )

    def update(self, dets: Detections) -> Detections:
        """Assign track ids (-1 where the tracker has none yet)."""
        ids = np.array(
            [self.classes.setdefault(str(n), len(self.classes)) for n in dets.class_name], int
        )
        tracked = self.bytetrack.update_with_detections(
            sv.Detections(
                xyxy=dets.xyxy.astype(np.float32).reshape(-1, 4),
                confidence=dets.confidence,
                class_id=ids,
            )
        )
        track_id = np.full(len(dets), -1, np.int64)
        for box, tid in zip(tracked.xyxy, tracked.tracker_id, strict=True):
            if len(dets):
                match = int(np.argmin(np.abs(dets.xyxy - box).sum(axis=1)))
                track_id[match] = int(tid)
        return Detections(dets.xyxy, dets.confidence, dets.class_name, track_id)
