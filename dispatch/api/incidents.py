"""The centre's incident routes: open an incident (at a site, a point or a ticket's place), list
and read them with their timelines, shelters' occupancy and buildings evacuated from other
systems, and the CAP 1.2 alert. Operators open incidents; supervisors read them and report."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Path, Response
from shapely.geometry import shape

from dispatch.api import schemas
from dispatch.api.deps import API_PREFIX, ApiError, Ctx, Operator
from dispatch.errors import DeskError
from dispatch.incidents import IncidentError
from dispatch.reports.cap import cap_alert
from geo.emergency import analyse

router = APIRouter(prefix=API_PREFIX, tags=["incidents"])
IncidentId = Path(min_length=1, max_length=32)


def _now(ctx) -> dt.datetime:
    return dt.datetime.fromtimestamp(ctx.clock(), dt.UTC)


def _out(ctx, incident) -> schemas.IncidentOut:
    steps = [schemas.IncidentStep.model_validate(s, from_attributes=True)
             for s in ctx.incidents.timeline(incident.id)]  # fmt: skip
    found = schemas.IncidentOut.model_validate(incident, from_attributes=True)
    return found.model_copy(update={"timeline": steps})


def _incident(ctx, incident_id: str):
    incident = ctx.incidents.get(incident_id)
    if incident is None:
        raise ApiError(404, f"no incident {incident_id}")
    return incident


def _refused(exc: IncidentError):
    status = 404 if str(exc).startswith("no incident") else 422
    return ApiError(status, str(exc))


@router.post("/incidents", response_model=schemas.IncidentOut, status_code=201)
def open_incident(who: Operator, ctx: Ctx, body: schemas.IncidentOpenBody):
    """Open an incident (operators only: a supervisor reports into one, it does not open one)."""
    if who.startswith("supervisor:"):
        raise ApiError(403, "incidents are opened by the centre's operators")
    site = body.site
    if body.ticket_id:
        try:
            ticket = ctx.desk.get(body.ticket_id)
        except DeskError:
            raise ApiError(404, f"no ticket {body.ticket_id}") from None
        site = {"type": "Point", "coordinates": [ticket.lon, ticket.lat]}
    elif site is None and body.lon is not None and body.lat is not None:
        site = {"type": "Point", "coordinates": [body.lon, body.lat]}
    if site is None:
        raise ApiError(422, "give the site: `site` (GeoJSON), `lon` and `lat`, or `ticket_id`")
    try:
        incident = ctx.incidents.open(body.type_id, body.level, site, body.title,
                                      who, _now(ctx), body.ticket_id)  # fmt: skip
    except IncidentError as exc:
        raise _refused(exc) from None
    return _out(ctx, incident)


@router.get("/incidents", response_model=list[schemas.IncidentOut])
def list_incidents(who: Operator, ctx: Ctx):
    """Open incidents, the most serious first (without their timelines)."""
    return [schemas.IncidentOut.model_validate(i, from_attributes=True)
            for i in ctx.incidents.active()]  # fmt: skip


@router.get("/incidents/{incident_id}", response_model=schemas.IncidentOut)
def read_incident(who: Operator, ctx: Ctx, incident_id: str = IncidentId):
    """An incident with its whole timeline."""
    return _out(ctx, _incident(ctx, incident_id))


@router.post("/incidents/{incident_id}/shelters/{shelter_id}", response_model=schemas.IncidentOut)
def shelter_use(who: Operator, ctx: Ctx, body: schemas.ShelterBody,
                incident_id: str = IncidentId, shelter_id: str = Path(max_length=64)):  # fmt: skip
    """How many people a shelter holds now, or its opening or closing (more than it holds: 422)."""
    _incident(ctx, incident_id)
    try:
        ctx.incidents.shelter(incident_id, shelter_id, who, _now(ctx), body.occupied, body.is_open)
    except IncidentError as exc:
        raise _refused(exc) from None
    return _out(ctx, _incident(ctx, incident_id))


@router.post("/incidents/{incident_id}/evacuations", response_model=schemas.IncidentOut)
def evacuated(who: Operator, ctx: Ctx, body: schemas.EvacuationBody,
              incident_id: str = IncidentId):  # fmt: skip
    """A building reported evacuated, with how many people left it."""
    _incident(ctx, incident_id)
    try:
        ctx.incidents.evacuated(incident_id, body.building_id, body.people, who, _now(ctx))
    except IncidentError as exc:
        raise _refused(exc) from None
    return _out(ctx, _incident(ctx, incident_id))


@router.get("/incidents/{incident_id}/cap.xml", response_class=Response)
def cap(who: Operator, ctx: Ctx, incident_id: str = IncidentId):
    """The incident as a CAP 1.2 alert (Cancel once it has ended)."""
    incident = _incident(ctx, incident_id)
    analysis = analyse(ctx.incidents.emap, ctx.cfg.emergency, incident.type_id,
                       shape(incident.site), cameras=ctx.cfg.cameras)  # fmt: skip
    xml = cap_alert(ctx.cfg, incident, analysis, _now(ctx))
    return Response(xml, media_type="application/xml; charset=utf-8")
