"""Wiring shared by every service process: config -> Redis bus, ticket store, district index."""

from __future__ import annotations

import json
import logging
import os
import sys
from dataclasses import dataclass
from functools import cached_property

from config.schema import AppConfig
from dispatch.store import Store, default_database_url
from streams.bus import Bus, connect


class ServiceError(RuntimeError):
    """A service cannot start; the message says what is missing and how to fix it."""


class JsonLines(logging.Formatter):
    """One JSON object per line (SC_LOG_FORMAT=json), for a log shipper."""

    def __init__(self, service: str):
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def setup_logging(service: str) -> None:
    """Structured one-line logs on stderr, quiet by default (SC_LOG_LEVEL=DEBUG for more;
    SC_LOG_FORMAT=json for JSON lines)."""
    level = os.environ.get("SC_LOG_LEVEL", "WARNING").upper()
    handler = logging.StreamHandler(sys.stderr)
    if os.environ.get("SC_LOG_FORMAT", "").lower() == "json":
        handler.setFormatter(JsonLines(service))
    else:
        handler.setFormatter(logging.Formatter(
            f"%(asctime)s level=%(levelname)s service={service} logger=%(name)s %(message)s"
        ))  # fmt: skip
    logging.basicConfig(level=level, handlers=[handler])
    # Werkzeug raises its own logger to INFO (a line per request) unless it already has a level.
    logging.getLogger("werkzeug").setLevel(level)


@dataclass
class Context:
    """Lazily built connections of one service process."""

    cfg: AppConfig

    @property
    def redis_url(self) -> str:
        """The bus URL; services need one (run.py demo starts a private Redis and sets it)."""
        url = self.cfg.services.redis_url
        if not url:
            raise ServiceError(
                "no Redis configured: set REDIS_URL (or services.redis_url), "
                "or start everything with `python run.py demo`, which runs a private Redis"
            )
        return url

    @property
    def database_url(self) -> str:
        """DATABASE_URL / services.database_url, else SQLite in the data dir."""
        return self.cfg.services.database_url or default_database_url(self.cfg.services.data_dir)

    @cached_property
    def bus(self) -> Bus:
        """The bus client."""
        return Bus(connect(self.redis_url), maxlen=self.cfg.services.stream_maxlen)

    @cached_property
    def store(self) -> Store:
        """The ticket store, with its schema created."""
        store = Store(self.database_url)
        store.create_schema()
        return store

    @cached_property
    def index(self):
        """The district's spatial index (grids, communities, nearest unit)."""
        from geo.index import DistrictIndex
        from geo.layers import load_layers

        return DistrictIndex(load_layers(self.cfg), self.cfg.district.crs)
