"""Live state of the district, fed from the bus, rendered into per-language push payloads."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from cockpit.figures import trace_index, view_settings
from config.i18n import t
from config.schema import AppConfig
from config.sources import watched_cameras
from dispatch.states import OPEN_STATES
from streams import keys
from streams.bus import Bus
from streams.records import (
    CameraHealth,
    Event,
    Record,
    RecordError,
    TicketAlert,
    TicketChange,
    UnitPosition,
)
from streams.records import decode as decode_record

log = logging.getLogger(__name__)
OPEN = set(OPEN_STATES)
# Warm colours for work (units are cool colours on the map, so the two never read alike).
STATUS_COLORS = {
    "new": "#ffb020",
    "dispatched": "#ff8c42",
    "accepted": "#ffd666",
    "on_site": "#ffe58f",
    "reopened": "#ff4d4f",
    "escalated": "#ff4d4f",
}
# Cameras: white when online, red when offline, grey when unknown (units use the greens).
HEALTH_COLORS = {True: "#f5f7fa", False: "#ff4d4f", None: "#6b7a90"}
HEALTH_LABELS = {True: "health.online", False: "health.offline", None: "health.unknown"}
RECENT_EVENT_S = 120  # events pulse on the map for two minutes
FEED_LENGTH = 8
ALERT_LENGTH = 4  # the panel shows the most pressing warnings; the count says how many in all


class LiveState:
    """What the wall screen shows right now; thread-safe; `version` grows on every change."""

    def __init__(self, cfg: AppConfig, clock: Callable[[], float] = time.time):
        self.cfg, self.clock = cfg, clock
        self.units: dict[str, UnitPosition] = {}
        self.events: deque[Event] = deque(maxlen=500)
        self.tickets: dict[str, TicketChange] = {}  # open tickets only
        self._ticket_versions: dict[str, int] = {}
        self.health: dict[str, CameraHealth] = {}
        self.alerts: dict[int, ActiveAlert] = {}  # raised and not yet cleared, by warning id
        self._cleared: set[int] = set()  # a warning id, once cleared, never comes back
        self.version = 0
        self._lock = threading.Lock()
        self._unit_cfg = {u.id: u for u in cfg.units}
        # "Units online" counts the units tickets are routed to (not duty supervisors).
        routed = {route.unit_type for route in cfg.routing}
        self._field_units = {u.id for u in cfg.units if u.type in routed}
        self._watched = watched_cameras(cfg)  # optional cameras without their file are left out
        self._trace = trace_index(cfg)
        self._view = view_settings(cfg)
        self._zone = cfg.district.zone  # feed times in district time

    def apply(self, record: Record) -> None:
        """Fold one bus record into the state; old or repeated records change nothing."""
        with self._lock:
            if self._apply(record):
                self.version += 1

    def _apply(self, record: Record) -> bool:
        if isinstance(record, UnitPosition):
            old = self.units.get(record.unit_id)
            if record.unit_id not in self._unit_cfg or (old and old.fix_time >= record.fix_time):
                return False
            self.units[record.unit_id] = record
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
        return True

    def _apply_alert(self, alert: TicketAlert) -> bool:
        """Raised and escalated warnings stay until cleared; acknowledging marks one handled,
        muting hides it until its time is up."""
        if alert.warning_id in self._cleared:
            return False
        known = self.alerts.get(alert.warning_id)
        if alert.level == "cleared":
            self._cleared.add(alert.warning_id)
            return self.alerts.pop(alert.warning_id, None) is not None
        if alert.level in ("overdue", "escalated"):
            if known and (alert.level, known.record.level) != ("escalated", "overdue"):
                return False  # a repeat, or an overdue arriving after its escalation
            self.alerts[alert.warning_id] = ActiveAlert(alert)  # escalation is news: unseen again
        elif known is None:
            return False  # an operator's action on a warning already cleared
        elif alert.level == "acknowledged":
            known.handled_by = alert.actor or "?"
        elif alert.level == "muted":
            known.muted_until = alert.muted_until
        return True

    def payload(self, lang: str) -> dict:
        """Everything the browser needs to redraw the live parts, in one language."""
        with self._lock:
            now = self.clock()
            return {
                "version": self.version,
                "traces": self._trace,
                "view": self._view,
                "cameras": self._cameras(lang),
                "units": self._units(lang),
                "tickets": self._tickets(lang),
                "events": self._events(now),
                "kpis": self._kpis(now),
                "feed": self._feed(lang),
                "alerts": self._alerts(now, lang),
                "labels": {
                    "empty": t("feed.empty", lang),
                    "title": t("feed.title", lang),
                    "alerts_none": t("alert.none", lang),
                    "alerts_more": t("alert.more", lang),
                },
            }

    def _cameras(self, lang: str) -> dict:
        rows = []
        for camera in self._watched:
            health = self.health.get(camera.id)
            online = health.online if health else None
            rows.append(
                (
                    camera.position,
                    HEALTH_COLORS[online],
                    f"{getattr(camera.name, lang)} · {t(HEALTH_LABELS[online], lang)}",
                    camera.id,
                )
            )
        return _columns(rows)

    def _units(self, lang: str) -> dict:
        by_type: dict[str, list] = {f"units:{ut.id}": [] for ut in self.cfg.unit_types}
        for unit_id, fix in sorted(self.units.items()):
            unit = self._unit_cfg[unit_id]
            label = f"{unit.label(lang)} · {getattr(self.cfg.unit_type(unit.type).names, lang)}"
            by_type[f"units:{unit.type}"].append(((fix.lon, fix.lat), None, label, unit_id))
        return {trace: _columns(rows) for trace, rows in by_type.items()}

    def _tickets(self, lang: str) -> dict:
        rows = []
        for ticket in sorted(self.tickets.values(), key=lambda x: x.changed_at):
            category = getattr(self.cfg.category(ticket.category).names, lang)
            label = f"{category} · {t('status.' + ticket.status, lang)}"
            if ticket.unit_id:
                label += f" · {self._unit_name(ticket.unit_id, lang)}"
            rows.append(
                (
                    (ticket.lon, ticket.lat),
                    STATUS_COLORS.get(ticket.status, "#ffb020"),
                    label,
                    ticket.ticket_id,
                )
            )
        return _columns(rows)

    def _events(self, now: float) -> dict:
        recent = [e for e in self.events if now - e.detected_at <= RECENT_EVENT_S]
        return _columns([((e.lon, e.lat), None, e.category, e.event_id) for e in recent])

    def _kpis(self, now: float) -> dict:
        stale = self.cfg.services.position_stale_s
        online = sum(
            1
            for unit_id, fix in self.units.items()
            if unit_id in self._field_units and now - fix.fix_time <= stale
        )
        return {
            "open": len(self.tickets),
            "events": sum(1 for e in self.events if now - e.detected_at <= 3600),
            "units": f"{online}/{len(self._field_units)}",
            "cameras": f"{sum(1 for h in self.health.values() if h.online)}/{len(self._watched)}",
        }

    def _feed(self, lang: str) -> list[dict]:
        newest = sorted(self.tickets.values(), key=lambda x: x.changed_at, reverse=True)
        snapshots = self._snapshots()
        return [
            {
                "id": ticket.ticket_id,
                "time": dt.datetime.fromtimestamp(ticket.changed_at, self._zone).strftime(
                    "%H:%M:%S"
                ),
                "category": getattr(self.cfg.category(ticket.category).names, lang)
                + (
                    f" · {t('feed.reports', lang).format(n=ticket.reports)}"
                    if ticket.reports > 1
                    else ""
                ),
                "status": ticket.status,
                "status_label": t("status." + ticket.status, lang),
                "where": self._grid_label(ticket.grid_id, lang),
                "unit": self._unit_name(ticket.unit_id, lang)
                if ticket.unit_id
                else t("feed.unassigned", lang),
                "snapshot": self._snapshot_url(ticket, snapshots),
                "snapshot_alt": t("feed.snapshot", lang),
            }
            for ticket in newest[:FEED_LENGTH]
        ]

    def _alerts(self, now: float, lang: str) -> dict:
        """Warnings not muted: unseen before seen by an operator, escalated before overdue,
        longest overdue first."""
        shown = sorted(
            (a for a in self.alerts.values() if not a.muted_until or a.muted_until <= now),
            key=lambda a: (
                a.handled_by is not None,
                a.record.level != "escalated",
                a.record.due_at,
            ),
        )
        rows = []
        for alert in shown[:ALERT_LENGTH]:
            rec = alert.record
            late_min = max(0, int((now - rec.due_at) // 60))
            # Before acceptance (and for verification) the warning is the supervisor's to act on.
            owner = rec.unit_id
            if rec.stage in ("accept", "verify") and rec.supervisor_id:
                owner = rec.supervisor_id
            if alert.handled_by:
                who = t("alert.handled", lang).format(who=alert.handled_by)
            else:
                who = self._unit_name(owner, lang) if owner else t("feed.unassigned", lang)
            rows.append(
                {
                    "id": rec.warning_id,
                    "ticket": rec.ticket_id,
                    "level": rec.level,
                    "handled": alert.handled_by is not None,
                    "text": f"{getattr(self.cfg.category(rec.category).names, lang)} · "
                    + t(f"alert.stage.{rec.stage}", lang),
                    "badge": t(f"alert.{rec.level}", lang),
                    "late": t("alert.late", lang).format(m=late_min),
                    "who": who,
                }
            )
        return {"count": len(shown), "rows": rows}

    def _snapshots(self) -> dict:
        """Snapshot paths of the recent events, by event id and by (camera, category)."""
        out: dict = {}
        for e in self.events:  # oldest first, so the newest per camera and category wins
            if e.snapshot:
                out[e.event_id] = e.snapshot
                if e.camera_id:
                    out[(e.camera_id, e.category)] = e.snapshot
        return out

    @staticmethod
    def _snapshot_url(ticket: TicketChange, snapshots: dict) -> str | None:
        """The camera's evidence for a ticket, as a cockpit URL (None for reports by people)."""
        path = snapshots.get(ticket.event_id) or snapshots.get((ticket.camera_id, ticket.category))
        return f"/{path}" if path and path.startswith("snapshots/") else None

    def _unit_name(self, unit_id: str, lang: str) -> str:
        unit = self._unit_cfg.get(unit_id)
        return unit.label(lang) if unit else unit_id

    @staticmethod
    def _grid_label(grid_id: str | None, lang: str) -> str:
        return f"{t('hover.grid', lang)} {grid_id}" if grid_id else "—"


