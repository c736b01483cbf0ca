"""Evidence: annotated JPEG snapshots under the data dir, and map coordinates for findings."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import cv2
import numpy as np

from config.schema import CameraConfig
from vision.detections import Detections
from vision.rules import Finding, ZoneRule

RED, AMBER, GREY, CYAN = (40, 40, 230), (0, 190, 255), (170, 170, 170), (230, 200, 60)
GREEN = (90, 200, 90)  # a zone's marked bays: where things may stand


def _outline(out: np.ndarray, rule: ZoneRule) -> None:
    """The zone in amber, its bays in green."""
    cv2.polylines(out, [rule.zone.points.round().astype(np.int32)], True, AMBER, 2)
    for bay in rule.zone.bays:
        cv2.polylines(out, [bay.points.round().astype(np.int32)], True, GREEN, 2)


def annotate(
    image: np.ndarray, rule: ZoneRule, dets: Detections, finding: Finding | None, caption: str
) -> np.ndarray:
    """The frame with the zone outlined, every detection boxed and the finding's boxes in red."""
    out = image.copy()
    pts = rule.zone.points.round().astype(np.int32)
    overlay = out.copy()
    cv2.fillPoly(overlay, [pts], AMBER)
    cv2.addWeighted(overlay, 0.18, out, 0.82, 0, out)
    _outline(out, rule)
    for box, name, conf in zip(dets.xyxy, dets.class_name, dets.confidence, strict=True):
        x0, y0, x1, y1 = box.astype(int)
        cv2.rectangle(out, (x0, y0), (x1, y1), GREY, 1)
        cv2.putText(
            out, f"{name} {conf:.2f}", (x0, max(y0 - 3, 10)), cv2.FONT_HERSHEY_SIMPLEX, 0.4, GREY, 1
        )
    if finding is not None:
        for box in finding.boxes:
            x0, y0, x1, y1 = box.astype(int)
            cv2.rectangle(out, (x0, y0), (x1, y1), RED, 2)
    cv2.rectangle(out, (0, 0), (out.shape[1], 22), (0, 0, 0), -1)
    cv2.putText(out, caption, (6, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1)
    return out


def save_snapshot(
    data_dir: Path, camera_id: str, zone_id: str, at: float, image: np.ndarray, tag: str
) -> str:
    """Write a JPEG under data_dir/snapshots/YYYY-MM-DD/; returns its path relative to data_dir."""
    stamp = dt.datetime.fromtimestamp(at, dt.UTC)
    rel = (
        Path("snapshots")
        / stamp.strftime("%Y-%m-%d")
        / f"{camera_id}-{zone_id}-{stamp:%H%M%S}-{tag}.jpg"
    )
    path = data_dir / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])
    if not ok:
        raise OSError(f"cannot encode snapshot for camera {camera_id}")
    tmp = path.with_suffix(".part")
    tmp.write_bytes(buf.tobytes())
    tmp.replace(path)
    return rel.as_posix()


def place(
    camera: CameraConfig, zone_anchor: tuple[float, float], finding: Finding
) -> tuple[float, float]:
    """Where a finding goes on the map: via the camera's homography, else the zone's anchor."""
    if camera.homography is None or len(finding.boxes) == 0:
        return zone_anchor
    box = finding.boxes[0]
    point = np.array([(box[0] + box[2]) / 2, box[3], 1.0])
    lon, lat, w = np.asarray(camera.homography, float) @ point
    return (float(lon / w), float(lat / w)) if w else zone_anchor


def wall_frame(
    image: np.ndarray,
    rules: list[ZoneRule],
    dets: Detections,
    width: int,
    caption: str,
    grid: list[np.ndarray] = (),
    regions: list[tuple[int, int, int, int]] = (),
) -> bytes:
    """A small JPEG for the camera wall: the ground calibration grid (calibrated cameras) and
    the regions the detector looks at, faint; every zone outlined, every detection boxed (the
    drawing at full size, then scaled down), the camera and time on top."""
    out = image.copy()
    for line in grid:
        cv2.polylines(out, [line.round().astype(np.int32)], False, CYAN, 1, cv2.LINE_AA)
    for x0, y0, x1, y1 in regions:
        cv2.rectangle(out, (x0, y0), (x1 - 1, y1 - 1), GREY, 1)
    for rule in rules:
        _outline(out, rule)
    for box, name in zip(dets.xyxy, dets.class_name, strict=True):
        x0, y0, x1, y1 = box.astype(int)
        cv2.rectangle(out, (x0, y0), (x1, y1), RED, 2)
        cv2.putText(out, name, (x0, max(y0 - 4, 12)), cv2.FONT_HERSHEY_SIMPLEX, 0.5, RED, 1)
    height = max(1, round(out.shape[0] * width / out.shape[1]))
    small = cv2.resize(out, (width, height), interpolation=cv2.INTER_AREA)
    cv2.rectangle(small, (0, 0), (width, 18), (0, 0, 0), -1)
    cv2.putText(small, caption, (4, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (255, 255, 255), 1)
    ok, encoded = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 70])
    return encoded.tobytes() if ok else b""
