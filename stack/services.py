"""One function per long-running service process: dispatcher, API, scenario player, vision worker.

The cockpit's is `cockpit.server.serve_cockpit` (the cockpit sits above the stack); the demo that
runs them all under a supervisor is `stack.demo`; one-shot commands are in `stack.tools`.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from pathlib import Path

from config.schema import AppConfig
from stack.context import Context, ServiceError
from stack.health import database_state, keep_beating, serve_metrics

log = logging.getLogger(__name__)


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
    from dispatch.dispatcher import GROUP, Dispatcher, run_dispatcher
    from dispatch.metrics import DispatchCollector
    from dispatch.routing import Router

    ctx = Context(cfg)
    dispatcher = Dispatcher(cfg, ctx.store, ctx.bus, Router(cfg, ctx.index))
    stop = threading.Event()
    stop_on_signals(stop)
    name = name or f"dispatcher-{socket.gethostname()}"
    keep_beating(ctx.bus, "dispatcher", stop, name, lambda: database_state(ctx.store))
    serve_metrics(DispatchCollector(ctx.store, ctx.bus, GROUP))
    run_dispatcher(dispatcher, name, stop, claim_idle_ms=claim_idle_ms)


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
    keep_beating(ctx.bus, "sim", stop)
    serve_metrics()
    player.run(stop)


def serve_vision(cfg: AppConfig, name: str | None = None) -> None:
    """Run one vision worker until stopped: it takes its share of the camera leases."""
    from vision.detector import Detector, ModelError
    from vision.train import quiet_ultralytics

    quiet_ultralytics(cfg.services.data_dir)
    ctx = Context(cfg)
    v = cfg.vision
    try:
        detector = Detector.from_config(v, cfg.services.data_dir)
        from vision.worker import VisionWorker

        worker = VisionWorker(cfg, ctx.bus, detector, worker_id=name)
    except ModelError as exc:
        raise ServiceError(str(exc)) from exc
    stop = threading.Event()
    stop_on_signals(stop)
    keep_beating(ctx.bus, "vision", stop, worker.worker_id,
                 lambda: {"cameras": sorted(list(worker.pipelines))})  # fmt: skip
    serve_metrics()
    worker.run(stop)
    # Sources and leases are closed: a further signal ends the process plainly, instead of a
    # SystemExit raised inside torch's exit-time finalizers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def serve_api(cfg: AppConfig) -> None:
    """Serve the JSON API, Open311 and the field page until stopped."""
    import uvicorn

    from dispatch.api.app import create_api
    from dispatch.routing import Router
    from geo.layers import load_layers

    ctx = Context(cfg)
    app = create_api(cfg, ctx.store, ctx.bus, Router(cfg, ctx.index), load_layers(cfg))
    host, port = cfg.api.host, cfg.api.port
    keep_beating(ctx.bus, "api", threading.Event(), f"api-{socket.gethostname()}-{port}",
                 lambda: database_state(ctx.store))  # fmt: skip
    serve_metrics()
    log.info("api on http://%s:%d", host, port)
    hops = cfg.services.proxy_hops  # behind a proxy, the client is the address it forwards
    # Idle connections are kept longer than clients (phones, the crews, a proxy) wait between
    # requests: a server closing one as a request arrives was a "connection aborted" for them.
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False,
                proxy_headers=hops > 0, forwarded_allow_ips="*" if hops else None,
                timeout_keep_alive=75)  # fmt: skip
