"""The detector: one model per worker process, run by OpenVINO or ONNX Runtime alone (no PyTorch
in the worker; `auto` picks the fastest installed) or by Ultralytics with PyTorch. Model output
becomes `Detections` here and nowhere else."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from vision.detections import Detections
from vision.export import ModelError, exported, matching_int8

__all__ = ["Detector", "ModelError"]
log = logging.getLogger(__name__)


class Detector:
    """Loads a YOLO model once; `detect(image)` returns the boxes under their rule class names,
    each class kept from its own confidence threshold (`class_confidence`, else `confidence`)."""

    def __init__(
        self,
        weights: Path,
        runtime: str = "torch",
        imgsz: int = 320,
        confidence: float = 0.35,
        class_map: dict[str, str] | None = None,
        cache_dir: Path = Path("data/models"),
        class_confidence: dict[str, float] | None = None,
        threads: int = 0,
        quantized: Path | None = None,
    ):
        if not weights.is_file():
            raise ModelError(
                f"model weights not found: {weights}; set vision.weights to a YOLO .pt file "
                "(`python run.py train` makes the bundled one)"
            )
        if runtime == "auto":
            from vision.runtimes import fastest_runtime

            runtime = fastest_runtime()
        self.imgsz, self.runtime = imgsz, runtime
        int8 = matching_int8(quantized, weights, imgsz) if runtime == "openvino" else None
        model_file = int8 or exported(weights, runtime, imgsz, cache_dir)
        if runtime == "torch":
            from ultralytics import YOLO

            self.exported = None
            self.model = YOLO(str(model_file), task="detect")
            names = self.model.names
        else:
            from vision.runtimes import load

            self.exported = load(model_file, runtime, threads)
            names = self.exported.names
        mapping = class_map or {}
        self.names = [mapping.get(names[i], names[i]) for i in sorted(names)]
        self.lookup = np.array(self.names, dtype=object)
        chosen = class_confidence or {}
        self.floor = np.array([chosen.get(n, confidence) for n in self.names], np.float32)
        self.confidence = float(self.floor.min())  # what the model is asked for; then per class

    @classmethod
    def from_config(cls, v, data_dir: Path) -> Detector:
        """The detector a worker runs for the `vision` section `v` (paths from the project)."""
        from config.paths import project_path

        return cls(
            project_path(v.weights),
            v.runtime,
            v.imgsz,
            v.confidence,
            v.class_map,
            data_dir / "models",
            v.class_confidence,
            v.threads,
            project_path(v.quantized) if v.quantized else None,
        )

    def describe(self) -> str:
        """The runtime in words, for the worker's start-up line."""
        if self.exported is not None:
            threads = self.exported.threads or "all"
            return f"{self.exported.label} ({threads} threads, no PyTorch)"
        return "Ultralytics with PyTorch"

    def check_classes(self, wanted: dict[str, list[str]]) -> None:
        """Fail with a clear message when a rule consumes a class the model never outputs."""
        known = set(self.names)
        for rule_id, classes in wanted.items():
            missing = [c for c in classes if c not in known]
            if missing:
                raise ModelError(
                    f"rule {rule_id!r} uses class {missing[0]!r}, which the model does not detect; "
                    f"the model's classes are {sorted(known)} "
                    "(map model names with vision.class_map)"
                )

    def detect(self, image: np.ndarray) -> Detections:
        """Detect objects in one BGR frame."""
        if self.exported is not None:
            xyxy, scores, cls = self.exported.predict(image, self.confidence)
        else:
            result = self.model.predict(
                image, imgsz=self.imgsz, conf=self.confidence, device="cpu", verbose=False
            )[0]
            xyxy, scores, cls = _arrays(result)
        keep = scores >= self.floor[cls]
        return Detections(
            xyxy=xyxy[keep].astype(np.float32),
            confidence=scores[keep].astype(np.float32),
            class_name=self.lookup[cls[keep]],
        )


def _arrays(result) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """An Ultralytics result's boxes as NumPy arrays."""
    boxes = result.boxes
    if boxes is None or len(boxes) == 0:
        return np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64)
    return (
        boxes.xyxy.cpu().numpy(),
        boxes.conf.cpu().numpy(),
        boxes.cls.cpu().numpy().astype(np.int64),
    )
