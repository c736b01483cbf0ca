"""The one edge where PyTorch is needed outside training: exporting the weights for a runtime.
A worker runs it as a child process (`python -m vision.export`), so the worker itself never
imports PyTorch; the export is cached per weights file and image size."""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

log = logging.getLogger(__name__)
EXPORT_FORMATS = {"onnx": ".onnx", "openvino": "_openvino_model"}
SOURCE = "source.json"  # in an INT8 folder: the weights and size it was made from, its accuracy


class ModelError(ValueError):
    """The weights cannot be used as configured (missing file, unknown classes)."""


def digest(path: Path) -> str:
    """A short fingerprint of a weights file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def export_path(weights: Path, runtime: str, imgsz: int, cache_dir: Path) -> Path:
    """Where the export of `weights` for `runtime` at `imgsz` is cached."""
    stem = f"{weights.stem}-{digest(weights)}-{imgsz}"
    return cache_dir / f"{stem}{EXPORT_FORMATS[runtime]}"


def export(weights: Path, runtime: str, imgsz: int, cache_dir: Path) -> Path:
    """Export in this process (imports PyTorch); returns the cached export."""
    target = export_path(weights, runtime, imgsz, cache_dir)
    if target.exists():
        return target
    from ultralytics import YOLO

    cache_dir.mkdir(parents=True, exist_ok=True)
    work = cache_dir / f"{target.stem.removesuffix('_openvino_model')}.{os.getpid()}.pt"
    shutil.copyfile(weights, work)
    log.info("exporting %s for %s at imgsz %d (once; cached)", weights, runtime, imgsz)
    chatty = logging.getLogger("ultralytics")  # its export banners, not our log's business
    level = chatty.level
    chatty.setLevel(logging.WARNING)
    try:
        extra = {"simplify": True} if runtime == "onnx" else {}
        out = Path(
            YOLO(str(work)).export(
                format=runtime, imgsz=imgsz, dynamic=False, verbose=False, **extra
            )
        )
    finally:
        chatty.setLevel(level)
        work.unlink(missing_ok=True)
    try:
        os.rename(out, target)  # atomic; a folder refuses when another export got there first
    except OSError:
        if not target.exists():
            raise
        shutil.rmtree(out) if out.is_dir() else out.unlink()
    return target


def exported(weights: Path, runtime: str, imgsz: int, cache_dir: Path) -> Path:
    """The model file for `runtime`: the weights themselves for PyTorch, else the cached export,
    made by a child process the first time so that this process stays free of PyTorch."""
    if runtime == "torch":
        return weights
    target = export_path(weights, runtime, imgsz, cache_dir)
    if target.exists():
        return target
    if runtime == "openvino" and not _importable("openvino"):
        raise ModelError(
            "vision.runtime is 'openvino' but the openvino package is not installed: "
            "pip install openvino, or set vision.runtime to 'onnx' or 'torch'"
        )
    command = [sys.executable, "-m", "vision.export", str(weights), runtime, str(imgsz)]
    done = subprocess.run(
        [*command, str(cache_dir)], capture_output=True, text=True, check=False, env=_child_env()
    )
    if done.returncode != 0 or not target.exists():
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise ModelError(f"exporting {weights} for {runtime} failed: {' | '.join(tail)}")
    return target


def matching_int8(folder: Path | None, weights: Path, imgsz: int) -> Path | None:
    """`folder` when it holds an INT8 model quantized from exactly these weights at this size
    (`run.py quantize` writes it), else None."""
    if folder is None or not (folder / SOURCE).is_file():
        return None
    try:
        record = json.loads((folder / SOURCE).read_text(encoding="utf-8"))
    except ValueError:
        return None
    if record.get("sha256") != digest(weights) or record.get("imgsz") != imgsz:
        log.warning("%s was quantized from other weights or at another size; not used", folder)
        return None
    return folder


def _importable(name: str) -> bool:
    try:
        importlib.import_module(name)
    except ImportError:
        return False
    return True


def _child_env() -> dict[str, str]:
    from config.paths import PROJECT_ROOT

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="export YOLO weights for a runtime (cached)")
    parser.add_argument("weights", type=Path)
    parser.add_argument("runtime", choices=sorted(EXPORT_FORMATS))
    parser.add_argument("imgsz", type=int)
    parser.add_argument("cache_dir", type=Path)
    args = parser.parse_args(argv)
    print(export(args.weights, args.runtime, args.imgsz, args.cache_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
