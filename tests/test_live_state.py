"""What the wall screen shows, computed from bus records (no browser needed)."""

from __future__ import annotations

import pytest

from cockpit.payload import WallView
from config.paths import PROJECT_ROOT
from streams.records import (
    CameraHealth,
    Event,
    TicketAlert,
    TicketChange,
    UnitAck,
    UnitPosition,
)
from tests.support.waiting import wait_until
from tests.support.wall import Wall

NOW = 1_800_000_000.0


VTEST = PROJECT_ROOT.parent / "shared" / "media" / "vtest.avi"


def _state(demo_cfg) -> Wall:
    return Wall(demo_cfg, clock=lambda: NOW)


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
    english = state.payload("en")["feed"][0]
    assert (english["category"], english["unit"]) == (
        "Overflowing bin · 3 reports",
        "Sanitation crew 1 · Li",
    )


def test_old_or_repeated_ticket_versions_change_nothing(demo_cfg):
    state = _state(demo_cfg)
    state.apply(_ticket(version=2, status="accepted"))
    version = state.state.version
    state.apply(_ticket(version=1, status="dispatched"))  # late redelivery of an older change
    state.apply(_ticket(version=2, status="accepted"))  # duplicate delivery
    assert state.state.version == version
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
    # Eight synthetic cameras and cam-08 on the real footage beside the project.
    assert VTEST.exists(), f"the shared real footage belongs beside the project: {VTEST}"
    assert kpis == {"open": 0, "events": 1, "units": "1/18", "cameras": "1/9"}
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


def _alert(warning_id: int, level: str, stage: str = "arrive", late_s: float = 600, **extra):
    return TicketAlert(
        warning_id=warning_id,
        ticket_id=f"t{warning_id}",
        stage=stage,
        level=level,
        due_at=NOW - late_s,
        raised_at=NOW - late_s,
        category="bin_overflow",
        unit_id="san-01",
        supervisor_id="sup-san",
        **extra,
    )


def test_overdue_warnings_show_escalated_first_with_minutes_late_and_who_acts(demo_cfg):
    state = _state(demo_cfg)
    assert state.payload("zh")["alerts"] == {"count": 0, "rows": []}
    state.apply(_alert(1, "overdue", "arrive", late_s=12 * 60 + 30))
    state.apply(_alert(2, "overdue", "accept", late_s=5 * 60))
    state.apply(_alert(2, "escalated", "accept", late_s=5 * 60))
    alerts = state.payload("zh")["alerts"]
    assert alerts["count"] == 2
    first, second = alerts["rows"]
    assert (first["id"], first["badge"], first["late"]) == (2, "已升级", "超时5分钟")
    assert first["text"] == "垃圾满溢 · 未按时接单"
    assert first["who"].startswith("环卫所值班长")  # not accepted: the supervisor's to act on
    assert (second["id"], second["badge"], second["late"]) == (1, "超时", "超时12分钟")
    assert second["who"].startswith("环卫1组")  # accepted but not on site: the unit's
    en = state.payload("en")["alerts"]["rows"][1]
    assert (en["text"], en["late"]) == ("Overflowing bin · not on site in time", "12 min late")


