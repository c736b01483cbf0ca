"""The ticket desk: every person- and camera-driven move after filing, with its side effects.

Field units accept, arrive, resolve (with photos) or give a ticket back; operators dispatch,
verify, close and handle warnings; cameras re-check a resolved ticket's zone; a periodic `tick`
raises overdue warnings and escalates them. Each operation runs in one transaction with the
ticket row locked, appends audit rows through `lifecycle.transition`, and publishes the new
ticket state on the bus after commit. Time comes from an injectable clock, so tests can move
through deadlines without sleeping.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from config.schema import AppConfig
from dispatch.calendar import WorkCalendar
from dispatch.lifecycle import TransitionError, transition
from dispatch.routing import Fix, Router
from dispatch.states import OPEN_STATES
from dispatch.store import (
    AuditRow,
    MediaRow,
    ReporterRow,
    Store,
    TicketRow,
    UnitPositionRow,
    WarningRow,
)
from streams import keys
from streams.bus import Bus
from streams.records import TicketAlert, TicketChange, ZoneCheck, new_id

log = logging.getLogger(__name__)

# Where each stage's clock stops: the ticket reached one of these states.
STAGE_DONE = {
    "accept": ("accepted", "on_site", "resolved", "verified", "closed"),
    "arrive": ("on_site", "resolved", "verified", "closed"),
    "resolve": ("resolved", "verified", "closed"),
}
# Before acceptance an overdue ticket goes to the supervisor to re-dispatch; later stages
# stay with the unit working on them and the warning goes up instead.
ESCALATE_STATE_FROM = ("new", "dispatched", "returned", "reopened")
PHOTO_TYPES = {b"\xff\xd8\xff": ("image/jpeg", ".jpg"), b"\x89PNG": ("image/png", ".png")}


class DeskError(ValueError):
    """A request the desk refuses; `status` is the HTTP status an API should answer with."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Photo:
    """An uploaded picture: its bytes and the name the client gave it."""

    data: bytes
    filename: str = "photo"


def utc(epoch: float) -> dt.datetime:
    """Epoch seconds as an aware UTC datetime."""
    return dt.datetime.fromtimestamp(epoch, dt.UTC)


def ticket_change(ticket: TicketRow) -> TicketChange:
    """The bus record describing a ticket's current state."""
    return TicketChange(
        ticket_id=ticket.id,
        version=ticket.version,
        status=ticket.status,
        category=ticket.service_code,
        lon=ticket.lon,
        lat=ticket.lat,
        changed_at=ticket.updated_at.timestamp(),
        event_id=ticket.event_id,
        grid_id=ticket.grid_id,
        community_id=ticket.community_id,
        department_id=ticket.department_id,
        unit_id=ticket.unit_id,
        camera_id=ticket.camera_id,
        source=ticket.source,
        description=ticket.description,
        reports=ticket.merged_events,
    )


def photo_kind(data: bytes) -> tuple[str, str]:
    """(content type, file suffix) of a JPEG or PNG; DeskError for anything else."""
    for magic, kind in PHOTO_TYPES.items():
        if data.startswith(magic):
            return kind
    raise DeskError("the photo is not a JPEG or PNG image; take the picture again", 415)


