"""Where camera feeds come from: file or network, relative paths, optional cameras (no OpenCV)."""

from __future__ import annotations

import logging
from pathlib import Path

from config.paths import project_path
from config.schema import AppConfig, CameraConfig

log = logging.getLogger(__name__)


def is_file(source: str) -> bool:
    """A local video file rather than a network stream."""
    return "://" not in source


def resolve_source(source: str) -> str:
    """Network URLs as they are; file paths relative to the project root."""
    return str(project_path(source)) if is_file(source) else source


def watched_cameras(cfg: AppConfig) -> list[CameraConfig]:
    """The cameras to analyse: optional cameras whose video file is missing are left out."""
    out = []
    for camera in cfg.cameras:
        source = resolve_source(camera.source)
        if camera.optional and is_file(source) and not Path(source).exists():
            log.info("optional camera %s left out: no file %s", camera.id, source)
            continue
        out.append(camera)
    return out
