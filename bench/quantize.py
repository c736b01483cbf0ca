"""Runtimes and precisions side by side: accuracy on the held-out synthetic test split and speed.

    python bench/quantize.py [--data-dir DIR] [--frames 200]

For the bundled weights: PyTorch (float32), ONNX Runtime (float32), OpenVINO at the CPU's native
precision (bfloat16 where the CPU has AVX-512 BF16 or AMX, else float32), OpenVINO float32, and
OpenVINO INT8 (NNCF post-training quantization calibrated on the validation split). Prints
mAP50 / mAP50-95 (Ultralytics' validator on the test split, 300 images) and frames/s of one
inference at a time through the worker's own runtime (vision/runtimes.py). INT8 is accepted
only if its mAP50 is at most 1 point below PyTorch's. Needs `pip install nncf` for INT8.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cv2  # noqa: E402

from config.paths import PROJECT_ROOT  # noqa: E402
from vision.export import export, matching_int8  # noqa: E402
from vision.runtimes import OnnxModel, OpenVinoModel  # noqa: E402
from vision.synth.dataset import DatasetSpec  # noqa: E402
from vision.train import BUNDLED, ensure_dataset, quiet_ultralytics  # noqa: E402

IMGSZ = 320


def accuracy(model: str, data: Path, runs: Path) -> tuple[float, float]:
    from ultralytics import YOLO

    metrics = YOLO(model, task="detect").val(
        data=str(data), split="test", imgsz=IMGSZ, device="cpu", plots=False, verbose=False,
        project=str(runs), name="val", exist_ok=True,
    )  # fmt: skip
    return float(metrics.box.map50), float(metrics.box.map)


def speed(model, frames: list) -> float:
    for image in frames[:10]:
        model.predict(image, 0.35)
    start = time.perf_counter()
    for image in frames:
        model.predict(image, 0.35)
    return len(frames) / (time.perf_counter() - start)


def int8_export(weights: Path, data: Path, cache: Path) -> Path:
    """OpenVINO INT8 by NNCF, calibrated on the validation split (cached)."""
    target = cache / f"{weights.stem}-int8-{IMGSZ}_openvino_model"
    if target.exists():
        return target
    from ultralytics import YOLO

    work = cache / f"{weights.stem}-int8-{IMGSZ}.pt"
    shutil.copyfile(weights, work)
    out = Path(YOLO(str(work)).export(format="openvino", imgsz=IMGSZ, int8=True, data=str(data)))
    out.rename(target)
    work.unlink()
    return target


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--weights", type=Path, default=BUNDLED)
    args = parser.parse_args()
    quiet_ultralytics(args.data_dir)
    data = ensure_dataset(args.data_dir / "dataset", DatasetSpec())
    cache, runs = args.data_dir / "models", (args.data_dir / "runs").resolve()
    test_images = sorted((args.data_dir / "dataset" / "images" / "test").glob("*.jpg"))
    frames = [cv2.imread(str(p)) for p in test_images[: args.frames]]
    onnx = export(args.weights, "onnx", IMGSZ, cache)
    openvino = export(args.weights, "openvino", IMGSZ, cache)
    cpuinfo = Path("/proc/cpuinfo")
    flags = cpuinfo.read_text() if cpuinfo.exists() else ""
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs "
        f"(avx512_bf16: {'yes' if 'avx512_bf16' in flags else 'no'}, "
        f"amx: {'yes' if 'amx_' in flags else 'no'}); imgsz {IMGSZ}; "
        f"{len(frames)} test images for speed, 300 for accuracy"
    )
    rows = [
        ("PyTorch float32", str(args.weights), None),
        ("ONNX Runtime float32", str(onnx), OnnxModel(onnx)),
        ("OpenVINO native", str(openvino), OpenVinoModel(openvino)),
        ("OpenVINO float32", None, OpenVinoModel(openvino, precision="f32")),
    ]
    bundled = PROJECT_ROOT / "vision" / "models" / "street-yolo11n-int8_openvino_model"
    try:  # the committed INT8 model when it was made from these weights, else a fresh one
        int8 = matching_int8(bundled, args.weights, IMGSZ) or int8_export(args.weights, data, cache)
        rows.append(("OpenVINO INT8 (NNCF)", str(int8), OpenVinoModel(int8)))
    except Exception as exc:  # noqa: BLE001 - a bench reports what it could not measure
        print(f"INT8: not measured ({type(exc).__name__}: {exc})")
    reference = None
    for name, model_path, runtime in rows:
        m50, m = accuracy(model_path, data, runs) if model_path else (float("nan"),) * 2
        reference = m50 if reference is None else reference
        fps = f"{speed(runtime, frames):6.1f} frames/s" if runtime else "   (Ultralytics)"
        verdict = ""
        if "INT8" in name:
            drop = (reference - m50) * 100
            verdict = f"  drop {drop:.1f} points -> {'ACCEPTED' if drop <= 1 else 'REJECTED'}"
        print(f"{name:<24} mAP50 {m50:.3f}  mAP50-95 {m:.3f}  {fps}{verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
