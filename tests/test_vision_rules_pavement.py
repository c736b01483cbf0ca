"""The pavement rules replayed through time with an explicit clock: 店外经营 (goods or a stall put
out before a shop, `street_vending`) and 非机动车乱停放 (bicycles parked outside the marked bays,
`bike_parking`), with their hysteresis: dwell, grace, cooldown, active hours, thresholds."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from config.rules import ActiveHours, RuleConfig
from config.schema import ZoneConfig
from vision.detections import Detections
from vision.rules import BikeParkingRule, StreetVendingRule, build_rules

TZ = "Asia/Shanghai"
T0 = dt.datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo(TZ)).timestamp()  # a Monday, 10:00
PAVEMENT = [(100, 300), (500, 300), (500, 500), (100, 500)]
BAY = [(380, 300), (500, 300), (500, 500), (380, 500)]  # the right end is a marked bicycle bay


def stall(x: float) -> tuple[str, tuple[float, float, float, float], float]:
    """A stall whose ground point is (x + 40, 440)."""
    return ("stall", (x, 380, x + 80, 440), 0.8)


def bike(x: float, y: float = 450) -> tuple[str, tuple[float, float, float, float], float]:
    """A bicycle whose ground point is (x + 15, y)."""
    return ("bicycle", (x, y - 50, x + 30, y), 0.7)


def rule_for(kind: str, classes: list[str], bays=(), scale=(1.0, 1.0), **kw):
    cfg = dict(
        id=kind,
        kind=kind,
        category=kind,
        classes=classes,
        dwell_s=300,
        enter_frames=3,
        exit_grace_s=10,
        cooldown_s=1800,
        pixel_tolerance=20,
    )
    zone = ZoneConfig(
        id="walk", rule=kind, polygon=PAVEMENT, map_anchor=(120.17, 30.27), bays=list(bays)
    )
    return build_rules([zone], [RuleConfig(**{**cfg, **kw})], TZ, scale)[0]


def vending(**kw) -> StreetVendingRule:
    return rule_for("street_vending", ["stall"], **kw)


def bikes_rule(**kw) -> BikeParkingRule:
    return rule_for("bike_parking", ["bicycle"], bays=[BAY], **{"threshold": 3, **kw})


def replay(rule, at, seconds: float, step: float = 1.0, start: float = T0):
    """Feed one frame per `step` seconds with the boxes `at(t)`; the (t, finding) it fired."""
    fired, t = [], 0.0
    while t <= seconds:
        fired += [(t, f) for f in rule.update(Detections.of(at(t)), start + t)]
        t += step
    return fired


def test_a_stall_on_the_pavement_is_reported_at_its_dwell_and_not_before():
    rule = vending()
    assert isinstance(rule, StreetVendingRule)
    fired = replay(rule, lambda t: [stall(200)], 900)
    assert [t for t, _ in fired] == [300.0]
    finding = fired[0][1]
    assert finding.category == "street_vending" and finding.zone_id == "walk"
    assert finding.first_seen == T0 and finding.confirmed_at == T0 + 300
    assert finding.boxes.tolist() == [[200, 380, 280, 440]] and finding.confidence == 0.8


def test_a_vendor_who_packs_up_before_the_dwell_is_not_reported():
    assert replay(vending(), lambda t: [stall(200)] if t < 299 else [], 900) == []


def test_a_stall_hidden_by_passers_by_keeps_its_timer_but_a_long_absence_restarts_it():
    hidden = lambda t: [] if 100 <= t < 108 else [stall(200)]  # noqa: E731 - 8 s < grace 10 s
    assert [t for t, _ in replay(vending(), hidden, 900)] == [300.0]
    gone = lambda t: [] if 100 <= t < 115 else [stall(200)]  # noqa: E731 - 15 s > grace
    assert [t for t, _ in replay(vending(), gone, 900)] == [415.0]


def test_a_stall_moved_along_the_pavement_is_timed_afresh():
    moved = lambda t: [stall(200 if t < 200 else 260)]  # noqa: E731 - 60 px > 20 px tolerance
    assert [t for t, _ in replay(vending(), moved, 900)] == [500.0]


def test_vending_is_reported_only_in_its_hours_and_timed_afresh_each_day():
    hours = ActiveHours(start="10:00", end="20:00")
    # Set out at 09:58: the two minutes before 10:00 do not count.
    fired = replay(vending(active_hours=hours), lambda t: [stall(200)], 900, start=T0 - 120)
    assert [t for t, _ in fired] == [420.0]
    # At 19:57 the stall has 3 minutes before the rule stops: never reported.
    evening = T0 + 9 * 3600 + 57 * 60
    assert replay(vending(active_hours=hours), lambda t: [stall(200)], 900, start=evening) == []


def test_after_an_event_the_pavement_rests_for_the_cooldown():
    """The first stall is reported; a second one beside it during the cooldown is not; once the
    cooldown is over, the second (still there) is."""
    at = lambda t: [stall(120)] + ([stall(300)] if t >= 100 else [])  # noqa: E731
    fired = replay(vending(cooldown_s=600), at, 1200)
    assert [t for t, _ in fired] == [300.0, 900.0]
    assert fired[1][1].boxes.tolist() == [[300, 380, 380, 440]]


def test_other_classes_on_the_pavement_are_not_vending():
    others = [("person", (200, 380, 230, 440), 0.9), bike(150), ("bin", (300, 400, 330, 440), 0.9)]
    assert replay(vending(), lambda t: others, 900) == []


def test_three_bicycles_outside_the_bays_are_reported_together_once_all_stood_long_enough():
    at = lambda t: [bike(120)] + ([bike(180)] if t >= 50 else []) + ([bike(240)] if t >= 90 else [])  # noqa: E731,E501
    fired = replay(bikes_rule(), at, 1200)
    assert [t for t, _ in fired] == [390.0]  # the third has stood 300 s
    finding = fired[0][1]
    assert finding.category == "bike_parking" and finding.measure == 3.0
    assert sorted(b[0] for b in finding.boxes.tolist()) == [120, 180, 240]
    assert finding.first_seen == T0  # the problem began when the first one was left


def test_bicycles_in_a_marked_bay_never_count():
    in_bay = lambda t: [bike(x) for x in (390, 420, 450)] + [bike(120), bike(180)]  # noqa: E731
    assert replay(bikes_rule(), in_bay, 1200) == []  # 5 bicycles, only 2 outside the bay
    one_more = lambda t: in_bay(t) + [bike(240)]  # noqa: E731
    assert [t for t, _ in replay(bikes_rule(), one_more, 1200)] == [300.0]


def test_fewer_bicycles_than_the_threshold_are_tolerated():
    assert replay(bikes_rule(), lambda t: [bike(120), bike(180)], 1200) == []
    assert [
        t for t, _ in replay(bikes_rule(threshold=2), lambda t: [bike(120), bike(180)], 400)
    ] == [300.0]  # noqa: E501


def test_bicycles_ridden_through_do_not_count():
    """A rider crosses the pavement every 20 s at 25 px a second; even one bicycle left
    standing would be reported (threshold 1), but none stands."""

    def at(t):
        return [bike(100 + 25 * (t - 20 * k)) for k in range(60) if 0 <= t - 20 * k <= 15]

    assert replay(bikes_rule(threshold=1), at, 1200) == []
    assert [t for t, _ in replay(bikes_rule(threshold=1), lambda t: [bike(120)], 400)] == [300.0]


def test_a_bicycle_taken_away_before_the_dwell_resets_the_count():
    at = lambda t: [bike(120), bike(180)] + ([bike(240)] if t < 250 else [])  # noqa: E731
    assert replay(bikes_rule(), at, 1200) == []


def test_bicycles_are_reported_again_only_after_the_cooldown_and_only_when_new_ones_stand():
    rule = bikes_rule(cooldown_s=600)
    three = lambda t: [bike(120), bike(180), bike(240)]  # noqa: E731
    assert [t for t, _ in replay(rule, three, 1500)] == [300.0]  # the same three: reported once
    rule = bikes_rule(cooldown_s=600)
    fourth = lambda t: three(t) + ([bike(300)] if t >= 400 else [])  # noqa: E731
    assert [t for t, _ in replay(rule, fourth, 1500)] == [300.0, 900.0]  # the 4th, after rest


def test_the_bicycle_recheck_sees_the_problem_while_they_stand_and_not_once_cleared():
    rule = bikes_rule()
    replay(rule, lambda t: [bike(120), bike(180), bike(240)], 400)
    assert rule.present(Detections.of([bike(120), bike(180), bike(240)]))
    assert not rule.present(Detections.of([bike(120), bike(180)]))
    assert not rule.present(Detections.of([bike(120), bike(180), bike(420)]))  # one in the bay


def test_bays_scale_with_the_stream_like_the_zone():
    """Zones are drawn on a 640 px frame; the camera's stream is 1280 px: the bay doubles too."""
    rule = bikes_rule(threshold=1, dwell_s=10)
    big = rule_for(
        "bike_parking", ["bicycle"], bays=[BAY], scale=(2.0, 2.0), threshold=1, dwell_s=10
    )
    assert big.zone.bays[0].points.tolist() == [[2 * x, 2 * y] for x, y in BAY]
    in_big_bay = lambda t: [("bicycle", (800, 850, 860, 900), 0.7)]  # noqa: E731 - (830, 900)
    assert replay(big, in_big_bay, 60) == []
    assert replay(rule, lambda t: [bike(400)], 60) == []  # the same bay unscaled


