"""Real photographs for the renderer, so that the model learns real texture as background: on
facades, pavements and road, and as whole backgrounds that rendered things are pasted onto.

Sources, both from package registries and with a clear licence:
- scikit-image's bundled sample images (PyPI `scikit-image`; public domain or CC0, see its
  `skimage/data/README.txt`): brick, grass, gravel, coffee, a cat, coins, a rocket on its pad.
  The two photos with people in them (`astronaut`, `camera`) are left out: an unlabelled person
  would teach the model that real people are background.
- Debian's `mate-backgrounds` nature photographs (GPL-2+, authors in its copyright file).

Every fourth photo (by name) is held out: the composited evaluation set is made from those only,
so it shows the model backgrounds it never trained on.
"""

from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cv2
import numpy as np

SKIMAGE_PHOTOS = ("brick", "grass", "gravel", "coffee", "chelsea", "coins", "rocket")
MATE_DIR = Path("/usr/share/backgrounds/mate/nature")
LONGEST_SIDE = 800
MISSING_HELP = (
    "the training photographs are missing: {what}; install them with "
    "`.venv/bin/pip install scikit-image` and `sudo apt-get install mate-backgrounds`"
)


class PhotosMissing(RuntimeError):
    """Training needs the photographs and some are not installed."""


@dataclass(frozen=True)
class PhotoBank:
    """Photos (BGR, at most LONGEST_SIDE px) split into training and held-out ones."""

    train: tuple[np.ndarray, ...]
    held_out: tuple[np.ndarray, ...]
    names: tuple[str, ...]

    def pick(self, rng: np.random.Generator, held_out: bool = False) -> np.ndarray | None:
        """A random photo of one part, or None when the bank is empty."""
        pool = self.held_out if held_out else self.train
        return pool[int(rng.integers(len(pool)))] if pool else None

    def fingerprint(self) -> str:
        """Which photos a dataset was rendered with (part of the dataset's fingerprint)."""
        return hashlib.sha256("\n".join(self.names).encode()).hexdigest()


def _skimage_dir() -> Path | None:
    spec = importlib.util.find_spec("skimage")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def photo_paths() -> list[Path]:
    """The photographs installed on this machine, sorted by name."""
    paths = []
    data = _skimage_dir()
    if data is not None:
        for name in SKIMAGE_PHOTOS:
            paths += sorted(data.glob(f"{name}.*"))
    if MATE_DIR.is_dir():
        paths += sorted(MATE_DIR.glob("*.jpg"))
    return sorted(paths, key=lambda p: p.name)


def _load(path: Path) -> np.ndarray:
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    scale = LONGEST_SIDE / max(img.shape[:2])
    if scale < 1:
        img = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return img


def require_photos() -> None:
    """Refuse to go on (training) when some of the photographs are not installed."""
    gaps = [] if _skimage_dir() is not None else ["scikit-image"]
    if not MATE_DIR.is_dir():
        gaps.append(str(MATE_DIR))
    if gaps:
        raise PhotosMissing(MISSING_HELP.format(what=", ".join(gaps)))


@cache
def photo_bank() -> PhotoBank:
    """The installed photographs, loaded once per process."""
    paths = photo_paths()
    train, held = [], []
    for i, path in enumerate(paths):
        (held if i % 4 == 3 else train).append(_load(path))
    return PhotoBank(tuple(train), tuple(held), tuple(p.name for p in paths))


def patch(photo: np.ndarray, rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
    """A random crop of `photo` resized to (w, h), sometimes mirrored or greyed."""
    h, w = photo.shape[:2]
    cw = int(rng.uniform(0.3, 1.0) * w)
    ch = int(rng.uniform(0.3, 1.0) * h)
    x0, y0 = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
    out = cv2.resize(photo[y0 : y0 + ch, x0 : x0 + cw], size, interpolation=cv2.INTER_AREA)
    if rng.random() < 0.5:
        out = out[:, ::-1]
    if rng.random() < 0.3:
        out = cv2.cvtColor(cv2.cvtColor(out, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    return np.ascontiguousarray(out)


def paint(img: np.ndarray, quad: np.ndarray, texture: np.ndarray, alpha: float) -> None:
    """Blend `texture` into `img` inside the pixel quadrilateral `quad` (4 points, in order),
    warped in perspective so that it lies on that surface."""
    h, w = texture.shape[:2]
    src = np.float32([[0, h], [w, h], [w, 0], [0, 0]])
    matrix = cv2.getPerspectiveTransform(src, quad.astype(np.float32))
    size = (img.shape[1], img.shape[0])
    warped = cv2.warpPerspective(texture, matrix, size, flags=cv2.INTER_LINEAR)
    mask = np.zeros(img.shape[:2], np.uint8)
    cv2.fillPoly(mask, [quad.astype(np.int32)], 1)
    sel = mask.astype(bool)
    img[sel] = (img[sel] * (1 - alpha) + warped[sel] * alpha).astype(np.uint8)
