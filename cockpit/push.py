"""Pushes the live state to browsers over Socket.IO: the whole state on join, then every change."""

from __future__ import annotations

import logging
import threading
import time

from flask import request
from flask_socketio import SocketIO, join_room

from cockpit.feed import BusFeed
from cockpit.payload import WallView
from config.i18n import LANGS, pick_lang
from streams.bus import BUS_DOWN
from streams.outage import Outage

log = logging.getLogger(__name__)
PUSH_INTERVAL_S = 0.5
EMERGENCY_CHECK_S = 2.0  # how often the pinned incident is read from the store
REFRESH_S = 30  # pushed even without news: minutes late, muted warnings coming back, hourly counts
INCIDENT_ROOM = "incidents"  # incident pages: told when any incident or its tasks change


class Pusher:
    """Reads the bus into the live state and pushes a fresh payload to each language room."""

    def __init__(self, socketio: SocketIO, feed: BusFeed, view: WallView):
        self.socketio, self.feed, self.view = socketio, feed, view
        self.state = view.state
        self.stop = threading.Event()
        self.database = Outage(log, "the ticket database (pinned incident, incident pages)")
        self.bus_outage = Outage(log, "the event bus (wall pushes)")
        self.revision: str | None = None
        socketio.on_event("join", self.on_join)
        socketio.on_event("watch_incidents", self.on_watch_incidents)

    def on_join(self, message) -> None:
        """A browser says which language it shows; send it the full state at once."""
        lang = pick_lang((message or {}).get("lang"))
        join_room(lang)
        self.socketio.emit("live", self.view.payload(lang), to=request.sid)
        if self.bus_outage.since is not None:  # what it shows may be old: say why
            self.socketio.emit("link", {"feed": False}, to=request.sid)

    def on_watch_incidents(self, _message=None) -> None:
        """An incident page listens: it is told the incidents' revision whenever it changes
        (it then reads what it shows itself, through its role-checked callbacks)."""
        join_room(INCIDENT_ROOM)
        if self.revision is not None:
            self.socketio.emit("incidents", {"rev": self.revision}, to=request.sid)

    def _check_pinned(self) -> bool:
        """Whether the pinned incident changed; a database outage is logged once, when it starts
        and when it ends, and the walls keep what they show meanwhile."""
        try:
            changed = self.view.emergency.check()
            revision = self.view.emergency.revision()
        except Exception as exc:  # SQLAlchemy raises several kinds while the database is away
            self.database.failed(exc)
            return False
        self.database.ok()
        if revision != self.revision:
            self.revision = revision
            self.socketio.emit("incidents", {"rev": revision}, to=INCIDENT_ROOM)
        return changed

    def run(self) -> None:
        """Poll the bus (blocking briefly) and push changes at most every PUSH_INTERVAL_S, and
        the whole state every REFRESH_S (what depends on the time moves on without news)."""
        pushed, pushed_at, checked = -1, 0.0, 0.0
        while not self.stop.is_set():
            pinned_changed = False
            if self.view.emergency is not None and time.monotonic() - checked >= EMERGENCY_CHECK_S:
                checked = time.monotonic()
                pinned_changed = self._check_pinned()
            try:
                self.feed.poll(block_ms=int(PUSH_INTERVAL_S * 1000))
            except BUS_DOWN as exc:  # the bus may restart; keep the screens up, say so, retry
                if self.bus_outage.since is None:
                    self.socketio.emit("link", {"feed": False})
                self.bus_outage.failed(exc)
                self.stop.wait(1)
                continue
            if self.bus_outage.since is not None:  # back: say so, and push at once
                self.bus_outage.ok()
                self.socketio.emit("link", {"feed": True})
                pushed = -1
            stale = time.monotonic() - pushed_at >= REFRESH_S
            if self.state.version != pushed or pinned_changed or stale:
                pushed, pushed_at = self.state.version, time.monotonic()
                for lang in LANGS:
                    self.socketio.emit("live", self.view.payload(lang), to=lang)
