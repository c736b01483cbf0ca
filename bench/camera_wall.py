"""Camera-wall benchmark: the bandwidth one browser showing the camera wall takes.

    python bench/camera_wall.py [--cameras 24] [--seconds 30]

Starts the demo stack (no simulator, no vision) with `--cameras` cameras, keeps every camera's
frame in the frame cache fresh once a second (frames drawn by the vision worker's own
`wall_frame` from the real street clip in ../shared/media/vtest.avi, or a rendered scene when it
is missing), opens the camera wall in headless Chromium at 1920x1080 and counts the frame bytes
the page fetches over `--seconds`. Prints bytes/s and frames/s.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_stack import CHROMIUM, demo_config, frames_of, sign_in, start_demo, stop_demo  # noqa: E402

from config.paths import PROJECT_ROOT  # noqa: E402
from streams.bus import Bus, connect  # noqa: E402
from streams.frames import Frame, FrameCache  # noqa: E402
from vision.detections import Detections  # noqa: E402
from vision.evidence import wall_frame  # noqa: E402

VTEST = PROJECT_ROOT.parent / "shared" / "media" / "vtest.avi"


def _frames(count: int) -> list:
    """Real street frames (vtest.avi), or a rendered scene when the clip is not there."""
    source = VTEST
    if not VTEST.exists():
        from vision.synth.timeline import Script, render_clip

        source = render_clip(
            Path(tempfile.mkdtemp()) / "scene.mp4", Script(duration_s=4, fps=10), progress=False
        )
    return frames_of(source, count)


def _feed(bus: Bus, cameras: list[str], stop: threading.Event, width: int) -> None:
    """Every camera gets a new frame once a second, as vision workers would send them."""
    cache, images, n = FrameCache(bus), _frames(200), 0
    while not stop.is_set():
        for i, camera in enumerate(cameras):
            image = images[(n + i * 7) % len(images)]
            jpeg = wall_frame(image, [], Detections(), width, f"{camera} bench")
            cache.put(camera, Frame(jpeg, time.time(), 0))
        n += 1
        stop.wait(1.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, default=24)
    parser.add_argument("--seconds", type=float, default=30)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        config, cfg = demo_config(Path(tmp) / "config", cameras=args.cameras)
        demo = start_demo(config, Path(tmp) / "data")
        stop = threading.Event()
        bus = Bus(connect(demo.redis_url))
        cameras = [c.id for c in cfg.cameras]
        feeder = threading.Thread(
            target=_feed, args=(bus, cameras, stop, cfg.vision.wall_frame_width), daemon=True
        )
        feeder.start()
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
                )
                page = browser.new_page(viewport={"width": 1920, "height": 1080})
                sign_in(page, demo, "/cameras")
                page.wait_for_function(
                    f"document.querySelectorAll('.cam-tile.live').length >= {len(cameras)}",
                    timeout=60_000,
                )
                start_bytes = page.evaluate("window.streetCockpitFrameBytes")
                started = time.monotonic()
                time.sleep(args.seconds)
                fetched = page.evaluate("window.streetCockpitFrameBytes") - start_bytes
                elapsed = time.monotonic() - started
                browser.close()
        finally:
            stop.set()
            stop_demo(demo)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}")
    print(f"camera wall 1920x1080, {len(cameras)} cameras, {elapsed:.0f} s")
    print(
        f"frame bytes/s: {fetched / elapsed / 1024:.0f} KiB/s "
        f"({fetched / elapsed / len(cameras) / 1024:.1f} KiB/s per camera)"
    )


if __name__ == "__main__":
    main()
