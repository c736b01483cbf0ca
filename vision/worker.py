"""The vision worker: one model, many cameras. Takes camera leases, samples each camera's newest
frame at its analysis rate, gates on motion, detects, tracks, runs the zone rules and publishes
events (with snapshots), camera health and verification re-checks on the bus."""

from __future__ import annotations

import datetime as dt
import logging
import math
import os
import socket
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from config.schema import AppConfig, CameraConfig
from config.sources import resolve_source, watched_cameras
from streams.bus import BUS_DOWN, Bus
from streams.frames import Frame, FrameCache
from streams.leases import Leases
from streams.outage import Outage
from streams.rechecks import Rechecks
from streams.records import CameraHealth, Event, Record, ZoneCheck
from vision.capture import FrameSource, Health
from vision.crops import CropPlan, detect_regions, plan_crops
from vision.detections import Detections
from vision.detector import Detector
from vision.evidence import annotate, place, save_snapshot, wall_frame
from vision.ground import GroundCheck, GroundPlane
from vision.metrics import CAMERA_FPS, CAMERA_ONLINE, GROUND_DROPPED, INFERENCE
from vision.motion import MotionGate
from vision.picture import SHIFTED, PictureCheck
from vision.rules import Finding, ZoneRule, build_rules
from vision.tracker import Tracker

UNSENT_MAX = 500  # findings kept while the bus is away (the newest)
log = logging.getLogger(__name__)


@dataclass
class CameraPipeline:
    """Per-camera state: frame source, motion gate, tracker, rules, health and pacing."""

    camera: CameraConfig
    source: FrameSource
    gate: MotionGate
    tracker: Tracker
    health: Health
    rules: list[ZoneRule] = field(default_factory=list)
    dets: Detections = field(default_factory=Detections)
    last_seq: int = 0
    next_due: float = 0.0
    last_health_at: float = -1e18
    analysed: int = 0
    detected: int = 0
    window: list[float] = field(default_factory=list)
    recheck_state: dict[str, bool] = field(default_factory=dict)
    quiet: dict[str, float] = field(default_factory=dict)  # zone -> quiet until (earlier holders)
    lag_s: float = 0.0  # age of the newest analysed frame when its analysis finished
    last_image: np.ndarray | None = None
    next_wall_frame: float = 0.0
    picture: PictureCheck | None = None  # frozen, dark, blurred, view shifted
    crops: CropPlan | None = None  # where the detector looks, set with the first frame
    ground: GroundCheck | None = None  # sizes checked on a calibrated camera
    guides: list[np.ndarray] = field(default_factory=list)  # calibration grid for the wall

    def analysis_fps(self, now: float) -> float:
        """Frames analysed per second over the last 10 s."""
        self.window = [t for t in self.window if now - t <= 10]
        return len(self.window) / 10


