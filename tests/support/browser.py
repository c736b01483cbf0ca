"""Driving the demo stack and its cockpit in headless Chromium."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest
import requests

from cockpit.figures import BACKGROUND, BASE_LAYER
from config.paths import PROJECT_ROOT
from streams.bus import Bus, connect
from streams.embedded import free_port
from tests.support.cockpit import login
from tests.support.waiting import wait_until

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Software WebGL in a headless browser logs performance notes; they are not faults of the page.
HARMLESS = ("GPU stall due to ReadPixels", "GL Driver Message")


class Output:
    """Collects a child's stdout lines in a thread, so waiting for one never blocks the test."""

    def __init__(self, process: subprocess.Popen):
        self.lines: list[str] = []
        self.process = process
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line)

    def wait_for(self, pattern: str, timeout_s: float) -> re.Match:
        """The first line matching pattern; fails with everything printed so far."""

        def printed() -> re.Match | None:
            found = next((m for line in list(self.lines) if (m := re.search(pattern, line))), None)
            if found is None and self.process.poll() is not None:
                raise AssertionError(f"demo exited; it printed: {''.join(self.lines)}")
            return found

        try:
            return wait_until(printed, timeout_s, f"demo printing {pattern!r}", every=0.1)
        except AssertionError as exc:
            raise AssertionError(f"{exc}; it printed: {''.join(self.lines)}") from None


def stop_demo(process: subprocess.Popen) -> None:
    """Ctrl-C the demo's process group; if it does not stop in 30 s, kill it and every process
    it started (its services run in sessions of their own, out of the group's reach)."""
    if process.poll() is not None:
        return
    try:
        family = psutil.Process(process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        family = []
    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    for child in family:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()


@contextlib.contextmanager
def running_demo(data_dir: Path, *args: str):
    """`run.py demo ARGS` on a free port with its own embedded Redis and data dir."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed: run scripts/setup.sh --browser")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env.update(
        COCKPIT_PORT=str(port),
        API_PORT=str(free_port()),
        SC_DATA_DIR=str(data_dir),
        PYTHONUNBUFFERED="1",
    )
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, str(PROJECT_ROOT / "run.py"), "demo", *args],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, like a terminal's foreground job
    )
    try:
        output = Output(process)
        redis_url = output.wait_for(r"bus: (redis://\S+) \(embedded\)", 60).group(1)
        api = output.wait_for(r"field page: (http://\S+)/field", 60).group(1)
        url = output.wait_for(r"open (http://\S+)", 60).group(1)
        output.wait_for(r"cockpit sign-in: one demo account per role", 60)
        yield {
            "url": url,
            "api": api,
            "users": demo_accounts(data_dir / "demo-users.txt"),
            "tokens": data_dir / "demo-tokens.txt",
            "data": data_dir,
            "bus": Bus(connect(redis_url)),
            "process": process,
            "started": started,
            "output": output,
        }
    finally:
        stop_demo(process)


def demo_accounts(path: Path) -> dict[str, tuple[str, str]]:
    """role -> (name, password) of the demo's accounts, as the demo wrote them."""
    lines = [line.split() for line in path.read_text().splitlines() if line.strip()]
    return {role: (name, password) for role, name, password in lines}


def cockpit_session(url: str, account: tuple[str, str]) -> requests.Session:
    """A requests session signed in to the cockpit at `url` through its login form."""
    session = requests.Session()
    login(session, url, *account)
    return session


def sign_in(page, url: str, account: tuple[str, str]) -> None:
    """Open `url`, sign in on the page it redirects to, and land back on `url`."""
    page.goto(url)
    page.wait_for_selector("form input[name=password]", timeout=20_000)
    page.fill("input[name=name]", account[0])
    page.fill("input[name=password]", account[1])
    with page.expect_navigation():
        page.click("button[type=submit]")


class Page:
    """A cockpit page with its console problems recorded; signed in as `account` first, if
    given (a kiosk URL needs none); ready once `ready` shows."""

    def __init__(
        self,
        browser,
        url: str,
        width: int = 1920,
        height: int = 1080,
        account: tuple[str, str] | None = None,
        ready: str = ".link.up",
    ):
        self.page = browser.new_page(viewport={"width": width, "height": height})
        self.pushes = 0
        self.problems: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        if account:
            sign_in(self.page, url, account)
        else:
            self.page.goto(url)
        self.page.wait_for_selector(ready, timeout=20_000)  # by default: Socket.IO connected

    def _console(self, message) -> None:
        if message.type == "error" and not any(h in message.text for h in HARMLESS):
            self.problems.append(f"console {message.type}: {message.text}")

    def wait_for_dark_map(self, timeout_ms: int = 30_000) -> None:
        """Until the map's base is painted in the wall theme (a 4K map loads slower)."""
        self.page.wait_for_function(
            """([layer, colour]) => {
                const gd = document.querySelector('#live-map .js-plotly-plot');
                const full = gd && gd._fullLayout;
                const map = full && full.map && full.map._subplot && full.map._subplot.map;
                return !!map && !!map.getLayer(layer) &&
                    map.getPaintProperty(layer, 'background-color') === colour;
            }""",
            arg=[BASE_LAYER, BACKGROUND],
            timeout=timeout_ms,
        )

    def wait_for_map_idle(self) -> None:
        """Until MapLibre has drawn everything it has (after a resize or a new pixel ratio)."""
        self.page.evaluate(
            """() => new Promise((done) => {
                const gd = document.querySelector('#live-map .js-plotly-plot');
                const map = gd._fullLayout.map._subplot.map;
                map.once('idle', () => done(true));
                map.triggerRepaint();
            })"""
        )

    def trace_ids(self, name: str) -> list[str]:
        """customdata (record ids) of one live trace on the map."""
        return self.page.evaluate(
            """(name) => {
                const gd = document.querySelector('#live-map .js-plotly-plot');
                const trace = gd && gd.data.find(t => t.meta === name);
                const ids = trace && trace.customdata ? Array.from(trace.customdata) : [];
                return ids.filter(id => id !== null);  // an empty trace's blank point
            }""",
            name,
        )


UNIT_POSITIONS = """() => {
    const gd = document.querySelector('#live-map .js-plotly-plot');
    return gd.data.filter(t => String(t.meta).startsWith('units:'))
                  .map(t => [Array.from(t.lon), Array.from(t.lat)]);
}"""
