"""The ticket store: SQLAlchemy 2 tables for tickets, their audit trail, units' last fixes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    create_engine,
    event,
    func,
    select,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from dispatch.states import OPEN_STATES


class Base(DeclarativeBase):
    """Declarative base of every table."""


class TicketRow(Base):
    """A work ticket; Open311 names where they fit (service_code = category)."""

    __tablename__ = "tickets"
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
    requested_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, default=1)
    merged_events: Mapped[int] = mapped_column(Integer, default=1)
    returned_count: Mapped[int] = mapped_column(Integer, default=0)
    reopened_count: Mapped[int] = mapped_column(Integer, default=0)
    close_reason: Mapped[str | None] = mapped_column(String(32))
    accept_due: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    arrive_due: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    resolve_due: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class EventLinkRow(Base):
    """Which ticket each event went into (its own, or an open one it merged into)."""

    __tablename__ = "ticket_events"
    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id"), index=True)
    linked_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    merged: Mapped[bool] = mapped_column(Boolean, default=False)


class AuditRow(Base):
    """One ticket transition: append-only."""

    __tablename__ = "ticket_audit"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(64))
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text, default="")


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
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(url: str) -> Engine:
    """An engine for the URL; SQLite gets WAL and a busy timeout."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    engine = create_engine(url, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


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
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

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
