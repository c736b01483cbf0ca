"""The demo cameras' clips: one scripted street story per camera, chosen by the rules it watches."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from tqdm import tqdm

from config.paths import project_path
from config.schema import AppConfig, CameraConfig
from vision.synth.timeline import Script, render_clip
from vision.synth.world import Look

log = logging.getLogger(__name__)
CLIP_DIR = "vision/synth/clips/"
LOOKS = ("day", "day", "dusk", "day", "night", "day", "dusk")


def script_for(camera: CameraConfig, kinds: set[str], index: int) -> Script:
    """A four-minute story that shows each problem the camera's zones watch for."""
    return Script(
        duration_s=240,
        fps=10,
        park=(20.0, 200.0) if "illegal_parking" in kinds else None,
        overflow=(30.0, 210.0) if "bin_overflow" in kinds else None,
        litter=(15.0, 75.0, 190.0) if "dirty_road" in kinds else None,
        stall=(20.0, 200.0) if "street_vending" in kinds else None,
        bikes=(25.0, 210.0) if "bike_parking" in kinds else None,
        look=Look(time_of_day=LOOKS[index % len(LOOKS)], noise=3.0),
        seed=index + 1,
    )


def demo_clips(cfg: AppConfig) -> list[tuple[Path, Script]]:
    """(path, script) of every camera whose source is a clip under vision/synth/clips/."""
    kinds_of = {r.id: r.kind for r in cfg.rules}
    out = []
    for index, camera in enumerate(cfg.cameras):
        if camera.source.startswith(CLIP_DIR):
            kinds = {kinds_of[z.rule] for z in camera.zones}
            out.append((project_path(camera.source), script_for(camera, kinds, index)))
    return out


def _render(path: Path, script: Script) -> Path:
    return render_clip(path, script, progress=False)


def render_missing(
    cfg: AppConfig, force: bool = False, processes: int = 2, stop: threading.Event | None = None
) -> list[Path]:
    """Render the clips that are missing (about 40 s each per core) with a progress bar; with
    one process it renders in this thread and gives up cleanly when `stop` is set."""
    todo = [(p, s) for p, s in demo_clips(cfg) if force or not p.exists()]
    done: list[Path] = []
    bar = tqdm(total=len(todo), desc="rendering demo clips", unit="clip", disable=not todo)
    if processes <= 1:
        for path, script in todo:
            if render_clip(path, script, progress=False, stop=stop) is None:
                break
            done.append(path)
            bar.update()
    else:
        with ProcessPoolExecutor(processes) as pool:
            for future in as_completed([pool.submit(_render, p, s) for p, s in todo]):
                done.append(future.result())
                bar.update()
    bar.close()
    return done
