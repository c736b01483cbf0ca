"""Zone rules replayed through time with an explicit clock: no model, no sleeping."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pytest
import shapely

from config.rules import ActiveHours, RuleConfig
from config.schema import ZoneConfig
from vision.detections import Detections
from vision.rules import ActiveClock, IllegalParkingRule, Zone, build_rules

TZ = "Asia/Shanghai"
T0 = dt.datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo(TZ)).timestamp()  # a Monday, 10:00
ZONE = Zone("kerb", [(100, 300), (500, 300), (500, 500), (100, 500)])
PARKED = ("car", (250, 350, 350, 420), 0.9)  # ground point (300, 420): inside the zone
PASSING = ("car", (0, 340, 90, 420), 0.9)  # outside


def parking_rule(**kw) -> IllegalParkingRule:
    cfg = dict(
        id="np",
        kind="illegal_parking",
        category="illegal_parking",
        classes=["car", "van"],
        dwell_s=60,
        enter_frames=3,
        exit_grace_s=5,
        cooldown_s=300,
        pixel_tolerance=20,
    )
    return IllegalParkingRule(RuleConfig(**{**cfg, **kw}), ZONE, TZ)


def replay(rule, frames, start=T0, step=0.5):
    """Feed (seconds, detections) frames; return the times at which the rule fired."""
    fired = []
    for t, dets in frames:
        for f in rule.update(dets, start + t):
            fired.append((t, f))
    return fired


def timeline(seconds, step=0.5, at=lambda t: [PARKED], ids=lambda t: None):
    t = 0.0
    while t <= seconds:
        boxes = at(t)
        yield t, Detections.of(boxes, ids(t) if boxes else None)
        t += step


def test_parking_fires_at_dwell_and_not_before():
    fired = replay(parking_rule(), timeline(120))
    assert [t for t, _ in fired] == [60.0]
    finding = fired[0][1]
    assert (
        finding.first_seen == T0 and finding.confirmed_at == T0 + 60 and finding.confidence == 0.9
    )


def test_parking_survives_occlusion_and_new_track_id():
    """A bus hides the car for 3 s; afterwards the tracker calls it by another id."""
    fired = replay(
        parking_rule(),
        timeline(
            120, at=lambda t: [] if 30 <= t < 33 else [PARKED], ids=lambda t: [1] if t < 30 else [7]
        ),
    )
    assert [t for t, _ in fired] == [60.0]


def test_parking_resets_after_the_car_leaves_and_rearms_after_cooldown():
    # Car A parks 0-100 s (fires at 60); gone 100-130; car B parks from 130 s.
    def at(t):
        return [] if 100 <= t < 130 else [PARKED]

    fired = replay(parking_rule(cooldown_s=300), timeline(600, at=at))
    # B's timer restarts at 130 and is due at 190, but the zone is quiet until 360.
    assert [t for t, _ in fired] == [60.0, 360.0]


def test_parking_gap_longer_than_grace_restarts_the_timer():
    fired = replay(parking_rule(), timeline(150, at=lambda t: [] if 30 <= t < 36 else [PARKED]))
    assert [t for t, _ in fired] == [96.0]


def test_a_car_that_drove_off_just_before_its_dwell_is_not_reported():
    """Gone 1 s before the dwell (within the grace): the evidence would show an empty kerb."""
    assert replay(parking_rule(), timeline(120, at=lambda t: [PARKED] if t < 59 else [])) == []


def test_parking_moving_car_is_not_parked():
    # Creeping 5 px per frame along the kerb: never still within 20 px for 60 s.
    def at(t):
        x = 120 + 10 * t
        return [("car", (x, 350, x + 100, 420), 0.9)] if x < 480 else []

    assert replay(parking_rule(), timeline(120, at=at)) == []


def test_parking_ignores_other_classes_and_outside_boxes():
    at = lambda t: [("person", (280, 350, 300, 420), 0.9), PASSING]  # noqa: E731
    assert replay(parking_rule(), timeline(200, at=at)) == []


def test_parking_respects_active_hours():
    rule = parking_rule(active_hours=ActiveHours(start="07:00", end="10:00"))
    # Starts 09:59:30: the clock stops at 10:00 before the dwell ends.
    assert replay(rule, timeline(200), start=T0 - 30) == []
    night = parking_rule(active_hours=ActiveHours(start="22:00", end="06:00"))
    assert replay(night, timeline(100)) == []  # 10:00 is outside 22:00-06:00
    assert [t for t, _ in replay(night, timeline(100), start=T0 + 14 * 3600)] == [60.0]  # midnight


def test_parking_enter_frames():
    """A single flicker is not a vehicle; it must be seen enter_frames times."""
    rule = parking_rule(dwell_s=1, enter_frames=4)
    fired = replay(rule, timeline(10, step=1.0))
    assert [t for t, _ in fired] == [3.0]


def zone_rule(kind, classes, **kw):
    cfg = dict(
        id=kind,
        kind=kind,
        category=kind,
        classes=classes,
        dwell_s=30,
        exit_grace_s=5,
        cooldown_s=120,
        enter_frames=1,
    )
    zone = ZoneConfig(
        id="z",
        rule=kind,
        polygon=[(100, 300), (500, 300), (500, 500), (100, 500)],
        map_anchor=(120.17, 30.27),
    )
    return build_rules([zone], [RuleConfig(**{**cfg, **kw})], TZ)[0]


BIN_FULL = ("bin_overflow", (300, 320, 360, 400), 0.8)
LITTER = [("litter", (150 + 40 * i, 420, 170 + 40 * i, 440), 0.6) for i in range(5)]


@pytest.mark.parametrize(
    "case, at, expected",
    [
        ("full bin fires once at dwell", lambda t: [BIN_FULL], [30.0]),
        ("a normal bin never fires", lambda t: [("bin", BIN_FULL[1], 0.9)], []),
        ("a 4 s miss is forgiven", lambda t: [] if 10 <= t < 14 else [BIN_FULL], [30.0]),
        # seen last at 9.5 s, again at 14.5 s: a gap of exactly the 5 s grace is forgiven
        ("a miss of the grace itself", lambda t: [] if 10 <= t < 14.5 else [BIN_FULL], [30.0]),
        ("a 10 s miss restarts", lambda t: [] if 10 <= t < 20 else [BIN_FULL], [50.0]),
        (
            "emptied then full again re-arms after cooldown",
            lambda t: [] if 40 <= t < 60 else [BIN_FULL],
            [30.0, 150.0],
        ),
    ],
)
def test_bin_overflow(case, at, expected):
    rule = zone_rule("bin_overflow", ["bin_overflow"])
    assert [t for t, _ in replay(rule, timeline(200, at=at))] == expected, case


@pytest.mark.parametrize(
    "case, pieces, threshold, expected",
    [
        ("two pieces are below a threshold of three", 2, 3, []),
        ("three pieces fire", 3, 3, [30.0]),
        ("five pieces fire once", 5, 3, [30.0]),
        ("covered share above 1% fires", 3, 0.01, [30.0]),
        ("covered share below 5% does not", 3, 0.05, []),
    ],
)
def test_dirty_road(case, pieces, threshold, expected):
    rule = zone_rule("dirty_road", ["litter"], threshold=threshold)
    assert [t for t, _ in replay(rule, timeline(100, at=lambda t: LITTER[:pieces]))] == expected, (
        case
    )


def test_dirty_road_cleaned_then_dirty_again():
    rule = zone_rule("dirty_road", ["litter"], threshold=3, cooldown_s=60)
    at = lambda t: [] if 50 <= t < 80 else LITTER[:3]  # noqa: E731 - swept at 50 s, dropped again at 80 s
    assert [t for t, _ in replay(rule, timeline(300, at=at))] == [30.0, 110.0]


def test_present_answers_the_recheck():
    rule = zone_rule("bin_overflow", ["bin_overflow"])
    assert rule.present(Detections.of([BIN_FULL]))
    assert not rule.present(Detections.of([("bin", BIN_FULL[1], 0.9)]))
    parking = parking_rule()
    replay(parking, timeline(15))
    assert parking.present(Detections.of([PARKED]))
    assert not parking.present(Detections.of([PASSING]))


# An L-shaped (concave) zone, 0..100 x 0..100 with the top-right quarter cut out.
L_ZONE = [(0, 0), (100, 0), (100, 50), (50, 50), (50, 100), (0, 100)]


@pytest.mark.parametrize(
    ("point", "inside"),
    [
        ((25, 25), True),
        ((75, 25), True),  # the foot of the L
        ((25, 75), True),  # its stem
        ((75, 75), False),  # the cut-out corner: inside the box, outside the zone
        ((150, 25), False),
        ((-1, 50), False),
        ((49.9, 99.9), True),
        ((50.1, 50.1), False),
        ((99.9, 0.1), True),
    ],
)
def test_zone_membership_follows_the_polygon_not_its_box(point, inside):
    zone = Zone("z", L_ZONE)
    assert zone.contains(np.array([point], float)).tolist() == [inside]


def test_zone_area_is_the_polygons_and_empty_input_gives_an_empty_mask():
    assert Zone("z", L_ZONE).area == pytest.approx(7500)
    assert Zone("tri", [(0, 0), (40, 0), (0, 30)]).area == pytest.approx(600)
    empty = Zone("z", L_ZONE).contains(np.zeros((0, 2)))
    assert empty.dtype == bool and empty.shape == (0,)


def test_a_finding_names_its_rule_zone_category_tracks_and_boxes():
    rule = zone_rule("bin_overflow", ["bin_overflow"])
    both = [BIN_FULL, ("bin_overflow", (200, 330, 240, 390), 0.95)]
    frames = timeline(40, at=lambda t: both, ids=lambda t: [7, -1])  # one box tracked, one not
    [(_, finding)] = replay(rule, frames)
    assert (finding.rule_id, finding.zone_id, finding.category) == (
        "bin_overflow",
        "z",
        "bin_overflow",
    )
    assert finding.track_ids == (7,)  # untracked boxes carry no id
    assert finding.confidence == 0.95  # the best box seen
    assert (finding.first_seen, finding.confirmed_at) == (T0, T0 + 30)
    assert finding.boxes.tolist() == [list(BIN_FULL[1]), [200, 330, 240, 390]]
    assert finding.measure == rule.measure(Detections.of(both))


@pytest.mark.parametrize(
    ("box", "by", "inside"),
    [
        ((200, 250, 260, 350), "anchor", True),  # ground point (230, 350) in the zone
        ((200, 250, 260, 290), "anchor", False),  # above the kerb line
        ((200, 250, 260, 520), "anchor", False),  # ground point below the zone
        ((200, 250, 260, 520), "any", True),  # its centre (230, 385) is in: a bin seen whole
        ((520, 250, 600, 520), "any", False),  # neither centre nor ground point
    ],
)
def test_a_zone_selects_by_ground_point_or_for_bins_by_centre_too(box, by, inside):
    dets = Detections.of([("bin_overflow", box, 0.9)])
    assert len(ZONE.select(dets, by)) == int(inside)


@pytest.mark.parametrize(
    ("start", "end", "clock", "active"),
    [
        ("07:00", "22:00", "07:00", True),  # from the start minute
        ("07:00", "22:00", "21:59", True),
        ("07:00", "22:00", "22:00", False),  # up to, not including, the end minute
        ("07:00", "22:00", "06:59", False),
        ("22:00", "06:00", "22:00", True),  # overnight
        ("22:00", "06:00", "03:00", True),
        ("22:00", "06:00", "06:00", False),
        ("22:00", "06:00", "21:59", False),
    ],
)
def test_active_hours_include_the_start_minute_and_exclude_the_end(start, end, clock, active):
    hours, minutes = (int(part) for part in clock.split(":"))
    moment = dt.datetime(2026, 11, 23, hours, minutes, tzinfo=ZoneInfo(TZ)).timestamp()
    assert ActiveClock(ActiveHours(start=start, end=end), TZ).active(moment) is active


def test_a_parking_finding_names_the_car_its_track_and_its_box():
    rule = parking_rule()
    fired = replay(rule, timeline(70, ids=lambda t: [0]))  # ByteTrack's first id is 0
    [(_, finding)] = fired
    assert (finding.rule_id, finding.zone_id, finding.category) == (
        "np",
        "kerb",
        "illegal_parking",
    )
    assert finding.track_ids == (0,) and finding.confidence == 0.9
    assert finding.boxes.tolist() == [list(PARKED[1])]


def test_litter_is_counted_or_measured_as_a_share_of_the_zone():
    pieces = Detections.of(LITTER[:3])  # three 20 x 20 px pieces on an 80,000 px^2 kerb zone
    counting = zone_rule("dirty_road", ["litter"], threshold=1)
    assert counting.measure(pieces) == 3.0  # a threshold of 1 counts pieces
    covering = zone_rule("dirty_road", ["litter"], threshold=0.01)
    assert covering.measure(pieces) == pytest.approx(3 * 400 / covering.zone.area)
    assert covering.measure(Detections.of([])) == 0.0


def fire_times(rule, frames) -> list[float]:
    return [t for t, _ in replay(rule, frames)]


def test_a_rule_told_to_rest_stays_quiet_until_then_and_never_shortens_it():
    """What an earlier holder of the camera reported stays reported: `rest_until` (the cooldown
    it started) holds a bin rule and a parking rule past their dwell; a later, shorter rest
    does not cut a longer one short."""
    bins = zone_rule("bin_overflow", ["bin_overflow"])
    bins.rest_until(T0 + 100)
    bins.rest_until(T0 + 40)
    assert fire_times(bins, timeline(150, at=lambda t: [BIN_FULL])) == [100.0]
    parking = parking_rule()
    parking.rest_until(T0 + 100)
    parking.rest_until(T0 + 40)
    assert fire_times(parking, timeline(150)) == [100.0]


def test_a_rule_forgets_its_problem_outside_active_hours_and_times_it_afresh():
    """Active except 10:01-10:02: a bin full since 10:00 is reported at 10:00:30, forgotten at
    10:01, and from 10:02 is a new problem, timed afresh (reported again at 10:02:30, when the
    first report's cooldown has also run out)."""
    bins = zone_rule(
        "bin_overflow", ["bin_overflow"], active_hours=ActiveHours(start="10:02", end="10:01")
    )
    assert fire_times(bins, timeline(200, at=lambda t: [BIN_FULL])) == [30.0, 150.0]


def test_frames_count_towards_entering_only_in_an_unbroken_run():
    """enter_frames 3: seen, missed twice, then seen again: the run starts again, so the timer
    starts at the third frame of the new run (2.5 s) and fires one dwell later."""
    bins = zone_rule("bin_overflow", ["bin_overflow"], enter_frames=3, dwell_s=1)
    pattern = lambda t: [] if t in (0.5, 1.0) else [BIN_FULL]  # noqa: E731
    assert fire_times(bins, timeline(4, at=pattern)) == [3.5]


def test_a_gap_without_any_frames_longer_than_the_grace_restarts_the_timer():
    """No frame at all for 20 s (the camera was away): the problem seen again is timed anew."""
    bins = zone_rule("bin_overflow", ["bin_overflow"], dwell_s=20)
    times = [0.0, 2.5, 5.0, 7.5, 10.0] + [30.0 + 2.5 * k for k in range(13)]  # to 60 s
    seen = [(t, Detections.of([BIN_FULL])) for t in times]
    assert fire_times(bins, seen) == [50.0]


def test_a_parked_car_keeps_the_track_id_it_was_last_known_by_including_zero():
    """Untracked at first, then followed as track 0 (a tracker's first id), then untracked
    again: the finding names track 0."""
    ids = lambda t: [-1] if t < 10 or t >= 20 else [0]  # noqa: E731
    fired = replay(parking_rule(), timeline(70, ids=ids))
    assert [(t, f.track_ids) for t, f in fired] == [(60.0, (0,))]


def test_the_surest_box_claims_the_waiting_car_and_a_weaker_duplicate_does_not():
    """A weak second box on the same car (a 'van' 5 px off, from 10 s on) must not take over
    the car's candidate: the finding shows the sure box."""
    duplicate = ("van", (255, 350, 355, 420), 0.4)
    at = lambda t: [duplicate, PARKED] if t >= 10 else [PARKED]  # noqa: E731
    fired = replay(parking_rule(), timeline(70, at=at))
    assert [t for t, _ in fired] == [60.0]
    assert fired[0][1].boxes.tolist() == [list(PARKED[1])]


def test_a_car_seen_again_exactly_the_tolerance_away_keeps_its_timer():
    """Hidden for 2 s, seen again (no track id) 20 px from where it stood, the tolerance
    itself: still the same parked car."""
    moved = ("car", (270, 350, 370, 420), 0.9)  # ground point 20 px to the right
    at = lambda t: [] if 30 <= t < 32 else [PARKED] if t < 30 else [moved]  # noqa: E731
    assert fire_times(parking_rule(), timeline(70, at=at)) == [60.0]


def test_zone_membership_agrees_with_shapely_on_slanted_and_concave_zones():
    """Ray casting against an independent oracle: slanted edges (where the crossing point is
    interpolated) and a concave zone whose rays cross three edges."""
    shapes = {
        "slanted": [(100, 120), (460, 60), (520, 400), (160, 470)],
        "comb": [
            (0, 0),
            (300, 0),
            (300, 300),
            (200, 300),
            (200, 100),
            (100, 100),
            (100, 300),
            (0, 300),
        ],  # fmt: skip
    }
    rng = np.random.default_rng(7)
    points = rng.uniform(-20, 540, size=(4000, 2))
    for name, polygon in shapes.items():
        zone = Zone(name, polygon)
        oracle = shapely.contains_xy(shapely.Polygon(polygon), points[:, 0], points[:, 1])
        assert (zone.contains(points) == oracle).all(), name
        assert zone.area == pytest.approx(shapely.Polygon(polygon).area)
    # On the comb's left prong, a ray to the right crosses three edges: inside.
    assert Zone("comb", shapes["comb"]).contains(np.array([[50.0, 200.0]])).tolist() == [True]


def test_a_box_is_in_by_its_ground_point_unless_told_any_and_then_by_its_centre_too():
    zone = Zone("bin", [(0, 0), (200, 0), (200, 100), (0, 100)])
    tall = Detections.of([("bin_overflow", (60, 20, 140, 180), 0.9)])  # centre (100, 100) out
    wide = Detections.of([("bin_overflow", (150, 10, 450, 90), 0.9)])  # ground (300, 90) out
    low = Detections.of([("bin_overflow", (20, 40, 60, 60), 0.9)])  # centre (40, 50) in
    assert len(zone.select(tall)) == 0 and len(zone.select(wide)) == 0
    assert len(zone.select(wide, by="any")) == 0  # centre (300, 50) is out too
    assert len(zone.select(low)) == 1 and len(zone.select(low, by="any")) == 1
    centred = Detections.of([("bin_overflow", (10, 60, 90, 140), 0.9)])  # centre (50, 100)
    assert len(zone.select(centred)) == 0 and len(zone.select(centred, by="any")) == 0
    inside_centre = Detections.of([("bin_overflow", (10, 20, 90, 120), 0.9)])  # (50, 70) in
    assert len(zone.select(inside_centre)) == 0 and len(zone.select(inside_centre, by="any")) == 1


def test_rules_are_built_on_the_stream_scale_and_the_districts_time_zone():
    hours = ActiveHours(start="09:00", end="10:00")
    cfg = RuleConfig(id="np", kind="illegal_parking", category="illegal_parking",
                     classes=["car"], dwell_s=60, active_hours=hours)  # fmt: skip
    zone = ZoneConfig(id="z", rule="np", polygon=[(10, 10), (110, 10), (110, 60)],
                      map_anchor=(120.17, 30.27))  # fmt: skip
    (rule,) = build_rules([zone], [cfg], "Europe/Helsinki", scale=(2.0, 3.0))
    assert rule.zone.points.tolist() == [[20, 30], [220, 30], [220, 180]]
    helsinki_9_30 = dt.datetime(2026, 11, 23, 9, 30, tzinfo=ZoneInfo("Europe/Helsinki"))
    assert rule.clock.active(helsinki_9_30.timestamp())
    assert not rule.clock.active((helsinki_9_30 + dt.timedelta(hours=1)).timestamp())


def test_a_finding_keeps_track_zero_its_confidence_to_three_places_and_boxes_measured_in_area():
    rule = zone_rule("bin_overflow", ["bin_overflow"], dwell_s=1, cooldown_s=1)
    dets = Detections.of([("bin_overflow", (150, 350, 250, 450), 0.87654)], [0])
    assert rule.update(dets, T0) == []
    (finding,) = rule.update(dets, T0 + 1)
    assert finding.track_ids == (0,) and finding.confidence == 0.877
    # Litter as a share of the zone (400 x 200 = 80,000 px): a 200 x 100 box covers 25 %.
    litter = zone_rule("dirty_road", ["litter"], threshold=0.2)
    assert litter.measure(Detections.of([("litter", (150, 350, 350, 450), 0.9)])) == 0.25
