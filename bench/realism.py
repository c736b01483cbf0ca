"""False alarms on real footage: a detector run over the shared real clip (vtest.avi beside the
project: a campus road with people, a parked van and car, litter on the grass; no bins, stalls or
bicycles) at the analysed rate a worker uses, looking at the whole frame at the model's input
size. Prints, per weights file, the detections per minute of each class, and of the classes that
are not in the clip at all: every one of those is a false alarm.

    python bench/realism.py --weights vision/models/street-yolo11n.pt OLD.pt

Evaluation only: the clip is never trained or tuned on.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import cv2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from config.paths import PROJECT_ROOT  # noqa: E402
from vision.detector import Detector  # noqa: E402
from vision.train import BUNDLED  # noqa: E402

CLIP = PROJECT_ROOT.parent / "shared" / "media" / "vtest.avi"
ABSENT = ("bin", "bin_overflow", "stall", "bicycle")  # nothing of these is in the clip


def frames(clip: Path, fps: float):
    """Every frame at `fps` (the clip's own rate divided down)."""
    cap = cv2.VideoCapture(str(clip))
    step = max(1, round(cap.get(cv2.CAP_PROP_FPS) / fps))
    index = 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        if index % step == 0:
            yield frame
        index += 1
    cap.release()


def measure(weights: Path, clip: Path, fps: float, imgsz: int, conf: float, cache: Path) -> dict:
    """Detections per class over the clip and the minutes it lasted."""
    detector = Detector(weights, "onnx", imgsz, conf, cache_dir=cache)
    counts: Counter[str] = Counter()
    analysed, noisy = 0, 0
    for frame in frames(clip, fps):
        names = list(detector.detect(frame).class_name)
        counts.update(names)
        noisy += any(n in ABSENT for n in names)
        analysed += 1
    return {"counts": counts, "minutes": analysed / fps / 60, "frames": analysed, "noisy": noisy}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", nargs="+", type=Path, default=[BUNDLED])
    parser.add_argument("--clip", type=Path, default=CLIP)
    parser.add_argument("--fps", type=float, default=2.0, help="analysed frames per second")
    parser.add_argument("--imgsz", type=int, default=320)
    parser.add_argument("--conf", type=float, default=0.35, help="the default vision.confidence")
    parser.add_argument("--cache", type=Path, default=Path("data/models"))
    args = parser.parse_args()
    if not args.clip.exists():
        sys.exit(f"the real clip is missing: {args.clip} (see ../shared/media/README.md)")
    for weights in args.weights:
        r = measure(weights, args.clip, args.fps, args.imgsz, args.conf, args.cache)
        minutes, counts = r["minutes"], r["counts"]
        absent = sum(counts[name] for name in ABSENT)
        print(f"{weights}: {r['frames']} frames ({minutes:.2f} min at {args.fps:g} fps)")
        for name, n in sorted(counts.items()):
            print(f"  {name:<13}{n:>6} detections  {n / minutes:>7.1f} per minute")
        print(
            f"  false alarms (classes not in the clip: {', '.join(ABSENT)}): {absent} = "
            f"{absent / minutes:.1f} per minute; frames with one: {r['noisy']} of {r['frames']}"
        )


if __name__ == "__main__":
    main()