def test_acknowledged_warnings_sink_muted_ones_hide_until_due_and_cleared_ones_go(demo_cfg):
    clock = {"now": NOW}
    state = Wall(demo_cfg, clock=lambda: clock["now"])
    state.apply(_alert(1, "overdue", late_s=900))
    state.apply(_alert(2, "overdue", late_s=60))
    state.apply(_alert(1, "acknowledged", late_s=900, actor="op-wang"))
    rows = state.payload("zh")["alerts"]["rows"]
    assert [r["id"] for r in rows] == [2, 1]  # the seen one goes below the unseen
    assert rows[1]["handled"] and rows[1]["who"] == "op-wang 已处理"
    state.apply(_alert(2, "muted", late_s=60, muted_until=NOW + 600))
    assert [r["id"] for r in state.payload("zh")["alerts"]["rows"]] == [1]
    clock["now"] = NOW + 601  # the mute ran out and it is still not fixed: back on the wall
    assert [r["id"] for r in state.payload("zh")["alerts"]["rows"]] == [2, 1]
    state.apply(_alert(1, "escalated", late_s=900))  # escalation is news: no longer "seen"
    assert state.payload("zh")["alerts"]["rows"][0]["handled"] is False
    state.apply(_alert(1, "cleared", late_s=900))
    assert [r["id"] for r in state.payload("zh")["alerts"]["rows"]] == [2]
    state.apply(_alert(1, "overdue", late_s=900))  # a late redelivery after the clear
    state.apply(_alert(2, "cleared", late_s=60))
    assert state.payload("zh")["alerts"] == {"count": 0, "rows": []}


def test_a_late_overdue_record_cannot_step_an_escalation_back(demo_cfg):
    state = _state(demo_cfg)
    state.apply(_alert(1, "escalated"))
    state.apply(_alert(1, "overdue"))
    assert state.payload("zh")["alerts"]["rows"][0]["badge"] == "已升级"


def test_closing_the_ticket_takes_its_warnings_off_the_wall(demo_cfg):
    state = _state(demo_cfg)
    state.apply(_ticket())
    state.apply(_alert(1, "overdue").model_copy(update={"ticket_id": "t1"}))
    assert state.payload("zh")["alerts"]["count"] == 1
    state.apply(_ticket(version=2, status="closed"))
    assert state.payload("zh")["alerts"]["count"] == 0


def test_the_panel_shows_the_four_most_pressing_and_counts_them_all(demo_cfg):
    state = _state(demo_cfg)
    for warning_id in range(1, 7):
        state.apply(_alert(warning_id, "overdue", late_s=warning_id * 60))
    alerts = state.payload("zh")["alerts"]
    assert alerts["count"] == 6
    assert [r["id"] for r in alerts["rows"]] == [6, 5, 4, 3]  # the longest overdue first


def test_a_repeated_raise_keeps_what_the_operator_did(demo_cfg):
    state = _state(demo_cfg)
    state.apply(_alert(1, "overdue"))
    state.apply(_alert(1, "acknowledged", actor="op-wang"))
    state.apply(_alert(2, "overdue"))
    state.apply(_alert(2, "muted", muted_until=NOW + 600))
    state.apply(_alert(1, "overdue"))  # redelivered
    state.apply(_alert(2, "overdue"))
    [row] = state.payload("zh")["alerts"]["rows"]
    assert (row["id"], row["handled"]) == (1, True)  # still seen; the muted one still hidden


def test_a_restarted_cockpit_starts_from_the_streams_and_the_store_then_follows(demo_cfg, bus):
    """What a wall shows after the cockpit restarts: units, events, camera health and warnings
    from the streams' history; tickets from the store (newer than any trimmed stream); and from
    then on every new record."""
    from cockpit.feed import BusFeed

    bus.publish_many(
        [
            UnitPosition(unit_id="san-01", lon=120.17, lat=30.27, fix_time=NOW - 5),
            Event(
                event_id="e-old", category="bin_overflow", lon=120.17, lat=30.27, detected_at=NOW
            ),
            CameraHealth(camera_id="cam-02", online=True, checked_at=NOW - 3),
            _ticket(version=1),  # an old change the store has moved past
        ]
    )
    wall = Wall(demo_cfg, clock=lambda: NOW)
    feed = BusFeed(bus, wall.state)
    feed.load_history([_ticket(version=3, status="accepted")])
    payload = wall.payload("en")
    assert payload["units"]["units:sanitation"]["ids"] == ["san-01"]
    assert payload["events"]["ids"] == ["e-old"]
    assert payload["kpis"]["cameras"] == "1/9"
    assert [row["status_label"] for row in payload["feed"]] == ["Accepted"]  # the store's state
    bus.publish(
        Event(event_id="e-new", category="dirty_road", lon=120.18, lat=30.28, detected_at=NOW)
    )
    wait_until(lambda: feed.poll(block_ms=100), 10, "the new event read")
    assert wall.payload("en")["events"]["ids"] == ["e-old", "e-new"]


