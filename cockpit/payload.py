"""What the wall screen shows: the live state rendered into one push payload per language.

Plain data for the browser (column arrays for the map traces, rows for the feed and the warnings,
KPI figures); the client-side callback turns it into the page.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

from cockpit.figures import UNIT_COLORS, on_tiles, trace_index, view_settings
from cockpit.state import LiveState
from config.i18n import t
from config.schema import AppConfig
from config.sources import watched_cameras
from dispatch.publish import busy_rank
from dispatch.states import UNIT_BUSY, TicketState
from streams.records import AlertLevel, TicketChange

S = TicketState
A = AlertLevel
# Warm colours for work (units are cool colours on the map, so the two never read alike).
STATUS_COLORS = {
    S.NEW: "#ffb020",
    S.DISPATCHED: "#ff8c42",
    S.ACCEPTED: "#ffd666",
    S.ON_SITE: "#ffe58f",
    S.REOPENED: "#ff4d4f",
    S.ESCALATED: "#ff4d4f",
}
# Cameras: white when online, red when offline, grey when unknown (units use the greens).
HEALTH_COLORS = {True: "#f5f7fa", False: "#ff4d4f", None: "#6b7a90"}
PICTURE_PROBLEM = "#ffb020"  # online, but frozen, dark, blurred or turned away
HEALTH_LABELS = {True: "health.online", False: "health.offline", None: "health.unknown"}
RECENT_EVENT_S = 120  # events pulse on the map for two minutes
FEED_LENGTH = 8
ALERT_LENGTH = 4  # the panel shows the most pressing warnings; the count says how many in all


UNIT_AMBER, UNIT_RED = "#ffb020", "#ff4d4f"  # long on one stage: amber, then red
UNIT_SEEN = "#c9a35a"  # ... and an operator has acknowledged it (muted until it moves on)


class WallView:
    """Renders a LiveState for the browsers, as of the clock's now."""

    def __init__(
        self,
        cfg: AppConfig,
        state: LiveState,
        clock: Callable[[], float] = time.time,
        emergency=None,
    ):
        self.cfg, self.state, self.clock = cfg, state, clock
        self.emergency = emergency  # the pinned incident (cockpit.emergency_watch), if any
        self._unit_cfg = {u.id: u for u in cfg.units}
        # "Units online" counts the units tickets are routed to (not duty supervisors).
        routed = {route.unit_type for route in cfg.routing}
        self._field_units = {u.id for u in cfg.units if u.type in routed}
        self._watched = watched_cameras(cfg)  # optional cameras without their file are left out
        self._shift = on_tiles(cfg)
        self._trace = trace_index(cfg)
        self._type_colour = {
            ut.id: UNIT_COLORS[i % len(UNIT_COLORS)] for i, ut in enumerate(cfg.unit_types)
        }
        self._view = view_settings(cfg)
        self._zone = cfg.district.zone  # feed times in district time
        self._category_names = {c.id: c.names for c in cfg.categories}

    def payload(self, lang: str) -> dict:
        """Everything the browser needs to redraw the live parts, in one language."""
        with self.state.lock:
            now = self.clock()
            return {
                "version": self.state.version,
                "epoch": self.state.epoch,
                "traces": self._trace,
                "view": self._view,
                "cameras": self._cameras(lang),
                "units": self._units(lang, now),
                "tracks": self._tracks(),
                "tickets": self._tickets(lang),
                "events": self._events(now, lang),
                "kpis": self._kpis(now),
                "feed": self._feed(lang),
                "alerts": self._alerts(now, lang),
                "emergency": self.emergency.summary(lang) if self.emergency else None,
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
            health = self.state.health.get(camera.id)
            online = health.online if health else None
            label = f"{getattr(camera.name, lang)} · {t(HEALTH_LABELS[online], lang)}"
            colour = HEALTH_COLORS[online]
            if online and health.problems:  # frames come, but the picture is wrong
                label += " · " + "、".join(t(f"picture.{p}", lang) for p in health.problems)
                colour = PICTURE_PROBLEM
            rows.append((camera.position, colour, label, camera.id))
        return _columns(rows, self._shift)

    def _tracks(self) -> dict:
        """Every unit's way over the last half hour, as one line trace (None between units),
        to 0.1 m: a wall redraws it on every push, so it carries nothing else."""
        lon: list = []
        lat: list = []
        for _unit_id, track in sorted(self.state.tracks.items()):
            if len(track) < 2:
                continue
            points = _columns([((f.lon, f.lat), None, "", "") for f in track], self._shift)
            lon += [round(x, 6) for x in points["lon"]] + [None]
            lat += [round(y, 6) for y in points["lat"]] + [None]
        return {"lon": lon, "lat": lat, "text": [], "ids": [], "color": []}

    def _units(self, lang: str, now: float) -> dict:
        """Each unit at its last fix, coloured by how long it has been on its current ticket's
        stage (its type's colour, amber past `map.unit_amber_min`, red past `unit_red_min`)."""
        busy: dict[str, TicketChange] = {}
        for ticket in self.state.tickets.values():
            if not ticket.unit_id or ticket.status not in UNIT_BUSY:
                continue
            held = busy.get(ticket.unit_id)
            rank = busy_rank(ticket.status, ticket.status_since or ticket.changed_at)
            if held is None or rank > busy_rank(held.status, held.status_since or held.changed_at):
                busy[ticket.unit_id] = ticket
        by_type: dict[str, list] = {f"units:{ut.id}": [] for ut in self.cfg.unit_types}
        for unit_id, fix in sorted(self.state.units.items()):
            unit = self._unit_cfg[unit_id]
            label = f"{unit.label(lang)} · {getattr(self.cfg.unit_type(unit.type).names, lang)}"
            colour = self._type_colour[unit.type]
            ticket = busy.get(unit_id)
            if ticket is not None:
                colour, label = self._time_in_status(unit_id, ticket, now, colour, label, lang)
            by_type[f"units:{unit.type}"].append(((fix.lon, fix.lat), colour, label, unit_id))
        return {trace: _columns(rows, self._shift) for trace, rows in by_type.items()}

    def _time_in_status(self, unit_id, ticket, now, colour, label, lang) -> tuple[str, str]:
        """A busy unit's colour and label: how long on its ticket's stage (amber, then red,
        past the thresholds), and who acknowledged that, until the ticket moves on."""
        since = ticket.status_since or ticket.changed_at
        minutes = max(0, int((now - since) // 60))
        label += f" · {t('status.' + ticket.status, lang)} "
        label += t("map.minutes", lang).format(m=minutes)
        if minutes < self.cfg.map.unit_amber_min:
            return colour, label
        ack = self.state.unit_acks.get(unit_id)
        if ack is not None and (ack.ticket_id, ack.status_since) == (ticket.ticket_id, since):
            who = ack.actor.split(":", 1)[-1]
            return UNIT_SEEN, label + " · " + t("map.unit_seen", lang).format(who=who)
        return (UNIT_RED if minutes >= self.cfg.map.unit_red_min else UNIT_AMBER), label

    def _tickets(self, lang: str) -> dict:
        rows = []
        for ticket in sorted(self.state.tickets.values(), key=lambda x: x.changed_at):
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
        return _columns(rows, self._shift)

    def _events(self, now: float, lang: str) -> dict:
        """Findings and reports of the last minutes, named and timed as the feed shows them."""
        recent = [e for e in self.state.events if now - e.detected_at <= RECENT_EVENT_S]
        rows = [((e.lon, e.lat), None, f"{self._category_name(e.category, lang)} · "
                 f"{dt.datetime.fromtimestamp(e.detected_at, self._zone):%H:%M}", e.event_id)
                for e in recent]  # fmt: skip
        return _columns(rows, self._shift)

    def _category_name(self, category: str, lang: str) -> str:
        names = self._category_names.get(category)
        return getattr(names, lang) if names else category

    def _kpis(self, now: float) -> dict:
        stale = self.cfg.services.position_stale_s
        online = sum(
            1
            for unit_id, fix in self.state.units.items()
            if unit_id in self._field_units and now - fix.fix_time <= stale
        )
        cameras_online = sum(1 for h in self.state.health.values() if h.online)
        return {
            "open": len(self.state.tickets),
            "events": sum(1 for e in self.state.events if now - e.detected_at <= 3600),
            "units": f"{online}/{len(self._field_units)}",
            "cameras": f"{cameras_online}/{len(self._watched)}",
        }

    def _feed(self, lang: str) -> list[dict]:
        newest = sorted(self.state.tickets.values(), key=lambda x: x.changed_at, reverse=True)
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
            (a for a in self.state.alerts.values() if not a.muted_until or a.muted_until <= now),
            key=lambda a: (
                a.handled_by is not None,
                a.record.level != A.ESCALATED,
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
        for e in self.state.events:  # oldest first, so the newest per camera and category wins
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


def _columns(rows: list, shift) -> dict:
    """Rows of ((lon, lat), colour, text, id) as the column arrays Plotly traces take, in the
    datum the map is drawn in (`shift`)."""
    lon, lat = ([r[0][0] for r in rows], [r[0][1] for r in rows])
    if rows:
        lon, lat = (column.tolist() for column in shift(lon, lat))
    return {
        "lon": lon,
        "lat": lat,
        "color": [r[1] for r in rows],
        "text": [r[2] for r in rows],
        "ids": [r[3] for r in rows],
    }