@pytest.mark.parametrize(
    "bay, words",
    [
        ([(0, 0), (10, 10), (10, 0), (0, 10)], "not a simple shape"),
        ([(0, 0), (10, 10)], "at least 3 vertices"),
    ],
)
def test_a_broken_bay_is_refused_with_its_place_named(bay, words):
    with pytest.raises(ValidationError) as err:
        ZoneConfig(id="walk", rule="r", polygon=PAVEMENT, map_anchor=(120.17, 30.27), bays=[bay])
    assert "bays.0" in str(err.value) and words in str(err.value)


def test_a_stall_hidden_exactly_the_grace_keeps_its_timer_and_reports_no_track():
    """Absent for the frames 100..109 (last seen at 99, back at 110: 10 s = the grace)."""
    fired = replay(vending(), lambda t: [] if 100 <= t < 110 else [stall(200)], 900)
    assert [t for t, _ in fired] == [300.0]
    assert fired[0][1].track_ids == ()  # no tracker ids: the finding claims none


def test_the_bicycle_finding_carries_every_track_id_its_confirmation_time_and_best_score():
    rule = bikes_rule()
    boxes = [("bicycle", (x, 400, x + 30, 450), s) for x, s in ((120, 0.61), (180, 0.73456))]
    boxes.append(bike(240))
    fired, t = [], 0.0
    while t <= 400:
        dets = Detections.of(boxes, [9, 0, 5])  # the tracker's ids, 0 among them
        fired += [(t, f) for f in rule.update(dets, T0 + t)]
        t += 1.0
    ((at, finding),) = fired
    assert at == 300.0 and finding.confirmed_at == T0 + 300
    assert sorted(finding.track_ids) == [0, 5, 9]
    assert finding.confidence == 0.735  # the surest bicycle, to three places


