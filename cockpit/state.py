"""What the wall screen knows right now, folded from bus records; knows nothing of how it is shown.

Every record type is applied idempotently: old, repeated or late records change nothing, so the
fold can start from the store and the streams' history and then follow the live streams.
"""

from __future__ import annotations

import math
import threading
import uuid
from collections import deque
from dataclasses import dataclass

from config.schema import AppConfig
from dispatch.states import OPEN_STATES
from streams.records import (
    AlertLevel,
    CameraHealth,
    Event,
    Record,
    TicketAlert,
    TicketChange,
    UnitAck,
    UnitPosition,
)

OPEN = set(OPEN_STATES)
A = AlertLevel


TRACK_S = 30 * 60  # how much of each unit's way is drawn behind it
TRACK_POINTS = 300  # at most this many points per track
TRACK_STEP_S, TRACK_STEP_M = 30, 60  # a track keeps a fix this long or this far from the last


def _apart_m(a: UnitPosition, b: UnitPosition) -> float:
    """Metres between two nearby fixes (flat-earth approximation, ample for a track's step)."""
    dx = (a.lon - b.lon) * 111_320 * math.cos(math.radians(a.lat))
    return math.hypot(dx, (a.lat - b.lat) * 110_540)


class LiveState:
    """Units, events, open tickets, camera health and warnings; thread-safe; `version` grows on
    every change."""

    def __init__(self, cfg: AppConfig):
        self.units: dict[str, UnitPosition] = {}
        # Each unit's way over the last TRACK_S seconds (its track on the map): a fix every
        # TRACK_STEP_S or TRACK_STEP_M, and its latest.
        self.tracks: dict[str, deque[UnitPosition]] = {}
        self.events: deque[Event] = deque(maxlen=500)
        self.tickets: dict[str, TicketChange] = {}  # open tickets only
        self._ticket_versions: dict[str, int] = {}
        self.health: dict[str, CameraHealth] = {}
        self.alerts: dict[int, ActiveAlert] = {}  # raised and not yet cleared, by warning id
        self.unit_acks: dict[str, UnitAck] = {}  # the latest acknowledgement of each unit
        self._cleared: set[int] = set()  # a warning id, once cleared, never comes back
        self.version = 0
        self.epoch = uuid.uuid4().hex  # a restarted cockpit counts versions from 0 again
        self.lock = threading.Lock()
        self._known_units = {u.id for u in cfg.units}

    def apply(self, record: Record) -> None:
        """Fold one bus record into the state; old or repeated records change nothing."""
        with self.lock:
            if self._apply(record):
                self.version += 1

    def _apply(self, record: Record) -> bool:
        if isinstance(record, UnitPosition):
            old = self.units.get(record.unit_id)
            if record.unit_id not in self._known_units or (old and old.fix_time >= record.fix_time):
                return False
            self.units[record.unit_id] = record
            track = self.tracks.setdefault(record.unit_id, deque(maxlen=TRACK_POINTS))
            near = len(track) >= 2 and (
                record.fix_time - track[-2].fix_time < TRACK_STEP_S
                and _apart_m(record, track[-2]) < TRACK_STEP_M
            )
            if near:  # the line's end follows the unit; the points behind it stay sparse
                track[-1] = record
            else:
                track.append(record)
            while track and track[0].fix_time < record.fix_time - TRACK_S:
                track.popleft()
        elif isinstance(record, TicketChange):
            # Versions of closed tickets are kept too, so a late redelivery of an older change
            # cannot bring a closed ticket back onto the wall.
            if self._ticket_versions.get(record.ticket_id, 0) >= record.version:
                return False
            self._ticket_versions[record.ticket_id] = record.version
            if record.status in OPEN:
                self.tickets[record.ticket_id] = record
            else:
                self.tickets.pop(record.ticket_id, None)
                for warning_id in [
                    w for w, a in self.alerts.items() if a.record.ticket_id == record.ticket_id
                ]:
                    del self.alerts[warning_id]  # a closed ticket has nothing left to warn about
                    self._cleared.add(warning_id)
        elif isinstance(record, Event):
            if any(e.event_id == record.event_id for e in self.events):
                return False
            self.events.append(record)
        elif isinstance(record, CameraHealth):
            self.health[record.camera_id] = record
        elif isinstance(record, TicketAlert):
            return self._apply_alert(record)
        elif isinstance(record, UnitAck):
            old = self.unit_acks.get(record.unit_id)
            if old is not None and old.at >= record.at:
                return False
            self.unit_acks[record.unit_id] = record
        return True

    def _apply_alert(self, alert: TicketAlert) -> bool:
        """Raised and escalated warnings stay until cleared; acknowledging marks one handled,
        muting hides it until its time is up."""
        if alert.warning_id in self._cleared:
            return False
        known = self.alerts.get(alert.warning_id)
        if alert.level == A.CLEARED:
            self._cleared.add(alert.warning_id)
            return self.alerts.pop(alert.warning_id, None) is not None
        if alert.level in (A.OVERDUE, A.ESCALATED):
            if known and (alert.level, known.record.level) != (A.ESCALATED, A.OVERDUE):
                return False  # a repeat, or an overdue arriving after its escalation
            self.alerts[alert.warning_id] = ActiveAlert(alert)  # escalation is news: unseen again
        elif known is None:
            return False  # an operator's action on a warning already cleared
        elif alert.level == A.ACKNOWLEDGED:
            known.handled_by = alert.actor or "?"
        elif alert.level == A.MUTED:
            known.muted_until = alert.muted_until
        return True


@dataclass
class ActiveAlert:
    """A warning on the wall: its latest raise, and what operators have done about it."""

    record: TicketAlert  # the raise: level overdue | escalated
    handled_by: str | None = None
    muted_until: float | None = None
