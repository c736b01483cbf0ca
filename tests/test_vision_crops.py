"""Looking where it matters: crops around zones mapped back to frame pixels, and the ground-size
check on calibrated cameras (real rendered scenes with their exact camera geometry)."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from config.detection import DEFAULT_GROUND_SIZES
from vision.crops import CropPlan, detect_regions, plan_crops
from vision.detections import Detections
from vision.ground import EARTH_M_PER_DEG, GroundCheck, GroundPlane
from vision.synth.dataset import render_sample
from vision.synth.world import street_for

ANCHOR = (120.17, 30.27)


def square(x: float, y: float, side: float) -> np.ndarray:
    return np.array([[x, y], [x + side, y], [x + side, y + side], [x, y + side]], float)


def test_a_small_zone_gets_one_region_at_the_cameras_own_resolution():
    zone = square(500, 300, 60)
    plan = plan_crops([zone], (1280, 720), min_side=320, margin=0.25)
    assert len(plan.regions) == 1 and not plan.whole_frame
    x0, y0, x1, y1 = plan.regions[0]
    assert (x1 - x0, y1 - y0) == (320, 320)  # never enlarged past the camera's pixels
    assert x0 <= 500 - 15 and y0 <= 300 - 15 and x1 >= 560 + 15 and y1 >= 360 + 15  # + margin


def test_regions_stay_in_the_frame_merge_when_they_overlap_and_give_way_to_the_whole_frame():
    corner = plan_crops([square(0, 680, 30)], (1280, 720), min_side=320)
    assert corner.regions == ((0, 400, 320, 720),)  # pushed inside, not cut
    apart = plan_crops([square(100, 100, 50), square(1000, 500, 50)], (1280, 720), 320)
    assert len(apart.regions) == 2
    close = plan_crops([square(100, 100, 50), square(300, 150, 50)], (1280, 720), 320)
    assert len(close.regions) == 1
    x0, y0, x1, y1 = close.regions[0]
    assert x0 <= 100 and x1 >= 350 and y0 <= 100 and y1 >= 200
    # Two zones whose one region would have to be shrunk to fit the model: two looks instead.
    wide = plan_crops([square(100, 100, 150), square(330, 120, 150)], (1280, 720), 320)
    assert len(wide.regions) == 2
    assert all(x1 - x0 <= 320 + 2 * 0.25 * 150 for x0, _, x1, _ in wide.regions)
    big = plan_crops([square(0, 0, 600)], (800, 700), 320)
    assert big.whole_frame and big.regions == ((0, 0, 800, 700),)
    assert plan_crops([], (800, 700), 320).whole_frame


def bright_boxes(image: np.ndarray) -> Detections:
    """A detector made of pixels, not of answers: each white blob is a 'bin' at its bounds in
    the image it is given (so a wrong offset or scale puts it in the wrong place)."""
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    contours, _ = cv2.findContours(
        (grey > 200).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE
    )
    boxes = []
    for contour in contours:
        x, y, w, h = cv2.boundingRect(contour)
        boxes.append(("bin", (x, y, x + w, y + h), 0.9))
    return Detections.of(boxes)


def test_boxes_found_in_crops_come_back_in_frame_pixels_once():
    frame = np.zeros((720, 1280, 3), np.uint8)
    things = [(520, 310, 560, 350), (140, 120, 170, 200), (1100, 600, 1180, 650)]
    for x0, y0, x1, y1 in things:
        cv2.rectangle(frame, (x0, y0), (x1 - 1, y1 - 1), (255, 255, 255), -1)
    plan = CropPlan(((400, 200, 720, 520), (0, 0, 320, 320), (1000, 400, 1280, 720)))
    found = detect_regions(bright_boxes, frame, plan)
    assert sorted(map(tuple, found.xyxy.astype(int).tolist())) == sorted(things)
    twice = CropPlan(((400, 200, 720, 520), (450, 250, 770, 570)))  # the first thing in both
    again = detect_regions(bright_boxes, frame, twice)
    assert again.xyxy.astype(int).tolist() == [[520, 310, 560, 350]]
    outside = CropPlan(((0, 400, 320, 720),))
    assert len(detect_regions(bright_boxes, frame, outside)) == 0  # nothing looked at, none found


def sample(seed: int):
    """A rendered scene, its labelled boxes and the exact calibration of the camera that saw it."""
    image, labels = render_sample(seed)
    view, _ = street_for(np.random.default_rng(seed))
    return image, labels, view, view.ground_homography(ANCHOR, 30.0)


def test_a_rendered_cameras_calibration_puts_ground_points_where_they_are():
    _, _, view, matrix = sample(3)
    plane = GroundPlane(matrix, (view.width, view.frame_h))
    for x, z in ((0.0, 10.0), (3.0, 25.0), (-4.0, 6.0)):
        pixel = np.array([view.project(x, 0.0, z)])
        lon, lat, w = np.asarray(matrix) @ np.array([*pixel[0], 1.0])
        east = (lon / w - ANCHOR[0]) * EARTH_M_PER_DEG * math.cos(math.radians(ANCHOR[1]))
        north = (lat / w - ANCHOR[1]) * EARTH_M_PER_DEG
        right, ahead = x - view.cam_x, z  # from the camera, looking 30 degrees east of north
        t = math.radians(30)
        assert east == pytest.approx(right * math.cos(t) + ahead * math.sin(t), abs=0.02)
        assert north == pytest.approx(-right * math.sin(t) + ahead * math.cos(t), abs=0.02)
        assert plane.pixels(plane.metres(pixel)) == pytest.approx(pixel, abs=1e-6)
    flipped = GroundPlane((-np.asarray(matrix)).tolist(), (view.width, view.frame_h))
    assert np.allclose(flipped.metres(pixel), plane.metres(pixel))  # the sign is arbitrary


def test_real_things_keep_their_boxes_and_impossible_sizes_are_dropped_and_counted():
    kept = 0
    for seed in range(12):
        _, labels, view, matrix = sample(seed)
        check = GroundCheck(GroundPlane(matrix, (view.width, view.frame_h)), DEFAULT_GROUND_SIZES)
        dets = Detections.of([(lb.name, lb.box, 0.9) for lb in labels])
        assert check.plausible(dets).all(), [
            (lb.name, lb.box)
            for lb, ok in zip(labels, check.plausible(dets), strict=True)
            if not ok
        ]
        kept += len(dets)
        horizon = view.horizon
        wrong = Detections.of(
            [
                ("bin", (300, horizon - 60, 330, horizon - 20), 0.9),  # a window above the street
                ("truck", (100, horizon - 40, 300, horizon + 4), 0.9),  # a facade on the horizon
                ("litter", (100, 500, 500, 560), 0.9),  # 'litter' across the whole road
                ("person", (300, 420, 302, 470), 0.9),  # a pole, 2 px wide near the camera
                ("van", (580, 300, 640, 570), 0.9),  # cut by the edge: not measurable, kept
            ]
        )
        assert check.plausible(wrong).tolist() == [False] * 4 + [True]
        assert check.filter(wrong).class_name.tolist() == ["van"]
        assert check.dropped == {"bin": 1, "truck": 1, "litter": 1, "person": 1}
    assert kept > 100  # every class, near and far
