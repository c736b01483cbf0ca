"""Camera picture checks on real footage: the move measured for a still camera and for moved
ones, what each check finds, and what a check costs.

    python bench/picture.py [--clip ../shared/media/vtest.avi]

Feeds every 10th frame of the clip to one `PictureCheck` (the first good frame becomes the
reference), then the clip's later frames panned, zoomed, turned, blurred and darkened, and
prints the measured move (pixels at the compared width) and the problems found for each.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from config.picture import PictureConfig  # noqa: E402
from vision.picture import WIDTH, PictureCheck  # noqa: E402

CLIP = Path(__file__).resolve().parents[2] / "shared" / "media" / "vtest.avi"


def _warp(frame: np.ndarray, matrix) -> np.ndarray:
    h, w = frame.shape[:2]
    return cv2.warpAffine(frame, matrix, (w, h), borderMode=cv2.BORDER_REPLICATE)


def changes() -> dict:
    def turn(degrees=0.0, zoom=1.0):
        return lambda f: _warp(
            f, cv2.getRotationMatrix2D((f.shape[1] / 2, f.shape[0] / 2), degrees, zoom)
        )

    def pan(share):
        return lambda f: _warp(f, np.float32([[1, 0, share * f.shape[1]], [0, 1, 0]]))

    return {
        "still (as filmed)": lambda f: f,
        "panned 3 %": pan(0.03),
        "panned 8 %": pan(0.08),
        "zoomed 15 %": turn(zoom=1.15),
        "turned 5 degrees": turn(degrees=5),
        "blurred (sigma 4)": lambda f: cv2.GaussianBlur(f, (0, 0), 4),
        "dark (5 % light)": lambda f: (f * 0.05).astype(np.uint8),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", type=Path, default=CLIP)
    args = parser.parse_args()
    capture = cv2.VideoCapture(str(args.clip))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    frames = frames[::10]
    cfg = PictureConfig()
    check = PictureCheck(cfg)
    costs = []
    for n, frame in enumerate(frames[:20]):
        started = time.perf_counter()
        check.update(frame, n * cfg.check_every_s)
        costs.append((time.perf_counter() - started) * 1000)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}")
    print(f"clip {args.clip.name}: {len(frames)} frames compared at {WIDTH} px wide; "
          f"a shift is over {cfg.shift_ratio * WIDTH:.1f} px")  # fmt: skip
    print(f"one check: {statistics.median(costs):.1f} ms median, {max(costs):.1f} ms max")
    at = 1_000.0
    for name, change in changes().items():
        moves, found = [], set()
        for frame in frames[20:]:
            at += cfg.check_every_s
            check.update(change(frame), at)
            found.update(check.problems)
            if check.shift_px is not None:
                moves.append(check.shift_px)
        finite = [m for m in moves if m != float("inf")]
        shown = (
            f"{max(finite):.1f} px" if finite else ("not recognised" if moves else "not measured")
        )
        print(f"{name:20s} move max {shown:>12}   found: {', '.join(sorted(found)) or '-'}")


if __name__ == "__main__":
    main()
