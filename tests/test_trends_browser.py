"""A leader in headless Chromium: filters the trends page to one grid and one month, sees the
indicators and the charts, and drills down from the ranking to the tickets on the desk."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace

import pytest

from dispatch.desk_query import TicketFilter, ticket_page
from dispatch.trends import TrendFilter, Trends
from sim.history import HistorySpec, generate, write
from tests.conftest import ARTIFACTS
from tests.support.browser import Page
from tests.support.cockpit import PASSWORD, chromium, cockpit_on_sqlite
from tests.support.waiting import wait_until

pytestmark = pytest.mark.browser


@pytest.fixture
def cockpit(demo_cfg, demo_layers, tmp_path):
    """The cockpit over 6,000 generated tickets of the last 14 months."""

    def history(store) -> None:
        now = dt.datetime.now(dt.UTC)
        today = now.astimezone(demo_cfg.district.zone).date()
        last = today - dt.timedelta(days=1)
        spec = HistorySpec(6000, today - dt.timedelta(days=420), last, now)
        write(store, generate(demo_cfg, demo_layers, spec))

    with cockpit_on_sqlite(demo_cfg, demo_layers, tmp_path, history) as server:
        yield server


@pytest.fixture
def browser():
    with chromium() as instance:
        yield instance


def test_a_leader_filters_to_a_grid_and_a_month_and_drills_down(cockpit, browser, demo_cfg):
    zone = demo_cfg.district.zone
    today = dt.datetime.now(zone).date()
    end = today.replace(day=1) - dt.timedelta(days=1)
    month = TrendFilter(end.replace(day=1), end, grid="G03")
    url = f"{cockpit.url}/trends?from={month.start}&to={month.end}"
    view = Page(browser, url, account=("leader-1", PASSWORD), ready="#trends-tile-filed")
    page = view.page
    trends = Trends(demo_cfg, cockpit.store)
    whole = trends.counts(replace(month, grid=None), dt.datetime.now(dt.UTC))
    filed = page.locator("#trends-tile-filed .tile-value")
    wait_until(lambda: filed.inner_text() == str(whole.filed), 30, f"{whole.filed} in the month")
    page.locator("#trends-grid").click()
    page.get_by_role("option", name="G03", exact=True).click()
    expected = trends.counts(month, dt.datetime.now(dt.UTC))
    assert whole.filed > expected.filed > 20  # the generated month has cases in this grid
    wait_until(lambda: filed.inner_text() == str(expected.filed), 30, f"{expected.filed} filed")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "trends-grid-month.png"), full_page=True)
    rate = page.locator("#trends-tile-on_time_rate .tile-value").inner_text()
    assert rate == f"{expected.on_time_rate * 100:.2f}%"
    for chart in ("series", "top", "heat", "hexes"):
        page.wait_for_selector(f"#trends-{chart} .main-svg", timeout=20_000)
    assert page.locator("#trends-series .bars .point").count() >= 28  # a bar per day
    assert page.locator("#trends-heat .heatmaplayer image").count() == 1
    first = page.locator("#trends-table-ranking tbody tr").nth(1)  # first data row
    unit = first.locator("td").nth(1).inner_text()
    with page.expect_navigation(timeout=30_000):
        first.locator("td").nth(1).click()
    assert "/desk" in page.url and "grid=G03" in page.url and f"unit={unit}" in page.url
    since = dt.datetime.combine(month.start, dt.time(), zone)
    until = dt.datetime.combine(month.end + dt.timedelta(days=1), dt.time(), zone)
    flt = TicketFilter(grid="G03", unit=unit, since=since, until=until)
    rows, total = ticket_page(cockpit.store, flt, dt.datetime.now(dt.UTC))
    assert total > 0
    shown = page.locator("#desk-total")
    wait_until(lambda: re.sub(r"\D", "", shown.inner_text()) == str(total), 30, "the desk")
    first_id = page.locator("#desk-table tbody tr").nth(1).locator("td").first.inner_text()
    assert first_id == rows[0].id[:8]
    assert not view.problems, view.problems
    page.close()
