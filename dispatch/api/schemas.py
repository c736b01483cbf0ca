"""Request and response bodies of the JSON API (they make up the published OpenAPI document)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from streams.records import without_nul


class Body(BaseModel):
    """Request bodies reject unknown fields, so a typo is an error instead of being ignored;
    NUL characters are dropped from text (no database can store them)."""

    model_config = ConfigDict(extra="forbid")
    _no_nul = field_validator("*", mode="before")(classmethod(lambda cls, v: without_nul(v)))


class NoteBody(Body):
    """An optional note for the audit log."""

    note: str = Field(default="", max_length=2000)


class ReturnBody(Body):
    """Why the unit gives the ticket back."""

    note: str = Field(min_length=1, max_length=2000, description="why this is not yours")


class DispatchBody(Body):
    """Send the ticket to a unit."""

    unit_id: str = Field(min_length=1, max_length=64)
    note: str = Field(default="", max_length=2000)


class VerifyBody(Body):
    """An operator's verdict on a resolved ticket."""

    ok: bool = Field(description="true: the fix holds (verified, closed); false: reopen")
    note: str = Field(default="", max_length=2000)


class CloseBody(Body):
    """Close without a verified fix."""

    reason: Literal["duplicate", "not_responsible", "no_action_needed", "false_positive"]
    note: str = Field(default="", max_length=2000)


class ReopenBody(Body):
    """Why a closed ticket's problem is back (a citizen calls again, a patrol sees it)."""

    note: str = Field(min_length=1, max_length=2000, description="what shows the problem is back")


class MuteBody(Body):
    """How long to hide a warning."""

    minutes: float = Field(gt=0, le=1440)


class Fix(Body):
    """One GPS fix of the calling unit."""

    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    time: dt.datetime = Field(description="when the fix was taken, ISO 8601 with zone")
    speed_mps: float | None = Field(default=None, ge=0)
    heading_deg: float | None = Field(default=None, ge=0, le=360)
    accuracy_m: float | None = Field(default=None, ge=0)


class FixBatch(Body):
    """Fixes buffered on a device, in any order."""

    fixes: list[Fix] = Field(min_length=1, max_length=1000)


class Dropped(BaseModel):
    """A fix the ingest dropped, and why."""

    index: int
    reason: str


class IngestResult(BaseModel):
    """What happened to a batch of fixes."""

    accepted: int
    dropped: list[Dropped]


class MediaOut(BaseModel):
    """A photo or snapshot attached to a ticket."""

    kind: str
    url: str
    added_at: dt.datetime
    added_by: str


class ReporterOut(BaseModel):
    """The contact a person left with a report, for calling them back (operators only)."""

    event_id: str
    source: str
    reported_at: dt.datetime
    first_name: str | None
    last_name: str | None
    email: str | None
    phone: str | None
    device_id: str | None
    account_id: str | None


class AuditOut(BaseModel):
    """One audit-log entry."""

    at: dt.datetime
    actor: str
    from_status: str | None
    to_status: str
    note: str


class TicketOut(BaseModel):
    """A ticket as the API shows it."""

    id: str
    status: str
    category: str
    category_name: str
    priority: int
    source: str
    description: str
    address: str | None
    lat: float
    lon: float
    grid_id: str | None
    community_id: str | None
    department_id: str | None
    unit_id: str | None
    camera_id: str | None
    zone_id: str | None
    reports: int
    reopened: int = Field(description="times the fix failed verification and came back")
    requested_at: dt.datetime
    updated_at: dt.datetime
    accept_due: dt.datetime | None
    arrive_due: dt.datetime | None
    resolve_due: dt.datetime | None
    map_url: str = Field(description="geo: URI that opens the phone's map app at the place")
    allowed: list[str] = Field(description="states this ticket may move to next")
    media: list[MediaOut] = []
    audit: list[AuditOut] | None = None


class WarningOut(BaseModel):
    """An overdue stage or a verification waiting for a person."""

    id: int
    ticket_id: str
    stage: str
    level: str
    due_at: dt.datetime
    raised_at: dt.datetime
    escalated_at: dt.datetime | None
    supervisor_id: str | None
    acknowledged_by: str | None
    acknowledged_at: dt.datetime | None
    muted_until: dt.datetime | None


class UnitOut(BaseModel):
    """The calling unit."""

    id: str
    name: str
    type: str
    department: str


class IncidentOpenBody(Body):
    """Open an incident: at a site (GeoJSON Point or Polygon, WGS-84), at a point, or at the
    place of an existing ticket."""

    type_id: str = Field(min_length=1, max_length=64, description="an incident type's id")
    level: int = Field(ge=1, le=4, description="1 (I, 特别重大) to 4 (IV, 一般)")
    title: str = Field(min_length=1, max_length=200)
    site: dict | None = Field(default=None, description="GeoJSON geometry: Point or Polygon")
    lon: float | None = Field(default=None, ge=-180, le=180)
    lat: float | None = Field(default=None, ge=-90, le=90)
    ticket_id: str | None = Field(default=None, max_length=64, description="open it from a ticket")


class ShelterBody(Body):
    """A shelter's occupancy during an incident, or its opening or closing."""

    occupied: int | None = Field(default=None, ge=0, le=1_000_000)
    is_open: bool | None = None


class EvacuationBody(Body):
    """A building reported evacuated."""

    building_id: str = Field(min_length=1, max_length=64)
    people: int = Field(ge=0, le=100_000)


class IncidentStep(BaseModel):
    """One entry of an incident's timeline."""

    at: dt.datetime
    actor: str
    action: str
    detail: str


class IncidentOut(BaseModel):
    """An incident and its timeline."""

    id: str
    type_id: str
    level: int
    status: str
    title: str
    lon: float
    lat: float
    owner: str
    pinned: bool
    opened_at: dt.datetime
    closed_at: dt.datetime | None
    summary: str
    ticket_id: str | None
    timeline: list[IncidentStep] = Field(default_factory=list)
