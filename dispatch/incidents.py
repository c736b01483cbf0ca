"""Incidents, the one owner of their lifecycle: opened on a site (a point or an area on the map,
an address, the API or a ticket) with a type and a level (I 特别重大 to IV 一般); one coordinator in
charge at a time (hand-overs recorded); an append-only timeline of every step with who and
when; field units summoned through the ticket lifecycle (their phones show the task, and their
acceptance and arrival join the timeline); buildings evacuated and shelters' occupancy kept by
hand or API; closed with a summary. Bad input raises IncidentError and changes nothing."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from shapely.errors import ShapelyError
from shapely.geometry import mapping, shape
from sqlalchemy import select
from sqlalchemy.orm import Session

from config.i18n import t
from config.schema import AppConfig
from dispatch.calendar import district_calendar, stage_deadlines
from dispatch.lifecycle import record_filed, transition
from dispatch.publish import ticket_change
from dispatch.states import TicketState
from dispatch.store import (
    AuditRow,
    EvacuationRow,
    IncidentLogRow,
    IncidentRow,
    ShelterUseRow,
    Store,
    TicketRow,
)
from geo.emergency import EmergencyError, EmergencyMap
from streams.records import new_id, without_nul

log = logging.getLogger(__name__)
LEVELS = (1, 2, 3, 4)  # I 特别重大, II 重大, III 较大, IV 一般
ACTIVE, ENDED = "active", "ended"  # an incident's status


class IncidentError(ValueError):
    """An incident step that cannot be taken as asked; the message names the fix."""


@dataclass(frozen=True)
class Step:
    """One entry of an incident's timeline (its own steps and its tasks' moves)."""

    at: dt.datetime
    actor: str
    action: str
    detail: str


def step_words(action: str, lang: str) -> str:
    """A timeline action in words; tasks' moves as the ticket states say them."""
    if action.startswith("task "):
        return f"{t('incident.task', lang)} {t(f'status.{action[5:]}', lang)}"
    return t(f"incident.step.{action}", lang)


def _text(value: str | None, what: str, limit: int, required: bool = True) -> str:
    text = without_nul((value or "").strip())[:limit]
    if required and not text:
        raise IncidentError(f"{what} is empty; write one")
    return text