def test_the_map_carries_views_places_and_shelters_as_layers_one_can_hide(demo_cfg, demo_layers):
    from cockpit.figures import base_map, trace_index

    figure = base_map(demo_cfg, demo_layers, "en")
    live = len(trace_index(demo_cfg))
    overlays = {trace.meta: trace for trace in figure.data[live:]}
    assert set(overlays) == {"views", "pois", "shelters"}
    assert all(trace.showlegend is not False for trace in overlays.values())
    views = overlays["views"]
    assert list(views.lon).count(None) == len(demo_cfg.cameras)  # one closed sector each
    camera = demo_cfg.cameras[0]
    assert (views.lon[0], views.lat[0]) == tuple(camera.position)
    assert "Qinghe Primary School" in overlays["pois"].text
    assert any("capacity" in label for label in overlays["shelters"].text)


def test_units_leave_a_track_of_their_last_half_hour(demo_cfg):
    from cockpit.state import TRACK_S, LiveState

    state = LiveState(demo_cfg)
    unit = demo_cfg.units[0]
    lon, lat = unit.home
    start = 1_800_000_000.0
    for minute in range(0, 41, 5):  # 40 minutes of fixes, one every five
        state.apply(
            UnitPosition(
                unit_id=unit.id, lon=lon + minute * 1e-4, lat=lat, fix_time=start + 60 * minute
            )
        )
    kept = [f.fix_time - start for f in state.tracks[unit.id]]
    assert kept == [600.0 + 300 * i for i in range(7)] and kept[-1] - kept[0] <= TRACK_S
    tracks = WallView(demo_cfg, state).payload("en")["tracks"]
    assert tracks["lon"][:-1] == pytest.approx([lon + m * 1e-4 for m in range(10, 41, 5)], abs=1e-6)
    assert tracks["lon"][-1] is None


def test_a_busy_districts_tracks_stay_small_on_every_push(demo_cfg):
    """Twenty units reporting every 2.5 s for 40 minutes, half walking, half driving: each track
    keeps a point every 30 s or 60 m and its latest fix, so a push stays small (it was 1 MB
    after half an hour of the demo, when every fix was kept, and walls fell seconds behind)."""
    import json

    from cockpit.state import TRACK_S, LiveState

    state = LiveState(demo_cfg)
    units = demo_cfg.units[:20]
    start = 1_800_000_000.0
    for step in range(40 * 24):  # 40 minutes of fixes every 2.5 s
        at = start + step * 2.5
        for n, unit in enumerate(units):
            speed = 1.4 if n % 2 else 10.0  # m/s: on foot, by van
            metres = speed * step * 2.5
            state.apply(UnitPosition(unit_id=unit.id, lon=unit.home[0] + metres / 96_000,
                                     lat=unit.home[1], fix_time=at))  # fmt: skip
    for n, unit in enumerate(units):
        track = state.tracks[unit.id]
        assert track[-1].fix_time == at, "the line ends where the unit is"
        assert at - track[0].fix_time <= TRACK_S + 30
        assert len(track) <= (TRACK_S / 6 if n % 2 == 0 else 70)  # a point per 60 m or 30 s
    pushed = json.dumps(WallView(demo_cfg, state).payload("en")["tracks"])
    assert len(pushed) < 120_000, len(pushed)


