"""Does batching several cameras' frames into one inference call help on this CPU? The bundled
INT8 model on OpenVINO (and the float ONNX export) run frames one at a time and in batches of
2, 4 and 8; prints frames per second of the network alone and with letterbox and decoding.

    python bench/batching.py [--seconds 10]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from config.loader import load_config  # noqa: E402
from config.paths import project_path  # noqa: E402
from vision.export import exported  # noqa: E402
from vision.runtimes import decode, letterbox  # noqa: E402
from vision.synth.timeline import Script, render_clip  # noqa: E402

BATCHES = (1, 2, 4, 8)


def clip_frames(work: Path, count: int) -> list[np.ndarray]:
    """Frames of a rendered demo story (traffic, a parked car, a full bin)."""
    clip = render_clip(
        work / "batching.mp4",
        Script(duration_s=10, park=(1, 9), overflow=(1, None)),
        progress=False,
    )
    cap, out = cv2.VideoCapture(str(clip)), []
    while len(out) < count:
        ok, frame = cap.read()
        if not ok:
            cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            continue
        out.append(frame)
    return out


def openvino_runner(folder: Path, batch: int):
    import openvino as ov

    core = ov.Core()
    network = core.read_model(str(next(folder.glob("*.xml"))))
    size = int(network.input(0).get_partial_shape()[-1].get_length())
    network.reshape([batch, 3, size, size])
    hint = "LATENCY" if batch == 1 else "THROUGHPUT"
    request = core.compile_model(network, "CPU", {"PERFORMANCE_HINT": hint}).create_infer_request()
    return size, lambda blob: request.infer({0: blob})[0]


def onnx_runner(path: Path, batch: int):
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    node = session.get_inputs()[0]
    if not isinstance(node.shape[0], str) and batch > 1:
        return None  # a static batch-1 export
    return int(node.shape[-1]), lambda blob: session.run(None, {node.name: blob})[0]


def measure(runner, frames: list[np.ndarray], batch: int, seconds: float) -> tuple[float, float]:
    """(network-only fps, whole fps) for `batch` frames per call."""
    size, infer = runner
    boxed = [letterbox(f, size)[0] for f in frames[:batch]]
    blob = cv2.dnn.blobFromImages(boxed, 1 / 255.0, swapRB=True)
    infer(blob)  # warm-up
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        infer(blob)
        done += batch
    net = done / (time.perf_counter() - start)
    done, start, i = 0, time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        chunk = [frames[(i + k) % len(frames)] for k in range(batch)]
        blob = cv2.dnn.blobFromImages(
            [letterbox(f, size)[0] for f in chunk], 1 / 255.0, swapRB=True
        )
        for row in infer(blob):
            decode(row, 0.35)
        done, i = done + batch, i + batch
    return net, done / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="per measurement")
    parser.add_argument("--work", type=Path, default=Path("data/bench-batching"))
    args = parser.parse_args()
    cfg = load_config()
    args.work.mkdir(parents=True, exist_ok=True)
    frames = clip_frames(args.work, 64)
    int8 = project_path(cfg.vision.quantized)
    onnx = exported(project_path(cfg.vision.weights), "onnx", cfg.vision.imgsz, args.work)
    print(f"{'runtime':<22}{'batch':>6}{'network fps':>13}{'whole fps':>11}")
    for name, make, path in (
        ("OpenVINO INT8", openvino_runner, int8),
        ("ONNX Runtime", onnx_runner, onnx),
    ):
        for batch in BATCHES:
            runner = make(path, batch)
            if runner is None:
                print(f"{name:<22}{batch:>6}{'(static batch 1)':>24}")
                continue
            net, whole = measure(runner, frames, batch, args.seconds)
            print(f"{name:<22}{batch:>6}{net:>13.1f}{whole:>11.1f}")


if __name__ == "__main__":
    main()
