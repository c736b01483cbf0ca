"""End to end in headless Chromium: the demo stack, a published event, the live map."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import redis
import requests

from cockpit.figures import BACKGROUND, BASE_LAYER
from config.loader import load_config
from config.paths import PROJECT_ROOT
from config.sources import watched_cameras
from streams.bus import Bus, connect
from streams.embedded import free_port
from streams.records import Event, TicketAlert, UnitPosition

pytestmark = pytest.mark.browser
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
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for line in list(self.lines):
                match = re.search(pattern, line)
                if match:
                    return match
            if self.process.poll() is not None and not self.lines:
                break
            time.sleep(0.1)
        raise AssertionError(f"demo never printed {pattern!r}; it printed: {''.join(self.lines)}")


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
        yield {
            "url": url,
            "api": api,
            "tokens": data_dir / "demo-tokens.txt",
            "data": data_dir,
            "bus": Bus(connect(redis_url)),
            "process": process,
            "started": started,
            "output": output,
        }
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo stack without the simulator, so tests control every record."""
    with running_demo(tmp_path_factory.mktemp("demo-data"), "--no-sim", "--no-vision") as running:
        yield running


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


class Page:
    """A cockpit page with its console problems recorded."""

    def __init__(self, browser, url: str, width: int = 1920, height: int = 1080):
        self.page = browser.new_page(viewport={"width": width, "height": height})
        self.problems: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        self.page.goto(url)
        self.page.wait_for_selector(".link.up", timeout=20_000)  # Socket.IO connected

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

    def trace_ids(self, name: str) -> list[str]:
        """customdata (record ids) of one live trace on the map."""
        return self.page.evaluate(
            """(name) => {
                const gd = document.querySelector('#live-map .js-plotly-plot');
                const trace = gd && gd.data.find(t => t.meta === name);
                return trace && trace.customdata ? Array.from(trace.customdata) : [];
            }""",
            name,
        )