def test_the_bicycle_recheck_needs_them_to_have_stood_and_counts_the_tolerance_in():
    young = bikes_rule()
    replay(young, lambda t: [bike(120), bike(180), bike(240)], 5)  # seen for 5 s only
    assert not young.present(Detections.of([bike(120), bike(180), bike(240)]))
    rule = bikes_rule()
    replay(rule, lambda t: [bike(120), bike(180), bike(240)], 60)
    moved = [bike(140), bike(160), bike(260)]  # each exactly 20 px (the tolerance) away
    assert rule.present(Detections.of(moved))
    assert not rule.present(Detections.of([bike(141), bike(160), bike(260)]))


def test_bicycles_off_the_pavement_never_count_even_with_a_bay_in_the_zone():
    on_road = lambda t: [bike(x, y=560) for x in (120, 180, 240)]  # noqa: E731 - below the zone
    assert replay(bikes_rule(threshold=1), on_road, 600) == []


def test_a_full_bin_counts_by_its_body_even_when_its_foot_is_outside_the_zone():
    """A bin rule looks at the box's centre or its foot: a bin standing just below the zone's
    edge, its body inside it, is in the zone; a parking rule looks at the foot only."""
    tall = [
        ("bin_overflow", (200, 200, 260, 520), 0.9)
    ]  # centre (230, 360) in, foot (230, 520) out
    bins = rule_for("bin_overflow", ["bin_overflow"], dwell_s=30, enter_frames=1)
    assert [t for t, _ in replay(bins, lambda t: tall, 60)] == [30.0]
    cars = rule_for("illegal_parking", ["car"], dwell_s=30, enter_frames=1)
    assert replay(cars, lambda t: [("car", (200, 200, 260, 520), 0.9)], 60) == []


