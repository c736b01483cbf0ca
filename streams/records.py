"""Typed records that cross the bus, each with a schema version and a stream it belongs to."""

from __future__ import annotations

import json
import time
import uuid
from enum import StrEnum
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from streams import keys

SCHEMA_VERSION = 1


class RecordError(ValueError):
    """A bus message that cannot be decoded into a known record."""


def without_nul(value):
    """Text with its NUL characters removed (no database text column can hold them, and no
    person means them); other values as they are."""
    return value.replace("\x00", "") if isinstance(value, str) else value


class Record(BaseModel):
    """Base of every bus record: frozen, unknown fields rejected, versioned on the wire; text
    never carries NUL characters."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    _no_nul = field_validator("*", mode="before")(classmethod(lambda cls, v: without_nul(v)))
    STREAM: ClassVar[str]
    TYPE: ClassVar[str]

    def to_fields(self) -> dict[str, str]:
        """The Redis Stream entry for this record."""
        return {"type": self.TYPE, "v": str(SCHEMA_VERSION), "data": self.model_dump_json()}


def new_id() -> str:
    """A fresh globally unique id for events and tickets."""
    return uuid.uuid4().hex


EventSource = Literal["camera", "hotline", "patrol", "operator", "citizen", "scenario"]


class Reporter(BaseModel):
    """Who reported a problem, as they chose to say (Open311's optional contact fields); kept
    so that the centre can call back, shown only to operators."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    _no_nul = field_validator("*", mode="before")(classmethod(lambda cls, v: without_nul(v)))
    first_name: str | None = Field(default=None, max_length=100)
    last_name: str | None = Field(default=None, max_length=100)
    email: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=50)
    device_id: str | None = Field(default=None, max_length=200)
    account_id: str | None = Field(default=None, max_length=200)


class Event(Record):
    """A problem found by a camera rule or reported by a person, at a map position."""

    STREAM: ClassVar[str] = keys.EVENTS
    TYPE: ClassVar[str] = "event"
    event_id: str = Field(default_factory=new_id, min_length=1, max_length=64)
    category: str = Field(min_length=1, max_length=64)
    source: EventSource = "camera"
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    detected_at: float = Field(default_factory=time.time, description="epoch seconds")
    camera_id: str | None = None
    zone_id: str | None = None
    rule_id: str | None = None
    track_ids: tuple[int, ...] = ()
    confidence: float | None = Field(default=None, ge=0, le=1)
    description: str = Field(default="", max_length=2000)
    snapshot: str | None = Field(default=None, description="snapshot path under the data dir")
    address: str | None = Field(default=None, max_length=255, description="as reported")
    media_url: str | None = Field(default=None, max_length=1000, description="reporter's photo")
    reporter: Reporter | None = Field(default=None, description="a person's contact, if given")
    attributes: dict[str, str | tuple[str, ...]] = Field(
        default_factory=dict,
        max_length=32,
        description="the category's extra fields as the reporter answered them (validated)",
    )


# What can be wrong with a camera's picture while its frames still arrive.
PICTURE_PROBLEMS = ("frozen", "dark", "blurred", "shifted")


class CameraHealth(Record):
    """Whether a camera delivers frames, published on every change and periodically."""

    STREAM: ClassVar[str] = keys.CAMERA_HEALTH
    TYPE: ClassVar[str] = "camera_health"
    camera_id: str
    online: bool
    checked_at: float = Field(default_factory=time.time)
    fps: float | None = Field(default=None, ge=0)
    detail: str = ""
    problems: tuple[str, ...] = Field(
        default=(), description="what is wrong with the picture: frozen, dark, blurred, shifted"
    )


class UnitPosition(Record):
    """One GPS fix of a field unit."""

    STREAM: ClassVar[str] = keys.UNIT_POSITIONS
    TYPE: ClassVar[str] = "unit_position"
    unit_id: str
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    fix_time: float = Field(default_factory=time.time, description="epoch seconds of the fix")
    speed_mps: float | None = Field(default=None, ge=0)
    heading_deg: float | None = Field(default=None, ge=0, le=360)
    accuracy_m: float | None = Field(default=None, ge=0)


