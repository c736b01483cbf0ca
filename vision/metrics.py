"""A vision worker's Prometheus metrics: each held camera's analysed frame rate and whether it
is online, how long one inference takes, and boxes dropped by the ground-size check."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

CAMERA_FPS = Gauge("sc_camera_analysed_fps", "Frames analysed per second", ["camera"])
CAMERA_ONLINE = Gauge("sc_camera_online", "1 while the camera delivers frames", ["camera"])
INFERENCE = Histogram(
    "sc_inference_seconds",
    "One detector call on one frame",
    buckets=(0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28),
)
GROUND_DROPPED = Counter(
    "sc_ground_size_dropped",
    "Boxes dropped because their real-world size is impossible for their class",
    ["camera", "class_name"],
)
