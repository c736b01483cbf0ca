"""An exported YOLO detector run by ONNX Runtime alone: letterbox, one session call, decode and
per-class non-maximum suppression in NumPy/OpenCV. No PyTorch in the process (a worker stays
around 300 MB instead of 1.1 GB); PyTorch is needed only once, to export the model."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

PAD = 114  # the grey Ultralytics pads letterboxed images with (the model was trained on it)
IOU = 0.7  # Ultralytics' default NMS overlap
MAX_BOXES = 300


@dataclass(frozen=True)
class Letterbox:
    """How an image was scaled and padded into the model's square input."""

    scale: float
    pad_x: float
    pad_y: float

    def to_image(self, xyxy: np.ndarray) -> np.ndarray:
        """Model-input pixel boxes back in the original image's pixels."""
        out = xyxy.copy()
        out[:, [0, 2]] = (out[:, [0, 2]] - self.pad_x) / self.scale
        out[:, [1, 3]] = (out[:, [1, 3]] - self.pad_y) / self.scale
        return out


def letterbox(image: np.ndarray, size: int) -> tuple[np.ndarray, Letterbox]:
    """`image` scaled to fit a size x size square, centred on grey padding."""
    h, w = image.shape[:2]
    scale = min(size / h, size / w)
    nw, nh = round(w * scale), round(h * scale)
    if (nw, nh) != (w, h):
        image = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_LINEAR)
    dx, dy = (size - nw) / 2, (size - nh) / 2
    top, left = round(dy - 0.1), round(dx - 0.1)
    out = cv2.copyMakeBorder(
        image,
        top,
        size - nh - top,
        left,
        size - nw - left,
        cv2.BORDER_CONSTANT,
        value=(PAD, PAD, PAD),
    )
    return out, Letterbox(scale, left, top)


def decode(
    output: np.ndarray, confidence: float, iou: float = IOU
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One image's raw YOLO output (4 + classes, anchors) -> boxes xyxy, scores, class indices
    after per-class non-maximum suppression."""
    rows = output.T  # anchors x (cx, cy, w, h, class scores...)
    scores = rows[:, 4:]
    cls = scores.argmax(axis=1)
    best = scores[np.arange(len(rows)), cls]
    keep = best >= confidence
    if not keep.any():
        return np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64)
    rows, best, cls = rows[keep], best[keep], cls[keep]
    cx, cy, w, h = rows[:, 0], rows[:, 1], rows[:, 2], rows[:, 3]
    xyxy = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
    # One NMS for all classes: boxes of different classes are moved apart so they never overlap.
    shifted = xyxy + (cls * 4096.0)[:, None]
    xywh = np.concatenate([shifted[:, :2], shifted[:, 2:] - shifted[:, :2]], axis=1)
    picked = cv2.dnn.NMSBoxes(xywh.tolist(), best.tolist(), confidence, iou, top_k=MAX_BOXES)
    picked = np.asarray(picked, np.int64).reshape(-1)[:MAX_BOXES]
    return xyxy[picked].astype(np.float32), best[picked].astype(np.float32), cls[picked]


def model_names(session) -> dict[int, str]:
    """The class names Ultralytics writes into an exported model's metadata."""
    meta = session.get_modelmeta().custom_metadata_map
    if "names" not in meta:
        raise ValueError("the ONNX model carries no class names (not an Ultralytics export)")
    return {int(k): str(v) for k, v in ast.literal_eval(meta["names"]).items()}


class OnnxModel:
    """One exported model in one ONNX Runtime session; `predict(image)` in image pixels."""

    def __init__(self, path: Path, threads: int = 0):
        import onnxruntime as ort

        options = ort.SessionOptions()
        self.threads = threads
        options.intra_op_num_threads = threads  # 0: ONNX Runtime's own choice (all cores)
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        node = self.session.get_inputs()[0]
        self.input = node.name
        self.size = int(node.shape[-1])
        self.names = model_names(self.session)

    def predict(
        self, image: np.ndarray, confidence: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Boxes (xyxy, image pixels), scores and class indices for one BGR image."""
        boxed, box = letterbox(image, self.size)
        blob = cv2.dnn.blobFromImage(boxed, 1 / 255.0, swapRB=True)  # NCHW RGB in 0..1
        output = self.session.run(None, {self.input: blob})[0][0]
        xyxy, scores, cls = decode(output, confidence)
        h, w = image.shape[:2]
        xyxy = box.to_image(xyxy)
        xyxy[:, [0, 2]] = np.clip(xyxy[:, [0, 2]], 0, w)
        xyxy[:, [1, 3]] = np.clip(xyxy[:, [1, 3]], 0, h)
        return xyxy, scores, cls
