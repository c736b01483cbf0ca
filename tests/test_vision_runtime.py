"""The worker's runtime without PyTorch: the ONNX runner gives Ultralytics' own answers on real
footage, a worker process never imports PyTorch and stays small, per-class confidence, and the
tracker's ids."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest

from config.paths import PROJECT_ROOT
from tests.test_vision_e2e import VTEST, WEIGHTS
from vision.detections import Detections
from vision.detector import Detector
from vision.export import export_path
from vision.tracker import Tracker, iou

INT8 = PROJECT_ROOT / "vision" / "models" / "street-yolo11n-int8_openvino_model"
pytestmark = pytest.mark.skipif(not VTEST.exists(), reason=f"the shared clip {VTEST} is missing")


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def frames() -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(VTEST))
    out = []
    for index in range(601):
        ok, image = capture.read()
        assert ok, f"{VTEST} ended at frame {index}"
        if index % 100 == 0:
            out.append(image)
    capture.release()
    return out


def test_onnx_runner_gives_ultralytics_own_boxes_on_real_footage(cache, frames):
    """Letterbox, decode and NMS done in NumPy match Ultralytics' predictor on the same export:
    same classes, same scores, boxes within a tenth of a pixel (whole frames and crops)."""
    ours = Detector(WEIGHTS, "onnx", 320, 0.25, {}, cache)
    from ultralytics import YOLO

    theirs = YOLO(str(export_path(WEIGHTS, "onnx", 320, cache)), task="detect")
    compared = 0
    for image in frames:
        for part in (image, image[0:320, 448:768], image[100:300, 0:500]):
            mine = ours.detect(part)
            boxes = theirs.predict(part, imgsz=320, conf=0.25, verbose=False)[0].boxes
            assert len(mine) == len(boxes)
            if not len(mine):
                continue
            order_a, order_b = np.argsort(-mine.confidence), np.argsort(-boxes.conf.numpy())
            assert np.allclose(mine.confidence[order_a], boxes.conf.numpy()[order_b], atol=1e-4)
            assert np.abs(mine.xyxy[order_a] - boxes.xyxy.numpy()[order_b]).max() < 0.1
            names = [ours.names[int(c)] for c in boxes.cls.numpy()[order_b]]
            assert list(mine.class_name[order_a]) == names
            compared += len(mine)
    assert compared > 50  # the frames have plenty of boxes to compare


WORKER_PROBE = """
import json, sys
from pathlib import Path
import cv2
import vision.worker, stack.services  # everything a vision worker process imports
from vision.detector import Detector
from vision.tracker import Tracker, iou
quantized = Path(sys.argv[5]) if len(sys.argv) > 5 else None
detector = Detector(Path(sys.argv[1]), sys.argv[4], 320, 0.35, {}, Path(sys.argv[2]),
                    quantized=quantized)
trackers = [Tracker(2) for _ in range(24)]
capture = cv2.VideoCapture(sys.argv[3])
boxes = 0
for index in range(48):
    ok, image = capture.read()
    found = trackers[index % 24].update(detector.detect(image))
    boxes += len(found)
# The peak of this process image (ru_maxrss would count the forking test process's peak too).
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM"))
print(json.dumps({"torch": "torch" in sys.modules, "boxes": boxes, "rss_mb": peak / 1024,
                  "runtime": detector.runtime, "described": detector.describe()}))
