"""Simulated field crews: they work their tickets through the API exactly as phones do.

Each crew polls `GET /api/v1/my/tickets` with its own token, accepts a new ticket after a
short while, drives to it along a straight line (its position replaces its patrol on the map),
reports arrival, works, and resolves with a photo. For camera tickets the simulator then plays
the camera's re-check (`ZoneCheck` records for the zones waiting in Redis, as the vision workers
do): most fixes hold; some do not and the ticket comes back. Tickets no camera sees are verified
by the demo operator through the API. This drives the whole closed loop in the demo.
"""

from __future__ import annotations

import logging
import math
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import requests

from config.schema import AppConfig
from dispatch.states import TicketState
from streams.bus import Bus
from streams.rechecks import Rechecks
from streams.records import ZoneCheck

log = logging.getLogger(__name__)
S = TicketState
DRIVE_MPS = 8.0
POLL_S = 5.0


def read_tokens(path: Path) -> dict[tuple[str, str], str]:
    """(role, subject) -> secret from the demo tokens file."""
    found = {}
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) == 3:
            found[(parts[0], parts[1])] = parts[2]
    return found


def photo_jpeg(rng: random.Random) -> bytes:
    """A stand-in phone photo of a cleared spot."""
    image = np.full((360, 480, 3), (170, 170, 165), np.uint8)
    cv2.rectangle(image, (0, 250), (480, 360), (90, 90, 90), -1)  # road
    x = rng.randint(120, 300)
    cv2.rectangle(image, (x, 140), (x + 70, 250), (40, 120, 40), -1)  # an emptied bin
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 80])
    return data.tobytes()


@dataclass
class Job:
    """What one crew is doing about one ticket."""

    ticket_id: str
    lon: float
    lat: float
    status: str
    next_at: float
    start: tuple[float, float] | None = None
    started_at: float = 0.0
    extra: dict = field(default_factory=dict)


