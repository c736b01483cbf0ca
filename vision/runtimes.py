"""An exported YOLO detector run by OpenVINO or ONNX Runtime alone: letterbox, one inference
call, decode and per-class non-maximum suppression in NumPy/OpenCV. No PyTorch in the process (a
worker stays around 250 MB instead of 1.1 GB); PyTorch is needed only once, to export the
model."""

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


def _onnx_names(session) -> dict[int, str]:
    """The class names Ultralytics writes into an exported model's metadata."""
    meta = session.get_modelmeta().custom_metadata_map
    if "names" not in meta:
        raise ValueError("the ONNX model carries no class names (not an Ultralytics export)")
    return {int(k): str(v) for k, v in ast.literal_eval(meta["names"]).items()}


class ExportedModel:
    """One exported model; `predict(image)` in image pixels. Subclasses run the network."""

    size: int
    names: dict[int, str]
    threads: int

    def infer(self, blob: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def predict(
        self, image: np.ndarray, confidence: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Boxes (xyxy, image pixels), scores and class indices for one BGR image."""
        boxed, box = letterbox(image, self.size)
        blob = cv2.dnn.blobFromImage(boxed, 1 / 255.0, swapRB=True)  # NCHW RGB in 0..1
        xyxy, scores, cls = decode(self.infer(blob)[0], confidence)
        h, w = image.shape[:2]
        xyxy = box.to_image(xyxy)
        xyxy[:, [0, 2]] = np.clip(xyxy[:, [0, 2]], 0, w)
        xyxy[:, [1, 3]] = np.clip(xyxy[:, [1, 3]], 0, h)
        return xyxy, scores, cls


class OnnxModel(ExportedModel):
    """An ONNX export in one ONNX Runtime session."""

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
        self.names = _onnx_names(self.session)
        self.label = f"ONNX Runtime {ort.__version__}"

    def infer(self, blob: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input: blob})[0]


class OpenVinoModel(ExportedModel):
    """An OpenVINO export compiled for this machine's CPU, tuned for one frame at a time."""

    def __init__(self, folder: Path, threads: int = 0, precision: str | None = None):
        import openvino as ov
        import yaml

        config = {"PERFORMANCE_HINT": "LATENCY"}
        if threads:
            config["INFERENCE_NUM_THREADS"] = threads
        if precision:  # else the CPU's native choice: bfloat16 where it has AVX-512 BF16 or AMX
            config["INFERENCE_PRECISION_HINT"] = precision
        self.threads = threads
        core = ov.Core()
        network = core.read_model(str(next(folder.glob("*.xml"))))
        int8 = any(op.get_type_name() == "FakeQuantize" for op in network.get_ops())
        self.compiled = core.compile_model(network, "CPU", config)
        self.request = self.compiled.create_infer_request()
        self.size = int(self.compiled.input(0).get_partial_shape()[-1].get_length())
        meta = yaml.safe_load((folder / "metadata.yaml").read_text(encoding="utf-8"))
        self.names = {int(k): str(v) for k, v in meta["names"].items()}
        used = (
            "INT8" if int8 else self.compiled.get_property("INFERENCE_PRECISION_HINT").to_string()
        )
        self.label = f"OpenVINO {ov.get_version().split('-')[0]} {used}"

    def infer(self, blob: np.ndarray) -> np.ndarray:
        return self.request.infer({0: blob})[0]


def fastest_runtime() -> str:
    """What `vision.runtime: auto` runs: OpenVINO where it is installed (about 1.7x ONNX
    Runtime on a plain x86 CPU, docs/BENCHMARKS.md), else ONNX Runtime."""
    try:
        import openvino  # noqa: F401
    except ImportError:
        return "onnx"
    return "openvino"


def load(path: Path, runtime: str, threads: int = 0) -> ExportedModel:
    """The exported model at `path` for `runtime` ('onnx' or 'openvino')."""
    return OpenVinoModel(path, threads) if runtime == "openvino" else OnnxModel(path, threads)
