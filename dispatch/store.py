"""The ticket store: SQLAlchemy 2 tables for tickets, their audit trail, units' last fixes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    func,
    select,
    text,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    mapped_column,
    relationship,
    sessionmaker,
)
from sqlalchemy.types import TypeDecorator

from dispatch.states import MERGEABLE, OPEN_STATES


class UtcDateTime(TypeDecorator):
    """A timestamp stored in UTC and always read back time-zone aware (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value} would be ambiguous; pass an aware one")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    """Declarative base of every table."""


OPEN_ZONE = text(
    f"status IN ({', '.join(repr(str(s)) for s in MERGEABLE)}) "
    "AND camera_id IS NOT NULL AND zone_id IS NOT NULL"
)
SCHEMA_LOCK = 0x5C0C_0001  # PostgreSQL advisory lock held while the schema is migrated


class TicketRow(Base):
    """A work ticket; Open311 names where they fit (service_code = category)."""

    __tablename__ = "tickets"
    # At most one ticket per camera zone and category that is still open (or fixed and waiting
    # for its re-check): enforced by the database, so any number of dispatchers stay safe.
    __table_args__ = (
        Index("uq_tickets_open_zone", "camera_id", "zone_id", "service_code", unique=True,
              postgresql_where=OPEN_ZONE, sqlite_where=OPEN_ZONE),
    )  # fmt: skip
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    event_id: Mapped[str | None] = mapped_column(String(64), unique=True, index=True)
    service_code: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(32), index=True)
    source: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text, default="")
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    grid_id: Mapped[str | None] = mapped_column(String(64), index=True)
    community_id: Mapped[str | None] = mapped_column(String(64))
    department_id: Mapped[str | None] = mapped_column(String(64))
    unit_id: Mapped[str | None] = mapped_column(String(64), index=True)
    camera_id: Mapped[str | None] = mapped_column(String(64))
    zone_id: Mapped[str | None] = mapped_column(String(64))
    requested_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    version: Mapped[int] = mapped_column(Integer, default=1)
    merged_events: Mapped[int] = mapped_column(Integer, default=1)
    returned_count: Mapped[int] = mapped_column(Integer, default=0)
    reopened_count: Mapped[int] = mapped_column(Integer, default=0)
    close_reason: Mapped[str | None] = mapped_column(String(32))
    accept_due: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    arrive_due: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    resolve_due: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    priority: Mapped[int] = mapped_column(Integer, default=2)
    address: Mapped[str | None] = mapped_column(String(255))
    # When each stage was reached (the KPIs and the overdue checks read these).
    dispatched_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    accepted_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    arrived_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    verified_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    closed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    # Camera verification: since when the re-check has seen the zone clear.
    clear_since: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    # Trend facts (dispatch/facts.py): when and where in the district's terms, so that leaders'
    # figures are SQL aggregates over indexed columns.
    local_day: Mapped[dt.date | None] = mapped_column(Date, index=True)
    local_hour: Mapped[int | None] = mapped_column(SmallInteger)
    local_dow: Mapped[int | None] = mapped_column(SmallInteger)  # ISO weekday, Monday = 1
    hex_cell: Mapped[str | None] = mapped_column(String(16))  # H3 cell of the place
    repeat_of: Mapped[str | None] = mapped_column(String(32))  # an earlier ticket at this spot
    supervised_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime(), index=True)  # 督办
    accept_work_min: Mapped[float | None] = mapped_column(Float)  # dispatch -> accepted
    arrive_work_min: Mapped[float | None] = mapped_column(Float)  # dispatch -> on site
    resolve_work_min: Mapped[float | None] = mapped_column(Float)  # dispatch -> resolved
    facts_due: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    incident_id: Mapped[str | None] = mapped_column(String(32), index=True)  # an incident's task


class MediaRow(Base):
    """Evidence attached to a ticket: camera snapshots and field photos (files in the data dir)."""

    __tablename__ = "ticket_media"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id"), index=True)
    # Declared so that one flush writes new tickets before the rows that point at them.
    ticket: Mapped[TicketRow] = relationship(lazy="raise")
    kind: Mapped[str] = mapped_column(String(16))  # snapshot | photo
    path: Mapped[str] = mapped_column(String(255))  # relative to the data dir
    content_type: Mapped[str] = mapped_column(String(64))
    added_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    added_by: Mapped[str] = mapped_column(String(64))


class WarningRow(Base):
    """An overdue stage, or a verification waiting for a person, and what operators did."""

    __tablename__ = "ticket_warnings"
    __table_args__ = (UniqueConstraint("ticket_id", "stage", "due_at", name="uq_warning_stage"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id"), index=True)
    # Declared so that one flush writes new tickets before the rows that point at them.
    ticket: Mapped[TicketRow] = relationship(lazy="raise")
    stage: Mapped[str] = mapped_column(String(16))  # accept | arrive | resolve | verify
    level: Mapped[str] = mapped_column(String(16))  # overdue | escalated
    due_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    raised_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    escalated_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    supervisor_id: Mapped[str | None] = mapped_column(String(64))
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    muted_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    cleared_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime(), index=True)


class TokenRow(Base):
    """An API credential: only its SHA-256 is stored; the secret is shown once when issued."""

    __tablename__ = "api_tokens"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))  # unit | operator | open311
    subject: Mapped[str] = mapped_column(String(64), index=True)  # unit id, operator or client
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


class UserRow(Base):
    """A person who signs in to the cockpit; the password is kept only as an Argon2 hash."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(
        String(16)
    )  # admin | operator | coordinator | leader | viewer
    password_hash: Mapped[str] = mapped_column(String(200))
    # Set by the demo, which writes the password to a file; cleared by `run.py user passwd`.
    demo_password: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    password_changed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    disabled_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


