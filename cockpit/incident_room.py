"""What the incident page works with: the district's emergency map, the incidents and the
gazetteer; a ticket to open an incident from; one action applied through the incidents' owner."""

from __future__ import annotations

import datetime as dt

from flask import g

from config.schema import AppConfig
from dispatch.incidents import Incidents
from dispatch.reads import unit_fixes
from geo.emergency import EmergencyMap, analyse
from geo.gazetteer import Gazetteer
from geo.layers import DistrictLayers


def actor() -> str:
    """Who acts, as the timeline and the ticket audit name them."""
    return f"{g.principal.role}:{g.principal.name}"[:64]


def origin_of(cfg: AppConfig, desk, ticket_id: str, lang: str) -> dict | None:
    """A ticket to open an incident from: its place and a title from its category and address."""
    from dispatch.errors import DeskError

    try:
        ticket = desk.get(ticket_id)
    except DeskError:
        return None
    names = {c.id: getattr(c.names, lang) for c in cfg.categories}
    title = f"{names.get(ticket.service_code, ticket.service_code)} {ticket.address or ''}".strip()
    return {"ticket_id": ticket.id, "lon": ticket.lon, "lat": ticket.lat, "title": title[:200]}


class IncidentDesk:
    """What the page works with: the district's emergency map, the incidents, the gazetteer."""

    def __init__(self, cfg: AppConfig, layers: DistrictLayers, store, bus=None):
        self.cfg, self.layers, self.store = cfg, layers, store
        self.emap = EmergencyMap(layers, cfg.district.crs)
        self.incidents = Incidents(cfg, store, self.emap, bus)
        self.gazetteer = Gazetteer(layers)

    def analysis(self, incident):
        """The analysis of an incident as it stands (units' last fixes, shelters' use)."""
        from shapely.geometry import shape

        with self.store.session() as session:
            fixes = {uid: (f.lon, f.lat) for uid, f in unit_fixes(session).items()}
        used = self.incidents.shelter_use(incident.id)
        occupied = {sid: (use.occupied if use.is_open else 10**9) for sid, use in used.items()}
        found = analyse(self.emap, self.cfg.emergency, incident.type_id, shape(incident.site),
                        [(uid, lon, lat) for uid, (lon, lat) in fixes.items()],
                        self.cfg.cameras, occupied)  # fmt: skip
        return found, fixes


def act(room: IncidentDesk, incident_id: str, action: str, values: dict) -> None:
    """Apply one action through the incidents' owner (which checks it and records it)."""
    incidents, who, now = room.incidents, actor(), dt.datetime.now(dt.UTC)
    if action == "summon":
        incidents.summon(incident_id, values["unit"] or "", who, now, values["note"] or "")
    elif action == "set-level":
        incidents.set_level(incident_id, int(values["level"] or 0), who, now, values["note"] or "")
    elif action == "handover":
        incidents.hand_over(incident_id, values["to"] or "", who, now)
    elif action in ("pin", "unpin"):
        incidents.pin(incident_id, action == "pin", who, now)
    elif action == "shelter":
        occupied = None if values["occupied"] is None else int(values["occupied"])
        incidents.shelter(incident_id, values["shelter"] or "", who, now, occupied=occupied)
    elif action == "evacuate":
        people = int(values["people"] or 0)
        incidents.evacuated(incident_id, values["building"] or "", people, who, now)
    elif action == "add-note":
        incidents.note(incident_id, values["note"] or "", who, now)
    elif action == "close":
        incidents.close(incident_id, values["summary"] or "", who, now)
