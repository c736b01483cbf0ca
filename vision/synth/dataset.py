"""Render the labelled YOLO dataset: train/val/test splits, each from its own range of seeds."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from vision.synth.compose import random_moment
from vision.synth.photos import PhotoBank, patch, photo_bank
from vision.synth.scene import draw_street, lamps, render
from vision.synth.world import CLASS_ID, CLASSES, Label, look_for, street_for

log = logging.getLogger(__name__)
FINGERPRINT = "renderer.sha256"
SPLIT_SEED_BASE = {"train": 0, "val": 1_000_000, "test": 2_000_000, "composite": 3_000_000}
SPLITS = ("train", "val", "test", "composite")


@dataclass(frozen=True)
class DatasetSpec:
    """How many images per split; the seed ranges keep the splits disjoint and reproducible."""

    train: int = 1200
    val: int = 200
    test: int = 300
    composite: int = 200  # held-out photographs only: backgrounds the model never saw
    seed: int = 0


def renderer_fingerprint(spec: DatasetSpec) -> str:
    """What a rendered dataset depends on: the split sizes and the renderer's source code, so a
    dataset made by an older renderer (other label rules, other scenes) is not trained on."""
    digest = hashlib.sha256(repr(spec).encode())
    digest.update(photo_bank().fingerprint().encode())
    for source in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(source.read_bytes())
    return digest.hexdigest()


def yolo_lines(labels: list[Label], width: int, height: int) -> list[str]:
    """YOLO text lines: class cx cy w h, normalised to the image."""
    lines = []
    for lb in labels:
        x0, y0, x1, y1 = lb.box
        cx, cy = (x0 + x1) / 2 / width, (y0 + y1) / 2 / height
        lines.append(
            f"{CLASS_ID[lb.name]} {cx:.6f} {cy:.6f} "
            f"{(x1 - x0) / width:.6f} {(y1 - y0) / height:.6f}"
        )
    return lines


def render_sample(seed: int, split: str = "train") -> tuple[np.ndarray, list[Label]]:
    """One random labelled image, fully determined by `seed` (and the installed photographs):
    a plain rendered street (15 %), one dressed with photographs as texture (65 %), or rendered
    things at their true scale on a whole photograph (20 %). The composite split draws only on
    the held-out photographs, half dressed streets and half whole photographs."""
    rng = np.random.default_rng(seed)
    view, street = street_for(rng)
    look = look_for(rng)
    things = random_moment(rng, view, street) + lamps(street)
    photos, held_out = photo_bank(), split == "composite"
    roll = 0.15 + 0.85 * rng.random() if held_out else rng.random()
    photo = photos.pick(rng, held_out)
    if photo is None or roll < 0.15:
        base = draw_street(view, street, look)
    elif roll < (0.575 if held_out else 0.8):
        base = draw_street(view, street, look, rng, photos if not held_out else _only(photos))
    else:
        base = patch(photo, rng, (view.width, view.frame_h))
    return render(view, base, things, look, rng)


def _only(photos: PhotoBank) -> PhotoBank:
    """The held-out photographs in the place of the training ones (for texturing)."""
    return PhotoBank(photos.held_out, (), photos.names)


def write_dataset(root: Path, spec: DatasetSpec = DatasetSpec(), progress: bool = True) -> Path:
    """Render every split under `root` (images/, labels/) and write `data.yaml` (returned)."""
    total = sum(getattr(spec, split) for split in SPLITS)
    bar = tqdm(total=total, desc="rendering dataset", unit="img", disable=not progress)
    for split in SPLITS:
        images, labels = root / "images" / split, root / "labels" / split
        images.mkdir(parents=True, exist_ok=True)
        labels.mkdir(parents=True, exist_ok=True)
        for i in range(getattr(spec, split)):
            seed = SPLIT_SEED_BASE[split] + spec.seed * 10_000 + i
            img, boxes = render_sample(seed, split)
            quality = int(np.random.default_rng(seed + 7).integers(40, 96))  # JPEG artefacts
            cv2.imwrite(str(images / f"{seed:08d}.jpg"), img, [cv2.IMWRITE_JPEG_QUALITY, quality])
            (labels / f"{seed:08d}.txt").write_text(
                "\n".join(yolo_lines(boxes, img.shape[1], img.shape[0]))
            )
            bar.update()
    bar.close()
    data = root / "data.yaml"
    names = "\n".join(f"  {i}: {n}" for i, n in enumerate(CLASSES))
    data.write_text(
        f"path: {root.resolve()}\ntrain: images/train\nval: images/val\n"
        f"test: images/test\nnames:\n{names}\n"
    )
    (root / "composite.yaml").write_text(
        f"path: {root.resolve()}\ntrain: images/train\nval: images/composite\n"
        f"test: images/composite\nnames:\n{names}\n"
    )
    (root / FINGERPRINT).write_text(renderer_fingerprint(spec))  # last: marks the set complete
    log.info("dataset written: %d images under %s", total, root)
    return data
