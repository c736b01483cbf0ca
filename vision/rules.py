"""Zone rules as small stateful objects with an explicit clock: `update(detections, now)`.

Each rule watches one zone of one camera and yields at most one `Finding` per problem: a condition
must hold for `dwell_s`, gaps up to `exit_grace_s` (a passing bus hiding a parked car) do not reset
it, and after an event the zone stays quiet for `cooldown_s`.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import numpy as np

from config.rules import ActiveHours, RuleConfig
from config.schema import ZoneConfig
from vision.detections import Detections

RECHECK_STILL_S = 10.0  # a re-check counts a vehicle as parked once it stood still this long


@dataclass(frozen=True)
class Finding:
    """A confirmed problem in a zone: what fired, since when, and the boxes that show it."""

    rule_id: str
    zone_id: str
    category: str
    track_ids: tuple[int, ...]
    confidence: float
    first_seen: float
    confirmed_at: float
    boxes: np.ndarray
    measure: float = 0.0


class Zone:
    """A pixel polygon with a vectorised point-in-polygon test."""

    def __init__(
        self,
        zone_id: str,
        polygon: list[tuple[float, float]],
        bays: list[list[tuple[float, float]]] | None = None,
    ):
        self.id = zone_id
        self.points = np.asarray(polygon, np.float64)
        self.bays = [Zone(f"{zone_id}/bay-{i}", bay) for i, bay in enumerate(bays or [])]
        x, y = self.points[:, 0], self.points[:, 1]
        self.area = 0.5 * abs(float(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))))

    def contains(self, points: np.ndarray) -> np.ndarray:
        """Boolean mask: which (x, y) points fall inside the polygon (ray casting)."""
        if len(points) == 0:
            return np.zeros(0, bool)
        px, py = points[:, 0][:, None], points[:, 1][:, None]
        x0, y0 = self.points[:, 0], self.points[:, 1]
        x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
        crosses = (y0 > py) != (y1 > py)
        with np.errstate(divide="ignore", invalid="ignore"):
            xs = x0 + (py - y0) * (x1 - x0) / (y1 - y0)
        return (crosses & (px < xs)).sum(axis=1) % 2 == 1

    def select(self, dets: Detections, by: str = "anchor") -> Detections:
        """Detections whose ground point (or, for `by='any'`, centre or ground point) is inside,
        less those standing in one of the zone's bays."""
        if len(dets) == 0:
            return dets
        anchors = dets.anchors()
        inside = self.contains(anchors)
        if by == "any":
            centres = np.stack(
                [(dets.xyxy[:, 0] + dets.xyxy[:, 2]) / 2, (dets.xyxy[:, 1] + dets.xyxy[:, 3]) / 2],
                1,
            )
            inside |= self.contains(centres)
        for bay in self.bays:
            inside &= ~bay.contains(anchors)
        return dets[inside]


class Hold:
    """A condition held for `dwell_s` (gaps up to `grace_s` forgiven) fires once, then rests."""

    def __init__(self, dwell_s: float, grace_s: float, cooldown_s: float):
        self.dwell_s, self.grace_s, self.cooldown_s = dwell_s, grace_s, cooldown_s
        self.since: float | None = None
        self.last_true = -math.inf
        self.fired = False
        self.quiet_until = -math.inf

    def update(self, present: bool, now: float) -> bool:
        """Feed one observation; True exactly when the problem is confirmed."""
        gap = now - self.last_true
        if present:
            if self.since is None or gap > self.grace_s:
                self.since, self.fired = now, False
            self.last_true = now
        elif self.since is not None and gap > self.grace_s:
            self.since, self.fired = None, False
        if self.since is None or self.fired or now < self.quiet_until:
            return False
        if now - self.since >= self.dwell_s:
            self.fired, self.quiet_until = True, now + self.cooldown_s
            return True
        return False

    def reset(self) -> None:
        """Forget the current problem (outside active hours); the cooldown stays."""
        self.since, self.fired, self.last_true = None, False, -math.inf


class ActiveClock:
    """Whether a rule's active hours include an instant, in the district's time zone."""

    def __init__(self, hours: ActiveHours | None, tz: str):
        self.hours, self.tz = hours, ZoneInfo(tz)

    def active(self, now: float) -> bool:
        """True when `now` (epoch seconds) falls inside the active hours (or there are none)."""
        if self.hours is None:
            return True
        local = dt.datetime.fromtimestamp(now, self.tz).strftime("%H:%M")
        start, end = self.hours.start, self.hours.end
        if start <= end:
            return start <= local < end
        return local >= start or local < end  # overnight, e.g. 22:00-06:00


