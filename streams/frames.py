"""The camera wall's frame cache: the latest small annotated frame of each camera, written by the
vision worker that holds the camera and read by the cockpit; a frame expires when its camera
stops being analysed, so the wall never shows an old picture as live. This module owns the keys.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import redis

from streams import keys
from streams.bus import Bus
from streams.outage import Outage

log = logging.getLogger(__name__)
TTL_S = 15


@dataclass(frozen=True)
class Frame:
    """A JPEG of what a camera saw, with its zones and detections drawn in."""

    jpeg: bytes
    captured_at: float
    detections: int
    problems: tuple[str, ...] = ()  # what is wrong with the picture (frozen, dark, ...)


class FrameCache:
    """Latest frame per camera (one small Redis hash each, with a time to live)."""

    def __init__(self, bus: Bus):
        self.bus = bus
        self.outage = Outage(log, "camera wall frames (Redis)")

    def put(self, camera_id: str, frame: Frame) -> None:
        """Replace the camera's frame (a frame that cannot be sent now is dropped: the next one
        follows in a second, and a Redis outage must not stop the analysis)."""
        key = keys.camera_frame(camera_id, self.bus.namespace)
        mapping = {
            "jpeg": frame.jpeg,
            "at": repr(frame.captured_at),
            "detections": str(frame.detections),
            "problems": ",".join(frame.problems),
        }
        try:
            pipe = self.bus.client.pipeline(transaction=True)
            pipe.hset(key, mapping=mapping)
            pipe.expire(key, TTL_S)
            pipe.execute()
        except redis.RedisError as exc:
            log.debug("frame of %s dropped: %s", camera_id, exc)

    def get(self, camera_id: str) -> Frame | None:
        """The camera's latest frame, or None when it has none (offline, not analysed, or the
        frame cache unreachable for now)."""
        key = keys.camera_frame(camera_id, self.bus.namespace)
        try:
            jpeg, at, detections, problems = self.bus.client.hmget(
                key, "jpeg", "at", "detections", "problems"
            )
        except redis.RedisError as exc:
            self.outage.failed(exc)  # once per outage, not once per tile and second
            return None
        self.outage.ok()
        if jpeg is None or at is None:
            return None
        named = tuple(p for p in (problems or b"").decode().split(",") if p)
        return Frame(bytes(jpeg), float(at), int(detections or 0), named)
