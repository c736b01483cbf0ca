"""What the wall screen shows, computed from bus records (no browser needed)."""

from __future__ import annotations

from cockpit.live import LiveState
from streams.records import CameraHealth, Event, TicketChange, UnitPosition
from vision.sources import ROOT

NOW = 1_800_000_000.0


VTEST = ROOT.parent / "shared" / "media" / "vtest.avi"


def _state(demo_cfg) -> LiveState:
    return LiveState(demo_cfg, clock=lambda: NOW)


def _ticket(version: int = 1, status: str = "dispatched", reports: int = 1) -> TicketChange:
    return TicketChange(
        ticket_id="t1",
        version=version,
        status=status,
        category="bin_overflow",
        lon=120.17,
        lat=30.27,
        changed_at=NOW,
        grid_id="G03",
        unit_id="san-01",
        reports=reports,
    )


def test_feed_shows_category_status_grid_unit_and_merged_reports(demo_cfg):
    state = _state(demo_cfg)
    state.apply(_ticket(reports=3))
    row = state.payload("zh")["feed"][0]
    assert row["category"] == "垃圾满溢 · 3次上报"
    assert (row["status_label"], row["where"]) == ("已派单", "网格 G03")
    assert row["unit"].startswith("环卫1组")
    assert state.payload("en")["feed"][0]["category"] == "Overflowing bin · 3 reports"


def test_old_or_repeated_ticket_versions_change_nothing(demo_cfg):
    state = _state(demo_cfg)
    state.apply(_ticket(version=2, status="accepted"))
    version = state.version
    state.apply(_ticket(version=1, status="dispatched"))  # late redelivery of an older change
    state.apply(_ticket(version=2, status="accepted"))  # duplicate delivery
    assert state.version == version
    assert state.payload("en")["feed"][0]["status_label"] == "Accepted"


def test_closed_tickets_leave_the_map_and_the_count(demo_cfg):
    state = _state(demo_cfg)
    state.apply(_ticket())
    state.apply(_ticket(version=2, status="closed"))
    payload = state.payload("zh")
    assert payload["kpis"]["open"] == 0 and payload["tickets"]["ids"] == []


def test_late_redelivery_cannot_bring_a_closed_ticket_back(demo_cfg):
    state = _state(demo_cfg)
    state.apply(_ticket(version=1))
    state.apply(_ticket(version=2, status="closed"))
    state.apply(_ticket(version=1))  # the bus delivers at least once, sometimes late
    payload = state.payload("zh")
    assert payload["kpis"]["open"] == 0 and payload["feed"] == []


def test_kpis_count_fresh_units_online_cameras_and_recent_events(demo_cfg):
    state = _state(demo_cfg)
    stale = demo_cfg.services.position_stale_s + 1
    state.apply(UnitPosition(unit_id="san-01", lon=120.17, lat=30.27, fix_time=NOW))
    state.apply(UnitPosition(unit_id="san-02", lon=120.17, lat=30.27, fix_time=NOW - stale))
    state.apply(UnitPosition(unit_id="nobody", lon=120.17, lat=30.27, fix_time=NOW))
    state.apply(CameraHealth(camera_id="cam-01", online=True, checked_at=NOW))
    state.apply(CameraHealth(camera_id="cam-02", online=False, checked_at=NOW))
    state.apply(Event(category="bin_overflow", lon=120.17, lat=30.27, detected_at=NOW - 30))
    state.apply(Event(category="bin_overflow", lon=120.17, lat=30.27, detected_at=NOW - 7200))
    kpis = state.payload("zh")["kpis"]
    # cam-08 (real footage) counts only where ../shared/media/vtest.avi exists.
    watched = 8 if VTEST.exists() else 7
    assert kpis == {"open": 0, "events": 1, "units": "1/18", "cameras": f"1/{watched}"}
    cameras = state.payload("en")["cameras"]
    offline = cameras["text"][cameras["ids"].index("cam-02")]
    assert offline.endswith("offline")


def test_feed_times_are_district_time_whatever_the_server_zone(demo_cfg, monkeypatch):
    import time

    monkeypatch.setenv("TZ", "America/New_York")  # a server somewhere else
    time.tzset()
    try:
        state = _state(demo_cfg)
        state.apply(_ticket())
        assert state.payload("zh")["feed"][0]["time"] == "16:00:00"  # Asia/Shanghai
    finally:
        monkeypatch.undo()
        time.tzset()
