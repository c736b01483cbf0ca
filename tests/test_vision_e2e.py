"""The vision worker end to end: the bundled model, real video (a rendered clip, a real RTSP
server streaming real footage), a real Redis bus."""

from __future__ import annotations

import dataclasses
import math
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from config.paths import PROJECT_ROOT
from config.schema import CameraConfig, RuleConfig, ZoneConfig
from streams.embedded import free_port
from streams.rechecks import Rechecks
from streams.records import CameraHealth, Event, ZoneCheck, decode
from tests.support.rtsp import GST_PYTHON, start_rtsp
from tests.support.waiting import wait_until
from vision.detector import Detector, ModelError
from vision.synth.timeline import PARK_ZONE_Z, Script, demo_view, render_clip, zone_polygon
from vision.train import BUNDLED
from vision.worker import VisionWorker

VTEST = PROJECT_ROOT.parent / "shared" / "media" / "vtest.avi"
WEIGHTS = Path(os.environ.get("SC_TEST_WEIGHTS", BUNDLED))
ANCHOR = (120.17, 30.27)


@pytest.fixture(scope="module")
def detector(tmp_path_factory) -> Detector:
    """The bundled model through the default runtime (the fastest installed: OpenVINO), exported
    once into a temp cache."""
    return Detector(WEIGHTS, "auto", 320, 0.35, {}, tmp_path_factory.mktemp("models"))


def rules() -> list[RuleConfig]:
    return [
        RuleConfig(
            id="no-parking",
            kind="illegal_parking",
            category="illegal_parking",
            classes=["car", "van", "truck"],
            dwell_s=15,
            exit_grace_s=5,
            cooldown_s=900,
            pixel_tolerance=25,
        ),
        RuleConfig(
            id="bin-overflow",
            kind="bin_overflow",
            category="bin_overflow",
            classes=["bin_overflow"],
            dwell_s=10,
            cooldown_s=900,
        ),
        RuleConfig(
            id="dirty-road",
            kind="dirty_road",
            category="dirty_road",
            classes=["litter"],
            dwell_s=10,
            threshold=3,
            cooldown_s=900,
        ),
    ]


def camera(source: str, zones=True, size=(640, 576), homography=None, id="cam-t") -> CameraConfig:
    zone_list = (
        [
            ZoneConfig(id=f"z-{kind}", rule=rule, polygon=zone_polygon(kind), map_anchor=ANCHOR)
            for kind, rule in (
                ("illegal_parking", "no-parking"),
                ("bin_overflow", "bin-overflow"),
                ("dirty_road", "dirty-road"),
            )
        ]
        if zones
        else []
    )
    return CameraConfig(
        id=id,
        name={"zh": "测试", "en": "test"},
        source=source,
        position=ANCHOR,
        direction_deg=0,
        frame_size=size,
        analysis_fps=2,
        zones=zone_list,
        homography=homography,
        crops="frame",  # rendered clips: the whole frame is at the model's training scale
    )


def config(demo_cfg, cam: CameraConfig, tmp_path: Path, **vision):
    v = demo_cfg.vision.model_copy(
        update={"lease_ttl_s": 3, "offline_after_s": 5, "reconnect_max_s": 4, **vision}
    )
    return demo_cfg.model_copy(update={"cameras": [cam], "rules": rules(), "vision": v})


def records(bus, stream: str) -> list:
    """Every record on the stream (only the worker under test writes these: a malformed one
    fails the test)."""
    return [decode(fields) for _, fields in bus.client.xrange(bus.key(stream))]


def run_worker(worker: VisionWorker, seconds: float) -> threading.Event:
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop, seconds), daemon=True)
    thread.start()
    thread.join(seconds + 30)
    assert not thread.is_alive(), f"the worker did not stop within {seconds + 30} s"
    return stop