class EventLinkRow(Base):
    """Which ticket each event went into (its own, or an open one it merged into)."""

    __tablename__ = "ticket_events"
    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id"), index=True)
    # Declared so that one flush writes new tickets before the rows that point at them.
    ticket: Mapped[TicketRow] = relationship(lazy="raise")
    linked_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    merged: Mapped[bool] = mapped_column(Boolean, default=False)
    # The category's extra fields as the reporter answered them (Open311 attributes).
    attributes: Mapped[dict | None] = mapped_column(JSON)


class ReporterRow(Base):
    """The contact a person left with a report (one per event; operators only)."""

    __tablename__ = "ticket_reporters"
    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id"), index=True)
    ticket: Mapped[TicketRow] = relationship(lazy="raise")
    source: Mapped[str] = mapped_column(String(16))
    reported_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(50))
    device_id: Mapped[str | None] = mapped_column(String(200))
    account_id: Mapped[str | None] = mapped_column(String(200))


class AuditRow(Base):
    """One ticket transition: append-only."""

    __tablename__ = "ticket_audit"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id"), index=True)
    # Declared so that one flush writes new tickets before the rows that point at them.
    ticket: Mapped[TicketRow] = relationship(lazy="raise")
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    actor: Mapped[str] = mapped_column(String(64))
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text, default="")


class IncidentRow(Base):
    """An emergency incident: its site, type, level (1 特别重大 to 4 一般) and coordinator."""

    __tablename__ = "incidents"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    type_id: Mapped[str] = mapped_column(String(64))
    level: Mapped[int] = mapped_column(SmallInteger)
    status: Mapped[str] = mapped_column(String(16), index=True)  # open | closed
    title: Mapped[str] = mapped_column(String(200))
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    site: Mapped[dict] = mapped_column(JSON)  # GeoJSON geometry: a point or an area
    owner: Mapped[str] = mapped_column(String(64))  # the coordinator in charge
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)  # emergency mode on the walls
    opened_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    opened_by: Mapped[str] = mapped_column(String(64))
    closed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    summary: Mapped[str] = mapped_column(Text, default="")
    ticket_id: Mapped[str | None] = mapped_column(String(32))  # the ticket it grew from
    version: Mapped[int] = mapped_column(Integer, default=1)


class IncidentLogRow(Base):
    """One step of an incident's timeline: append-only, with who and when."""

    __tablename__ = "incident_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"), index=True)
    incident: Mapped[IncidentRow] = relationship(lazy="raise")
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text, default="")


class ShelterUseRow(Base):
    """How full a shelter is during an incident, and whether it is open."""

    __tablename__ = "incident_shelters"
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"), primary_key=True)
    incident: Mapped[IncidentRow] = relationship(lazy="raise")
    shelter_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    occupied: Mapped[int] = mapped_column(Integer, default=0)
    is_open: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class EvacuationRow(Base):
    """A building reported evacuated during an incident."""

    __tablename__ = "incident_evacuations"
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"), primary_key=True)
    incident: Mapped[IncidentRow] = relationship(lazy="raise")
    building_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    people: Mapped[int] = mapped_column(Integer, default=0)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    actor: Mapped[str] = mapped_column(String(64))


class UnitPositionRow(Base):
    """The last accepted GPS fix of each unit."""

    __tablename__ = "unit_positions"
    unit_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    fix_time: Mapped[float] = mapped_column(Float)


MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def default_database_url(data_dir: Path) -> str:
    """SQLite file in the data dir, used when no DATABASE_URL is configured."""
    data_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(data_dir / 'tickets.db').resolve()}"


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # WAL lets the cockpit read while the dispatcher writes; busy_timeout rides out brief locks.
    # The driver's own transaction handling is off so that _sqlite_begin can take the write lock
    # up front: the dispatcher, the API and the field page all read-modify-write tickets.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(url: str) -> Engine:
    """An engine for the URL; SQLite gets WAL and a busy timeout."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    engine = create_engine(url, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_begin(connection) -> None:
    # BEGIN IMMEDIATE: a writer waits (busy_timeout) for another to finish instead of failing
    # half-way with "database is locked" when two processes update the same ticket.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


class Store:
    """Owns the engine and hands out sessions."""

    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    def create_schema(self) -> None:
        """Bring the schema to the newest migration (idempotent; safe with data in place)."""
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with self.engine.begin() as connection:
            if connection.dialect.name == "postgresql":  # several processes starting at once
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def reachable(self) -> bool:
        """Whether the database answers now (readiness checks, `run.py status`)."""
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception:  # noqa: BLE001 - every driver error means "not reachable"
            return False
        return True

    def session(self) -> Session:
        """A new session; use it as a context manager."""
        return self.sessions()

    def open_tickets(self, limit: int = 500) -> list[TicketRow]:
        """Open tickets, newest first."""
        with self.session() as session:
            query = (
                select(TicketRow)
                .where(TicketRow.status.in_(OPEN_STATES))
                .order_by(TicketRow.requested_at.desc())
                .limit(limit)
            )
            return list(session.scalars(query))

    def count_tickets(self) -> int:
        """How many tickets exist."""
        with self.session() as session:
            return session.scalar(select(func.count()).select_from(TicketRow)) or 0

    def dispose(self) -> None:
        """Close pooled connections."""
        self.engine.dispose()
