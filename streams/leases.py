"""Camera leases in Redis: each camera is analysed by one live worker; a dead worker's cameras
expire and move to the others, and a new worker takes a fair share. This module owns the lease
keys and the set of live vision workers."""

from __future__ import annotations

import math

from streams import keys
from streams.bus import Bus

# Renew or release only a lease this worker still holds.
_RENEW = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then "
    "return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"
)
_RELEASE = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
)


class Leases:
    """One worker's view of the camera leases (explicit clock for the heartbeat)."""

    def __init__(
        self,
        bus: Bus,
        worker_id: str,
        cameras: list[str],
        ttl_s: float,
        max_cameras: int,
    ):
        self.r, self.worker_id, self.cameras = bus.client, worker_id, cameras
        self.ttl_ms, self.max_cameras, self.ns = int(ttl_s * 1000), max_cameras, bus.namespace
        client = bus.client
        self.held: set[str] = set()
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)

    def live_workers(self, now: float) -> int:
        """Workers whose heartbeat has not expired (this one included)."""
        key = keys.vision_workers(self.ns)
        pipe = self.r.pipeline()
        pipe.zadd(key, {self.worker_id: now + self.ttl_ms / 1000})
        pipe.zremrangebyscore(key, "-inf", now)
        pipe.zcard(key)
        return max(int(pipe.execute()[-1]), 1)

    def share(self, now: float) -> int:
        """How many cameras this worker should hold: a fair share of the live workers' load."""
        return min(self.max_cameras, math.ceil(len(self.cameras) / self.live_workers(now)))

    def refresh(self, now: float) -> tuple[set[str], set[str]]:
        """Renew held leases, take free cameras up to the fair share, give back the surplus.
        Returns (gained, lost) camera ids."""
        lost = {
            c
            for c in self.held
            if not self._renew(
                keys=[keys.camera_lease(c, self.ns)], args=[self.worker_id, self.ttl_ms]
            )
        }
        self.held -= lost
        want = self.share(now)
        gained: set[str] = set()
        for camera in self.cameras:
            if len(self.held) >= want:
                break
            if camera not in self.held and self.r.set(
                keys.camera_lease(camera, self.ns), self.worker_id, nx=True, px=self.ttl_ms
            ):
                self.held.add(camera)
                gained.add(camera)
        for camera in sorted(self.held)[want:]:  # a new worker joined: hand some over
            self.release(camera)
            lost.add(camera)
        return gained, lost

    def release(self, camera: str) -> None:
        """Give a camera back at once."""
        self._release(keys=[keys.camera_lease(camera, self.ns)], args=[self.worker_id])
        self.held.discard(camera)

    def remember_quiet(self, quiet: list[tuple[str, str, float]]) -> None:
        """(camera, zone, until): the zone reported a problem and stays quiet until `until`
        (epoch s), whichever worker holds the camera then."""
        pipe = self.r.pipeline(transaction=False)
        for camera, zone, until in quiet:
            pipe.hset(keys.zone_quiet(camera, self.ns), zone, f"{until:.3f}")
        pipe.execute()

    def quiet_zones(self, camera: str) -> dict[str, float]:
        """Zone id -> until when it stays quiet, as the camera's earlier holders left it."""
        raw = self.r.hgetall(keys.zone_quiet(camera, self.ns))
        return {zone.decode(): float(until) for zone, until in raw.items()}

    def holder(self, camera: str) -> str | None:
        """The worker holding the camera's lease now, if any."""
        raw = self.r.get(keys.camera_lease(camera, self.ns))
        return raw.decode() if raw else None

    def is_live(self, worker_id: str) -> bool:
        """Whether the worker is in the set of live workers."""
        return self.r.zscore(keys.vision_workers(self.ns), worker_id) is not None

    def release_all(self) -> None:
        """Give every camera back and leave the worker set (clean shutdown)."""
        for camera in list(self.held):
            self.release(camera)
        self.r.zrem(keys.vision_workers(self.ns), self.worker_id)
