"""Camera picture checks on real street footage (../shared/media/vtest.avi): people walking
past is no problem; a camera panned, zoomed or rotated is "shifted"; a frozen, dark or blurred
picture is said as such; each clears when the picture is right again."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from config.paths import PROJECT_ROOT
from config.picture import PictureConfig
from vision.picture import BLURRED, DARK, FROZEN, SHIFTED, PictureCheck

VTEST = PROJECT_ROOT.parent / "shared" / "media" / "vtest.avi"
EVERY_S = 5.0


@pytest.fixture(scope="module")
def street() -> list[np.ndarray]:
    """Every 10th frame of the real clip (people walk through a still street)."""
    capture = cv2.VideoCapture(str(VTEST))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    assert len(frames) > 700, f"{VTEST} did not decode"
    return frames[::10]


def _warp(frame: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    h, w = frame.shape[:2]
    return cv2.warpAffine(frame, matrix, (w, h), borderMode=cv2.BORDER_REPLICATE)


def _panned(share: float):
    return lambda f: _warp(f, np.float32([[1, 0, share * f.shape[1]], [0, 1, 0]]))


def _turned(degrees: float = 0, zoom: float = 1):
    return lambda f: _warp(
        f, cv2.getRotationMatrix2D((f.shape[1] / 2, f.shape[0] / 2), degrees, zoom)
    )


def _watch(check: PictureCheck, frames, start_s: float, change=lambda f: f) -> list[tuple]:
    """Feed frames EVERY_S apart; the problems after each."""
    seen = []
    for n, frame in enumerate(frames):
        check.update(change(frame), start_s + n * EVERY_S)
        seen.append(check.problems)
    return seen


def test_people_walking_past_are_not_a_problem(street):
    check = PictureCheck(PictureConfig(check_every_s=EVERY_S))
    assert set(_watch(check, street, 0)) == {()}
    assert check.reference is not None and check.shift_px < 2  # pixels at 320 wide


@pytest.mark.parametrize(
    ("change", "shifted"),
    [
        (_panned(0.03), False),  # a nudge of 3 % of the width: the zones still fit
        (_panned(0.08), True),
        (_turned(zoom=1.15), True),
        (_turned(degrees=5), True),
    ],
    ids=["pan-3%", "pan-8%", "zoom-15%", "rotate-5deg"],
)
def test_a_turned_or_zoomed_camera_is_shifted_until_it_is_turned_back(street, change, shifted):
    check = PictureCheck(PictureConfig(check_every_s=EVERY_S))
    _watch(check, street[:10], 0)
    moved = _watch(check, street[10:40], 100, change)
    assert all((SHIFTED in p) == shifted for p in moved), moved
    back = _watch(check, street[40:50], 300)
    assert back[-1] == ()


def test_blurred_dark_and_frozen_pictures_are_told_apart(street):
    check = PictureCheck(PictureConfig(check_every_s=EVERY_S, frozen_s=60))
    _watch(check, street[:10], 0)
    blurred = _watch(check, street[10:20], 100, lambda f: cv2.GaussianBlur(f, (0, 0), 4))
    assert blurred[-1] == (BLURRED,)  # not "shifted": landmarks are not trusted when blurred
    darken = lambda f: (f * 0.05).astype(np.uint8)  # noqa: E731
    assert _watch(check, street[20:30], 200, darken)[-1] == (DARK,)
    # A dark street changes too little to tell from a stuck encoder: dark, not also frozen.
    assert _watch(check, street[30:46], 250, darken)[-1] == (DARK,)
    assert _watch(check, street[46:48], 340)[-1] == ()
    stuck = _watch(check, [street[48]] * 16, 400)  # the very same picture for 75 s
    assert stuck[10] == () and stuck[-1] == (FROZEN,)  # frozen only after frozen_s
    assert _watch(check, street[49:51], 500)[-1] == ()


def test_a_redrawn_view_becomes_the_new_reference(street):
    check = PictureCheck(PictureConfig(check_every_s=EVERY_S))
    _watch(check, street[:5], 0)
    turned = _turned(degrees=8)
    assert _watch(check, street[5:10], 100, turned)[-1] == (SHIFTED,)
    check.rebase()  # an operator re-drew the zones on the camera's new view
    assert _watch(check, street[10:20], 200, turned)[-1] == ()
    assert _watch(check, street[20:25], 300)[-1] == (SHIFTED,)  # the old view is now the move
