"""Vision benchmark: raw model speed, pipeline speed, exported runtime vs PyTorch, and how many
10 fps cameras at 2 analysed fps one machine sustains.

    python bench/vision.py [--frames 150] [--seconds 40] [--cameras 8,16,20,24]

1. raw: the detector alone on decoded frames of a synthetic clip, at the configured image size,
   with PyTorch and with the exported runtime (ONNX Runtime by default);
2. pipeline: one camera flat out: decode + motion gate + detect + track + rules, as a ratio to raw;
3. cameras: N looped clips, each played live at 10 fps, analysed at 2 fps by one worker process
   (real Redis for leases and the bus); a camera count is sustained when every camera gets
   >= 95% of its analysis rate and the analysed frame's age stays below one analysis period.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cv2  # noqa: E402
from bench_stack import frames_of  # noqa: E402

from config.loader import load_config  # noqa: E402
from streams.bus import Bus, connect  # noqa: E402
from streams.embedded import EmbeddedRedis  # noqa: E402
from vision.detector import Detector  # noqa: E402
from vision.motion import MotionGate  # noqa: E402
from vision.rules import build_rules  # noqa: E402
from vision.synth.clips import script_for  # noqa: E402
from vision.synth.timeline import render_clip  # noqa: E402
from vision.tracker import Tracker  # noqa: E402
from vision.train import BUNDLED, quiet_ultralytics  # noqa: E402
from vision.worker import VisionWorker  # noqa: E402


def raw_fps(detector: Detector, frames: list) -> float:
    for img in frames[:5]:
        detector.detect(img)  # warm-up
    start = time.perf_counter()
    for img in frames:
        detector.detect(img)
    return len(frames) / (time.perf_counter() - start)


def pipeline_fps(detector: Detector, clip: Path, cfg, n: int) -> tuple[float, float]:
    """Decode + gate + detect + track + rules on one camera, flat out: (fps, share detected)."""
    camera = cfg.cameras[0]
    rules = build_rules(camera.zones, cfg.rules, cfg.district.timezone)
    gate, tracker = MotionGate(cfg.vision.motion_threshold, cfg.vision.full_check_s), Tracker(2)
    cap = cv2.VideoCapture(str(clip))
    dets, detected, done = None, 0, 0
    start = time.perf_counter()
    t = 0.0
    while done < n:
        ok, img = cap.read()
        if not ok:
            cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            continue
        t += 0.5  # frames are 0.5 s apart at 2 analysed fps
        if dets is None or gate.needs_detection(img, t):
            dets = tracker.update(detector.detect(img))
            detected += 1
        for rule in rules:
            rule.update(dets, t)
        done += 1
    return done / (time.perf_counter() - start), detected / done


def sustained(
    cfg, detector: Detector, clip: Path, count: int, seconds: float, redis_url: str
) -> dict:
    cams = [
        cfg.cameras[0].model_copy(update={"id": f"bench-{i:02d}", "source": str(clip)})
        for i in range(count)
    ]
    vision = cfg.vision.model_copy(update={"max_cameras": 64})
    run_cfg = cfg.model_copy(update={"cameras": cams, "vision": vision})
    bus = Bus(connect(redis_url))
    bus.client.flushdb()
    with tempfile.TemporaryDirectory() as data:
        worker = VisionWorker(
            run_cfg, bus, detector, worker_id="bench", data_dir=Path(data), cameras=cams
        )
        stop = threading.Event()
        thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
        thread.start()
        time.sleep(5)  # sources open, first frames
        before = {c: p.analysed for c, p in worker.pipelines.items()}
        lags = []
        start = time.monotonic()
        while time.monotonic() - start < seconds:
            time.sleep(1)
            lags += [p.lag_s for p in worker.pipelines.values()]
        elapsed = time.monotonic() - start
        rates = [(p.analysed - before.get(c, 0)) / elapsed for c, p in worker.pipelines.items()]
        detected = sum(p.detected for p in worker.pipelines.values()) / max(
            sum(p.analysed for p in worker.pipelines.values()), 1
        )
        stop.set()
        thread.join(30)
    lags.sort()
    return {
        "cameras": count,
        "min_fps": min(rates) if rates else 0.0,
        "mean_fps": sum(rates) / len(rates) if rates else 0.0,
        "lag_p95": lags[int(0.95 * (len(lags) - 1))] if lags else 0.0,
        "detected_share": detected,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--seconds", type=float, default=40)
    parser.add_argument("--cameras", default="8,16,20,24")
    parser.add_argument("--weights", type=Path, default=BUNDLED)
    args = parser.parse_args()
    cfg = load_config(None)
    v = cfg.vision
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        quiet_ultralytics(tmp)
        parking = next(c for c in cfg.cameras if c.zones)
        cfg = cfg.model_copy(update={"cameras": [parking]})
        kinds = {r.kind for r in cfg.rules if any(z.rule == r.id for z in parking.zones)}
        script = dataclasses.replace(script_for(parking, kinds, 0), duration_s=60)
        clip = render_clip(tmp / "bench.mp4", script, progress=False)
        frames = frames_of(clip, args.frames)
        torch_det = Detector(
            args.weights, "torch", v.imgsz, v.confidence, v.class_map, tmp / "models"
        )
        export_det = Detector(
            args.weights, v.runtime, v.imgsz, v.confidence, v.class_map, tmp / "models"
        )
        print(
            f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; "
            f"imgsz {v.imgsz}; frames 640x576"
        )
        torch_fps = raw_fps(torch_det, frames)
        export_fps = raw_fps(export_det, frames)
        print(f"raw model, PyTorch:        {torch_fps:6.1f} frames/s")
        print(
            f"raw model, {v.runtime:<15} {export_fps:6.1f} frames/s  "
            f"({export_fps / torch_fps:.2f}x PyTorch)"
        )
        pipe, share = pipeline_fps(export_det, clip, cfg, args.frames * 2)
        print(
            f"pipeline (decode+gate+detect+track+rules): {pipe:6.1f} analysed frames/s = "
            f"{pipe / export_fps:.2f}x raw ({share:.0%} of frames ran the detector)"
        )
        counts = [int(c) for c in args.cameras.split(",")]
        report_sustained(cfg, export_det, clip, counts, args.seconds, tmp)
    return 0


def report_sustained(cfg, detector, clip: Path, counts: list[int], seconds: float, tmp: Path):
    """Per camera count: whether one worker holds every camera's analysed frame rate."""
    parking = cfg.cameras[0]
    server = EmbeddedRedis(tmp / "redis", persist=False)
    url = server.start()
    try:
        for count in counts:
            r = sustained(cfg, detector, clip, count, seconds, url)
            ok = (
                r["min_fps"] >= 0.95 * parking.analysis_fps
                and r["lag_p95"] < 1 / parking.analysis_fps
            )
            print(
                f"{count:3d} cameras x 10 fps @ {parking.analysis_fps:g} analysed fps: "
                f"per-camera min {r['min_fps']:.2f} mean {r['mean_fps']:.2f} fps, "
                f"frame age p95 {r['lag_p95'] * 1000:.0f} ms, "
                f"detector on {r['detected_share']:.0%} of frames -> "
                f"{'sustained' if ok else 'NOT sustained'}"
            )
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
