"""Shared fixtures: a real private redis-server, fresh databases, the demo config."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
import redis
from sqlalchemy import text

from config.loader import load_config
from config.paths import DEMO_CONFIG, PROJECT_ROOT
from dispatch import tokens
from dispatch.store import Base, Store
from streams.bus import Bus, connect
from streams.embedded import EmbeddedRedis
from tests.support.api import place_units
from tests.support.postgres import PrivatePostgres

ARTIFACTS = PROJECT_ROOT / "test-artifacts"


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


@pytest.fixture(scope="session")
def postgres_base() -> str:
    """TEST_DATABASE_URL, or a private PostgreSQL cluster started for this run."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        yield url
        return
    server = PrivatePostgres()
    url = server.start()
    yield url
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str:
    """A database URL with no tables: a fresh SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'tickets.db'}"
        return
    base = request.getfixturevalue("postgres_base")
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


@pytest.fixture(scope="session")
def demo_layers(demo_cfg):
    """The demo district's layers, read once."""
    from geo.layers import load_layers

    return load_layers(demo_cfg)


@pytest.fixture(scope="session")
def demo_index(demo_cfg, demo_layers):
    """The demo district's spatial index."""
    from geo.index import DistrictIndex

    return DistrictIndex(demo_layers, demo_cfg.district.crs)


class Clock:
    """An explicit clock: tests move time instead of sleeping."""

    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        """Move forward; return the new time."""
        self.now += seconds
        return self.now


class ApiStack:
    """A dispatcher consuming the real bus and the API served by uvicorn on a free port."""

    def __init__(self, cfg, store, bus, index, layers, clock: Clock):
        import threading

        import uvicorn

        from dispatch.api.app import create_api
        from dispatch.dispatcher import Dispatcher, run_dispatcher
        from dispatch.routing import Router
        from streams.embedded import free_port

        self.cfg, self.store, self.bus, self.clock = cfg, store, bus, clock
        router = Router(cfg, index)
        self.dispatcher = Dispatcher(cfg, store, bus, router, clock)
        self.desk = self.dispatcher.desk
        self.warnings = self.dispatcher.warnings
        self.verifier = self.dispatcher.verifier
        self.stop = threading.Event()
        self.threads = [
            threading.Thread(
                target=run_dispatcher,
                args=(self.dispatcher, "test-dispatcher", self.stop),
                kwargs={"tick_s": 3600},
                daemon=True,
            )
        ]
        app = self.app = create_api(cfg, store, bus, router, layers, clock)
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
        )
        self.threads.append(threading.Thread(target=self.server.run, daemon=True))
        for thread in self.threads:
            thread.start()
        import time

        deadline = time.monotonic() + 10
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        assert self.server.started, "the API did not start"

    def close(self) -> None:
        """Stop the server and the dispatcher."""
        self.server.should_exit = True
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=10)
        lingering = [t.name for t in self.threads if t.is_alive()]
        assert not lingering, f"threads still running into the next test: {lingering}"


@pytest.fixture
def api_stack(demo_cfg, store, bus, demo_index, demo_layers, tmp_path):
    """Dispatcher + API on the real bus and database, with an explicit clock and tmp data dir."""
    services = demo_cfg.services.model_copy(update={"data_dir": tmp_path / "data"})
    api = demo_cfg.api.model_copy(update={"failed_credentials_per_minute": 10_000})
    cfg = demo_cfg.model_copy(update={"services": services, "api": api})  # no throttling here
    # Wednesday 2027-01-13 10:00 in Shanghai: inside working hours.
    clock = Clock(1_799_805_600.0)
    stack = ApiStack(cfg, store, bus, demo_index, demo_layers, clock)
    yield stack
    stack.close()


@pytest.fixture
def open311(api_stack):
    """The API's Open311 root and a hotline api_key, with every unit on duty at home."""
    place_units(api_stack)
    return api_stack.url + "/open311/v2", tokens.issue(api_stack.store, "hotline", "12345")


def _skipped(config) -> list:
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    return reporter.stats.get("skipped", []) if reporter else []


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """In CI a skipped test is a test that did not run: say so (the run then fails)."""
    if os.environ.get("CI") == "true" and _skipped(config):
        terminalreporter.write_line(
            f"CI: {len(_skipped(config))} test(s) skipped; every test must run in CI "
            "(install what the skip reason names in scripts/setup.sh)",
            red=True,
        )


def pytest_sessionfinish(session, exitstatus):
    """In CI (CI=true) any skipped test fails the run."""
    if os.environ.get("CI") == "true" and exitstatus == 0 and _skipped(session.config):
        session.exitstatus = 1