def test_clip_with_one_parking_and_one_full_bin_yields_exactly_two_events(
    demo_cfg, bus, detector, tmp_path
):
    clip = render_clip(
        tmp_path / "story.mp4",
        Script(
            duration_s=48,
            fps=10,
            park=(4.0, 44.0),
            overflow=(3.0, None),
            traffic_per_min=5,
            walkers_per_min=6,
            seed=5,
        ),
        progress=False,
    )
    view, street = demo_view()
    calibrated = camera(str(clip), homography=view.ground_homography(ANCHOR, 0.0))
    # The same picture with a calibration for a camera ten times higher: everything measures ten
    # times too large, so the ground-size check drops the car and the bin.
    too_high = dataclasses.replace(view, height=view.height * 10)
    wrong = camera(str(clip), homography=too_high.ground_homography(ANCHOR, 0.0), id="cam-wrong")
    cfg = config(demo_cfg, calibrated, tmp_path).model_copy(update={"cameras": [calibrated, wrong]})
    data = tmp_path / "data"
    worker = VisionWorker(cfg, bus, detector, worker_id="w-e2e", data_dir=data, cameras=cfg.cameras)
    from prometheus_client import REGISTRY

    def dropped(camera_id: str) -> float:
        return sum(
            REGISTRY.get_sample_value(
                "sc_ground_size_dropped_total", {"camera": camera_id, "class_name": name}
            )
            or 0
            for name in ("car", "van", "truck", "bin_overflow")
        )

    inferences = REGISTRY.get_sample_value("sc_inference_seconds_count") or 0
    run_worker(worker, 46)
    # What Prometheus would scrape from this worker: its inferences, the camera online at its rate.
    assert REGISTRY.get_sample_value("sc_inference_seconds_count") > inferences
    assert REGISTRY.get_sample_value("sc_camera_online", {"camera": "cam-t"}) == 1
    assert REGISTRY.get_sample_value("sc_camera_analysed_fps", {"camera": "cam-t"}) > 0
    events = [r for r in records(bus, "events") if isinstance(r, Event)]
    assert sorted((e.camera_id, e.category) for e in events) == [
        ("cam-t", "bin_overflow"),
        ("cam-t", "illegal_parking"),
    ], [(e.camera_id, e.category, e.zone_id, e.detected_at) for e in events]
    assert dropped("cam-wrong") > 20 and dropped("cam-t") < dropped("cam-wrong") / 10
    for e in events:
        assert e.source == "camera"
        assert e.snapshot and (data / e.snapshot).stat().st_size > 10_000
        assert 0.35 <= (e.confidence or 0) <= 1
    parking = next(e for e in events if e.category == "illegal_parking")
    assert parking.track_ids, "the parked car's track id travels with the event"
    # Placed where the car stands (the calibration), not at the zone's anchor: on the
    # no-parking kerb to the right of the camera, within the zone's stretch of street ahead.
    east = (parking.lon - ANCHOR[0]) * 111_320 * math.cos(math.radians(ANCHOR[1]))
    north = (parking.lat - ANCHOR[1]) * 111_320
    assert PARK_ZONE_Z[0] - 1 <= north <= PARK_ZONE_Z[1] + 1, north
    assert street.kerb - 3.0 <= east + view.cam_x <= street.kerb + 1.0, east  # world x
    health = [r for r in records(bus, "camera_health") if isinstance(r, CameraHealth)]
    assert health and health[0].online and health[0].camera_id in {"cam-t", "cam-wrong"}


def test_worker_answers_verification_rechecks(demo_cfg, bus, detector, tmp_path):
    """The dispatcher asks (Redis hash); the worker answers with ZoneCheck records and evidence."""
    clip = render_clip(
        tmp_path / "bin.mp4",
        Script(duration_s=12, fps=10, overflow=(0.0, None), traffic_per_min=0, walkers_per_min=0),
        progress=False,
    )
    cfg = config(demo_cfg, camera(str(clip)), tmp_path, recheck_every_s=1)
    rechecks = Rechecks(bus)
    rechecks.mark("cam-t", "z-bin_overflow", "t1")
    rechecks.mark("cam-t", "z-illegal_parking", "t2")
    rechecks.mark("cam-9", "x", "t3")
    worker = VisionWorker(
        cfg, bus, detector, worker_id="w-check", data_dir=tmp_path / "data", cameras=cfg.cameras
    )
    run_worker(worker, 8)
    checks = [r for r in records(bus, "zone_checks") if isinstance(r, ZoneCheck)]
    by_zone = {c.zone_id: c for c in checks}
    assert set(by_zone) == {"z-bin_overflow", "z-illegal_parking"}, "only zones of cameras it holds"
    assert by_zone["z-bin_overflow"].present is True
    assert by_zone["z-illegal_parking"].present is False
    first = next(c for c in checks if c.zone_id == "z-bin_overflow")
    assert first.snapshot and (tmp_path / "data" / first.snapshot).exists()


