"""Emergency mode on the walls: the incident a coordinator pinned, summarised for the push
(title, level, rings with their buildings and residents, shelters, the cameras that see the
site, the nearest units, and the rings as GeoJSON for the map). Read from the ticket store by
the pusher every few seconds and recomputed only when the incident changed."""

from __future__ import annotations

import json
import logging

from shapely.geometry import shape
from sqlalchemy import func, select

from config.i18n import LANGS, t
from config.schema import AppConfig
from dispatch.incidents import ACTIVE
from dispatch.reports.incident_layers import incident_geojson
from dispatch.store import IncidentRow, Store, TicketRow
from geo.emergency import EmergencyMap, analyse

log = logging.getLogger(__name__)


class EmergencyWatch:
    """Which incident the walls pin, and what they show of it."""

    def __init__(self, cfg: AppConfig, store: Store, emap: EmergencyMap):
        self.cfg, self.store, self.emap = cfg, store, emap
        self.key: tuple | None = None
        self.shown: dict[str, dict | None] = dict.fromkeys(LANGS)

    def check(self) -> bool:
        """Read the pinned incident; True when what the walls show changed."""
        with self.store.session() as session:
            query = select(IncidentRow).where(
                IncidentRow.status == ACTIVE, IncidentRow.pinned.is_(True)
            )
            pinned = sorted(
                session.scalars(query), key=lambda i: (i.level, -i.opened_at.timestamp())
            )
        incident = pinned[0] if pinned else None
        key = (incident.id, incident.version) if incident else None
        if key == self.key:
            return False
        self.key = key
        self.shown = {lang: self._summary(incident, lang) if incident else None for lang in LANGS}
        return True

    def revision(self) -> str:
        """A fingerprint of every incident and its tasks: it changes whenever anything an
        incident page shows is recorded (each step bumps its incident's version, each move its
        task's)."""
        with self.store.session() as session:
            steps = session.execute(
                select(func.count(IncidentRow.id), func.coalesce(func.sum(IncidentRow.version), 0))
            ).one()
            tasks = session.execute(
                select(func.count(TicketRow.id), func.coalesce(func.sum(TicketRow.version), 0))
                .where(TicketRow.incident_id.is_not(None))
            ).one()  # fmt: skip
        return f"{steps[0]}.{steps[1]}.{tasks[0]}.{tasks[1]}"

    def summary(self, lang: str) -> dict | None:
        """The pinned incident for a wall in `lang`, or None (no emergency mode)."""
        return self.shown.get(lang)

    def _summary(self, incident: IncidentRow, lang: str) -> dict:
        analysis = analyse(self.emap, self.cfg.emergency, incident.type_id, shape(incident.site),
                           cameras=self.cfg.cameras)  # fmt: skip
        layers = json.loads(incident_geojson(incident, analysis, self.emap))
        kind = self.cfg.emergency.type(incident.type_id)
        name = getattr(kind.names, lang) if kind else incident.type_id
        level = t(f"incident.level.{incident.level}", lang)
        return {
            "id": incident.id,
            "title": incident.title,
            "headline": f"{t('incident.pinned', lang)} · {name} · {level}",
            "lon": incident.lon,
            "lat": incident.lat,
            "rings": [
                f"{r.radius_m:g} m: {r.buildings} {t('incident.buildings', lang)}, "
                f"{r.residents} {t('incident.residents', lang)}, {len(r.places)} "
                f"{t('incident.places', lang)}"
                for r in analysis.rings
            ],
            "shelters": [
                f"{s.name} · {s.remaining} · {s.minutes:g} min" for s in analysis.shelters[:3]
            ],
            "cameras": [c.id for c in analysis.cameras],
            "layers": [f for f in layers["features"] if f["properties"]["layer"] == "ring"],
        }