class Incidents:
    """Opens, runs and closes incidents in the ticket store."""

    def __init__(self, cfg: AppConfig, store: Store, emap: EmergencyMap | None, bus=None):
        self.cfg, self.store, self.emap, self.bus = cfg, store, emap, bus
        shelters = emap.shelters if emap is not None else None
        self.capacity: dict[str, int] = {}
        if shelters is not None and "capacity" in shelters:
            self.capacity = {str(r.id): int(r.capacity or 0) for r in shelters.itertuples()}
        self.calendar = district_calendar(cfg)

    def _log(self, session: Session, incident: IncidentRow, actor: str, at, action: str,
             detail: str) -> None:  # fmt: skip
        session.add(IncidentLogRow(incident_id=incident.id, at=at, actor=actor[:64],
                                   action=action, detail=without_nul(detail)))  # fmt: skip
        incident.version += 1

    def _open_one(self, session: Session, incident_id: str) -> IncidentRow:
        incident = session.get(IncidentRow, incident_id, with_for_update=True)
        if incident is None:
            raise IncidentError(f"no incident {incident_id!r}")
        if incident.status != ACTIVE:
            raise IncidentError(f"incident {incident_id} has ended; open a new one")
        return incident

    def open(self, type_id: str, level: int, site: dict, title: str, actor: str,
             now: dt.datetime, ticket_id: str | None = None) -> IncidentRow:  # fmt: skip
        """Open an incident at `site` (a GeoJSON point or polygon, WGS-84); `actor` leads it."""
        kind = self.cfg.emergency.type(type_id)
        if kind is None:
            known = ", ".join(t.id for t in self.cfg.emergency.types)
            raise IncidentError(f"unknown incident type {type_id!r}; use one of {known}")
        if level not in LEVELS:
            raise IncidentError(f"level {level!r}: use 1 (I, 特别重大) to 4 (IV, 一般)")
        try:
            geometry = shape(site)
            if self.emap is not None:
                self.emap.site(geometry)
        except EmergencyError as exc:
            raise IncidentError(str(exc)) from None
        except (KeyError, TypeError, ValueError, AttributeError, ShapelyError):
            raise IncidentError("the site is not GeoJSON; give a Point or a Polygon") from None
        title = _text(title, "the title", 200)
        centre = geometry.centroid
        incident = IncidentRow(
            id=new_id()[:16], type_id=type_id, level=level, status=ACTIVE, title=title,
            lon=round(centre.x, 7), lat=round(centre.y, 7), site=mapping(geometry),
            owner=actor[:64], pinned=False, opened_at=now, opened_by=actor[:64], summary="",
            ticket_id=ticket_id, version=0,
        )  # fmt: skip
        with self.store.session() as session, session.begin():
            session.add(incident)
            self._log(session, incident, actor, now, "opened",
                      f"{kind.names.zh} · level {level} · {title}")  # fmt: skip
        log.info("incident %s opened by %s: %s", incident.id, actor, title)
        return incident

    def get(self, incident_id: str) -> IncidentRow | None:
        """The incident, open or closed."""
        with self.store.session() as session:
            return session.get(IncidentRow, incident_id)

    def active(self) -> list[IncidentRow]:
        """Open incidents, the most serious (lowest level) and newest first."""
        with self.store.session() as session:
            query = select(IncidentRow).where(IncidentRow.status == ACTIVE)
            rows = list(session.scalars(query))
        return sorted(rows, key=lambda i: (i.level, -i.opened_at.timestamp()))

    def set_level(self, incident_id: str, level: int, actor: str, now, reason: str = "") -> None:
        """Raise or lower the level, with the reason on the timeline."""
        if level not in LEVELS:
            raise IncidentError(f"level {level!r}: use 1 (I, 特别重大) to 4 (IV, 一般)")
        with self.store.session() as session, session.begin():
            incident = self._open_one(session, incident_id)
            before, incident.level = incident.level, level
            why = _text(reason, "reason", 300, False)
            self._log(session, incident, actor, now, "level", f"{before} -> {level} {why}".strip())

    def hand_over(self, incident_id: str, to: str, actor: str, now) -> None:
        """Another coordinator takes charge (one at a time)."""
        to = _text(to, "the coordinator taking over", 64)
        with self.store.session() as session, session.begin():
            incident = self._open_one(session, incident_id)
            if incident.owner == to:
                raise IncidentError(f"{to} already leads incident {incident_id}")
            before, incident.owner = incident.owner, to
            self._log(session, incident, actor, now, "handover", f"{before} -> {to}")

    def pin(self, incident_id: str, on: bool, actor: str, now) -> None:
        """Emergency mode: the incident pinned on every wall (or released)."""
        with self.store.session() as session, session.begin():
            incident = self._open_one(session, incident_id)
            incident.pinned = on
            self._log(session, incident, actor, now, "pinned" if on else "unpinned", "")

    def note(self, incident_id: str, text: str, actor: str, now) -> None:
        """A free note on the timeline (a call received, a decision taken)."""
        with self.store.session() as session, session.begin():
            incident = self._open_one(session, incident_id)
            self._log(session, incident, actor, now, "note", _text(text, "the note", 1000))

    def evacuated(self, incident_id: str, building_id: str, people: int, actor: str, now) -> None:
        """A building reported evacuated, with how many people left it."""
        if people < 0 or people > 100_000:
            raise IncidentError(f"{people} people: give the number who left (0 or more)")
        building_id = _text(building_id, "the building", 64)
        known = self.emap is not None and self.emap.buildings is not None
        if known and building_id not in set(self.emap.buildings["id"].astype(str)):
            raise IncidentError(f"no building {building_id!r} in the district's layers")
        with self.store.session() as session, session.begin():
            incident = self._open_one(session, incident_id)
            row = session.get(EvacuationRow, (incident_id, building_id))
            if row is None:
                row = EvacuationRow(incident_id=incident_id, building_id=building_id)
                session.add(row)
            row.people, row.at, row.actor = people, now, actor[:64]
            self._log(session, incident, actor, now, "evacuated", f"{building_id}: {people}")

    def shelter(
        self,
        incident_id: str,
        shelter_id: str,
        actor: str,
        now,
        occupied: int | None = None,
        is_open: bool | None = None,
    ) -> ShelterUseRow:
        """Set a shelter's occupancy or open/close it; more people than it holds is refused."""
        if shelter_id not in self.capacity:
            raise IncidentError(f"no shelter {shelter_id!r}; known: {', '.join(self.capacity)}")
        capacity = self.capacity[shelter_id]
        if occupied is not None and not 0 <= occupied <= capacity:
            raise IncidentError(
                f"shelter {shelter_id} holds {capacity}; {occupied} is over its capacity "
                "(or below zero): send the others to the next shelter"
            )
        with self.store.session() as session, session.begin():
            incident = self._open_one(session, incident_id)
            use = session.get(ShelterUseRow, (incident_id, shelter_id))
            if use is None:
                use = ShelterUseRow(incident_id=incident_id, shelter_id=shelter_id,
                                    occupied=0, is_open=True)  # fmt: skip
                session.add(use)
            if occupied is not None:
                use.occupied = occupied
            if is_open is not None:
                use.is_open = is_open
            use.updated_at = now
            state = "open" if use.is_open else "shut"
            self._log(session, incident, actor, now, "shelter",
                      f"{shelter_id}: {use.occupied}/{capacity} {state}")  # fmt: skip
        return use

    def shelter_use(self, incident_id: str) -> dict[str, ShelterUseRow]:
        """Each shelter's recorded occupancy during the incident."""
        with self.store.session() as session:
            rows = session.scalars(
                select(ShelterUseRow).where(ShelterUseRow.incident_id == incident_id)
            )
            return {row.shelter_id: row for row in rows}

    def evacuations(self, incident_id: str) -> list[EvacuationRow]:
        """Buildings reported evacuated."""
        with self.store.session() as session:
            query = select(EvacuationRow).where(EvacuationRow.incident_id == incident_id)
            return list(session.scalars(query.order_by(EvacuationRow.at)))

    def summon(self, incident_id: str, unit_id: str, actor: str, now, note: str = "") -> TicketRow:
        """Send a field unit to the incident as a ticket dispatched to it (its phone shows the
        task; its acceptance and arrival join the incident's timeline)."""
        unit = self.cfg.unit(unit_id)
        if unit is None:
            raise IncidentError(f"no field unit {unit_id!r} in the config")
        category = self.cfg.emergency.task_category or self.cfg.categories[0].id
        with self.store.session() as session, session.begin():
            incident = self._open_one(session, incident_id)
            text = _text(note, "the task", 500, False) or incident.title
            ticket = TicketRow(
                id=new_id(), service_code=category, source="operator",
                description=f"[{incident.title}] {text}", lon=incident.lon, lat=incident.lat,
                department_id=unit.department, requested_at=now, updated_at=now, version=1,
                merged_events=1, returned_count=0, reopened_count=0, priority=1,
                incident_id=incident.id, address=incident.title[:255],
                **stage_deadlines(self.cfg, self.calendar, category, now),
            )  # fmt: skip
            session.add(ticket)
            record_filed(session, ticket, actor, now, f"task of incident {incident.id}")
            transition(session, ticket, TicketState.DISPATCHED, actor, now, text, unit_id=unit_id)
            self._log(session, incident, actor, now, "summoned", f"{unit_id}: {text}")
        if self.bus is not None:
            self.bus.publish_many([ticket_change(ticket)])
        return ticket

    def close(self, incident_id: str, summary: str, actor: str, now) -> None:
        """Close the incident with its summary; the walls leave emergency mode."""
        summary = _text(summary, "the summary", 4000)
        with self.store.session() as session, session.begin():
            incident = self._open_one(session, incident_id)
            incident.status, incident.closed_at = ENDED, now
            incident.summary, incident.pinned = summary, False
            self._log(session, incident, actor, now, "ended", summary)

    def timeline(self, incident_id: str) -> list[Step]:
        """Every step, oldest first: the incident's own and its tasks' moves (accepted, on site,
        resolved) as the ticket audit recorded them."""
        with self.store.session() as session:
            own = session.scalars(
                select(IncidentLogRow).where(IncidentLogRow.incident_id == incident_id)
            )
            steps = [Step(r.at, r.actor, r.action, r.detail) for r in own]
            tasks = session.execute(
                select(AuditRow, TicketRow.unit_id)
                .join(TicketRow, TicketRow.id == AuditRow.ticket_id)
                .where(TicketRow.incident_id == incident_id, AuditRow.from_status.is_not(None))
            )
            for audit, unit in tasks:
                if audit.to_status == TicketState.DISPATCHED:
                    continue  # the summons itself is on the incident's own log
                steps.append(Step(audit.at, audit.actor, f"task {audit.to_status}",
                                  f"{unit or ''} {audit.note}".strip()))  # fmt: skip
        return sorted(steps, key=lambda s: s.at)

    def tasks(self, incident_id: str) -> list[TicketRow]:
        """The tickets that summoned units to the incident."""
        with self.store.session() as session:
            query = select(TicketRow).where(TicketRow.incident_id == incident_id)
            return list(session.scalars(query.order_by(TicketRow.requested_at)))
