"""Serve a video file as a live RTSP camera for a test (GStreamer's RTSP server under Debian's
python3, `tests/support/rtsp_server.py`), on 127.0.0.1 and a free port."""

from __future__ import annotations

import select
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from config.paths import PROJECT_ROOT
from streams.embedded import free_port

GST_PYTHON = "/usr/bin/python3"


def start_rtsp(path: Path, port: int) -> subprocess.Popen:
    """The server process, once it answers at rtsp://127.0.0.1:PORT/cam."""
    proc = subprocess.Popen(
        [GST_PYTHON, str(PROJECT_ROOT / "tests/support/rtsp_server.py"), str(port), str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    ready, _, _ = select.select([proc.stdout], [], [], 60)
    assert ready, "the RTSP server did not start within 60 s"
    assert proc.stdout.readline().strip() == f"rtsp://127.0.0.1:{port}/cam"
    return proc


@contextmanager
def rtsp_camera(path: Path) -> Iterator[str]:
    """`path` looped as a live camera; yields its URL, stops the server after."""
    port = free_port()
    proc = start_rtsp(path, port)
    try:
        yield f"rtsp://127.0.0.1:{port}/cam"
    finally:
        proc.terminate()
        proc.wait(10)