def test_a_bins_score_is_the_best_since_it_was_last_missed():
    """Seen at 0.95, missed for a frame (within the grace), then seen at 0.6: the finding shows
    the score of the present run, not one from before the miss."""
    bins = rule_for("bin_overflow", ["bin_overflow"], dwell_s=30, enter_frames=1, exit_grace_s=5)
    box = lambda s: [("bin_overflow", (200, 350, 260, 420), s)]  # noqa: E731
    fired = replay(bins, lambda t: box(0.95) if t < 5 else [] if t == 5 else box(0.6), 60)
    assert [t for t, _ in fired] == [30.0] and fired[0][1].confidence == 0.6


def test_active_hours_that_start_when_they_end_are_refused():
    with pytest.raises(ValidationError, match="an empty window; leave active_hours out"):
        ActiveHours(start="07:00", end="07:00")
    assert ActiveHours(start="22:00", end="06:00").start == "22:00"  # overnight is fine


def test_the_parking_recheck_needs_a_car_that_stood_and_counts_the_tolerance_in():
    parked = ("car", (250, 350, 350, 420), 0.9)  # ground point (300, 420)
    young = rule_for("illegal_parking", ["car"], dwell_s=60)
    replay(young, lambda t: [parked], 5)  # stood 5 s: not yet parked for a re-check
    assert not young.present(Detections.of([parked]))
    rule = rule_for("illegal_parking", ["car"], dwell_s=60)
    replay(rule, lambda t: [parked], 30)
    assert rule.present(Detections.of([("car", (270, 350, 370, 420), 0.9)]))  # 20 px: the tol.
    assert not rule.present(Detections.of([("car", (271, 350, 371, 420), 0.9)]))


def test_a_bicycle_boxed_twice_counts_once():
    """Two overlapping boxes whose ground points lie 8 px apart (within half the 20 px
    tolerance) are one bicycle: with a third bicycle that makes two, not three."""
    twice = [bike(120), ("bicycle", (127, 393, 157, 443), 0.5), bike(180)]  # ground (142, 443)
    assert replay(bikes_rule(), lambda t: twice, 900) == []
    apart = [bike(120), ("bicycle", (131, 400, 161, 450), 0.5), bike(180)]  # 11 px: another
    assert [t for t, _ in replay(bikes_rule(), lambda t: apart, 400)] == [300.0]