class Desk:
    """Ticket operations shared by the API, the field page and the dispatcher."""

    def __init__(
        self,
        cfg: AppConfig,
        store: Store,
        bus: Bus | None,
        router: Router | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self.cfg, self.store, self.bus, self.router, self.clock = cfg, store, bus, router, clock
        self.calendar = WorkCalendar(cfg.dispatch.calendar)
        self.media_dir = cfg.services.data_dir / "media"
        self._supervisors = {d.id: d.supervisor for d in cfg.departments}
        self._units = {u.id: u for u in cfg.units}

    # ----- reading -------------------------------------------------------------------------

    def get(self, ticket_id: str) -> TicketRow:
        """The ticket, or DeskError 404."""
        with self.store.session() as session:
            return self._ticket(session, ticket_id, lock=False)

    def audit(self, ticket_id: str) -> list[AuditRow]:
        """The ticket's audit trail, oldest first."""
        with self.store.session() as session:
            query = select(AuditRow).where(AuditRow.ticket_id == ticket_id).order_by(AuditRow.id)
            return list(session.scalars(query))

    def reporters(self, ticket_id: str) -> list[ReporterRow]:
        """The contacts people left with the reports merged into the ticket, oldest first."""
        self.get(ticket_id)  # an unknown ticket is named, not answered with an empty list
        with self.store.session() as session:
            query = (
                select(ReporterRow)
                .where(ReporterRow.ticket_id == ticket_id)
                .order_by(ReporterRow.reported_at, ReporterRow.event_id)
            )
            return list(session.scalars(query))

    def media(self, ticket_ids: Iterable[str]) -> dict[str, list[MediaRow]]:
        """Evidence per ticket, oldest first."""
        ids = list(ticket_ids)
        found: dict[str, list[MediaRow]] = {i: [] for i in ids}
        if not ids:
            return found
        with self.store.session() as session:
            query = select(MediaRow).where(MediaRow.ticket_id.in_(ids)).order_by(MediaRow.added_at)
            for row in session.scalars(query):
                found[row.ticket_id].append(row)
        return found

    def tickets(
        self,
        unit_id: str | None = None,
        status: Iterable[str] | None = None,
        category: str | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        ids: Iterable[str] | None = None,
        limit: int = 200,
    ) -> list[TicketRow]:
        """Tickets matching every given filter, newest first."""
        query = select(TicketRow)
        if unit_id:
            query = query.where(TicketRow.unit_id == unit_id)
        if status:
            query = query.where(TicketRow.status.in_(list(status)))
        if category:
            query = query.where(TicketRow.service_code == category)
        if since:
            query = query.where(TicketRow.requested_at >= since)
        if until:
            query = query.where(TicketRow.requested_at <= until)
        if ids is not None:
            query = query.where(TicketRow.id.in_(list(ids)))
        query = query.order_by(TicketRow.requested_at.desc(), TicketRow.id).limit(limit)
        with self.store.session() as session:
            return list(session.scalars(query))

    def warnings(self, include_muted: bool = False) -> list[WarningRow]:
        """Warnings not yet cleared, newest first (muted ones only when asked)."""
        now = utc(self.clock())
        query = select(WarningRow).where(WarningRow.cleared_at.is_(None))
        if not include_muted:
            query = query.where(
                or_(WarningRow.muted_until.is_(None), WarningRow.muted_until <= now)
            )
        with self.store.session() as session:
            return list(session.scalars(query.order_by(WarningRow.raised_at.desc())))

    def alert_records(self) -> list[TicketAlert]:
        """Every warning not yet cleared as the bus records that rebuild it (raised or escalated,
        then acknowledged, then muted), oldest first: what a wall screen starts from."""
        query = (
            select(WarningRow, TicketRow)
            .join(TicketRow, TicketRow.id == WarningRow.ticket_id)
            .where(WarningRow.cleared_at.is_(None))
            .order_by(WarningRow.raised_at, WarningRow.id)
        )
        out: list[TicketAlert] = []
        with self.store.session() as session:
            for warning, ticket in session.execute(query):
                out.append(self._alert(warning, warning.level, ticket))
                if warning.acknowledged_by:
                    out.append(
                        self._alert(warning, "acknowledged", ticket, warning.acknowledged_by)
                    )
                if warning.muted_until:
                    out.append(self._alert(warning, "muted", ticket))
        return out

    # ----- field units ---------------------------------------------------------------------

    def accept(self, ticket_id: str, unit_id: str, note: str = "") -> TicketRow:
        """The assigned unit takes the job."""
        return self._unit_move(ticket_id, unit_id, "accepted", note)

    def arrive(self, ticket_id: str, unit_id: str, note: str = "") -> TicketRow:
        """The assigned unit is at the place."""
        return self._unit_move(ticket_id, unit_id, "on_site", note)

    def resolve(
        self, ticket_id: str, unit_id: str, photos: list[Photo], note: str = ""
    ) -> TicketRow:
        """The unit reports the fix, with photos; a camera (or an operator) verifies it next."""
        if self.cfg.dispatch.photo_required and not photos:
            raise DeskError(f"ticket {ticket_id}: resolving needs at least one photo of the fix")
        kinds = [photo_kind(p.data) for p in photos]  # refuse bad files before changing anything
        saved: list[Path] = []
        try:
            with self.store.session() as session:
                ticket = self._ticket(session, ticket_id)
                self._check_assignee(ticket, unit_id)
                now = utc(self.clock())
                self.move(session, ticket, "resolved", f"unit:{unit_id}", now, note)
                for photo, (content_type, suffix) in zip(photos, kinds, strict=True):
                    saved.append(
                        self._save_media(
                            session,
                            ticket,
                            photo.data,
                            content_type,
                            suffix,
                            "photo",
                            f"unit:{unit_id}",
                            now,
                        )
                    )
                session.commit()
        except BaseException:
            for path in saved:  # nothing half-stored: the files go when the transaction does
                path.unlink(missing_ok=True)
            raise
        self._mark_pending(ticket)
        self._publish(ticket)
        return ticket

    def give_back(self, ticket_id: str, unit_id: str, note: str) -> TicketRow:
        """The unit says the ticket is not theirs; it is re-routed to another free unit."""
        if not note.strip():
            raise DeskError(f"ticket {ticket_id}: say why the ticket is given back (note)")
        with self.store.session() as session:
            ticket = self._ticket(session, ticket_id)
            self._check_assignee(ticket, unit_id)
            now = utc(self.clock())
            self.move(session, ticket, "returned", f"unit:{unit_id}", now, note)
            tried = self._units_tried(session, ticket.id)
            self._auto_dispatch(session, ticket, now, exclude=tried, why="re-routed after return")
            session.commit()
        self._publish(ticket)
        return ticket

    # ----- operators -----------------------------------------------------------------------

    def dispatch(self, ticket_id: str, unit_id: str, actor: str, note: str = "") -> TicketRow:
        """An operator (or supervisor) sends the ticket to a unit."""
        if unit_id not in self._units:
            raise DeskError(f"unknown unit {unit_id!r}; units: {', '.join(self._units)}", 422)
        with self.store.session() as session:
            ticket = self._ticket(session, ticket_id)
            now = utc(self.clock())
            self.move(session, ticket, "dispatched", actor, now, note, unit_id=unit_id)
            session.commit()
        self._publish(ticket)
        return ticket

    def verify(self, ticket_id: str, ok: bool, actor: str, note: str = "") -> TicketRow:
        """A person checked the fix: verified and closed, or reopened back to the unit."""
        with self.store.session() as session:
            ticket = self._ticket(session, ticket_id)
            now = utc(self.clock())
            if ok:
                self._verified(session, ticket, actor, now, note)
            else:
                self.reopen(session, ticket, actor, now, note or "the fix did not hold")
            session.commit()
        self.unmark_pending(ticket)
        self._publish(ticket)
        return ticket

    def close(self, ticket_id: str, reason: str, actor: str, note: str = "") -> TicketRow:
        """Close without a fix (duplicate, not responsible, no action needed)."""
        with self.store.session() as session:
            ticket = self._ticket(session, ticket_id)
            now = utc(self.clock())
            self.move(session, ticket, "closed", actor, now, note, reason=reason)
            session.commit()
        self.unmark_pending(ticket)
        self._publish(ticket)
        return ticket

    def acknowledge(self, warning_id: int, actor: str) -> WarningRow:
        """An operator has seen the warning (it stays listed, marked as handled)."""
        with self.store.session() as session:
            warning, ticket = self._warning(session, warning_id)
            warning.acknowledged_by, warning.acknowledged_at = actor, utc(self.clock())
            session.commit()
        if self.bus:
            self.bus.publish(self._alert(warning, "acknowledged", ticket, actor))
        return warning

    def mute(self, warning_id: int, actor: str, minutes: float) -> WarningRow:
        """Hide the warning for a while (it comes back if still not cleared)."""
        if not 0 < minutes <= 24 * 60:
            raise DeskError("mute for between 1 minute and 24 hours (minutes 1..1440)", 422)
        with self.store.session() as session:
            warning, ticket = self._warning(session, warning_id)
            warning.muted_until = utc(self.clock() + minutes * 60)
            warning.acknowledged_by = warning.acknowledged_by or actor
            warning.acknowledged_at = warning.acknowledged_at or utc(self.clock())
            session.commit()
        if self.bus:
            self.bus.publish(self._alert(warning, "muted", ticket, actor))
        return warning

    # ----- cameras -------------------------------------------------------------------------

    def on_zone_check(self, check: ZoneCheck) -> TicketRow | None:
        """A camera re-checked a zone: reopen if the problem is back, verify once long clear."""
        settle = self.cfg.dispatch.verify_settle_s
        with self.store.session() as session:
            query = select(TicketRow).where(
                TicketRow.status == "resolved",
                TicketRow.camera_id == check.camera_id,
                TicketRow.zone_id == check.zone_id,
            )
            ticket = session.scalars(query.with_for_update()).first()
            if ticket is None or check.observed_at < ticket.resolved_at.timestamp() + settle:
                return None
            at = utc(check.observed_at)
            actor = f"camera:{check.camera_id}"
            if check.present:
                if check.snapshot:
                    add_media(session, ticket.id, "snapshot", check.snapshot, actor, at)
                note = f"camera {check.camera_id} still sees the problem in zone {check.zone_id}"
                self.reopen(session, ticket, actor, at, note)
            elif ticket.clear_since is None:
                ticket.clear_since = at
            elif (at - ticket.clear_since).total_seconds() >= self.cfg.dispatch.verify_clear_s:
                clear_s = (at - ticket.clear_since).total_seconds()
                self._verified(session, ticket, actor, at, f"zone clear for {clear_s:.0f} s")
            else:
                session.commit()
                return None
            session.commit()
        if ticket.status != "resolved":
            self.unmark_pending(ticket)
            self._publish(ticket)
        return ticket

    # ----- time ----------------------------------------------------------------------------

    def tick(self, now: float | None = None) -> list[WarningRow]:
        """Raise, escalate and clear warnings as of `now`; return those raised or escalated."""
        at = utc(self.clock() if now is None else now)
        changed: list[tuple[WarningRow, str, TicketRow]] = []
        moved: dict[str, TicketRow] = {}
        with self.store.session() as session:
            self._clear_done(session, at, changed)
            late = select(TicketRow).where(
                TicketRow.status.in_((*OPEN_STATES, "resolved")),
                or_(
                    TicketRow.status == "resolved",
                    TicketRow.accept_due <= at,
                    TicketRow.arrive_due <= at,
                    TicketRow.resolve_due <= at,
                ),
            )
            tickets = list(session.scalars(late))
            known = select(WarningRow.ticket_id, WarningRow.stage, WarningRow.due_at).where(
                WarningRow.ticket_id.in_([t.id for t in tickets])
            )
            raised = {tuple(row) for row in session.execute(known)}  # read once per tick
            for ticket in tickets:
                for stage, due in self._stages_due(ticket):
                    if due is not None and due <= at and (ticket.id, stage, due) not in raised:
                        self._raise(session, ticket, stage, due, at, changed)
            escalate = self.cfg.dispatch.escalate_after_min
            pending = select(WarningRow).where(
                WarningRow.cleared_at.is_(None), WarningRow.level == "overdue"
            )
            for warning in session.scalars(pending):
                if self.calendar.add_working_minutes(warning.due_at, escalate) <= at:
                    self._escalate(session, warning, at, changed, moved)
            session.commit()
        if self.bus:
            self.bus.publish_many(ticket_change(t) for t in moved.values())
            self.bus.publish_many(self._alert(w, level, t) for w, level, t in changed)
        return [w for w, level, _ in changed if level in ("overdue", "escalated")]

    def _stages_due(self, ticket: TicketRow) -> list[tuple[str, dt.datetime | None]]:
        if ticket.status == "resolved":
            verify_due = ticket.resolved_at + dt.timedelta(
                seconds=self.cfg.dispatch.verify_timeout_s
            )
            return [("verify", verify_due)]
        stages = [("resolve", ticket.resolve_due)]
        if ticket.status != "on_site":
            stages.append(("arrive", ticket.arrive_due))
            if ticket.status != "accepted" and ticket.status != "escalated":
                stages.append(("accept", ticket.accept_due))
        return stages

    def _raise(self, session, ticket, stage, due, at, changed) -> None:
        warning = WarningRow(
            ticket_id=ticket.id, stage=stage, level="overdue", due_at=due, raised_at=at
        )
        try:
            with session.begin_nested():  # another dispatcher may raise the same one
                session.add(warning)
        except IntegrityError:
            return
        changed.append((warning, "overdue", ticket))
        log.info("ticket %s: %s overdue since %s", ticket.id, stage, due.isoformat())

    def _escalate(self, session: Session, warning: WarningRow, at, changed, moved) -> None:
        ticket = session.get(TicketRow, warning.ticket_id, with_for_update=True)
        supervisor = self._supervisors.get(ticket.department_id or "")
        warning.level, warning.escalated_at, warning.supervisor_id = "escalated", at, supervisor
        changed.append((warning, "escalated", ticket))
        if warning.stage == "accept" and ticket.status in ESCALATE_STATE_FROM:
            note = f"{warning.stage} overdue since {warning.due_at.isoformat(timespec='minutes')}"
            transition(session, ticket, "escalated", "dispatcher", at, note=note)
            moved[ticket.id] = ticket
            if supervisor:
                ticket.unit_id = supervisor
        log.info("ticket %s: %s escalated to %s", ticket.id, warning.stage, supervisor)

    def _clear_done(self, session: Session, at: dt.datetime, changed) -> None:
        query = select(WarningRow, TicketRow).join(TicketRow, TicketRow.id == WarningRow.ticket_id)
        for warning, ticket in session.execute(query.where(WarningRow.cleared_at.is_(None))):
            if warning.stage == "verify":
                done = ticket.status != "resolved"
            else:
                done = ticket.status in STAGE_DONE[warning.stage]
            if done:
                warning.cleared_at = at
                changed.append((warning, "cleared", ticket))

    # ----- internals -----------------------------------------------------------------------

    def _ticket(self, session: Session, ticket_id: str, lock: bool = True) -> TicketRow:
        ticket = session.get(TicketRow, ticket_id, with_for_update=lock)
        if ticket is None:
            raise DeskError(f"no ticket {ticket_id!r}", 404)
        return ticket

    @staticmethod
    def _warning(session: Session, warning_id: int) -> tuple[WarningRow, TicketRow]:
        warning = session.get(WarningRow, warning_id, with_for_update=True)
        if warning is None:
            raise DeskError(f"no warning {warning_id}", 404)
        return warning, session.get(TicketRow, warning.ticket_id)

    @staticmethod
    def _check_assignee(ticket: TicketRow, unit_id: str) -> None:
        if ticket.unit_id != unit_id:
            raise DeskError(f"ticket {ticket.id} is not assigned to unit {unit_id}", 403)

    def _unit_move(self, ticket_id: str, unit_id: str, to_status: str, note: str) -> TicketRow:
        with self.store.session() as session:
            ticket = self._ticket(session, ticket_id)
            self._check_assignee(ticket, unit_id)
            self.move(session, ticket, to_status, f"unit:{unit_id}", utc(self.clock()), note)
            session.commit()
        self._publish(ticket)
        return ticket

    def move(self, session, ticket, to_status, actor, at, note="", **extra) -> None:
        """Transition within the caller's transaction, stamping the stage time (409 if illegal)."""
        try:
            transition(session, ticket, to_status, actor, at, note=note, **extra)
        except TransitionError as exc:
            raise DeskError(str(exc), 409) from None
        stamp = {
            "dispatched": "dispatched_at",
            "accepted": "accepted_at",
            "on_site": "arrived_at",
            "resolved": "resolved_at",
            "verified": "verified_at",
            "closed": "closed_at",
        }.get(to_status)
        if stamp:
            setattr(ticket, stamp, at)
        if to_status == "resolved":
            ticket.clear_since = None

    def _verified(self, session, ticket, actor, at, note) -> None:
        self.move(session, ticket, "verified", actor, at, note)
        self.move(session, ticket, "closed", "dispatcher", at, "verified fix", reason="done")

    def reopen(self, session, ticket, actor, at, note) -> None:
        """The fix failed: reopen with fresh deadlines and send it back to the same unit."""
        unit = ticket.unit_id
        self.move(session, ticket, "reopened", actor, at, note)
        ticket.accepted_at = ticket.arrived_at = ticket.resolved_at = ticket.clear_since = None
        # the rework gets fresh stage deadlines from now
        for key, value in deadlines(self.cfg, self.calendar, ticket.service_code, at).items():
            setattr(ticket, key, value)
        if unit:  # back to the unit that did the work: they know the place and the problem
            self.move(
                session,
                ticket,
                "dispatched",
                "dispatcher",
                at,
                "back to the same unit",
                unit_id=unit,
            )

    def _units_tried(self, session: Session, ticket_id: str) -> set[str]:
        query = select(AuditRow.actor).where(
            AuditRow.ticket_id == ticket_id, AuditRow.to_status == "returned"
        )
        return {actor.removeprefix("unit:") for actor in session.scalars(query)}

    def _auto_dispatch(self, session, ticket, at, exclude: set[str], why: str) -> None:
        if self.router is None:
            return
        location = self.router.index.locate(ticket.lon, ticket.lat)
        route = self.router.route(ticket.service_code, location)
        fixes = {unit: fix for unit, fix in unit_fixes(session).items() if unit not in exclude}
        pick = self.router.pick_unit(
            route, ticket.lon, ticket.lat, fixes, workloads(session), at.timestamp()
        )
        if pick:
            note = f"{why}: nearest unit {pick[0]} at {pick[1]:.0f} m"
            self.move(session, ticket, "dispatched", "dispatcher", at, note, unit_id=pick[0])

    def _save_media(self, session, ticket, data, content_type, suffix, kind, actor, at) -> Path:
        media_id = new_id()
        relative = Path(ticket.id) / f"{media_id}{suffix}"
        path = self.media_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        add_media(
            session,
            ticket.id,
            kind,
            str(Path("media") / relative),
            actor,
            at,
            content_type,
            media_id,
        )
        return path

    def _mark_pending(self, ticket: TicketRow) -> None:
        if self.bus and ticket.camera_id and ticket.zone_id:
            field = f"{ticket.camera_id}/{ticket.zone_id}"
            self.bus.client.hset(keys.verify_pending(self.bus.namespace), field, ticket.id)

    def unmark_pending(self, ticket: TicketRow) -> None:
        """No camera needs to re-check this ticket's zone any more."""
        if self.bus and ticket.camera_id and ticket.zone_id:
            field = f"{ticket.camera_id}/{ticket.zone_id}"
            self.bus.client.hdel(keys.verify_pending(self.bus.namespace), field)

    def _publish(self, ticket: TicketRow) -> None:
        if self.bus:
            self.bus.publish(ticket_change(ticket))

    @staticmethod
    def _alert(
        warning: WarningRow, level: str, ticket: TicketRow, actor: str | None = None
    ) -> TicketAlert:
        return TicketAlert(
            warning_id=warning.id,
            ticket_id=warning.ticket_id,
            stage=warning.stage,
            level=level,
            due_at=warning.due_at.timestamp(),
            raised_at=warning.raised_at.timestamp(),
            category=ticket.service_code,
            unit_id=ticket.unit_id,
            supervisor_id=warning.supervisor_id,
            muted_until=warning.muted_until.timestamp() if warning.muted_until else None,
            actor=actor,
        )


def add_media(
    session: Session,
    ticket_id: str,
    kind: str,
    path: str,
    actor: str,
    at: dt.datetime,
    content_type: str = "image/jpeg",
    media_id: str | None = None,
) -> None:
    """Attach evidence to a ticket: a snapshot or photo (path in the data dir) or a link."""
    session.add(
        MediaRow(
            id=media_id or new_id(),
            ticket_id=ticket_id,
            kind=kind,
            path=path,
            content_type=content_type,
            added_at=at,
            added_by=actor[:64],
        )
    )


def unit_fixes(session: Session) -> dict[str, Fix]:
    """Every unit's last accepted GPS fix."""
    return {
        row.unit_id: Fix(row.lon, row.lat, row.fix_time)
        for row in session.scalars(select(UnitPositionRow))
    }


def workloads(session: Session) -> dict[str, int]:
    """Open tickets per unit."""
    query = (
        select(TicketRow.unit_id, func.count())
        .where(TicketRow.status.in_(OPEN_STATES))
        .where(TicketRow.unit_id.is_not(None))
        .group_by(TicketRow.unit_id)
    )
    return dict(session.execute(query).all())


def deadlines(
    cfg: AppConfig, calendar: WorkCalendar, category: str, start: dt.datetime
) -> dict[str, dt.datetime | None]:
    """Due times per stage for a category, in working time from `start`."""
    limits = next((d for d in cfg.deadlines if d.category == category), None)
    if limits is None:
        return {"accept_due": None, "arrive_due": None, "resolve_due": None}
    add = calendar.add_working_minutes
    return {
        "accept_due": add(start, limits.accept_min),
        "arrive_due": add(start, limits.arrive_min),
        "resolve_due": add(start, limits.resolve_min),
    }