class TicketChange(Record):
    """A ticket was created or changed state; `version` grows by one per change."""

    STREAM: ClassVar[str] = keys.TICKET_CHANGES
    TYPE: ClassVar[str] = "ticket_change"
    ticket_id: str
    version: int = Field(ge=1)
    status: str
    category: str
    lon: float
    lat: float
    changed_at: float = Field(default_factory=time.time)
    event_id: str | None = None
    grid_id: str | None = None
    community_id: str | None = None
    department_id: str | None = None
    unit_id: str | None = None
    camera_id: str | None = None
    source: str | None = None
    description: str = ""
    reports: int = Field(default=1, ge=1, description="events merged into this ticket")
    status_since: float | None = Field(
        default=None, description="when the ticket reached its status (notes do not move it)"
    )


class ZoneCheck(Record):
    """A camera's re-check of a zone: is the problem a rule watches there still present?"""

    STREAM: ClassVar[str] = keys.ZONE_CHECKS
    TYPE: ClassVar[str] = "zone_check"
    camera_id: str = Field(min_length=1, max_length=64)
    zone_id: str = Field(min_length=1, max_length=64)
    present: bool
    observed_at: float = Field(default_factory=time.time)
    confidence: float | None = Field(default=None, ge=0, le=1)
    snapshot: str | None = Field(default=None, description="snapshot path under the data dir")


class AlertLevel(StrEnum):
    """The news a warning record carries (a warning's level is overdue or escalated)."""

    OVERDUE = "overdue"
    ESCALATED = "escalated"  # the supervisor must act (not the ticket state of the same name)
    CLEARED = "cleared"
    ACKNOWLEDGED = "acknowledged"
    MUTED = "muted"


class TicketAlert(Record):
    """A ticket's stage went overdue, was escalated, or needs a person to verify it."""

    STREAM: ClassVar[str] = keys.ALERTS
    TYPE: ClassVar[str] = "ticket_alert"
    warning_id: int
    ticket_id: str
    stage: Literal["accept", "arrive", "resolve", "verify"]
    level: AlertLevel
    due_at: float
    raised_at: float
    category: str
    unit_id: str | None = None
    supervisor_id: str | None = None
    muted_until: float | None = None
    actor: str | None = None


class UnitAck(Record):
    """An operator has seen that a unit is long on one ticket's stage (amber or red on the map);
    it holds until the ticket moves on (`status_since` is the stage it acknowledges)."""

    STREAM: ClassVar[str] = keys.ALERTS
    TYPE: ClassVar[str] = "unit_ack"
    unit_id: str
    ticket_id: str
    status_since: float
    actor: str
    at: float = Field(default_factory=time.time)


RECORD_TYPES: dict[str, type[Record]] = {
    cls.TYPE: cls
    for cls in (Event, CameraHealth, UnitPosition, TicketChange, ZoneCheck, TicketAlert, UnitAck)
}


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def decode(fields: dict) -> Record:
    """Build the record a stream entry holds; raise RecordError naming what is wrong."""
    fields = {_text(k): _text(v) for k, v in fields.items()}
    kind, version = fields.get("type"), fields.get("v")
    cls = RECORD_TYPES.get(kind or "")
    if cls is None:
        raise RecordError(f"unknown record type {kind!r}; known: {', '.join(RECORD_TYPES)}")
    if version != str(SCHEMA_VERSION):
        raise RecordError(
            f"{kind} schema version {version!r} is not {SCHEMA_VERSION}; upgrade this consumer"
        )
    try:
        return cls.model_validate(json.loads(fields.get("data", "")))
    except (ValidationError, json.JSONDecodeError) as exc:
        raise RecordError(f"{kind} data is invalid: {exc}") from exc
