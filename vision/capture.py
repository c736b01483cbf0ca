"""Camera capture: a reader thread per source that keeps only the newest frame, reconnects with
backoff when the stream stalls, and a debounced online/offline health state."""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from config.sources import is_file

log = logging.getLogger(__name__)

# RTSP over TCP (no lost UDP packets, works through NAT); applies to every FFmpeg capture.
os.environ.setdefault("OPENCV_FFMPEG_CAPTURE_OPTIONS", "rtsp_transport;tcp")
OPEN_TIMEOUT_MS = 8000
READ_TIMEOUT_MS = 8000


@dataclass(frozen=True)
class Frame:
    """One decoded frame, its sequence number and when it was captured (epoch seconds)."""

    image: np.ndarray
    seq: int
    captured_at: float


class FrameSource:
    """Reads a camera in its own thread and keeps the newest frame, so no lag builds up when the
    analysis is slower than the stream. Files are paced at their own frame rate (and looped), so
    they behave like live feeds."""

    def __init__(
        self,
        camera_id: str,
        source: str,
        loop: bool = True,
        stall_s: float = 20,
        reconnect_max_s: float = 10,
        clock=time.time,
    ):
        self.camera_id, self.source, self.loop = camera_id, source, loop
        self.stall_s, self.reconnect_max_s = stall_s, reconnect_max_s
        self.clock = clock
        self._lock = threading.Lock()
        self._latest: Frame | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.frames_read = 0
        self.reconnects = 0
        self.last_error = ""
        self.stream_fps = 0.0

    def start(self) -> FrameSource:
        """Start the reader thread."""
        self._thread = threading.Thread(
            target=self._run, name=f"capture-{self.camera_id}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self, wait: bool = True) -> None:
        """Stop the reader thread (it releases the stream); `wait=False` only asks, so that a
        worker can ask all its sources first and then wait for them together."""
        self._stop.set()
        if wait and self._thread:
            self._thread.join(timeout=READ_TIMEOUT_MS / 1000 + 2)

    def latest(self) -> Frame | None:
        """The newest frame read so far (or None before the first)."""
        with self._lock:
            return self._latest

    def last_frame_at(self) -> float | None:
        """When the newest frame arrived."""
        frame = self.latest()
        return frame.captured_at if frame else None

    def _open(self) -> cv2.VideoCapture | None:
        if is_file(self.source) and not Path(self.source).exists():
            self.last_error = f"video file not found: {self.source}"
            return None
        params = [
            cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
            OPEN_TIMEOUT_MS,
            cv2.CAP_PROP_READ_TIMEOUT_MSEC,
            READ_TIMEOUT_MS,
            cv2.CAP_PROP_N_THREADS,  # one decoding thread per camera: a worker holds dozens,
            1,  # and FFmpeg's default (one per core each) only adds buffers and switching
        ]
        cap = cv2.VideoCapture(self.source, cv2.CAP_FFMPEG, params)
        if not cap.isOpened():
            cap.release()
            self.last_error = f"cannot open {self.source}"
            return None
        fps = cap.get(cv2.CAP_PROP_FPS)
        self.stream_fps = fps if 0 < fps < 120 else 0.0
        return cap

    def _run(self) -> None:
        backoff, reported = 0.5, ""
        while not self._stop.is_set():
            cap = self._open()
            if cap is None:
                if self.last_error != reported:  # once per new problem, not at every retry
                    log.warning(
                        "camera %s unavailable (%s); retrying", self.camera_id, self.last_error
                    )
                    reported = self.last_error
                self._stop.wait(backoff)
                backoff = min(backoff * 2, self.reconnect_max_s)
                continue
            if self._read_until_stall(cap):
                backoff, reported = 0.5, ""
            cap.release()
            self.reconnects += 1
            self._stop.wait(backoff)
            backoff = min(backoff * 2, self.reconnect_max_s)

    def _read_until_stall(self, cap: cv2.VideoCapture) -> bool:
        """Read frames until the stream ends, errors or stalls; True when any frame arrived."""
        pace = 1.0 / self.stream_fps if is_file(self.source) and self.stream_fps else 0.0
        next_at = time.monotonic()
        got_any, last_ok = False, time.monotonic()
        looped = is_file(self.source) and self.loop
        while not self._stop.is_set():
            ok, image = cap.read()
            if not ok and looped and got_any:
                cap.set(cv2.CAP_PROP_POS_FRAMES, 0)  # a looped file is a live feed that never ends
                ok, image = cap.read()
            if not ok:
                if not looped or time.monotonic() - last_ok > self.stall_s:
                    self.last_error = "stream ended or stalled"
                    return got_any
                self._stop.wait(0.05)
                continue
            got_any, last_ok = True, time.monotonic()
            self.frames_read += 1
            with self._lock:
                self._latest = Frame(image, self.frames_read, self.clock())
            if pace:
                next_at += pace
                delay = next_at - time.monotonic()
                if delay > 0:
                    self._stop.wait(delay)
                else:
                    next_at = time.monotonic()
        return got_any


class Health:
    """Online/offline with a debounce: offline once no frame came for `offline_after_s`, online on
    the first fresh frame; undecided for that long after start. `update` is True on a change."""

    def __init__(self, started_at: float, offline_after_s: float = 5):
        self.started_at, self.offline_after_s = started_at, offline_after_s
        self.online: bool | None = None
        self.changed_at = started_at

    def update(self, last_frame_at: float | None, now: float) -> bool:
        """Feed the newest frame's time (explicit clock); True when the state flips."""
        fresh = last_frame_at is not None and now - last_frame_at <= self.offline_after_s
        if self.online is None and not fresh and now - self.started_at < self.offline_after_s:
            return False
        if fresh == self.online:
            return False
        self.online, self.changed_at = fresh, now
        return True
