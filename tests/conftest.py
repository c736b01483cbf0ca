"""Shared fixtures: a real private redis-server, fresh databases, the demo config."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
import redis
from sqlalchemy import text

from config.loader import DEMO_CONFIG, load_config
from dispatch.store import Base, Store
from streams.bus import Bus, connect
from streams.embedded import EmbeddedRedis

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    """A redis-server of our own on a free port (the same code the demo uses)."""
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"), persist=False)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server) -> str:
    """The URL of an empty Redis database."""
    client = redis.Redis.from_url(redis_server.url)
    client.flushdb()
    client.close()
    return redis_server.url


@pytest.fixture
def bus(redis_url) -> Bus:
    """A bus on an empty Redis."""
    return Bus(connect(redis_url))


@pytest.fixture(scope="session")
def demo_cfg():
    """The demo district's config."""
    return load_config(DEMO_CONFIG)


def _database_params() -> list:
    params = [pytest.param("sqlite", id="sqlite")]
    params.append(
        pytest.param(
            "postgresql",
            id="postgresql",
            marks=pytest.mark.skipif(
                not os.environ.get("TEST_DATABASE_URL"), reason="TEST_DATABASE_URL not set"
            ),
        )
    )
    return params


@pytest.fixture(params=_database_params())
def database_url(request, tmp_path) -> str:
    """A database URL with no tables: a fresh SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'tickets.db'}"
        return
    base = os.environ["TEST_DATABASE_URL"]
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = Store(base)
    with admin.engine.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in base else "?"
    yield f"{base}{separator}options=-csearch_path%3D{schema}"
    with admin.engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


@pytest.fixture
def store(database_url) -> Store:
    """A ticket store with its schema created."""
    store = Store(database_url)
    store.create_schema()
    yield store
    Base.metadata.drop_all(store.engine)
    store.dispose()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where tests save screenshots for people to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
