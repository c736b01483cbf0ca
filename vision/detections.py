"""The one detection record that flows from the detector through the tracker to the rules."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Detections:
    """N boxes in pixels (x0, y0, x1, y1) with confidence, class name and track id (-1: none)."""

    xyxy: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.float32))
    confidence: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    class_name: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=object))
    track_id: np.ndarray | None = None

    def __post_init__(self):
        n = len(self.xyxy)
        if self.xyxy.shape != (n, 4) or len(self.confidence) != n or len(self.class_name) != n:
            raise ValueError("Detections arrays must have the same length and xyxy shape (N, 4)")
        if self.track_id is None:
            object.__setattr__(self, "track_id", np.full(n, -1, np.int64))
        elif len(self.track_id) != n:
            raise ValueError("Detections.track_id must have one id per box")

    @classmethod
    def of(
        cls, boxes: list[tuple[str, tuple[float, float, float, float], float]], track_ids=None
    ) -> Detections:
        """Build from (class name, box, confidence) triples (tests, the tracker's output)."""
        if not boxes:
            return cls()
        return cls(
            xyxy=np.array([b for _, b, _ in boxes], np.float32),
            confidence=np.array([c for _, _, c in boxes], np.float32),
            class_name=np.array([n for n, _, _ in boxes], dtype=object),
            track_id=None if track_ids is None else np.asarray(track_ids, np.int64),
        )

    def __len__(self) -> int:
        return len(self.xyxy)

    def __getitem__(self, mask) -> Detections:
        """The subset selected by a boolean mask or index array."""
        return Detections(
            self.xyxy[mask], self.confidence[mask], self.class_name[mask], self.track_id[mask]
        )

    def of_classes(self, names) -> Detections:
        """Only the boxes whose class is in `names`."""
        return self[np.isin(self.class_name, list(names))]

    def anchors(self) -> np.ndarray:
        """Bottom-centre of every box: where the thing touches the ground."""
        return np.stack([(self.xyxy[:, 0] + self.xyxy[:, 2]) / 2, self.xyxy[:, 3]], axis=1)