class ZoneRule:
    """Base: one rule on one zone; subclasses say what 'the problem is present' means."""

    by = "any"

    def __init__(self, rule: RuleConfig, zone: Zone, tz: str = "Asia/Shanghai"):
        self.rule, self.zone = rule, zone
        self.clock = ActiveClock(rule.active_hours, tz)
        self.hold = Hold(rule.dwell_s, rule.exit_grace_s, rule.cooldown_s)
        self.seen_frames = 0
        self.best_conf = 0.0

    def rest_until(self, until: float) -> None:
        """Stay quiet until `until`, as after an event (one an earlier worker reported)."""
        self.hold.quiet_until = max(self.hold.quiet_until, until)

    def relevant(self, dets: Detections) -> Detections:
        """This rule's classes inside its zone."""
        return self.zone.select(dets.of_classes(self.rule.classes), self.by)

    def measure(self, mine: Detections) -> float:
        """How much of the problem there is (count by default)."""
        return float(len(mine))

    def present(self, dets: Detections) -> bool:
        """Is the problem visible in this frame (the re-check a verification asks for)?"""
        return self.measure(self.relevant(dets)) >= self.rule.threshold

    def update(self, dets: Detections, now: float) -> list[Finding]:
        """Feed one analysed frame; returns a finding when the problem is confirmed."""
        if not self.clock.active(now):
            self.hold.reset()
            return []
        mine = self.relevant(dets)
        amount = self.measure(mine)
        present = amount >= self.rule.threshold
        self.seen_frames = self.seen_frames + 1 if present else 0
        self.best_conf = max(self.best_conf, float(mine.confidence.max())) if present else 0.0
        counted = present and self.seen_frames >= self.rule.enter_frames
        if not self.hold.update(counted, now):
            return []
        return [self._finding(mine, self.hold.since or now, now, amount)]

    def _finding(self, mine: Detections, since: float, now: float, amount: float) -> Finding:
        ids = tuple(int(t) for t in mine.track_id if t >= 0)
        return Finding(
            self.rule.id,
            self.zone.id,
            self.rule.category,
            ids,
            round(self.best_conf, 3),
            since,
            now,
            mine.xyxy.copy(),
            amount,
        )


class BinOverflowRule(ZoneRule):
    """An overflowing bin (class such as `bin_overflow`) in the bin's zone for `dwell_s`."""


class DirtyRoadRule(ZoneRule):
    """Litter on the road: a count >= threshold, or (threshold < 1) a covered share of the zone."""

    def measure(self, mine: Detections) -> float:
        """Count of pieces, or the share of the zone's area their boxes cover."""
        if self.rule.threshold >= 1:
            return float(len(mine))
        if not len(mine) or self.zone.area <= 0:
            return 0.0
        wh = mine.xyxy[:, 2:] - mine.xyxy[:, :2]
        return float((wh[:, 0] * wh[:, 1]).sum() / self.zone.area)


@dataclass
class Candidate:
    """A vehicle standing in the zone: where it stopped, since when, under which track ids."""

    anchor: np.ndarray
    since: float
    last_seen: float
    track_id: int
    frames: int = 1
    fired: bool = False
    confidence: float = 0.0
    box: np.ndarray = field(default_factory=lambda: np.zeros(4, np.float32))


class IllegalParkingRule(ZoneRule):
    """A vehicle whose ground point stays inside the no-parking zone, within `pixel_tolerance`, for
    `dwell_s` during active hours. A vehicle hidden for up to `exit_grace_s` keeps its timer and is
    recognised again by its place even when the tracker gives it a new id. A thing in one of the
    zone's `bays` is where it belongs and never counts."""

    by = "anchor"

    def __init__(self, rule: RuleConfig, zone: Zone, tz: str = "Asia/Shanghai"):
        super().__init__(rule, zone, tz)
        self.candidates: list[Candidate] = []
        self.quiet_until = -math.inf

    def rest_until(self, until: float) -> None:
        """Stay quiet until `until`, as after an event (one an earlier worker reported)."""
        self.quiet_until = max(self.quiet_until, until)

    def present(self, dets: Detections) -> bool:
        """A vehicle in `dets` stands where one has stood still for a little while (the
        re-check after a fix)."""
        return self._standing(dets) >= 1

    def _standing(self, dets: Detections) -> int:
        """How many of this rule's things in `dets` stand where one has stood still."""
        still = [c.anchor for c in self.candidates if c.last_seen - c.since >= RECHECK_STILL_S]
        tol = self.rule.pixel_tolerance
        points = self.relevant(dets).anchors()
        return sum(any(np.linalg.norm(p - a) <= tol for a in still) for p in points)

    def update(self, dets: Detections, now: float) -> list[Finding]:
        """Match things to candidates, drop the long-gone ones, fire the due ones."""
        if not self.clock.active(now):
            self.candidates.clear()
            return []
        self._match(self.relevant(dets), now)
        self.candidates = [
            c for c in self.candidates if now - c.last_seen <= self.rule.exit_grace_s
        ]
        return self._fire(now)

    def _due(self, now: float) -> list[Candidate]:
        """Candidates seen often enough that have stood still for `dwell_s` and are in view now
        (the evidence shows them: a thing that left within the grace is not reported)."""
        return [
            c
            for c in self.candidates
            if c.frames >= self.rule.enter_frames
            and now - c.since >= self.rule.dwell_s
            and c.last_seen >= now
        ]

    def _fire(self, now: float) -> list[Finding]:
        """One finding per due thing not yet reported, outside the cooldown."""
        out = []
        for c in self._due(now):
            if not c.fired and now >= self.quiet_until:
                c.fired, self.quiet_until = True, now + self.rule.cooldown_s
                ids = (c.track_id,) if c.track_id >= 0 else ()
                out.append(self._report([c], ids, now))
        return out

    def _report(self, due: list[Candidate], ids: tuple[int, ...], now: float) -> Finding:
        return Finding(
            self.rule.id,
            self.zone.id,
            self.rule.category,
            ids,
            round(max(c.confidence for c in due), 3),
            min(c.since for c in due),
            now,
            np.stack([c.box for c in due]),
            float(len(due)),
        )

    def _match(self, mine: Detections, now: float) -> None:
        anchors, tol = mine.anchors(), self.rule.pixel_tolerance
        taken: set[int] = set()
        for i in np.argsort(-mine.confidence):
            tid, point = int(mine.track_id[i]), anchors[i]
            cand = next(
                (
                    c
                    for c in self.candidates
                    if tid >= 0 and c.track_id == tid and id(c) not in taken
                ),
                None,
            )
            if cand is None:
                free = [c for c in self.candidates if id(c) not in taken and c.last_seen < now]
                near = [(float(np.linalg.norm(c.anchor - point)), k) for k, c in enumerate(free)]
                near = [(d, k) for d, k in near if d <= tol]
                cand = free[min(near)[1]] if near else None
            if cand is not None and float(np.linalg.norm(cand.anchor - point)) > tol:
                cand.anchor, cand.since, cand.frames, cand.fired = (
                    point,
                    now,
                    0,
                    False,
                )  # it moved on
            if cand is None:
                cand = Candidate(point, now, now, tid)
                self.candidates.append(cand)
            else:
                cand.frames += 1
                cand.last_seen, cand.track_id = now, tid if tid >= 0 else cand.track_id
            cand.confidence = max(cand.confidence, float(mine.confidence[i]))
            cand.box = mine.xyxy[i].copy()
            taken.add(id(cand))


