"""Vision benchmark: the runtimes side by side, and the largest number of cameras this machine
holds at their analysis rate, with each worker process's memory.

    python bench/vision.py [--cameras 24,32,40,48] [--workers 2] [--seconds 60] [--frames 150]

1. runtimes: the detector alone on frames of a rendered street clip, one frame at a time, with
   PyTorch (Ultralytics), ONNX Runtime, OpenVINO and OpenVINO INT8 (the worker's own runners,
   no PyTorch); accuracy of each precision is bench/quantize.py's;
2. frontier: N cameras (the looped clip played live at 10 fps, zones and rules of the demo's
   parking camera) shared by W real vision worker processes through the Redis leases; after a
   warm-up, every camera's analysed frame rate over the window. A count holds when every camera
   gets >= 95 % of its rate (1.9 of 2 fps). Prints per-camera min/mean fps, each worker's peak
   RSS and how its CPU time splits between inference and the rest (decoding, motion, tracking,
   rules, wall frames), then the frontier: the largest count that held.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# Only what a real worker process imports: `serve` measures a worker's memory.
from config.loader import load_config  # noqa: E402
from config.paths import project_path  # noqa: E402
from vision.detector import Detector  # noqa: E402


def raw_fps(detector: Detector, frames: list) -> float:
    for img in frames[:5]:
        detector.detect(img)  # warm-up
    start = time.perf_counter()
    for img in frames:
        detector.detect(img)
    return len(frames) / (time.perf_counter() - start)


def bench_config(clip: Path, count: int, threads: int, runtime: str = "auto"):
    """The demo config with `count` copies of its parking camera, all playing `clip`."""
    cfg = load_config(None)
    parking = next(c for c in cfg.cameras if c.zones)
    cams = [
        parking.model_copy(update={"id": f"bench-{i:02d}", "source": str(clip)})
        for i in range(count)
    ]
    vision = cfg.vision.model_copy(
        update={"max_cameras": 64, "threads": threads, "runtime": runtime}
    )
    return cfg.model_copy(update={"cameras": cams, "vision": vision})


def serve(args) -> int:
    """One worker process of the frontier run: analyse, then report per-camera rates as JSON."""
    from streams.bus import Bus, connect
    from vision.metrics import INFERENCE
    from vision.worker import VisionWorker

    cfg = bench_config(args.clip, args.count, args.threads, args.runtime)
    v = cfg.vision
    detector = Detector.from_config(v, args.data)
    with tempfile.TemporaryDirectory() as data:
        worker = VisionWorker(
            cfg, Bus(connect(args.redis)), detector, args.serve, data_dir=Path(data)
        )
        stop = threading.Event()
        thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
        thread.start()
        time.sleep(args.warmup)  # sources open, leases settle between the workers
        before = {c: (p, p.analysed) for c, p in worker.pipelines.items()}
        cpu0, infer0, start = time.process_time(), _inference_s(INFERENCE), time.monotonic()
        lags = []
        while time.monotonic() - start < args.seconds:
            time.sleep(1)
            lags += [p.lag_s for p in worker.pipelines.values()]
        elapsed = time.monotonic() - start
        rates = {
            c: (p.analysed - before[c][1]) / elapsed
            for c, p in worker.pipelines.items()
            if c in before and before[c][0] is p  # held for the whole window
        }
        cpu, infer = time.process_time() - cpu0, _inference_s(INFERENCE) - infer0
        stop.set()
        thread.join(30)
    lags.sort()
    status = Path("/proc/self/status").read_text().splitlines()
    peak = next(int(x.split()[1]) for x in status if x.startswith("VmHWM"))
    print(json.dumps({
        "rates": rates, "rss_mb": peak / 1024, "cpu_s": cpu, "infer_s": infer,
        "runtime": detector.describe(), "lag_p95": lags[int(0.95 * (len(lags) - 1))] if lags else 0,
    }))  # fmt: skip
    return 0


def _inference_s(histogram) -> float:
    return next(s.value for m in histogram.collect() for s in m.samples if s.name.endswith("_sum"))


def frontier_row(args, clip: Path, count: int, url: str, data: Path) -> bool:
    """Run `count` cameras on the workers; print the row; True when every camera held."""
    threads = max(1, (os.cpu_count() or 1) // args.workers)
    command = [sys.executable, __file__, "--redis", url, "--clip", str(clip),
               "--count", str(count), "--seconds", str(args.seconds),
               "--warmup", str(args.warmup), "--threads", str(threads), "--data", str(data),
               "--runtime", args.runtime]  # fmt: skip
    workers = [
        subprocess.Popen([*command, "--serve", f"bench-w{i}"], stdout=subprocess.PIPE, text=True)
        for i in range(args.workers)
    ]
    reports = [json.loads(w.communicate()[0].strip().splitlines()[-1]) for w in workers]
    rates = {c: r for report in reports for c, r in report["rates"].items()}
    every = [rates.get(f"bench-{i:02d}", 0.0) for i in range(count)]
    held = min(every) >= 0.95 * 2
    memory = ", ".join(f"{r['rss_mb']:.0f}" for r in reports)
    split = ", ".join(f"{r['infer_s'] / max(r['cpu_s'], 1e-9):.0%}" for r in reports)
    print(
        f"{count:3d} cameras on {args.workers} workers x {threads} threads: per-camera min "
        f"{min(every):.2f} mean {sum(every) / count:.2f} fps; frame age p95 "
        f"{max(r['lag_p95'] for r in reports) * 1000:.0f} ms; peak RSS {memory} MB; "
        f"inference share of CPU {split} -> {'holds' if held else 'does NOT hold'}",
        flush=True,
    )
    return held


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--warmup", type=float, default=20)
    parser.add_argument("--cameras", default="24,32,40,48")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-runtimes", action="store_true", help="only the camera frontier")
    parser.add_argument("--runtime", default="auto", help="the workers' vision.runtime")
    parser.add_argument("--serve", help=argparse.SUPPRESS)  # a worker process of the frontier
    for hidden in ("--redis", "--clip", "--data"):
        parser.add_argument(
            hidden, help=argparse.SUPPRESS, type=str if hidden == "--redis" else Path
        )
    parser.add_argument("--count", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        return serve(args)
    from bench_stack import frames_of

    from streams.embedded import EmbeddedRedis
    from vision.synth.clips import script_for
    from vision.synth.timeline import render_clip
    from vision.train import BUNDLED, quiet_ultralytics

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        quiet_ultralytics(tmp)
        cfg = load_config(None)
        parking = next(c for c in cfg.cameras if c.zones)
        kinds = {r.kind for r in cfg.rules if any(z.rule == r.id for z in parking.zones)}
        script = dataclasses.replace(script_for(parking, kinds, 0), duration_s=60)
        clip = render_clip(tmp / "bench.mp4", script, progress=False)
        frames = frames_of(clip, args.frames)
        print(
            f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; "
            f"imgsz {cfg.vision.imgsz}; frames 640x576; default runtime {cfg.vision.runtime}"
        )
        int8 = project_path(cfg.vision.quantized) if cfg.vision.quantized else None
        runtimes = [("torch", None), ("onnx", None), ("openvino", None), ("openvino", int8)]
        for runtime, quantized in [] if args.no_runtimes else runtimes:
            detector = Detector(
                BUNDLED, runtime, cfg.vision.imgsz, 0.35, {}, tmp / "models", quantized=quantized
            )
            print(f"raw model, {detector.describe():<48} {raw_fps(detector, frames):6.1f} frames/s")
        server = EmbeddedRedis(tmp / "redis", persist=False)
        url = server.start()
        try:
            best = 0
            for count in [int(c) for c in args.cameras.split(",")]:
                if frontier_row(args, clip, count, url, tmp):
                    best = count
            print(f"frontier: {best} cameras hold 2 analysed fps on this machine")
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
