"""One function per service process, and the demo stack that runs them all under a supervisor."""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import threading
import time
from pathlib import Path

from config.loader import load_config
from config.schema import AppConfig
from stack.context import Context, ServiceError
from stack.supervisor import Supervisor

log = logging.getLogger(__name__)
RUN_PY = Path(__file__).resolve().parent.parent / "run.py"


def stop_on_signals(stop: threading.Event) -> None:
    """First SIGINT/SIGTERM sets `stop` (finish the current work); a second one exits at once."""

    def handler(signum, _frame):
        if stop.is_set():
            raise SystemExit(128 + signum)
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def serve_dispatcher(cfg: AppConfig, name: str | None = None, claim_idle_ms: int = 30_000) -> None:
    """Run the dispatcher until stopped."""
    from dispatch.dispatcher import Dispatcher, run_dispatcher
    from dispatch.routing import Router

    ctx = Context(cfg)
    dispatcher = Dispatcher(cfg, ctx.store, ctx.bus, Router(cfg, ctx.index))
    stop = threading.Event()
    stop_on_signals(stop)
    run_dispatcher(
        dispatcher, name or f"dispatcher-{socket.gethostname()}", stop, claim_idle_ms=claim_idle_ms
    )


def serve_sim(cfg: AppConfig, speed: float | None = None, loop: bool | None = None) -> None:
    """Play the configured scenario into the bus until stopped."""
    from geo.layers import load_layers
    from sim.player import ScenarioPlayer
    from sim.scenario import load_scenario

    if cfg.sim.scenario is None:
        raise SystemExit("no scenario configured: set sim.scenario in the config file")
    ctx = Context(cfg)
    scenario = load_scenario(cfg.sim.scenario, cfg)
    speed = speed or cfg.sim.speed
    crews = None
    tokens_file = os.environ.get("SC_DEMO_TOKENS")
    live = frozenset(filter(None, os.environ.get("SC_LIVE_CAMERAS", "").split(",")))
    if cfg.sim.crews and tokens_file and Path(tokens_file).exists():
        from sim.crews import Crews, read_tokens

        crews = Crews(cfg, read_tokens(Path(tokens_file)), ctx.bus, speed=speed, live_cameras=live)
    player = ScenarioPlayer(
        cfg,
        scenario,
        load_layers(cfg),
        ctx.bus,
        speed=speed,
        loop=cfg.sim.loop if loop is None else loop,
        crews=crews,
        live_cameras=live,
    )
    stop = threading.Event()
    stop_on_signals(stop)
    player.run(stop)


def serve_vision(cfg: AppConfig, name: str | None = None) -> None:
    """Run one vision worker until stopped: it takes its share of the camera leases."""
    from vision.detector import Detector, ModelError
    from vision.sources import project_path
    from vision.train import quiet_ultralytics

    quiet_ultralytics(cfg.services.data_dir)
    ctx = Context(cfg)
    v = cfg.vision
    try:
        detector = Detector(
            project_path(v.weights),
            v.runtime,
            v.imgsz,
            v.confidence,
            v.class_map,
            cfg.services.data_dir / "models",
        )
        from vision.worker import VisionWorker

        worker = VisionWorker(cfg, ctx.bus, detector, worker_id=name)
    except ModelError as exc:
        raise ServiceError(str(exc)) from exc
    stop = threading.Event()
    stop_on_signals(stop)
    worker.run(stop)
    # Sources and leases are closed: a further signal ends the process plainly, instead of a
    # SystemExit raised inside torch's exit-time finalizers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _weights_file(path: Path | None, flag: str) -> Path | None:
    """A weights file given on the command line, which must exist (Ultralytics would try to
    download a missing name)."""
    if path is not None and not path.is_file():
        raise ServiceError(f"{flag}: weights file not found: {path} (give an existing .pt file)")
    return path


def train_model(
    cfg: AppConfig,
    epochs: int | None,
    out: Path | None,
    hours: float | None = None,
    start: Path | None = None,
) -> None:
    """`run.py train`: render the dataset if needed, train, write the weights."""
    from dataclasses import replace

    from vision.train import BUNDLED, TrainSpec, train

    spec = replace(TrainSpec(), hours=hours, start=_weights_file(start, "--from"))
    if epochs is not None:
        spec = replace(spec, epochs=epochs)
    path = train(cfg.services.data_dir, spec, out or BUNDLED)
    print(f"weights written to {path}")


