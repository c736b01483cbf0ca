"""Capture, health, motion gating and camera leases: real video files, a real MJPEG server over
HTTP, a real Redis."""

from __future__ import annotations

import http.server
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from streams.leases import Leases
from tests.support.waiting import wait_until
from vision.capture import FrameSource, Health
from vision.motion import MotionGate
from vision.synth.timeline import Script, render_clip

VTEST = Path(__file__).resolve().parents[2] / "shared" / "media" / "vtest.avi"


@pytest.fixture(scope="module")
def short_clip(tmp_path_factory) -> Path:
    return render_clip(
        tmp_path_factory.mktemp("clip") / "c.mp4", Script(duration_s=3, fps=10), progress=False
    )


def test_file_source_plays_at_its_own_rate_and_loops(short_clip):
    source = FrameSource("cam-t", str(short_clip), loop=True).start()
    try:
        wait_until(lambda: source.latest() is not None, 10, "a first frame")
        first = source.latest()
        later = wait_until(
            lambda: (f := source.latest()).seq >= first.seq + 20 and f, 20, "20 more frames"
        )
        fps = (later.seq - first.seq) / (later.captured_at - first.captured_at)
        assert fps <= 13, f"a 10 fps file is played at its own rate, not flat out ({fps:.1f} fps)"
        wait_until(lambda: source.latest().seq > 40, 6, "the 30-frame clip looping")
        assert source.latest().image.shape == (576, 640, 3)
    finally:
        source.stop()


def test_missing_file_is_reported_not_raised(tmp_path):
    source = FrameSource("cam-x", str(tmp_path / "nope.mp4")).start()
    try:
        wait_until(lambda: "not found" in source.last_error, 10, "a not-found error")
        assert source.latest() is None
    finally:
        source.stop()


@pytest.mark.skipif(not VTEST.exists(), reason=f"real footage not found at {VTEST}")
def test_real_footage_decodes():
    source = FrameSource("cam-v", str(VTEST)).start()
    try:
        wait_until(lambda: source.latest() is not None and source.latest().seq >= 5, 10, "5 frames")
        assert source.latest().image.shape == (576, 768, 3)
    finally:
        source.stop()


def _stamp(img: np.ndarray, number: int) -> None:
    """Write a frame number into the image as three grey blocks (hundreds, tens, units) that
    survive JPEG: each digit d is the block's level 25 * d."""
    for place, digit in enumerate(f"{number:03d}"):
        img[0:40, place * 40 : place * 40 + 40] = 25 * int(digit)


def _read_stamp(img: np.ndarray) -> int:
    """The frame number `_stamp` wrote."""
    digits = [round(float(img[8:32, p * 40 + 8 : p * 40 + 32].mean()) / 25) for p in range(3)]
    return int("".join(str(d) for d in digits))


class MjpegHandler(http.server.BaseHTTPRequestHandler):
    """A tiny MJPEG camera: multipart/x-mixed-replace JPEG frames at 20 fps, each numbered in its
    pixels; the server counts what it has sent (`sent`)."""

    sent = -1

    def do_GET(self):  # noqa: N802 - http.server's name
        self.send_response(200)
        self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
        self.end_headers()
        for i in range(400):
            img = np.full((240, 320, 3), 40, np.uint8)
            _stamp(img, i)
            cv2.putText(img, str(i), (20, 120), cv2.FONT_HERSHEY_SIMPLEX, 2, (255, 255, 255), 3)
            jpg = cv2.imencode(".jpg", img)[1].tobytes()
            try:
                self.wfile.write(
                    b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(jpg)
                    + jpg
                    + b"\r\n"
                )
            except (BrokenPipeError, ConnectionResetError):
                return
            type(self).sent = i
            time.sleep(0.05)

    def log_message(self, *args):
        pass


def test_mjpeg_over_http_keeps_the_newest_frame():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), MjpegHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    source = FrameSource("cam-m", f"http://127.0.0.1:{server.server_port}/video.mjpg").start()
    try:
        wait_until(
            lambda: source.latest() is not None and source.latest().seq >= 40, 20, "40 frames"
        )
        frame = source.latest()
        assert frame.image.shape == (240, 320, 3)
        shown, sent = _read_stamp(frame.image), MjpegHandler.sent
        # 20 fps: a reader keeping up is a frame or two behind the camera, not a queue behind.
        assert 0 <= sent - shown <= 6, f"newest frame is #{shown} while #{sent} was sent"
    finally:
        source.stop()
        server.shutdown()


@pytest.mark.parametrize(
    "frames, expected",
    [
        # (seconds since start, last frame time or None) -> state changes seen
        ([(1, None), (3, None)], []),  # undecided during the start grace
        ([(1, 0.9), (2, 1.9)], [(1, True)]),
        ([(1, 0.9), (4, 1.0), (6.5, 1.0)], [(1, True), (6.5, False)]),  # offline after 5 s
        ([(1, 0.9), (7, 1.0), (8, 7.9)], [(1, True), (7, False), (8, True)]),
        ([(6, None)], [(6, False)]),  # never delivered
    ],
)
def test_health_debounce(frames, expected):
    health = Health(started_at=0.0, offline_after_s=5)
    changes = [(now, health.online) for now, last in frames if health.update(last, now)]
    assert changes == expected


def test_motion_gate_runs_the_detector_on_change_and_periodically():
    gate = MotionGate(threshold=0.002, full_check_s=10)
    still = np.full((576, 640, 3), 90, np.uint8)
    noisy = np.clip(still + np.random.default_rng(1).normal(0, 4, still.shape), 0, 255).astype(
        np.uint8
    )
    moved = still.copy()
    cv2.rectangle(moved, (300, 300), (380, 360), (20, 20, 200), -1)
    assert gate.needs_detection(still, 0.0)  # first frame
    assert not gate.needs_detection(noisy, 0.5)  # sensor noise is not motion
    assert gate.needs_detection(moved, 1.0)  # a car arrived
    assert not gate.needs_detection(moved, 1.5)
    assert gate.needs_detection(moved, 11.0)  # periodic full check for still problems


def test_leases_share_cameras_and_move_them_when_a_worker_dies(bus):
    cams = [f"cam-{i:02d}" for i in range(6)]
    a = Leases(bus, "w-a", cams, ttl_s=2, max_cameras=32)
    gained, _ = a.refresh(100.0)
    assert gained == set(cams), "a lone worker takes every camera"
    b = Leases(bus, "w-b", cams, ttl_s=2, max_cameras=32)
    b.refresh(100.1)
    a.refresh(100.2)  # a sees two workers and hands half over
    b.refresh(100.3)
    assert len(a.held) == 3 and len(b.held) == 3 and not (a.held & b.held)
    # a dies without releasing: its leases expire and b takes them.
    wait_until(lambda: all(b.holder(c) != "w-a" for c in cams), 10, "a's leases expired")
    b.refresh(103.0)
    assert b.held == set(cams)
    # a comes back: its old leases are b's now; b hands half over and a takes them.
    _, lost = a.refresh(103.1)
    assert len(lost) == 3 and not a.held
    _, handed = b.refresh(103.2)
    gained, _ = a.refresh(103.3)
    assert len(handed) == 3 and gained == handed and not a.held & b.held
    assert b.is_live("w-b")
    b.release_all()
    assert not b.is_live("w-b") and all(b.holder(c) != "w-b" for c in cams)
