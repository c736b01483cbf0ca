"""The demo: embedded Redis and every service as a supervised child process on one machine."""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
from pathlib import Path

from config.loader import load_config
from config.paths import PROJECT_ROOT
from stack.reports import demo_history
from stack.services import stop_on_signals
from stack.supervisor import Supervisor
from stack.tools import demo_tokens, demo_users, render_demo_clips

RUN_PY = PROJECT_ROOT / "run.py"


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
        self.users: Path | None = None
        self.redis_down_since: float | None = None  # when the embedded Redis went away
        self.redis_pause, self.redis_retry_at = 0.5, 0.0

    def start(self) -> str:
        """Start everything; return the cockpit URL once it answers."""
        data_dir = self.cfg.services.data_dir.resolve()
        env = {"SC_DATA_DIR": str(data_dir), "SC_DEMO": "1"}  # demo accounts are acceptable
        self.redis_url = self.cfg.services.redis_url
        if not self.redis_url:
            from streams.embedded import EmbeddedRedis

            self.redis = EmbeddedRedis(data_dir / "redis")
            self.redis_url = env["REDIS_URL"] = self.redis.start()
        self.tokens = demo_tokens(self.cfg)  # before the children: the simulator's crews use them
        self.users = demo_users(self.cfg)
        demo_history(self.cfg)  # leaders' trends have two years to show
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
        from config.paths import project_path
        from config.sources import watched_cameras
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

    def _heal_redis(self) -> None:
        """The embedded Redis went away: start it again on the same port and data (its
        append-only file brings the streams back), with growing pauses, never giving up."""
        if self.redis is None or not self.redis.exited() or time.monotonic() < self.redis_retry_at:
            return
        if self.redis_down_since is None:
            self.redis_down_since = time.monotonic()
            print("embedded Redis exited; restarting it (services wait for it)", file=sys.stderr,
                  flush=True)  # fmt: skip
        try:
            self.redis.start()
        except RuntimeError as exc:
            self.redis_pause = min(self.redis_pause * 2, 10.0)
            self.redis_retry_at = time.monotonic() + self.redis_pause
            print(f"embedded Redis did not start ({exc}); next try in {self.redis_pause:.0f} s",
                  file=sys.stderr, flush=True)  # fmt: skip
            return
        away = time.monotonic() - self.redis_down_since
        print(f"embedded Redis is back on {self.redis.url} after {away:.1f} s", flush=True)
        self.redis_down_since, self.redis_pause = None, 0.5

    def run_forever(self) -> None:
        """Supervise until Ctrl-C / SIGTERM, then stop everything in reverse order."""
        stop_on_signals(self.stop_event)
        while not self.stop_event.wait(0.5):
            self._heal_redis()
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
        print(
            f"cockpit sign-in: one demo account per role in {stack.users}; "
            f"wall kiosk: {url}/kiosk?token=<the display token in {stack.tokens}>",
            flush=True,
        )
        print(f"Street Cockpit demo running: open {url}  (Ctrl-C to stop)", flush=True)
        stack.run_forever()
    finally:
        stack.stop()
        print("Street Cockpit demo stopped.", flush=True)
    return 0