def evaluate_model(cfg: AppConfig, weights: Path | None) -> None:
    """`run.py eval`: mAP50 and mAP50-95 per class on the held-out test split."""
    from vision.train import BUNDLED, evaluate, format_metrics

    weights = _weights_file(weights, "--weights") or BUNDLED
    print(format_metrics(evaluate(cfg.services.data_dir, weights, cfg.vision.imgsz)))


def render_demo_clips(
    cfg: AppConfig, force: bool = False, processes: int = 2, stop: threading.Event | None = None
) -> list[Path]:
    """Render the synthetic clips the config's cameras play (those missing, or all with force)."""
    from vision.synth.clips import render_missing

    return render_missing(cfg, force=force, processes=processes, stop=stop)


def serve_cockpit(cfg: AppConfig) -> None:
    """Serve the cockpit (Dash + Socket.IO) until stopped."""
    from werkzeug.serving import run_simple

    from cockpit.app import Pusher, create_app
    from cockpit.live import BusFeed, LiveState
    from dispatch.desk import Desk, ticket_change
    from geo.layers import load_layers

    ctx = Context(cfg)
    app, socketio = create_app(cfg, load_layers(cfg))
    state = LiveState(cfg)
    feed = BusFeed(ctx.bus, state)
    feed.load_history(
        [ticket_change(row) for row in ctx.store.open_tickets()],
        Desk(cfg, ctx.store, None).alert_records(),
    )
    pusher = Pusher(socketio, feed, state)
    threading.Thread(target=pusher.run, name="cockpit-pusher", daemon=True).start()
    host, port = cfg.services.cockpit_host, cfg.services.cockpit_port
    log.info("cockpit on http://%s:%d", host, port)
    # The threading-mode server Flask-SocketIO itself runs, minus Flask's console banner.
    run_simple(host, port, app.server, threaded=True, use_reloader=False)


def serve_api(cfg: AppConfig) -> None:
    """Serve the JSON API, Open311 and the field page until stopped."""
    import uvicorn

    from dispatch.api.app import create_api
    from dispatch.routing import Router
    from geo.layers import load_layers

    ctx = Context(cfg)
    app = create_api(cfg, ctx.store, ctx.bus, Router(cfg, ctx.index), load_layers(cfg))
    host, port = cfg.api.host, cfg.api.port
    log.info("api on http://%s:%d", host, port)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


def manage_token(cfg: AppConfig, role: str, subject: str, revoke: bool) -> int:
    """`python run.py token ROLE SUBJECT`: print a new secret (or revoke SUBJECT's tokens)."""
    from dispatch import tokens

    store = Context(cfg).store
    if revoke:
        print(f"revoked {tokens.revoke(store, subject)} token(s) of {subject}")
        return 0
    if role == "unit" and cfg.unit(subject) is None:
        known = ", ".join(u.id for u in cfg.units)
        print(f"token: unknown unit {subject!r}; units: {known}", file=sys.stderr)
        return 2
    print(tokens.issue(store, role, subject))
    return 0


