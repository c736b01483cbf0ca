"""Screenshots of every cockpit page for docs/screenshots/, at 1920x1080 and 3840x2160.

    .venv/bin/python scripts/screenshots.py [--settle 90]

Runs the demo (simulator on, vision off) in a temporary data dir, lets the scenario play for
`--settle` seconds, then signs in as the demo's operator (and opens the wall with its display
token) in headless Chromium and saves: the sign-in page, the live map, the ticket desk with a
ticket open, and the wall's map and board views.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
SIZES = ((1920, 1080), (3840, 2160))


def _start(data: Path) -> tuple[subprocess.Popen, str]:
    sys.path.insert(0, str(ROOT))
    from streams.embedded import free_port

    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env.update(COCKPIT_PORT=str(free_port()), API_PORT=str(free_port()), SC_DATA_DIR=str(data))
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "run.py"), "demo", "--no-vision"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    for line in process.stdout:
        if found := re.search(r"running: open (http://\S+)", line):
            return process, found.group(1)
    raise SystemExit("the demo did not start")


MAP_READY = """() => {
    const gd = document.querySelector('#live-map .js-plotly-plot');
    const sub = gd && gd._fullLayout && gd._fullLayout.map && gd._fullLayout.map._subplot;
    const tickets = gd && gd.data && gd.data.find(t => t.meta === 'tickets');
    return !!(sub && sub.map && sub.map.loaded() && tickets && tickets.lon.length);
}"""
MAP_IDLE = """() => new Promise((done) => {
    const map = document.querySelector('#live-map .js-plotly-plot')._fullLayout.map._subplot.map;
    map.once('idle', () => done(true));
    map.triggerRepaint();
})"""


def _map_drawn(page) -> None:
    """Until the live map has its district, its first pushed tickets, and has drawn them all."""
    page.wait_for_function(MAP_READY, timeout=120_000)
    page.evaluate(MAP_IDLE)


def _shoot(browser, url: str, data: Path, width: int, height: int) -> None:
    users = dict(line.split()[0::2] for line in (data / "demo-users.txt").read_text().splitlines())
    name = "demo-operator"
    tokens = [line.split() for line in (data / "demo-tokens.txt").read_text().splitlines()]
    display = next(secret for role, _, secret in tokens if role == "display")
    size = f"{width}x{height}"
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(f"{url}/login")
    page.screenshot(path=str(OUT / f"login-{size}.png"))
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", users["operator"])
    with page.expect_navigation():
        page.click("button[type=submit]")
    page.wait_for_selector(".link.up", timeout=60_000)
    _map_drawn(page)
    page.screenshot(path=str(OUT / f"live-map-{size}.png"), timeout=120_000)  # 4K: slow in software
    page.goto(f"{url}/desk")
    page.wait_for_selector("#desk-table td", timeout=60_000)
    page.locator("#desk-table td").first.click()
    page.wait_for_selector("#desk-timeline li", timeout=30_000)
    page.screenshot(path=str(OUT / f"desk-{size}.png"))
    page.close()
    _trends(browser, url, users, size, width, height)
    wall = browser.new_page(viewport={"width": width, "height": height})
    wall.goto(f"{url}/kiosk?token={display}")
    wall.wait_for_selector(".link.up", timeout=60_000)
    wall.evaluate(  # hold the wall on its map view while it is drawn (it rotates every 30 s)
        "() => { const root = document.querySelector('.cockpit.kiosk');"
        " root.setAttribute('data-rotate', '3600'); root.setAttribute('data-view', 'map');"
        " window.dispatchEvent(new Event('resize')); }"
    )
    _map_drawn(wall)
    wall.screenshot(path=str(OUT / f"wall-map-{size}.png"))
    wall.evaluate("document.querySelector('.cockpit.kiosk').setAttribute('data-rotate', '5')")
    wall.wait_for_function(  # a function, not an expression: the page's CSP forbids eval
        "() => document.querySelector('.cockpit.kiosk').getAttribute('data-view') === 'board'"
    )
    wall.screenshot(path=str(OUT / f"wall-board-{size}.png"))
    wall.close()


def _trends(browser, url: str, users: dict, size: str, width: int, height: int) -> None:
    """The trends page as a leader, over the quarter of generated history before last fortnight."""
    import datetime as dt

    last = dt.date.today() - dt.timedelta(days=15)
    first = last - dt.timedelta(days=90)
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(f"{url}/trends?from={first}&to={last}&step=week")
    page.fill("input[name=name]", "demo-leader")
    page.fill("input[name=password]", users["leader"])
    with page.expect_navigation():
        page.click("button[type=submit]")
    page.wait_for_selector("#trends-hexes .main-svg", timeout=60_000)
    page.wait_for_timeout(3000)
    page.screenshot(path=str(OUT / f"trends-{size}.png"))
    page.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settle", type=float, default=90, help="seconds of scenario first")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        process, url = _start(data)
        try:
            print(f"demo at {url}; letting the scenario play {args.settle:.0f} s", flush=True)
            time.sleep(args.settle)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"]
                )
                for width, height in SIZES:
                    _shoot(browser, url, data, width, height)
                    print(f"{width}x{height} done", flush=True)
                browser.close()
        finally:
            process.send_signal(2)
            process.wait(60)
    print(f"screenshots in {OUT}")


if __name__ == "__main__":
    main()