def test_unknown_class_fails_at_start_up(demo_cfg, bus, detector, tmp_path):
    cfg = config(demo_cfg, camera("x.mp4"), tmp_path)
    bad = [*rules()[:2], rules()[2].model_copy(update={"classes": ["rubbish"]})]
    with pytest.raises(
        ModelError, match="rule 'dirty-road' uses class 'rubbish'.*vision.class_map"
    ):
        VisionWorker(cfg.model_copy(update={"rules": bad}), bus, detector, data_dir=tmp_path)


def test_openvino_without_its_package_fails_clearly_and_auto_falls_back(tmp_path):
    """A machine without OpenVINO (a package that cannot be found, as a stub on the path makes
    it): asking for it by name fails with the fix; 'auto' runs ONNX Runtime instead."""
    hidden = tmp_path / "hide"
    hidden.mkdir()
    (hidden / "openvino.py").write_text("raise ImportError('No module named openvino')\n")
    probe = (
        "import sys; from pathlib import Path\n"
        "from vision.detector import Detector, ModelError\n"
        "try:\n"
        f"    Detector(Path({str(WEIGHTS)!r}), 'openvino', 320, 0.35, {{}}, Path(sys.argv[1]))\n"
        "except ModelError as exc:\n"
        "    print('refused:', exc)\n"
        f"print('auto:', Detector(Path({str(WEIGHTS)!r}), 'auto', 320, 0.35, {{}}, "
        "Path(sys.argv[1])).runtime)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, str(tmp_path / "models")],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": f"{hidden}{os.pathsep}{PROJECT_ROOT}"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "refused:" in done.stdout and "pip install openvino" in done.stdout
    assert "auto: onnx" in done.stdout


def test_missing_weights_fail_clearly(tmp_path):
    with pytest.raises(ModelError, match="weights not found.*run.py train"):
        Detector(tmp_path / "none.pt")


@pytest.mark.parametrize(
    "command", [["train", "--from"], ["eval", "--weights"], ["quantize", "--weights"]]
)
def test_train_and_eval_name_a_missing_weights_file(tmp_path, command):
    """Ultralytics would try to download an unknown name; the CLI stops with the path instead."""
    missing = tmp_path / "street-old.pt"
    result = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "run.py"), *command, str(missing)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert f"{command[1]}: weights file not found: {missing}" in result.stderr
    assert "Traceback" not in result.stderr


def test_quantize_without_nncf_says_how_to_get_it(tmp_path):
    """Where NNCF is not installed (it is not a runtime dependency), `run.py quantize` stops with
    the command that installs it, and writes nothing."""
    hidden = tmp_path / "hide"
    hidden.mkdir()
    (hidden / "nncf.py").write_text("raise ImportError('No module named nncf')\n")
    bundled = PROJECT_ROOT / "vision" / "models" / "street-yolo11n-int8_openvino_model"
    before = sorted((p.name, p.stat().st_mtime_ns) for p in bundled.iterdir())
    result = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "run.py"), "quantize"],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": str(hidden), "SC_DATA_DIR": str(tmp_path / "data")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr[-1500:]
    assert "INT8 quantization needs NNCF: pip install nncf" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "data" / "dataset").exists()  # stopped before rendering anything
    assert sorted((p.name, p.stat().st_mtime_ns) for p in bundled.iterdir()) == before


def gst_available() -> bool:
    probe = (
        "import gi; gi.require_version('GstRtspServer', '1.0'); "
        "from gi.repository import GstRtspServer"
    )
    return (
        shutil.which(GST_PYTHON) is not None
        and subprocess.run([GST_PYTHON, "-c", probe], capture_output=True).returncode == 0
    )


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024


