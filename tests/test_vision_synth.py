"""The synthetic scenes: reproducible by seed, labels inside the frame, demo zones inside it too."""

from __future__ import annotations

import numpy as np

from vision.synth.dataset import (
    FINGERPRINT,
    SPLIT_SEED_BASE,
    DatasetSpec,
    render_sample,
    yolo_lines,
)
from vision.synth.timeline import zone_polygon
from vision.synth.world import CLASSES, FRAME_H, FRAME_W
from vision.train import ensure_dataset


def test_a_seed_renders_the_same_image_and_labels():
    a, labels_a = render_sample(11)
    b, labels_b = render_sample(11)
    assert np.array_equal(a, b) and labels_a == labels_b
    c, _ = render_sample(12)
    assert not np.array_equal(a, c)


def test_labels_are_valid_yolo_boxes_of_known_classes():
    for seed in range(20):
        img, labels = render_sample(seed)
        assert img.shape == (FRAME_H, FRAME_W, 3)
        for line in yolo_lines(labels, FRAME_W, FRAME_H):
            cls, *box = line.split()
            assert 0 <= int(cls) < len(CLASSES)
            assert all(0 <= float(v) <= 1 for v in box) and float(box[2]) > 0 and float(box[3]) > 0


def test_splits_use_disjoint_seed_ranges():
    spec = DatasetSpec()
    ranges = [range(base, base + getattr(spec, split)) for split, base in SPLIT_SEED_BASE.items()]
    assert all(not set(a) & set(b) for i, a in enumerate(ranges) for b in ranges[i + 1 :])


def test_demo_zones_lie_inside_the_frame():
    for kind in ("illegal_parking", "bin_overflow", "dirty_road"):
        polygon = np.array(zone_polygon(kind))
        assert len(polygon) == 4
        assert polygon[:, 0].min() >= 0 and polygon[:, 0].max() <= FRAME_W
        assert polygon[:, 1].min() >= 0 and polygon[:, 1].max() <= FRAME_H


def test_a_dataset_is_rendered_again_only_when_incomplete_or_from_another_renderer(tmp_path):
    spec = DatasetSpec(train=2, val=1, test=1, composite=1)
    root = tmp_path / "dataset"
    data = ensure_dataset(root, spec, progress=False)
    images = sorted((root / "images").rglob("*.jpg"))
    assert len(images) == 5 and data.read_text().startswith(f"path: {root.resolve()}")
    marker = root / "kept.txt"
    marker.write_text("a finished set is reused as it is")
    assert ensure_dataset(root, spec, progress=False) == data and marker.exists()

    (root / FINGERPRINT).write_text("an older renderer")  # other label rules made this set
    ensure_dataset(root, spec, progress=False)
    assert not marker.exists() and len(list((root / "images").rglob("*.jpg"))) == 5

    marker.write_text("x")
    (root / FINGERPRINT).unlink()  # rendering was cut off before the end
    ensure_dataset(root, spec, progress=False)
    assert not marker.exists() and (root / FINGERPRINT).exists()