class StreetVendingRule(IllegalParkingRule):
    """店外经营/占道经营: goods or a stall (class such as `stall`) put out on the pavement before
    a shop, standing within `pixel_tolerance` for `dwell_s` during `active_hours` (the hours in
    which the street forbids it). Each stall is timed on its own, as a parked car is; a vendor
    who packs up before the dwell ends is not reported, one who steps behind a passer-by for up
    to `exit_grace_s` keeps the timer."""


class BikeParkingRule(IllegalParkingRule):
    """非机动车乱停放: at least `threshold` bicycles or e-bikes standing outside the zone's marked
    `bays`, each still for `dwell_s`. One finding shows them all; a bicycle ridden through, or
    parked in a bay, never counts. Bicycles in a row overlap, and a detector may box one of them
    twice: a box whose ground point lies within half the `pixel_tolerance` of a surer box's is
    that bicycle again, not another."""

    def relevant(self, dets: Detections) -> Detections:
        """The bicycles outside the bays, each counted once."""
        mine = super().relevant(dets)
        anchors, radius = mine.anchors(), self.rule.pixel_tolerance / 2
        kept: list[int] = []
        for i in np.argsort(-mine.confidence, kind="stable"):
            if all(np.linalg.norm(anchors[i] - anchors[k]) > radius for k in kept):
                kept.append(int(i))
        return mine[np.array(sorted(kept), np.int64)]

    def present(self, dets: Detections) -> bool:
        """Enough bicycles stand where bicycles have stood still (the re-check after a fix)."""
        return self._standing(dets) >= self.rule.threshold

    def _fire(self, now: float) -> list[Finding]:
        due = self._due(now)
        fresh = any(not c.fired for c in due)
        if len(due) < self.rule.threshold or not fresh or now < self.quiet_until:
            return []
        for c in due:
            c.fired = True
        self.quiet_until = now + self.rule.cooldown_s
        ids = tuple(c.track_id for c in due if c.track_id >= 0)
        return [self._report(due, ids, now)]


RULE_KINDS = {
    "illegal_parking": IllegalParkingRule,
    "street_vending": StreetVendingRule,
    "bike_parking": BikeParkingRule,
    "bin_overflow": BinOverflowRule,
    "dirty_road": DirtyRoadRule,
}


def build_rules(
    zones: list[ZoneConfig],
    rules: list[RuleConfig],
    tz: str,
    scale: tuple[float, float] = (1.0, 1.0),
) -> list[ZoneRule]:
    """One rule object per camera zone; polygons scaled when the stream size differs."""
    by_id = {r.id: r for r in rules}
    out = []
    for z in zones:
        rule = by_id[z.rule]
        sx, sy = scale
        polygon = [(x * sx, y * sy) for x, y in z.polygon]
        bays = [[(x * sx, y * sy) for x, y in bay] for bay in z.bays]
        out.append(RULE_KINDS[rule.kind](rule, Zone(z.id, polygon, bays), tz))
    return out