@dataclass
class ActiveAlert:
    """A warning on the wall: its latest raise, and what operators have done about it."""

    record: TicketAlert  # the raise: level overdue | escalated
    handled_by: str | None = None
    muted_until: float | None = None


def _columns(rows: list) -> dict:
    """Rows of ((lon, lat), colour, text, id) as the column arrays Plotly traces take."""
    return {
        "lon": [r[0][0] for r in rows],
        "lat": [r[0][1] for r in rows],
        "color": [r[1] for r in rows],
        "text": [r[2] for r in rows],
        "ids": [r[3] for r in rows],
    }


class BusFeed:
    """Reads every stream (plain XREAD, so each cockpit sees everything) into a LiveState."""

    def __init__(self, bus: Bus, state: LiveState, history: int = 500):
        self.bus, self.state, self.history = bus, state, history
        self.last_ids: dict[str, str] = {}

    def load_history(self, tickets: list[TicketChange], alerts: list[TicketAlert] = ()) -> None:
        """Start from the store's open tickets and warnings and the streams' recent entries."""
        for name in keys.ALL_STREAMS:
            key = self.bus.key(name)
            entries = self.bus.client.xrevrange(key, count=self.history)
            self.last_ids[key] = entries[0][0].decode() if entries else "0-0"
            if name != keys.TICKET_CHANGES:
                self._apply(reversed(entries))
        for record in [*tickets, *alerts]:
            self.state.apply(record)

    def poll(self, block_ms: int = 500) -> int:
        """Apply whatever arrived since the last call; return how many entries."""
        reply = self.bus.client.xread(self.last_ids, count=1000, block=block_ms) or []
        total = 0
        for key, entries in reply:
            self.last_ids[key.decode()] = entries[-1][0].decode()
            total += self._apply(entries)
        return total

    def _apply(self, entries) -> int:
        count = 0
        for entry_id, fields in entries:
            try:
                self.state.apply(decode_record(fields))
                count += 1
            except RecordError as exc:
                log.warning("skipping entry %s: %s", entry_id, exc)
        return count
