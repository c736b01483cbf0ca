"""A real street at default settings: the shared clip (footage nobody here made) served by a
local RTSP server, a vision worker exactly as `run.py vision` builds it (bundled INT8 model on
OpenVINO, crops around the zones, the demo district's rules), zones drawn where a city would
draw them. The parked van is reported once its no-parking dwell has passed; the zones on clean
pavement report nothing over the whole clip."""

from __future__ import annotations

import threading

import pytest

from config.schema import CameraConfig, ZoneConfig
from streams.records import Event
from tests.support.rtsp import rtsp_camera
from tests.support.waiting import wait_until
from tests.test_vision_e2e import VTEST, gst_available, records
from vision.detector import Detector
from vision.worker import VisionWorker

CLIP_S = 795 / 10  # the clip's length: 795 frames at 10 fps
ANCHOR = (120.1846715, 30.2791768)
ZONES = {  # zone id -> (demo rule, polygon in the clip's 768x576 pixels)
    "kerb-end": ("no-parking", [(600, 60), (768, 60), (768, 125), (600, 125)]),  # the van stands
    "tarmac": ("dirty-road", [(470, 330), (740, 330), (740, 460), (470, 460)]),  # clean, stained
    "forecourt": ("bin-overflow", [(330, 105), (590, 105), (590, 150), (330, 150)]),  # no bins
    "walkway": ("no-parking", [(0, 190), (300, 190), (300, 245), (0, 245)]),  # people walk
}

pytestmark = [
    pytest.mark.skipif(not VTEST.exists(), reason=f"the shared clip {VTEST} is missing"),
    pytest.mark.skipif(not gst_available(), reason="GStreamer's RTSP server is not installed"),
]


def test_the_parked_van_is_reported_and_clean_pavement_stays_quiet(demo_cfg, bus, tmp_path):
    # The demo's rules as they are, but for their active hours (07:00-22:00 for parking): a test
    # may run at any hour.
    rules = [r.model_copy(update={"active_hours": None}) for r in demo_cfg.rules]
    dwell = next(r.dwell_s for r in rules if r.id == "no-parking")
    with rtsp_camera(VTEST) as url:
        camera = CameraConfig(
            id="cam-street",
            name={"zh": "校园路", "en": "Campus Rd"},
            source=url,
            position=ANCHOR,
            direction_deg=270,
            frame_size=(768, 576),
            zones=[
                ZoneConfig(id=zone, rule=rule, polygon=polygon, map_anchor=ANCHOR)
                for zone, (rule, polygon) in ZONES.items()
            ],
        )
        cfg = demo_cfg.model_copy(update={"cameras": [camera], "rules": rules})
        detector = Detector.from_config(cfg.vision, tmp_path)
        assert "INT8" in detector.describe()  # the default: the bundled INT8 model on OpenVINO
        worker = VisionWorker(
            cfg, bus, detector, "w-street", data_dir=tmp_path / "data", cameras=[camera]
        )
        stop = threading.Event()
        running = threading.Thread(target=worker.run, args=(stop,), daemon=True)
        running.start()

        def events() -> list[Event]:
            return [r for r in records(bus, "events") if isinstance(r, Event)]

        try:
            wait_until(
                lambda: any(e.zone_id == "kerb-end" for e in events()),
                dwell + 120 + 30,  # within 2 minutes of the dwell (and the stream's start)
                "the parked van reported in its no-parking zone",
            )
            analysed = worker.pipelines["cam-street"].analysed
        finally:
            stop.set()
            running.join(30)
    found = events()
    assert [(e.zone_id, e.category) for e in found] == [("kerb-end", "illegal_parking")], [
        (e.zone_id, e.category, e.description) for e in found
    ]
    assert analysed >= 2 * CLIP_S  # the whole clip was watched (2 fps) before that verdict
    assert (tmp_path / "data" / found[0].snapshot).stat().st_size > 10_000
