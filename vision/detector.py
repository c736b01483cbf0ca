"""The detector: one model per worker process, run by PyTorch or an exported, cached runtime.
Model output becomes `Detections` here and nowhere else."""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import shutil
from pathlib import Path

import numpy as np

from vision.detections import Detections

log = logging.getLogger(__name__)
EXPORT_FORMATS = {"onnx": ".onnx", "openvino": "_openvino_model"}


class ModelError(ValueError):
    """The weights cannot be used as configured (missing file, unknown classes)."""


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def exported(weights: Path, runtime: str, imgsz: int, cache_dir: Path) -> Path:
    """The exported model for `runtime`, made once per weights file and image size, then reused."""
    if runtime == "torch":
        return weights
    stem = f"{weights.stem}-{_digest(weights)}-{imgsz}"
    target = cache_dir / f"{stem}{EXPORT_FORMATS[runtime]}"
    if target.exists():
        return target
    if runtime == "openvino" and importlib.util.find_spec("openvino") is None:
        raise ModelError(
            "vision.runtime is 'openvino' but the openvino package is not installed: "
            "pip install openvino, or set vision.runtime to 'onnx' or 'torch'"
        )
    from ultralytics import YOLO

    cache_dir.mkdir(parents=True, exist_ok=True)
    work = cache_dir / f"{stem}.pt"
    shutil.copyfile(weights, work)
    log.info("exporting %s for %s at imgsz %d (once; cached)", weights, runtime, imgsz)
    chatty = logging.getLogger("ultralytics")  # its export banners, not our log's business
    level = chatty.level
    chatty.setLevel(logging.WARNING)
    try:
        out = Path(
            YOLO(str(work)).export(
                format=runtime,
                imgsz=imgsz,
                dynamic=False,
                simplify=runtime == "onnx",
                verbose=False,
            )
        )
    finally:
        chatty.setLevel(level)
    work.unlink(missing_ok=True)
    if out != target:
        shutil.move(str(out), str(target))
    return target


class Detector:
    """Loads a YOLO model once; `detect(image)` returns the boxes under their rule class names."""

    def __init__(
        self,
        weights: Path,
        runtime: str = "torch",
        imgsz: int = 320,
        confidence: float = 0.35,
        class_map: dict[str, str] | None = None,
        cache_dir: Path = Path("data/models"),
    ):
        if not weights.is_file():
            raise ModelError(
                f"model weights not found: {weights}; set vision.weights to a YOLO .pt file "
                "(`python run.py train` makes the bundled one)"
            )
        from ultralytics import YOLO

        self.imgsz, self.confidence = imgsz, confidence
        self.model = YOLO(str(exported(weights, runtime, imgsz, cache_dir)), task="detect")
        names = self.model.names
        mapping = class_map or {}
        self.names = [mapping.get(names[i], names[i]) for i in sorted(names)]
        self.lookup = np.array(self.names, dtype=object)

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
        result = self.model.predict(
            image, imgsz=self.imgsz, conf=self.confidence, device="cpu", verbose=False
        )[0]
        return self.convert(result)

    def convert(self, result) -> Detections:
        """The one place an Ultralytics result becomes `Detections`."""
        boxes = result.boxes
        if boxes is None or len(boxes) == 0:
            return Detections()
        cls = boxes.cls.cpu().numpy().astype(int)
        return Detections(
            xyxy=boxes.xyxy.cpu().numpy().astype(np.float32),
            confidence=boxes.conf.cpu().numpy().astype(np.float32),
            class_name=self.lookup[cls],
        )
