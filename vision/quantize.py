"""INT8 for OpenVINO: NNCF post-training quantization of the weights, calibrated on the synthetic
validation split, kept only when mAP50 on the held-out test split drops by at most one point.
The result is a folder the worker loads instead of the float export when its recorded source
matches the configured weights (`vision.quantized`)."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

from vision.export import SOURCE, ModelError, digest
from vision.synth.dataset import DatasetSpec
from vision.train import ensure_dataset, quiet_ultralytics

log = logging.getLogger(__name__)
MAX_DROP = 0.01  # mAP50 may fall by at most one point


def _map50(model: str, data: Path, runs: Path, imgsz: int) -> float:
    from ultralytics import YOLO

    metrics = YOLO(model, task="detect").val(
        data=str(data), split="test", imgsz=imgsz, device="cpu", plots=False, verbose=False,
        project=str(runs), name="quantize", exist_ok=True,
    )  # fmt: skip
    return float(metrics.box.map50)


def quantize(weights: Path, data_dir: Path, out: Path, imgsz: int) -> dict:
    """Quantize `weights` into `out` (an OpenVINO folder) if it keeps its accuracy; returns the
    source record. Raises ModelError naming the fix when NNCF is missing or accuracy drops."""
    try:
        import nncf  # noqa: F401
    except ImportError as exc:
        raise ModelError("INT8 quantization needs NNCF: pip install nncf") from exc
    from ultralytics import YOLO

    quiet_ultralytics(data_dir)
    data = ensure_dataset(data_dir / "dataset", DatasetSpec())
    runs, work_dir = (data_dir / "runs").resolve(), data_dir / "quantize"
    shutil.rmtree(work_dir, ignore_errors=True)
    work_dir.mkdir(parents=True)
    work = work_dir / weights.name
    shutil.copyfile(weights, work)
    log.info("quantizing %s to INT8 (NNCF, calibrated on the validation split)", weights)
    folder = Path(YOLO(str(work)).export(format="openvino", imgsz=imgsz, int8=True, data=str(data)))
    base, quantized = (
        _map50(str(weights), data, runs, imgsz),
        _map50(str(folder), data, runs, imgsz),
    )
    record = {
        "weights": weights.name,
        "sha256": digest(weights),
        "imgsz": imgsz,
        "map50_float": round(base, 4),
        "map50_int8": round(quantized, 4),
    }
    if base - quantized > MAX_DROP:
        raise ModelError(
            f"INT8 loses {100 * (base - quantized):.1f} mAP50 points ({base:.3f} -> "
            f"{quantized:.3f}), more than {100 * MAX_DROP:.0f}: not written; the worker keeps "
            "the float model"
        )
    (folder / SOURCE).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    shutil.rmtree(out, ignore_errors=True)
    shutil.move(str(folder), str(out))
    shutil.rmtree(work_dir, ignore_errors=True)
    return record