@pytest.mark.skipif(not VTEST.exists(), reason=f"real footage not found at {VTEST}")
@pytest.mark.skipif(
    not gst_available(), reason="GStreamer RTSP server missing: run scripts/setup.sh --browser"
)
def test_rtsp_outage_goes_offline_then_online_and_analysis_resumes(
    demo_cfg, bus, detector, tmp_path
):
    port = free_port()
    url = f"rtsp://127.0.0.1:{port}/cam"

    def serve():
        return start_rtsp(VTEST, port)

    def health() -> list[bool]:
        return [r.online for r in records(bus, "camera_health") if isinstance(r, CameraHealth)]

    def analysed() -> int:
        pipeline = worker.pipelines.get("cam-t")
        return pipeline.analysed if pipeline else 0

    server = serve()
    cfg = config(demo_cfg, camera(url, zones=False, size=(768, 576)), tmp_path)
    worker = VisionWorker(
        cfg, bus, detector, worker_id="w-rtsp", data_dir=tmp_path, cameras=cfg.cameras
    )
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    try:
        wait_until(lambda: analysed() >= 10, 90, "10 frames analysed")
        analysed_before, rss_start = analysed(), rss_mb()
        server.terminate()
        server.wait(10)
        wait_until(lambda: health()[-1:] == [False], 90, "the camera reported offline")
        stalled = analysed()
        server = serve()
        wait_until(lambda: health()[-1:] == [True], 90, "the camera reported online again")
        wait_until(lambda: analysed() - stalled >= 10, 90, "analysis resumed")
        resumed, rss_end = analysed() - stalled, rss_mb()
    finally:
        stop.set()
        thread.join(20)
        server.terminate()
    states = [r.online for r in records(bus, "camera_health") if isinstance(r, CameraHealth)]
    flips = [s for i, s in enumerate(states) if i == 0 or s != states[i - 1]]
    assert flips == [True, False, True], states
    assert rss_end - rss_start < 60, f"memory grew {rss_end - rss_start:.0f} MB over the outage"
    print(
        f"rtsp: {analysed_before} analysed before, {resumed} after restart; "
        f"RSS {rss_start:.0f} -> {rss_end:.0f} MB",
        file=sys.stderr,
    )


def _turned_after(clip: Path, out: Path, after_s: float, degrees: float, about) -> Path:
    """The clip as a camera that was turned by `degrees` (about the pixel `about`) at `after_s`."""
    import cv2

    source = cv2.VideoCapture(str(clip))
    fps = source.get(cv2.CAP_PROP_FPS)
    size = (int(source.get(cv2.CAP_PROP_FRAME_WIDTH)), int(source.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    turn = cv2.getRotationMatrix2D(about, degrees, 1.0)
    n = 0
    while True:
        ok, frame = source.read()
        if not ok:
            break
        if n / fps >= after_s:
            frame = cv2.warpAffine(frame, turn, size, borderMode=cv2.BORDER_REPLICATE)
        writer.write(frame)
        n += 1
    source.release()
    writer.release()
    return out


def test_a_turned_camera_is_reported_and_its_rules_pause(demo_cfg, bus, detector, tmp_path):
    """The camera is turned 3 s in, about its bin, so the overflowing bin stays in its zone:
    the worker reports the view shifted on the bus and files nothing for the zone, although the
    bin sits there longer than the rule's dwell."""
    polygon = zone_polygon("bin_overflow")
    centre = (
        sum(x for x, _ in polygon) / len(polygon),
        sum(y for _, y in polygon) / len(polygon),
    )
    story = render_clip(
        tmp_path / "bin.mp4",
        Script(duration_s=26, fps=10, overflow=(0.0, None), traffic_per_min=0, walkers_per_min=0),
        progress=False,
    )
    clip = _turned_after(story, tmp_path / "turned.mp4", 3.0, 7.0, centre)
    picture = demo_cfg.vision.picture.model_copy(update={"check_every_s": 1.0})
    cfg = config(demo_cfg, camera(str(clip)), tmp_path, picture=picture)
    worker = VisionWorker(
        cfg, bus, detector, worker_id="w-turn", data_dir=tmp_path / "data", cameras=cfg.cameras
    )
    run_worker(worker, 24)
    health = [r for r in records(bus, "camera_health") if isinstance(r, CameraHealth)]
    assert any(h.online and h.problems == ("shifted",) for h in health), health
    assert health[0].problems == (), "the view before the turn is the reference"
    events = [r for r in records(bus, "events") if isinstance(r, Event)]
    assert events == [], [(e.category, e.zone_id, e.detected_at) for e in events]