"""


@pytest.mark.parametrize("runtime", ["auto", "onnx"])
def test_a_worker_process_never_imports_pytorch_and_stays_small(tmp_path, runtime):
    """The export runs in a child process; the worker itself detects and tracks on real footage
    for 24 cameras' trackers without PyTorch, under the 500 MB goal (PyTorch alone is 800 MB),
    with the default runtime (OpenVINO here) and with ONNX Runtime."""
    extra = [str(INT8)] if runtime == "auto" else []
    result = subprocess.run(
        [sys.executable, "-c", WORKER_PROBE, str(WEIGHTS), str(tmp_path), str(VTEST), runtime]
        + extra,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    probe = json.loads(result.stdout.strip().splitlines()[-1])
    assert probe["torch"] is False
    assert probe["boxes"] > 0
    assert probe["rss_mb"] < 500, probe
    if runtime == "auto":  # the bundled INT8 model, nothing to export
        assert probe["runtime"] == "openvino" and "INT8" in probe["described"], probe
    else:
        assert probe["runtime"] == runtime
        assert export_path(WEIGHTS, runtime, 320, tmp_path).exists()  # made by the child


def test_openvino_and_onnx_runtime_find_the_same_things(cache, frames):
    """The default runtime (OpenVINO, in bfloat16 where the CPU has it) answers like ONNX
    Runtime (float32) on the same weights: same things, same places, scores within 0.06."""
    onnx = Detector(WEIGHTS, "onnx", 320, 0.35, {}, cache)
    openvino = Detector(WEIGHTS, "openvino", 320, 0.35, {}, cache)
    compared = 0
    for image in frames:
        a, b = onnx.detect(image), openvino.detect(image)
        compared += len(a)
        if not len(a):
            continue
        overlap = iou(a.xyxy.astype(float), b.xyxy.astype(float))
        for i in range(len(a)):  # each ONNX box has its OpenVINO twin: same class, same place
            j = int(overlap[i].argmax())
            if float(a.confidence[i]) - 0.35 < 0.06:
                continue  # on the threshold: either runtime may drop it
            assert overlap[i, j] > 0.9 and b.class_name[j] == a.class_name[i]
            assert abs(float(a.confidence[i]) - float(b.confidence[j])) < 0.06
    assert compared >= 15  # people, the parked vehicles: enough to compare


def test_each_class_keeps_boxes_from_its_own_confidence(cache, frames):
    everyone = Detector(WEIGHTS, "onnx", 320, 0.25, {}, cache)
    strict = Detector(WEIGHTS, "onnx", 320, 0.25, {}, cache, class_confidence={"car": 0.5})
    image = frames[0]
    loose, tight = everyone.detect(image), strict.detect(image)
    cars = loose.class_name == "car"
    assert (loose.confidence[cars] < 0.5).any() and (loose.confidence[cars] >= 0.5).any()
    assert sorted(tight.confidence[tight.class_name == "car"]) == sorted(
        loose.confidence[cars & (loose.confidence >= 0.5)]
    )
    assert len(tight[tight.class_name != "car"]) == len(loose[~cars])  # others untouched


def test_the_bundled_int8_model_is_used_only_for_its_own_weights(cache, frames, tmp_path):
    """With OpenVINO the worker runs the committed INT8 model (quantized from the bundled
    weights, mAP50 0.837 -> 0.833); it finds what the float model finds. A folder quantized from
    other weights is not used."""
    int8 = Detector(WEIGHTS, "openvino", 320, 0.35, {}, cache, quantized=INT8)
    full = Detector(WEIGHTS, "onnx", 320, 0.35, {}, cache)
    assert "INT8" in int8.describe()
    matched = total = 0
    for image in frames:
        a, b = full.detect(image), int8.detect(image)
        sure = a[a.confidence >= 0.5]
        if len(sure) and len(b):
            overlap = iou(sure.xyxy.astype(float), b.xyxy.astype(float))
            best = overlap.argmax(axis=1)
            matched += sum(
                overlap[i, j] > 0.8 and b.class_name[j] == sure.class_name[i]
                for i, j in enumerate(best)
            )
        total += len(sure)
    assert total > 10 and matched >= 0.9 * total, (matched, total)
    other = tmp_path / "other"
    shutil.copytree(INT8, other)
    record = json.loads((other / "source.json").read_text())
    (other / "source.json").write_text(json.dumps({**record, "sha256": "0" * 12}))
    fallback = Detector(WEIGHTS, "openvino", 320, 0.35, {}, cache, quantized=other)
    assert "INT8" not in fallback.describe()


def _frame(*boxes: tuple[str, tuple[float, float, float, float], float]) -> Detections:
    return Detections.of(list(boxes))


def test_tracker_follows_a_moving_vehicle_through_a_weak_frame_and_a_gap():
    tracker = Tracker(analysis_fps=2, memory_s=3)  # a lost track is kept 6 frames
    ids = []
    for step in range(5):  # a car driving right, 12 px per frame
        x = 100 + 12 * step
        ids.append(int(tracker.update(_frame(("car", (x, 50, x + 60, 90), 0.8))).track_id[0]))
    weak = tracker.update(_frame(("car", (160, 50, 220, 90), 0.15)))  # half hidden: weak box
    ids.append(int(weak.track_id[0]))
    for _ in range(3):  # not seen at all for three frames
        tracker.update(Detections())
    back = tracker.update(_frame(("car", (208, 50, 268, 90), 0.8)))  # where it would be by now
    assert ids == [1] * 6 and int(back.track_id[0]) == 1


def test_tracker_keeps_two_things_apart_and_forgets_after_its_memory():
    tracker = Tracker(analysis_fps=2, memory_s=1)  # kept 2 frames
    first = tracker.update(_frame(("car", (0, 0, 50, 40), 0.9), ("person", (200, 0, 220, 60), 0.9)))
    assert list(first.track_id) == [1, 2]
    swapped = tracker.update(
        _frame(("person", (201, 1, 221, 61), 0.9), ("car", (1, 0, 51, 40), 0.9))
    )
    assert list(swapped.track_id) == [2, 1]
    weak_newcomer = tracker.update(_frame(("litter", (400, 400, 420, 410), 0.2)))
    assert list(weak_newcomer.track_id) == [-1]  # a weak box alone starts nothing
    for _ in range(3):
        tracker.update(Detections())
    again = tracker.update(_frame(("car", (1, 0, 51, 40), 0.9)))
    assert int(again.track_id[0]) == 3  # forgotten: a new id
