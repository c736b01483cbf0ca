"""What the benchmarks share: frames of a clip, a demo district config to vary, the demo stack
on free ports in a temporary data dir, and signing in (or opening the kiosk) in Chromium."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import yaml

from config.loader import load_config
from config.paths import DEMO_CONFIG, PROJECT_ROOT
from config.schema import AppConfig
from streams.embedded import free_port

CHROMIUM = "/usr/bin/chromium"


def frames_of(clip: Path, n: int) -> list:
    """Up to `n` decoded frames from the start of a video file."""
    cap = cv2.VideoCapture(str(clip))
    out = []
    while len(out) < n:
        ok, img = cap.read()
        if not ok:
            break
        out.append(img)
    cap.release()
    return out


@dataclass
class Demo:
    """A running demo stack."""

    process: subprocess.Popen
    redis_url: str
    url: str
    data: Path

    def account(self, role: str) -> tuple[str, str]:
        """The demo's (name, password) for a role."""
        for line in (self.data / "demo-users.txt").read_text().splitlines():
            found_role, name, password = line.split()
            if found_role == role:
                return name, password
        raise SystemExit(f"no demo account for {role}")

    def kiosk_url(self) -> str:
        """The demo wall's kiosk URL."""
        for line in (self.data / "demo-tokens.txt").read_text().splitlines():
            role, _subject, secret = line.split()
            if role == "display":
                return f"{self.url}/kiosk?token={secret}"
        raise SystemExit("no display token in the demo's tokens")


def demo_config(
    folder: Path, units: int | None = None, cameras: int | None = None, merge_m: float | None = None
) -> tuple[Path, AppConfig]:
    """The demo district copied to `folder`, with as many units and cameras as asked (copies of
    the demo's under new ids) and distance merging set to `merge_m`."""
    shutil.copytree(DEMO_CONFIG.parent, folder, dirs_exist_ok=True)
    path = folder / DEMO_CONFIG.name
    tree = yaml.safe_load(path.read_text())
    if merge_m is not None:
        tree["dispatch"]["merge_radius_m"] = merge_m
    for section, count in (("units", units), ("cameras", cameras)):
        if count is None:
            continue
        items = tree[section]
        for n in range(len(items), count):
            copy = {**items[n % len(items)], "id": f"bench-{section[0]}{n}"}
            copy.pop("device_id", None)
            items.append(copy)
        tree[section] = items[:count]
    path.write_text(yaml.safe_dump(tree, allow_unicode=True, sort_keys=False))
    return path, load_config(path)


def start_demo(
    config: Path, data: Path, flags: tuple[str, ...] = ("--no-sim", "--no-vision")
) -> Demo:
    """`run.py demo` (by default without simulator and vision) on free ports; returns once the
    cockpit answers, its later output read on by a thread (a full pipe would stall it)."""
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env.update(COCKPIT_PORT=str(free_port()), API_PORT=str(free_port()), SC_DATA_DIR=str(data))
    process = subprocess.Popen(
        [sys.executable, str(PROJECT_ROOT / "run.py"), "demo", "--config", str(config), *flags],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    redis_url = None
    for line in process.stdout:
        if found := re.search(r"bus: (redis://\S+)", line):
            redis_url = found.group(1)
        if found := re.search(r"running: open (http://\S+)", line):
            threading.Thread(target=_drain, args=(process,), daemon=True).start()
            return Demo(process, redis_url, found.group(1), data)
    raise SystemExit("the demo did not start")


def _drain(process: subprocess.Popen) -> None:
    """Read the demo's output on, echoing warnings and errors."""
    for line in process.stdout:
        if "WARNING" in line or "ERROR" in line or "Traceback" in line:
            print(f"  demo: {line.rstrip()}", file=sys.stderr)


def stop_demo(demo: Demo) -> None:
    """Ctrl-C the demo and wait for it."""
    demo.process.send_signal(2)
    demo.process.wait(60)


def sign_in(page, demo: Demo, path: str, role: str = "operator") -> None:
    """Sign in through the login form and land on `path`."""
    name, password = demo.account(role)
    page.goto(f"{demo.url}/login?next={path}")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("button[type=submit]")