def _wait(predicate, timeout_s: float, step_s: float = 0.02) -> float:
    """Seconds until predicate() is true; fails the test after timeout_s."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if predicate():
            return time.monotonic() - started
        time.sleep(step_s)
    raise AssertionError(f"condition not met within {timeout_s} s")


def _put_units_on_map(bus: Bus, cfg) -> None:
    bus.publish_many(UnitPosition(unit_id=u.id, lon=u.home[0], lat=u.home[1]) for u in cfg.units)


def test_published_event_appears_on_the_map_within_two_seconds(demo, browser, demo_cfg, artifacts):
    import cv2
    import numpy as np

    _put_units_on_map(demo["bus"], demo_cfg)
    view = Page(browser, demo["url"])
    _wait(lambda: len(view.trace_ids("units:sanitation")) == 6, 10)

    zone = demo_cfg.cameras[1].zones[0]
    # The camera's evidence, as a vision worker saves it under the data dir.
    snapshot = "snapshots/e2e/cam-02-bin-1.jpg"
    (demo["data"] / snapshot).parent.mkdir(parents=True, exist_ok=True)
    frame = np.full((576, 640, 3), 120, np.uint8)
    (demo["data"] / snapshot).write_bytes(cv2.imencode(".jpg", frame)[1].tobytes())
    event = Event(
        event_id=f"e2e-{uuid.uuid4().hex[:8]}",
        category="bin_overflow",
        lon=zone.map_anchor[0],
        lat=zone.map_anchor[1],
        camera_id="cam-02",
        zone_id=zone.id,
        snapshot=snapshot,
    )
    demo["bus"].publish(event)
    seconds = _wait(lambda: event.event_id in view.trace_ids("events"), 2.0)

    # The dispatcher makes a ticket: it reaches the map and the feed, routed to sanitation.
    _wait(lambda: len(view.trace_ids("tickets")) == 1, 10)
    feed = view.page.locator("#ticket-feed .feed-row").first
    feed.wait_for(timeout=10_000)
    assert "垃圾满溢" in feed.inner_text() and "已派单" in feed.inner_text()
    assert view.page.locator("#kpi-open").inner_text() == "1"
    # The ticket row carries the camera's snapshot, served by the cockpit, and it loads.
    thumb = feed.locator(".feed-snap img")
    assert thumb.get_attribute("src") == f"/{snapshot}"
    view.page.wait_for_function(
        "img => img.complete && img.naturalWidth === 640", arg=thumb.element_handle()
    )
    # Only files under snapshots/ are served: an encoded ../ does not reach the tokens file.
    outside = requests.get(f"{demo['url']}/snapshots/%2e%2e/demo-tokens.txt", timeout=5)
    assert outside.status_code == 404 and "operator" not in outside.text

    view.wait_for_dark_map()
    view.page.screenshot(path=str(artifacts / "cockpit-1920x1080.png"))
    print(f"event on the map {seconds * 1000:.0f} ms after publishing")
    assert view.problems == []


def _token(demo, role: str, subject: str) -> str:
    for line in demo["tokens"].read_text().splitlines():
        if line.split()[:2] == [role, subject]:
            return line.split()[2]
    raise AssertionError(f"no demo token for {role} {subject}")


def test_field_page_on_a_phone_closes_the_loop(demo, browser, demo_cfg, artifacts, tmp_path):
    import cv2
    import numpy as np

    _put_units_on_map(demo["bus"], demo_cfg)
    zone = demo_cfg.cameras[1].zones[0]
    event = Event(
        category="bin_overflow",
        lon=zone.map_anchor[0],
        lat=zone.map_anchor[1],
        camera_id="cam-02",
        zone_id=zone.id,
        description="垃圾桶满溢，周边有散落垃圾袋",
    )
    demo["bus"].publish(event)
    operator = {"Authorization": f"Bearer {_token(demo, 'operator', 'demo')}"}

    def mine():
        listed = requests.get(
            f"{demo['api']}/api/v1/tickets?status=dispatched", headers=operator, timeout=10
        ).json()
        return next(
            (t for t in listed if t["category"] == "bin_overflow" and t["camera_id"] == "cam-02"),
            None,
        )

    _wait(lambda: mine() is not None, 10)
    ticket = mine()
    photo = tmp_path / "fix.jpg"
    cv2.imwrite(str(photo), np.full((480, 640, 3), (60, 140, 60), np.uint8))

    page = browser.new_page(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    page.goto(f"{demo['api']}/field")
    page.fill("#token", _token(demo, "unit", ticket["unit_id"]))
    page.click("button.primary")
    card = page.locator(f"#t-{ticket['id']}")
    card.wait_for(timeout=10_000)
    assert "垃圾满溢" in card.inner_text() and "已派单" in card.inner_text()
    page.screenshot(path=str(artifacts / "field-phone-dispatched.png"), full_page=True)
    card.locator("button", has_text="接单").click()
    page.locator(".msg.ok").wait_for()
    page.locator(f"#t-{ticket['id']} button", has_text="到场").click()
    page.locator(f"#t-{ticket['id']} input[type=file]").wait_for()
    page.set_input_files(f"#t-{ticket['id']} input[type=file]", str(photo))
    page.fill(f"#note-{ticket['id']}", "已清运")
    page.screenshot(path=str(artifacts / "field-phone-on-site.png"), full_page=True)
    page.locator(f"#t-{ticket['id']} button", has_text="处置完成").click()
    page.locator(".msg.ok").wait_for()
    card = page.locator(f"#t-{ticket['id']}")
    assert card.get_attribute("data-status") == "resolved" and "等待核验" in card.inner_text()
    # The event merged into the first test's ticket for this zone: its camera snapshot, and
    # the crew's photo.
    assert card.locator(".thumbs img").count() == 2
    page.screenshot(path=str(artifacts / "field-phone-resolved.png"), full_page=True)
    page.goto(f"{demo['api']}/field?lang=en")
    assert "Waiting for verification" in page.locator(f"#t-{ticket['id']}").inner_text()
    page.close()


def test_field_page_follows_changes_without_a_tap_unless_the_crew_is_typing(
    demo, browser, demo_cfg, artifacts
):
    _put_units_on_map(demo["bus"], demo_cfg)
    zone = demo_cfg.cameras[6].zones[0]  # cam-07's bin: a ticket of its own

    def report() -> Event:
        return Event(
            category="bin_overflow",
            lon=zone.map_anchor[0],
            lat=zone.map_anchor[1],
            camera_id="cam-07",
            zone_id=zone.id,
        )

    demo["bus"].publish(report())
    operator = {"Authorization": f"Bearer {_token(demo, 'operator', 'demo')}"}

    def ticket_of_cam07():
        listed = requests.get(f"{demo['api']}/api/v1/tickets", headers=operator, timeout=10)
        return next((t for t in listed.json() if t["camera_id"] == "cam-07"), None)

    _wait(lambda: ticket_of_cam07() is not None, 10)
    ticket = ticket_of_cam07()
    unit_token = _token(demo, "unit", ticket["unit_id"])
    # The change check tells nothing to a phone that has not signed in.
    assert requests.get(f"{demo['api']}/field/state", timeout=10).status_code == 401
    page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
    page.goto(f"{demo['api']}/field")
    page.fill("#token", unit_token)
    page.click("button.primary")
    card = page.locator(f"#t-{ticket['id']}")
    card.wait_for(timeout=10_000)
    assert card.get_attribute("data-status") == "dispatched"

    # The crew's other phone (the REST API) accepts it: this page follows on its own.
    unit_api = {"Authorization": f"Bearer {unit_token}"}
    url = f"{demo['api']}/api/v1/tickets/{ticket['id']}"
    assert requests.post(f"{url}/accept", headers=unit_api, timeout=10).status_code == 200
    page.wait_for_selector(f"#t-{ticket['id']}[data-status=accepted]", timeout=25_000)

    # Half-way through typing a note, the page is not pulled away: it offers the refresh.
    assert requests.post(f"{url}/arrive", headers=unit_api, timeout=10).status_code == 200
    page.wait_for_selector(f"#t-{ticket['id']}[data-status=on_site]", timeout=25_000)
    page.fill(f"#note-{ticket['id']}", "正在清运")
    demo["bus"].publish(report())  # the camera reports it again: merged into this ticket
    page.locator("#updated").wait_for(timeout=25_000)
    assert page.input_value(f"#note-{ticket['id']}") == "正在清运"
    assert "工单有变化" in page.locator("#updated").inner_text()
    page.screenshot(path=str(artifacts / "field-phone-updated.png"), full_page=True)
    page.close()


def test_english_page_and_wall_screen_size(demo, browser, artifacts):
    view = Page(browser, demo["url"] + "/?lang=en", 3840, 2160)
    assert "Street Digital Cockpit" in view.page.locator("h1").inner_text()
    assert view.page.locator("#link-state").inner_text() == "Live"
    no_scroll = view.page.evaluate(
        "document.documentElement.scrollHeight <= window.innerHeight && "
        "document.documentElement.scrollWidth <= window.innerWidth"
    )
    assert no_scroll, "the wall screen must not scroll"
    kpi_px = view.page.evaluate(
        "parseFloat(getComputedStyle(document.querySelector('.kpi-value')).fontSize)"
    )
    assert kpi_px >= 80, f"KPI figures are {kpi_px}px on a 4K wall; too small to read"
    view.wait_for_dark_map()  # the 4K map paints in the wall theme, not white
    view.page.screenshot(path=str(artifacts / "cockpit-3840x2160-en.png"))
    assert view.problems == []


def test_live_data_is_pushed_over_websocket_not_polled(demo, browser):
    layout = requests.get(demo["url"] + "/_dash-layout", timeout=10).text
    assert "Interval" not in layout
    view = Page(browser, demo["url"])
    transport = view.page.evaluate("window.streetCockpitSocket.io.engine.transport.name")
    assert transport == "websocket"


def test_overdue_warnings_reach_the_wall_and_leave_it_when_cleared(
    demo, browser, demo_cfg, artifacts
):
    view = Page(browser, demo["url"])
    now = time.time()

    def alert(warning_id: int, level: str, stage: str, late_min: float, **extra) -> TicketAlert:
        return TicketAlert(
            warning_id=warning_id,
            ticket_id=f"wall-{warning_id}",
            stage=stage,
            level=level,
            due_at=now - late_min * 60,
            raised_at=now - late_min * 60,
            category="bin_overflow",
            unit_id="san-01",
            supervisor_id="sup-san",
            **extra,
        )

    rows = view.page.locator("#alert-list .alert-row")
    demo["bus"].publish_many(
        [alert(9001, "overdue", "arrive", 7), alert(9002, "escalated", "accept", 25)]
    )
    _wait(lambda: rows.count() == 2, 5)
    first = rows.first
    assert "已升级" in first.inner_text() and "未按时接单" in first.inner_text()
    assert "超时25分钟" in first.inner_text() and "环卫所值班长" in first.inner_text()
    assert "level-escalated" in first.get_attribute("class")
    assert view.page.locator("#alert-count").inner_text() == "2"
    # The wall clock shows the district's time (the test browser runs in UTC).
    zone = ZoneInfo(demo_cfg.district.timezone)
    before = dt.datetime.now(zone).strftime("%H")
    shown = view.page.locator("#clock").inner_text()
    assert shown[:2] in (before, dt.datetime.now(zone).strftime("%H")), (shown, before)
    assert "hot" in view.page.locator("#alert-count").get_attribute("class")
    view.wait_for_dark_map()
    view.page.screenshot(path=str(artifacts / "cockpit-alerts-1920x1080.png"))
    wall = Page(browser, demo["url"] + "/?lang=en", 3840, 2160)
    wall_rows = wall.page.locator("#alert-list .alert-row")
    _wait(lambda: wall_rows.count() == 2, 5)
    assert "Escalated" in wall_rows.first.inner_text()
    assert "25 min late" in wall_rows.first.inner_text()
    assert "Sanitation duty supervisor" in wall_rows.first.inner_text()
    wall.wait_for_dark_map()
    wall.page.screenshot(path=str(artifacts / "cockpit-alerts-3840x2160-en.png"))
    wall.page.close()
    # Seen by the operator: dimmed and below; cleared: gone.
    demo["bus"].publish(alert(9002, "acknowledged", "accept", 25, actor="operator:duty-1"))
    _wait(lambda: "handled" in (rows.nth(1).get_attribute("class") or ""), 5)
    demo["bus"].publish_many(
        [alert(9001, "cleared", "arrive", 7), alert(9002, "cleared", "accept", 25)]
    )
    view.page.locator("#alert-list .alerts-none").wait_for(timeout=5_000)
    assert view.page.locator("#alert-count").inner_text() == "0"
    assert view.problems == []


def test_ctrl_c_stops_the_whole_stack(demo):
    """Ctrl-C in a terminal signals the whole foreground group: all stop, quietly, in order."""
    process = demo["process"]
    os.killpg(process.pid, signal.SIGINT)
    assert process.wait(30) == 0
    with pytest.raises(requests.ConnectionError):
        requests.get(demo["url"], timeout=2)
    with pytest.raises(redis.ConnectionError):
        demo["bus"].client.ping()
    printed = "".join(demo["output"].lines)
    assert "Traceback" not in printed, printed[-3000:]
    assert printed.rstrip().endswith("Street Cockpit demo stopped.")


def test_full_demo_shows_moving_units_and_events_within_a_minute(browser, tmp_path, artifacts):
    """README command 1's promise: units moving and events appearing within 60 s of start."""
    with running_demo(tmp_path) as running:
        view = Page(browser, running["url"])
        _wait(
            lambda: len(view.trace_ids("events")) >= 2, 60 - (time.monotonic() - running["started"])
        )
        positions = view.page.evaluate(UNIT_POSITIONS)
        view.page.wait_for_timeout(3000)
        assert view.page.evaluate(UNIT_POSITIONS) != positions, "units did not move"
        assert time.monotonic() - running["started"] < 60
        cameras = view.page.locator("#kpi-cameras").inner_text()
        # Vision workers watch every camera (the real-footage one where vtest.avi exists); on a
        # first run the clips are still being rendered, so how many are online varies.
        watched = len(watched_cameras(load_config(None)))
        assert re.fullmatch(rf"[0-{watched}]/{watched}", cameras), cameras
        view.page.screenshot(path=str(artifacts / "demo-with-simulator.png"))
        assert view.problems == []
        # The simulated crews work their tickets through the API, as phones would.
        operator = {"Authorization": f"Bearer {_token(running, 'operator', 'demo')}"}

        def worked():
            listed = requests.get(f"{running['api']}/api/v1/tickets", headers=operator, timeout=10)
            return any(t["status"] in ("accepted", "on_site", "resolved") for t in listed.json())

        _wait(worked, 60, step_s=1)


UNIT_POSITIONS = """() => {
    const gd = document.querySelector('#live-map .js-plotly-plot');
    return gd.data.filter(t => String(t.meta).startsWith('units:'))
                  .map(t => [Array.from(t.lon), Array.from(t.lat)]);
}"""
