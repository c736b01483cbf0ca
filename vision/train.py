"""Train and evaluate the bundled street detector on the synthetic dataset (CPU is enough)."""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from config.paths import PROJECT_ROOT
from vision.synth.dataset import FINGERPRINT, DatasetSpec, renderer_fingerprint, write_dataset
from vision.synth.photos import require_photos

log = logging.getLogger(__name__)
DEFAULT_SET = DatasetSpec()
BUNDLED = PROJECT_ROOT / "vision" / "models" / "street-yolo11n.pt"
ARCH = "yolo11n.yaml"  # the architecture only: nothing is downloaded, training starts from scratch


@dataclass(frozen=True)
class TrainSpec:
    """Training settings; the model card records the ones the bundled weights were made with."""

    epochs: int = 20
    hours: float | None = None  # a time budget instead of a number of epochs (schedule fits it)
    start: Path | None = None  # weights to go on from (fine-tuning); None: from the architecture
    imgsz: int = 320
    batch: int = 16
    dataset: DatasetSpec = DatasetSpec()
    seed: int = 0


def quiet_ultralytics(data_dir: Path) -> None:
    """Keep Ultralytics' settings in our data dir and stop it reaching for the network."""
    os.environ.setdefault("YOLO_CONFIG_DIR", str((data_dir / "ultralytics").resolve()))
    os.environ.setdefault("YOLO_OFFLINE", "1")


def ensure_dataset(root: Path, spec: DatasetSpec, progress: bool = True) -> Path:
    """The dataset's data.yaml, rendering it first when it is missing, incomplete or made by
    another version of the renderer."""
    data, stamp = root / "data.yaml", root / FINGERPRINT
    if data.exists() and stamp.exists() and stamp.read_text() == renderer_fingerprint(spec):
        return data
    if root.exists():
        log.info("rendering the dataset again: %s is incomplete or from another renderer", root)
        shutil.rmtree(root)
    return write_dataset(root, spec, progress)


def train(data_dir: Path, spec: TrainSpec = TrainSpec(), out: Path = BUNDLED) -> Path:
    """Train YOLO nano on the synthetic set (from its architecture yaml, or on from `spec.start`);
    keep the best weights."""
    quiet_ultralytics(data_dir)
    from ultralytics import YOLO

    require_photos()  # a dataset without the photographs would not be the card's
    data = ensure_dataset(data_dir / "dataset", spec.dataset)
    model = YOLO(str(spec.start) if spec.start else ARCH)
    extra = {"time": spec.hours} if spec.hours else {}
    model.train(
        data=str(data),
        epochs=spec.epochs,
        imgsz=spec.imgsz,
        batch=spec.batch,
        device="cpu",
        workers=2,
        pretrained=str(spec.start) if spec.start else False,  # False drops a .pt's weights
        amp=False,
        plots=False,
        seed=spec.seed,
        deterministic=False,
        project=str((data_dir / "runs").resolve()),
        name="street",
        exist_ok=True,
        verbose=True,
        mosaic=1.0,
        close_mosaic=3,
        scale=0.25,  # fixed cameras: perspective already spans the sizes; don't shrink the small
        patience=100,
        cache=True,
        **extra,
    )
    best = Path(model.trainer.best)
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(best, out)
    log.info("weights written to %s", out)
    return out


def evaluate(
    data_dir: Path,
    weights: Path = BUNDLED,
    imgsz: int = 320,
    spec: DatasetSpec = DEFAULT_SET,
    split: str = "test",
) -> dict[str, tuple[float, float, float, float]]:
    """Precision, recall, mAP50 and mAP50-95 per class (and 'all') on a held-out split: `test`
    (rendered streets) or `composite` (the held-out photographs)."""
    quiet_ultralytics(data_dir)
    from ultralytics import YOLO

    data = ensure_dataset(data_dir / "dataset", spec)
    if split == "composite":
        data = data.parent / "composite.yaml"
    metrics = YOLO(str(weights)).val(
        data=str(data),
        split="test",
        imgsz=imgsz,
        device="cpu",
        plots=False,
        verbose=False,
        project=str((data_dir / "runs").resolve()),
        name="eval",
        exist_ok=True,
    )
    box = metrics.box
    out = {"all": (float(box.mp), float(box.mr), float(box.map50), float(box.map))}
    for i, cls in enumerate(box.ap_class_index):
        row = (float(box.p[i]), float(box.r[i]), float(box.ap50[i]), float(box.ap[i]))
        out[metrics.names[int(cls)]] = row
    return out


def format_metrics(result: dict[str, tuple[float, float, float, float]]) -> str:
    """A small table of the evaluation."""
    lines = [f"{'class':<14}{'P':>7}{'R':>7}{'mAP50':>8}{'mAP50-95':>10}"]
    lines += [
        f"{name:<14}{p:>7.3f}{r:>7.3f}{m50:>8.3f}{m:>10.3f}"
        for name, (p, r, m50, m) in result.items()
    ]
    return "\n".join(lines)