class VisionWorker:
    """Analyses the cameras it holds leases for; `step(now)` is one bounded pass (for tests)."""

    def __init__(
        self,
        cfg: AppConfig,
        bus: Bus,
        detector: Detector,
        worker_id: str | None = None,
        clock=time.time,
        data_dir: Path | None = None,
        cameras: list[CameraConfig] | None = None,
    ):
        self.cfg, self.bus, self.detector, self.clock = cfg, bus, detector, clock
        self.v = cfg.vision
        self.worker_id = (
            worker_id or f"vision-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        )
        self.data_dir = data_dir or cfg.services.data_dir
        self.cameras = {c.id: c for c in (cameras if cameras is not None else watched_cameras(cfg))}
        self.rule_cfg = {r.id: r for r in cfg.rules}
        detector.check_classes(
            {
                r.id: r.classes
                for r in cfg.rules
                if any(z.rule == r.id for c in self.cameras.values() for z in c.zones)
            }
        )
        self.leases = Leases(
            bus, self.worker_id, sorted(self.cameras), self.v.lease_ttl_s, self.v.max_cameras
        )
        self.rechecks = Rechecks(bus)
        self.frames = FrameCache(bus)
        self.pipelines: dict[str, CameraPipeline] = {}
        self.next_lease_at = 0.0
        self.next_recheck_at = 0.0
        self.unsent: list[Record] = []  # findings made while the bus was away

    # ---- lifecycle --------------------------------------------------------------------------

    def run(self, stop: threading.Event | None = None, max_seconds: float | None = None) -> int:
        """Analyse until stopped (or for max_seconds); returns the number of frames analysed."""
        stop = stop or threading.Event()
        started, total = time.monotonic(), 0
        log.info(
            "vision worker %s started: %d cameras to share; %s at %d px; looking at %s",
            self.worker_id,
            len(self.cameras),
            self.detector.describe(),
            self.v.imgsz,
            ", ".join(
                f"{n} camera(s) through {mode}"
                for mode, n in Counter(
                    c.crops or self.v.crops.mode for c in self.cameras.values()
                ).items()
            ),
        )
        outage = Outage(log, f"Redis for vision worker {self.worker_id}")
        try:
            while not stop.is_set():
                if max_seconds is not None and time.monotonic() - started >= max_seconds:
                    break
                try:
                    done = self.step(self.clock())
                    outage.ok()
                except BUS_DOWN as exc:  # analysis goes on; its findings wait for the bus
                    outage.failed(exc)
                    stop.wait(1.0)
                    continue
                total += done
                if not done:
                    stop.wait(self._idle_wait())
        finally:
            self.close()
        return total

    def close(self) -> None:
        """Stop every source (all asked first, then awaited) and give the leases back."""
        for pipeline in self.pipelines.values():
            pipeline.source.stop(wait=False)
        for camera_id in list(self.pipelines):
            self._drop(camera_id)
        try:
            self.leases.release_all()
        except Exception:  # noqa: BLE001 - Redis gone at shutdown: the leases expire by themselves
            log.warning(
                "worker %s could not release its camera leases; they expire", self.worker_id
            )

    def _idle_wait(self) -> float:
        now = self.clock()
        due = min((p.next_due for p in self.pipelines.values()), default=now + 0.2)
        return float(min(max(due - now, 0.005), 0.2))

    # ---- one pass -----------------------------------------------------------------------------

    def step(self, now: float) -> int:
        """Refresh leases, publish health, analyse each due camera once; returns frames analysed."""
        if now >= self.next_lease_at:
            self._refresh_leases(now)
        out: list[Record] = []
        analysed = 0
        for p in list(self.pipelines.values()):
            out += self._health(p, now)
            frame = p.source.latest()
            if frame is None or frame.seq == p.last_seq or now < p.next_due:
                continue
            p.last_seq, p.next_due = frame.seq, max(p.next_due + 1 / p.camera.analysis_fps, now)
            out += self._analyse(p, frame.image, frame.captured_at)
            p.lag_s = self.clock() - frame.captured_at
            analysed += 1
        if now >= self.next_recheck_at:
            out += self._rechecks(now)
            self.next_recheck_at = now + self.v.recheck_every_s
        out = self.unsent + out
        if out:
            try:
                self.bus.publish_many(out)
            except BUS_DOWN:  # findings are kept for the bus's return; health is sent anew
                self.unsent = [r for r in out if isinstance(r, Event)][-UNSENT_MAX:]
                raise
        self.unsent = []
        self._remember_quiet([r for r in out if isinstance(r, Event) and r.camera_id])
        return analysed

    def _remember_quiet(self, events: list[Event]) -> None:
        """Each reported zone's cooldown, kept in Redis for whoever holds the camera next."""
        if events:
            self.leases.remember_quiet(
                [
                    (e.camera_id, e.zone_id, e.detected_at + self.rule_cfg[e.rule_id].cooldown_s)
                    for e in events
                ]  # fmt: skip
            )

    def _refresh_leases(self, now: float) -> None:
        """Renew and rebalance the leases, then analyse exactly the cameras held (state, not
        news: a refresh that Redis cut short is made good by the next one)."""
        self.leases.refresh(now)
        for camera_id in set(self.pipelines) - self.leases.held:
            self._drop(camera_id)
        for camera_id in sorted(self.leases.held - set(self.pipelines)):
            self._start(camera_id, now, self.leases.quiet_zones(camera_id))
        self.next_lease_at = now + self.v.lease_ttl_s / 3

    def _start(self, camera_id: str, now: float, quiet: dict[str, float]) -> None:
        camera = self.cameras[camera_id]
        source = FrameSource(
            camera_id,
            resolve_source(camera.source),
            camera.loop,
            self.v.stall_s,
            self.v.reconnect_max_s,
            self.clock,
        ).start()
        self.pipelines[camera_id] = CameraPipeline(
            camera,
            source,
            MotionGate(self.v.motion_threshold, self.v.full_check_s),
            Tracker(camera.analysis_fps),
            Health(now, self.v.offline_after_s),
            quiet=quiet,
            picture=PictureCheck(self.v.picture),
        )
        log.info("worker %s took camera %s", self.worker_id, camera_id)

    def _drop(self, camera_id: str) -> None:
        pipeline = self.pipelines.pop(camera_id, None)
        if pipeline:
            pipeline.source.stop()
            log.info("worker %s handed camera %s over", self.worker_id, camera_id)

    def _health(self, p: CameraPipeline, now: float) -> list[Record]:
        changed = p.health.update(p.source.last_frame_at(), now)
        if p.health.online is None or not (
            changed or now - p.last_health_at >= self.v.health_every_s
        ):
            return []
        p.last_health_at = now
        CAMERA_FPS.labels(p.camera.id).set(p.analysis_fps(now))
        CAMERA_ONLINE.labels(p.camera.id).set(1 if p.health.online else 0)
        detail = "" if p.health.online else (p.source.last_error or "no frames")
        return [
            CameraHealth(
                camera_id=p.camera.id,
                online=p.health.online,
                checked_at=now,
                fps=round(p.analysis_fps(now), 2),
                detail=detail,
                problems=p.picture.problems if p.health.online else (),
            )
        ]

    def _analyse(self, p: CameraPipeline, image: np.ndarray, at: float) -> list[Record]:
        """Gate, detect, track, run the rules; the events they confirm."""
        if p.crops is None:
            self._prepare(p, image)
        if p.gate.needs_detection(image, at):
            with INFERENCE.time():
                found = detect_regions(self.detector.detect, image, p.crops)
            if p.ground is not None:
                found = self._plausible(p, found)
            p.dets = p.tracker.update(found)
            p.detected += 1
        p.analysed += 1
        p.window.append(at)
        p.last_image = image
        if p.picture.update(image, at):
            p.last_health_at = -math.inf  # news: the health record goes out on the next pass
            log.warning("camera %s picture: %s", p.camera.id, ", ".join(p.picture.problems) or "ok")
        # A turned camera's zones lie elsewhere: its rules see nothing until it is back.
        seen = Detections() if SHIFTED in p.picture.problems else p.dets
        events: list[Record] = []
        for rule in p.rules:
            for finding in rule.update(seen, at):
                events.append(self._event(p, rule, finding, image))
        self._wall_frame(p, image, at)
        return events

    def _prepare(self, p: CameraPipeline, image: np.ndarray) -> None:
        """With the first frame's size: the zone rules, the crops around the zones, and on a
        calibrated camera the ground-size check and its grid."""
        h, w = image.shape[:2]
        cw, ch = p.camera.frame_size
        scale = (w / cw, h / ch)
        p.rules = build_rules(p.camera.zones, self.cfg.rules, self.cfg.district.timezone, scale)
        for rule in p.rules:  # what the camera's earlier holders reported stays reported
            rule.rest_until(p.quiet.get(rule.zone.id, -math.inf))
        polygons = [rule.zone.points for rule in p.rules]
        mode = p.camera.crops or self.v.crops.mode
        side = round(self.v.imgsz * self.v.crops.scale)
        p.crops = plan_crops(polygons if mode == "zones" else [], (w, h), side, self.v.crops.margin)
        if p.camera.homography is not None and self.v.ground.enabled:
            plane = GroundPlane(p.camera.homography, (w, h), scale)
            p.ground = GroundCheck(plane, self.v.ground.sizes)
            if polygons:
                p.guides = plane.grid(np.concatenate(polygons).mean(axis=0))

    def _plausible(self, p: CameraPipeline, found: Detections) -> Detections:
        before = dict(p.ground.dropped)
        found = p.ground.filter(found)
        for name, count in p.ground.dropped.items():
            if count != before.get(name, 0):
                GROUND_DROPPED.labels(p.camera.id, name).inc(count - before.get(name, 0))
        return found

    def _wall_frame(self, p: CameraPipeline, image: np.ndarray, at: float) -> None:
        """Now and then, the camera's small annotated frame for the camera wall."""
        every = self.v.wall_frame_s
        if every is None or at < p.next_wall_frame:
            return
        p.next_wall_frame = at + every
        caption = f"{p.camera.id} {self._hms(at)}"
        regions = [] if p.crops.whole_frame else p.crops.regions
        jpeg = wall_frame(
            image, p.rules, p.dets, self.v.wall_frame_width, caption, p.guides, regions
        )
        self.frames.put(p.camera.id, Frame(jpeg, at, len(p.dets.xyxy), p.picture.problems))

    def _event(
        self, p: CameraPipeline, rule: ZoneRule, finding: Finding, image: np.ndarray
    ) -> Event:
        zone = next(z for z in p.camera.zones if z.id == finding.zone_id)
        held = finding.confirmed_at - finding.first_seen
        caption = f"{p.camera.id} {zone.id} {finding.rule_id} {held:.0f}s"
        event_id = uuid.uuid4().hex
        snapshot = save_snapshot(
            self.data_dir,
            p.camera.id,
            zone.id,
            finding.confirmed_at,
            annotate(image, rule, p.dets, finding, caption),
            event_id[:8],
        )
        lon, lat = place(p.camera, zone.map_anchor, finding)
        log.info("event: camera %s zone %s rule %s", p.camera.id, zone.id, finding.rule_id)
        return Event(
            event_id=event_id,
            category=finding.category,
            source="camera",
            lon=lon,
            lat=lat,
            detected_at=finding.confirmed_at,
            camera_id=p.camera.id,
            zone_id=zone.id,
            rule_id=finding.rule_id,
            track_ids=finding.track_ids,
            confidence=min(max(finding.confidence, 0.0), 1.0),
            description=f"{finding.rule_id}: first seen {self._hms(finding.first_seen)}, "
            f"confirmed {self._hms(finding.confirmed_at)}",
            snapshot=snapshot,
        )

    def _rechecks(self, now: float) -> list[Record]:
        """Answer the dispatcher's verification requests for zones of cameras held here."""
        out: list[Record] = []
        for pending in self.rechecks.pending():
            camera_id, zone_id = pending.camera_id, pending.zone_id
            p = self.pipelines.get(camera_id)
            rule = next((r for r in p.rules if r.zone.id == zone_id), None) if p else None
            if rule is None or p.last_image is None or not p.health.online:
                continue
            present = rule.present(p.dets)
            snapshot = None
            if p.recheck_state.get(zone_id) != present:  # evidence when the answer changes
                caption = f"{camera_id} {zone_id} re-check: {'still there' if present else 'clear'}"
                snapshot = save_snapshot(
                    self.data_dir,
                    camera_id,
                    zone_id,
                    now,
                    annotate(p.last_image, rule, p.dets, None, caption),
                    "check",
                )
                p.recheck_state[zone_id] = present
            out.append(
                ZoneCheck(
                    camera_id=camera_id,
                    zone_id=zone_id,
                    present=present,
                    observed_at=now,
                    snapshot=snapshot,
                )
            )
        return out

    def _hms(self, t: float) -> str:
        """A wall-clock time in the district's zone (the server may run in UTC)."""
        return dt.datetime.fromtimestamp(t, self.cfg.district.zone).strftime("%H:%M:%S")
