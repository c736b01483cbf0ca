"""Look where it matters: the detector runs on crops around a camera's zones at (close to) the
camera's own resolution instead of on the whole frame shrunk to the model's input, and the boxes
found in the crops are put back into frame pixels and merged."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from vision.detections import Detections

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 in frame pixels
MERGE_IOU = 0.5  # one thing seen in two overlapping crops is kept once


@dataclass(frozen=True)
class CropPlan:
    """The frame regions the detector looks at; one region covering the frame means no crops."""

    regions: tuple[Box, ...]

    @property
    def whole_frame(self) -> bool:
        return len(self.regions) == 1 and self.regions[0][:2] == (0, 0)


def _square_around(box: np.ndarray, side: float, width: int, height: int) -> np.ndarray:
    """`box` grown to at least side x side around its centre, shifted to stay in the frame."""
    x0, y0, x1, y1 = box
    w, h = max(x1 - x0, min(side, width)), max(y1 - y0, min(side, height))
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    nx0 = min(max(cx - w / 2, 0), width - w)
    ny0 = min(max(cy - h / 2, 0), height - h)
    return np.array([nx0, ny0, nx0 + w, ny0 + h])


def plan_crops(
    zones: list[np.ndarray],
    frame: tuple[int, int],
    min_side: int,
    margin: float = 0.25,
    whole_share: float = 0.9,
) -> CropPlan:
    """Regions around the zones (polygons in frame pixels): each zone's bounds plus `margin` of
    its size on every side (things stand up out of a ground zone), at least `min_side` square so
    nothing is enlarged past the camera's own pixels. Two regions become one only where that one
    is no larger than the larger of them (no detail lost); overlapping regions stay apart
    otherwise (a thing in both is merged afterwards). When the regions would cover more than
    `whole_share` of the frame, one look at the whole frame is as good."""
    width, height = frame
    whole = CropPlan(((0, 0, width, height),))
    if not zones:
        return whole
    boxes = []
    for polygon in zones:
        lo, hi = polygon.min(axis=0), polygon.max(axis=0)
        pad = np.maximum((hi - lo) * margin, 16)
        boxes.append(
            np.concatenate([np.maximum(lo - pad, 0), np.minimum(hi + pad, (width, height))])
        )
    merged = True
    while merged and len(boxes) > 1:
        merged = False
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                a, b = boxes[i], boxes[j]
                union = np.concatenate([np.minimum(a[:2], b[:2]), np.maximum(a[2:], b[2:])])
                side = max(min_side, *(a[2:] - a[:2]), *(b[2:] - b[:2]))
                if (union[2:] - union[:2]).max() <= side:  # one look, at no loss of detail
                    boxes[i] = union
                    del boxes[j]
                    merged = True
                    break
            if merged:
                break
    boxes = [_square_around(b, min_side, width, height) for b in boxes]
    covered = np.zeros((height // 8 + 1, width // 8 + 1), bool)  # the frame at 1/8 scale
    for x0, y0, x1, y1 in boxes:
        covered[int(y0) // 8 : int(y1) // 8, int(x0) // 8 : int(x1) // 8] = True
    if covered.mean() > whole_share:
        return whole
    return CropPlan(tuple(tuple(int(round(v)) for v in b) for b in boxes))


def merge(found: list[Detections]) -> Detections:
    """Detections from several regions (already in frame pixels) as one set: a thing seen in two
    overlapping regions is kept once, with its better score."""
    found = [d for d in found if len(d)]
    if not found:
        return Detections()
    if len(found) == 1:
        return found[0]
    xyxy = np.concatenate([d.xyxy for d in found])
    score = np.concatenate([d.confidence for d in found])
    names = np.concatenate([d.class_name for d in found])
    _, cls = np.unique(names, return_inverse=True)
    shifted = xyxy + (cls * 8192.0)[:, None]  # other classes never overlap
    xywh = np.concatenate([shifted[:, :2], shifted[:, 2:] - shifted[:, :2]], axis=1)
    keep = np.asarray(
        cv2.dnn.NMSBoxes(xywh.tolist(), score.tolist(), 0.0, MERGE_IOU), np.int64
    ).reshape(-1)
    return Detections(xyxy[keep], score[keep], names[keep])


def detect_regions(detect, image: np.ndarray, plan: CropPlan) -> Detections:
    """`detect(image) -> Detections` run on each region of `plan`, in frame pixels."""
    if plan.whole_frame and plan.regions[0][2:] == (image.shape[1], image.shape[0]):
        return detect(image)
    found = []
    for x0, y0, x1, y1 in plan.regions:
        part = detect(image[y0:y1, x0:x1])
        if len(part):
            offset = np.array([x0, y0, x0, y0], np.float32)
            part = Detections(part.xyxy + offset, part.confidence, part.class_name)
        found.append(part)
    return merge(found)