def test_units_turn_amber_then_red_the_longer_they_sit_on_one_stage(demo_cfg):
    from cockpit.payload import UNIT_AMBER, UNIT_RED

    start = 1_800_000_000.0
    clock = {"now": start}
    wall = Wall(demo_cfg, lambda: clock["now"])
    crews = [u for u in demo_cfg.units if u.type == "sanitation"][:3]
    for crew in crews:
        wall.apply(UnitPosition(unit_id=crew.id, lon=crew.home[0], lat=crew.home[1]))
    for n, (crew, status) in enumerate(zip(crews[:2], ("dispatched", "on_site"), strict=True)):
        wall.apply(
            TicketChange(
                ticket_id=f"t{n}",
                version=1,
                status=status,
                category="bin_overflow",
                lon=crew.home[0],
                lat=crew.home[1],
                unit_id=crew.id,
                changed_at=start - 60 * (35 if n == 0 else 65),
            )
        )
    trace = wall.payload("en")["units"]["units:sanitation"]
    colours = dict(zip(trace["ids"], trace["color"], strict=True))
    texts = dict(zip(trace["ids"], trace["text"], strict=True))
    assert colours[crews[0].id] == UNIT_AMBER and "Dispatched 35 min" in texts[crews[0].id]
    assert colours[crews[1].id] == UNIT_RED and "On site 65 min" in texts[crews[1].id]
    assert colours[crews[2].id] not in (UNIT_AMBER, UNIT_RED) and "min" not in texts[crews[2].id]


def test_a_note_does_not_reset_a_units_clock_and_an_acknowledgement_holds_until_it_moves_on(
    demo_cfg,
):
    from cockpit.payload import UNIT_RED, UNIT_SEEN

    start = 1_800_000_000.0
    wall = Wall(demo_cfg, lambda: start)
    crew = next(u for u in demo_cfg.units if u.type == "sanitation")
    wall.apply(UnitPosition(unit_id=crew.id, lon=crew.home[0], lat=crew.home[1], fix_time=start))
    on_site = start - 65 * 60

    def ticket(version: int, status: str, changed_at: float, since: float) -> TicketChange:
        return TicketChange(ticket_id="t-late", version=version, status=status,
                            category="bin_overflow", lon=crew.home[0], lat=crew.home[1],
                            unit_id=crew.id, changed_at=changed_at, status_since=since)  # fmt: skip

    def shown() -> tuple[str, str]:
        trace = wall.payload("zh")["units"]["units:sanitation"]
        i = trace["ids"].index(crew.id)
        return trace["color"][i], trace["text"][i]

    wall.apply(ticket(1, "on_site", on_site, on_site))
    # An operator changed the priority a minute ago: a new version, the same stage since 65 min.
    wall.apply(ticket(2, "on_site", start - 60, on_site))
    colour, text = shown()
    assert colour == UNIT_RED and "65分钟" in text
    # Acknowledged (for this ticket and stage): muted, and says by whom.
    wall.apply(UnitAck(unit_id=crew.id, ticket_id="t-late", status_since=on_site,
                       actor="operator:wang", at=start))  # fmt: skip
    colour, text = shown()
    assert colour == UNIT_SEEN and "wang 已知悉" in text
    # An acknowledgement of an earlier stage does not carry over to the next one.
    wall.apply(ticket(3, "dispatched", start, start - 40 * 60))
    assert shown()[0] != UNIT_SEEN


def test_a_camera_whose_picture_is_wrong_says_so_on_the_map(demo_cfg):
    from cockpit.payload import HEALTH_COLORS, PICTURE_PROBLEM

    wall = _state(demo_cfg)
    camera = demo_cfg.cameras[0]
    wall.apply(CameraHealth(camera_id=camera.id, online=True, problems=("shifted",)))
    cameras = wall.payload("zh")["cameras"]
    i = cameras["ids"].index(camera.id)
    assert cameras["color"][i] == PICTURE_PROBLEM
    assert cameras["text"][i].endswith("在线 · 视角偏移，规则暂停"), cameras["text"][i]
    wall.apply(CameraHealth(camera_id=camera.id, online=True))  # turned back
    cameras = wall.payload("en")["cameras"]
    assert cameras["color"][i] == HEALTH_COLORS[True] and "shifted" not in cameras["text"][i]