def demo_tokens(cfg: AppConfig) -> Path:
    """Tokens for every demo unit, an operator and a hotline, kept in the data dir (mode 600)."""
    from dispatch import tokens

    path = cfg.services.data_dir.resolve() / "demo-tokens.txt"
    store = Context(cfg).store
    if path.exists():
        lines = [line.split() for line in path.read_text().splitlines() if line.strip()]
        if lines and all(len(p) == 3 and tokens.lookup(store, p[2]) for p in lines):
            return path
    subjects = [("unit", u.id) for u in cfg.units] + [("operator", "demo"), ("hotline", "demo")]
    text = "".join(
        f"{role} {subject} {tokens.issue(store, role, subject)}\n" for role, subject in subjects
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(text)
    store.dispose()
    return path


def _child_argv(service: str, config_path: Path, *extra: str) -> list[str]:
    return [sys.executable, str(RUN_PY), service, "--config", str(config_path), *extra]


def wait_for_port(host: str, port: int, timeout_s: float) -> bool:
    """True once something accepts TCP connections on host:port."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.2)
    return False


class DemoStack:
    """Embedded Redis (unless REDIS_URL is set) plus dispatcher, cockpit and simulator processes."""

    def __init__(self, config_path: Path | None, with_sim: bool = True, with_vision: bool = True):
        self.cfg = load_config(config_path)
        self.config_path = self.cfg.source_path
        self.with_sim = with_sim and self.cfg.sim.enabled and self.cfg.sim.scenario is not None
        self.with_vision = with_vision
        self.renderer: threading.Thread | None = None
        if self.with_sim:  # fail here, clearly, rather than in a child that crash-loops
            from sim.scenario import load_scenario

            load_scenario(self.cfg.sim.scenario, self.cfg)
        self.redis = None
        self.supervisor = Supervisor()
        self.stop_event = threading.Event()
        self.redis_url: str | None = None
        self.tokens: Path | None = None

    def start(self) -> str:
        """Start everything; return the cockpit URL once it answers."""
        data_dir = self.cfg.services.data_dir.resolve()
        env = {"SC_DATA_DIR": str(data_dir)}
        self.redis_url = self.cfg.services.redis_url
        if not self.redis_url:
            from streams.embedded import EmbeddedRedis

            self.redis = EmbeddedRedis(data_dir / "redis")
            self.redis_url = env["REDIS_URL"] = self.redis.start()
        self.tokens = demo_tokens(self.cfg)  # before the children: the simulator's crews use them
        self.supervisor.add("dispatcher", _child_argv("dispatcher", self.config_path), env)
        self.supervisor.add("cockpit", _child_argv("cockpit", self.config_path), env)
        self.supervisor.add("api", _child_argv("api", self.config_path), env)
        live = self._start_vision(env) if self.with_vision else []
        if self.with_sim:
            sim_env = {**env, "SC_DEMO_TOKENS": str(self.tokens), "SC_LIVE_CAMERAS": ",".join(live)}
            self.supervisor.add("sim", _child_argv("sim", self.config_path), sim_env)
        for what, host, port, env_name in (
            (
                "cockpit",
                self.cfg.services.cockpit_host,
                self.cfg.services.cockpit_port,
                "COCKPIT_PORT",
            ),
            ("API", self.cfg.api.host, self.cfg.api.port, "API_PORT"),
        ):
            if not wait_for_port(host, port, 60):
                raise RuntimeError(
                    f"the {what} did not start on {host}:{port} within 60 s; "
                    f"is the port taken? set {env_name}"
                )
        host, port = self.cfg.services.cockpit_host, self.cfg.services.cockpit_port
        return f"http://{host}:{port}"

    def _start_vision(self, env: dict[str, str]) -> list[str]:
        """Vision workers over the cameras' feeds (rendering the synthetic clips first if missing).
        Without model weights the simulator keeps playing the cameras' findings instead."""
        from vision.sources import project_path, watched_cameras
        from vision.synth.clips import demo_clips

        weights = project_path(self.cfg.vision.weights)
        if not weights.is_file():
            print(f"no detector weights at {weights}: cameras are simulated", file=sys.stderr)
            return []
        missing = [path for path, _ in demo_clips(self.cfg) if not path.exists()]
        if missing:  # cameras come online as their clips appear (first run only)
            print(f"rendering {len(missing)} synthetic camera clips in the background", flush=True)
            self.renderer = threading.Thread(
                target=render_demo_clips,
                args=(self.cfg, False, 1, self.stop_event),
                name="render-clips",
                daemon=True,
            )
            self.renderer.start()
        for i in range(self.cfg.vision.workers):
            argv = _child_argv("vision", self.config_path, "--name", f"vision-{i + 1}")
            self.supervisor.add(f"vision-{i + 1}", argv, env)
        return [c.id for c in watched_cameras(self.cfg)]

    def run_forever(self) -> None:
        """Supervise until Ctrl-C / SIGTERM, then stop everything in reverse order."""
        stop_on_signals(self.stop_event)
        while not self.stop_event.wait(0.5):
            for name in self.supervisor.check():
                print(
                    f"{name} keeps crashing and was not restarted again; see its log above",
                    file=sys.stderr,
                    flush=True,
                )

    def stop(self) -> None:
        """Stop the clip renderer and the children newest first, then Redis."""
        self.stop_event.set()
        if self.renderer:
            self.renderer.join(10)
        self.supervisor.stop()
        if self.redis:
            self.redis.stop()


def run_demo(config_path: Path | None, with_sim: bool = True, with_vision: bool = True) -> int:
    """`python run.py demo`: start the stack, print the URL, run until interrupted."""
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    stack = DemoStack(config_path, with_sim, with_vision)
    try:
        url = stack.start()
        kind = "embedded" if stack.redis else "external"
        print(
            f"bus: {stack.redis_url} ({kind}); data: {stack.cfg.services.data_dir.resolve()}",
            flush=True,
        )
        api = f"http://{stack.cfg.api.host}:{stack.cfg.api.port}"
        print(
            f"field page: {api}/field  API: {api}/openapi.json  demo tokens: {stack.tokens}",
            flush=True,
        )
        print(f"Street Cockpit demo running: open {url}  (Ctrl-C to stop)", flush=True)
        stack.run_forever()
    finally:
        stack.stop()
        print("Street Cockpit demo stopped.", flush=True)
    return 0