class Crews:
    """All simulated crews; `step(now)` advances them, `position(unit)` overrides patrols."""

    def __init__(
        self,
        cfg: AppConfig,
        tokens: dict[tuple[str, str], str],
        bus: Bus,
        speed: float = 1.0,
        seed: int = 11,
        fail_rate: float = 0.15,
        live_cameras: frozenset[str] = frozenset(),
    ):
        self.cfg, self.bus, self.speed = cfg, bus, speed
        self.live_cameras = live_cameras  # vision workers re-check these cameras' zones themselves
        self.api = f"http://{cfg.api.host}:{cfg.api.port}"
        self.rng = random.Random(seed)
        self.fail_rate = fail_rate
        supervisors = {d.supervisor for d in cfg.departments}
        self.sessions: dict[str, requests.Session] = {}
        for unit in cfg.units:
            secret = tokens.get(("unit", unit.id))
            if secret and unit.id not in supervisors:
                session = requests.Session()
                session.headers["Authorization"] = f"Bearer {secret}"
                self.sessions[unit.id] = session
        self.operator = requests.Session()
        self.operator.headers["Authorization"] = f"Bearer {tokens.get(('operator', 'demo'), '')}"
        self.jobs: dict[str, Job] = {}
        self.here: dict[str, tuple[float, float]] = {}
        self.next_poll = 0.0
        self.verdicts: dict[str, bool] = {}  # ticket -> does the fix hold
        self.checked: dict[str, float] = {}
        self.connected = False

    def position(self, unit_id: str, patrol: tuple[float, float]) -> tuple[float, float]:
        """Where the unit is: on its way to or at a job, else on patrol."""
        job = self.jobs.get(unit_id)
        if job is None:
            self.here[unit_id] = patrol
            return patrol
        if job.status == S.ACCEPTED and job.start is not None:
            travelled = (time.time() - job.started_at) * DRIVE_MPS * self.speed
            return self._towards(job.start, (job.lon, job.lat), travelled)
        if job.status in (S.ON_SITE, "resolving"):
            return (job.lon, job.lat)
        return self.here.get(unit_id, patrol)

    @staticmethod
    def _distance(a, b) -> float:
        dx = (b[0] - a[0]) * 111_320 * math.cos(math.radians(a[1]))
        dy = (b[1] - a[1]) * 111_320
        return math.hypot(dx, dy)

    def _towards(self, start, end, travelled: float) -> tuple[float, float]:
        total = self._distance(start, end)
        if total <= 0 or travelled >= total:
            return end
        share = travelled / total
        return (start[0] + (end[0] - start[0]) * share, start[1] + (end[1] - start[1]) * share)

    def step(self, now: float) -> None:
        """Poll, act on due jobs, and play camera re-checks; API errors are logged, not fatal."""
        try:
            if now >= self.next_poll:
                self._poll()
                self.next_poll = now + POLL_S / self.speed
            for unit_id, job in list(self.jobs.items()):
                if now >= job.next_at:
                    self._act(unit_id, job, now)
            self._recheck(now)
        except requests.RequestException as exc:
            # Quietly while the API is still starting; loudly once it has answered before.
            (log.warning if self.connected else log.info)(
                "crews: the API did not answer (%s); trying again", exc
            )
        else:
            self.connected = True

    def _later(self, low: float, high: float) -> float:
        return time.time() + self.rng.uniform(low, high) / self.speed

    def _poll(self) -> None:
        for unit_id, session in self.sessions.items():
            tickets = session.get(f"{self.api}/api/v1/my/tickets", timeout=5).json()
            live = [t for t in tickets if t["status"] in (S.DISPATCHED, S.ACCEPTED, S.ON_SITE)]
            job = self.jobs.get(unit_id)
            if job and job.ticket_id not in {t["id"] for t in live}:
                self.jobs.pop(unit_id)  # resolved, returned, escalated or closed elsewhere
                job = None
            if job is None and live:
                ticket = live[-1]  # the oldest first
                self.jobs[unit_id] = Job(
                    ticket["id"],
                    ticket["lon"],
                    ticket["lat"],
                    ticket["status"],
                    self._later(5, 20),
                )

    def _act(self, unit_id: str, job: Job, now: float) -> None:
        session = self.sessions[unit_id]
        base = f"{self.api}/api/v1/tickets/{job.ticket_id}"
        if job.status == S.DISPATCHED:
            if session.post(f"{base}/accept", timeout=5).ok:
                job.status, job.started_at = S.ACCEPTED, now
                job.start = self.here.get(unit_id, (job.lon, job.lat))
                trip = self._distance(job.start, (job.lon, job.lat)) / (DRIVE_MPS * self.speed)
                job.next_at = now + trip
            else:
                self.jobs.pop(unit_id)
        elif job.status == S.ACCEPTED:
            if session.post(f"{base}/arrive", timeout=5).ok:
                job.status, job.next_at = S.ON_SITE, self._later(20, 45)
            else:
                self.jobs.pop(unit_id)
        elif job.status == S.ON_SITE:
            files = [("photo", ("fix.jpg", photo_jpeg(self.rng), "image/jpeg"))]
            session.post(f"{base}/resolve", files=files, data={"note": "已处置"}, timeout=10)
            self.here[unit_id] = (job.lon, job.lat)
            self.jobs.pop(unit_id)

    def _recheck(self, now: float) -> None:
        """Play the cameras' re-checks of resolved tickets, and the operator's verification."""
        for pending in Rechecks(self.bus).pending():
            ticket_id = pending.ticket_id
            if pending.camera_id in self.live_cameras:
                continue
            if now < self.checked.get(ticket_id, 0):
                continue
            self.checked[ticket_id] = now + 10 / self.speed
            holds = self.verdicts.setdefault(ticket_id, self.rng.random() >= self.fail_rate)
            if not holds:
                self.verdicts.pop(ticket_id)  # the rework gets a fresh chance
            self.bus.publish(
                ZoneCheck(camera_id=pending.camera_id, zone_id=pending.zone_id, present=not holds)
            )
        if self.rng.random() < 0.2:  # now and then the operator works the manual queue
            resolved = self.operator.get(
                f"{self.api}/api/v1/tickets?status=resolved&limit=50", timeout=5
            ).json()
            for ticket in resolved:
                if (
                    ticket["camera_id"] is None
                    and now - _epoch(ticket["updated_at"]) > 30 / self.speed
                ):
                    ok = self.rng.random() >= self.fail_rate
                    self.operator.post(
                        f"{self.api}/api/v1/tickets/{ticket['id']}/verify",
                        json={"ok": ok, "note": "" if ok else "复查未通过"},
                        timeout=5,
                    )


def _epoch(text: str) -> float:
    import datetime as dt

    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
