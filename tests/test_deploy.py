"""The deployment files say what runs: every command in deploy/compose.yaml and the systemd
units is one `run.py` takes, every variable they set is one the code reads, and the compose
topology (two dispatchers, the API, two cockpit replicas; no containers here) started as plain
processes against an external Redis and PostgreSQL comes up, reports itself in `run.py status`,
and files a report once."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import requests
import yaml
from sqlalchemy import text

from config.paths import DEMO_CONFIG, PROJECT_ROOT
from dispatch import accounts
from dispatch.store import Store, TicketRow
from run import _parser
from streams.embedded import free_port
from streams.records import Event
from tests.support.cockpit import PASSWORD
from tests.support.waiting import wait_until

DEPLOY = PROJECT_ROOT / "deploy"
OWN = {"SC_CONFIG", "SC_CONFIG_DIR", "SC_TLS_DIR", "VISION_WORKERS", "PYTHONUNBUFFERED"}


def _compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]


def _expand(value: str, env: dict) -> str:
    """${NAME:-default} and ${NAME} as compose expands them."""
    return re.sub(r"\$\{(\w+)(?::-([^}]*))?\}", lambda m: env.get(m[1], m[2] or ""), value)


def _variables_the_code_reads() -> set[str]:
    names = set()
    for path in PROJECT_ROOT.glob("*/*.py"):
        if path.parts[-2] in ("tests", "bench", ".venv"):
            continue
        source = path.read_text()
        names |= set(re.findall(r"environ(?:\.get)?[\[(]\"([A-Z][A-Z0-9_]+)\"", source))
        names |= set(re.findall(r"\(\"([A-Z][A-Z0-9_]+)\", \"\w+\"\)", source))  # the loader's
    return names


def test_every_deployment_command_and_variable_is_real():
    services = _compose()
    commands = {name: [_expand(a, {}) for a in s["command"]] for name, s in services.items()
                if "command" in s}  # fmt: skip
    units = sorted((DEPLOY / "systemd").glob("*.service"))
    for unit in units:
        line = next(x for x in unit.read_text().splitlines() if x.startswith("ExecStart="))
        argv = line.split("run.py", 1)[1].replace("${SC_CONFIG}", "/etc/district.yaml")
        commands[unit.name] = argv.replace("%i", "1").replace("%H", "host").split()
    for name, argv in commands.items():
        try:
            _parser().parse_args(argv)
        except SystemExit as exc:
            raise AssertionError(f"{name}: run.py does not take {argv}") from exc
    verbs = sorted(argv[0] for name, argv in commands.items() if name in services)
    assert verbs == ["api", "cockpit", "cockpit", "dispatcher", "dispatcher", "vision"]
    names = [argv[argv.index("--name") + 1] for name, argv in commands.items()
             if name in services and argv[0] == "dispatcher" and "--name" in argv]  # fmt: skip
    assert len(names) == len(set(names)), "two dispatchers under one consumer name"
    read = _variables_the_code_reads()
    assert {"REDIS_URL", "DATABASE_URL", "SC_METRICS_PORT", "SC_COCKPIT_SECRET"} <= read
    set_here = set()
    for service in services.values():
        set_here |= set(service.get("environment", {}))
    for line in (DEPLOY / "env.example").read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            set_here.add(line.split("=", 1)[0])
    for unit in units:
        set_here |= set(re.findall(r"^Environment=(\w+)=", unit.read_text(), re.M))
    assert set_here - OWN <= read, f"set but never read: {sorted(set_here - OWN - read)}"


def _database(postgres_base: str) -> str:
    name = f"site_{uuid.uuid4().hex[:10]}"
    admin = Store(postgres_base)
    with admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return f"{postgres_base.rsplit('/', 1)[0]}/{name}"


def _process_env(service: dict, site: dict) -> dict:
    """A compose service's environment on this machine: loopback, a free port each."""
    env = {**os.environ, **site}
    for key, value in service.get("environment", {}).items():
        env[key] = str(value)
    for key in ("API_HOST", "COCKPIT_HOST", "SC_METRICS_HOST"):
        if key in env:
            env[key] = "127.0.0.1"
    for key in ("API_PORT", "COCKPIT_PORT", "SC_METRICS_PORT"):
        if key in service.get("environment", {}):
            env[key] = str(free_port())
    return env


def test_the_compose_topology_runs_as_processes(postgres_base, redis_url, bus, tmp_path):
    site = {"REDIS_URL": redis_url, "DATABASE_URL": _database(postgres_base),
            "SC_DATA_DIR": str(tmp_path / "data"), "SC_COCKPIT_SECRET": "s" * 48,
            "SC_CONFIG": str(DEMO_CONFIG)}  # fmt: skip
    store = Store(site["DATABASE_URL"])
    store.create_schema()
    accounts.add_user(store, "chief", "admin", PASSWORD)  # the cockpit refuses to start without
    processes, urls = [], []
    try:
        for name, service in _compose().items():
            if "command" not in service or service["command"][0] == "vision":
                continue  # the vision workers have their own takeover test
            env = _process_env(service, site)
            argv = [sys.executable, str(PROJECT_ROOT / "run.py")]
            argv += [_expand(a, env) for a in service["command"]]
            with (tmp_path / f"{name}.log").open("ab") as log:
                processes.append(subprocess.Popen(argv, env=env, cwd=PROJECT_ROOT,
                                                  stdout=log, stderr=log))  # fmt: skip
            if "API_PORT" in service.get("environment", {}):
                urls.append(f"http://127.0.0.1:{env['API_PORT']}")
            if "COCKPIT_PORT" in service.get("environment", {}):
                urls.append(f"http://127.0.0.1:{env['COCKPIT_PORT']}")

        def status() -> str:
            argv = [sys.executable, str(PROJECT_ROOT / "run.py"), "status"]
            return subprocess.run(argv, env={**os.environ, **site}, cwd=PROJECT_ROOT, text=True,
                                  capture_output=True, timeout=60).stdout  # fmt: skip

        def listed() -> bool:
            lines = status().splitlines()
            return [sum(1 for x in lines if x.startswith(s)) for s in
                    ("dispatcher ", "api ", "cockpit ")] == [2, 1, 2]  # fmt: skip

        wait_until(listed, 120, "two dispatchers, the API and two cockpits in run.py status")
        for url in urls:
            assert requests.get(f"{url}/readyz", timeout=10).status_code == 200, url
        event = Event(category="bin_overflow", lon=120.1725, lat=30.2767, detected_at=time.time())
        bus.publish(event)

        def filed() -> int:
            with store.session() as session:
                return session.query(TicketRow).filter_by(event_id=event.event_id).count()

        wait_until(lambda: filed() == 1, 60, "the report filed")
        assert all(p.poll() is None for p in processes), "a service exited"
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(30)
        store.dispose()
    logs = "".join(p.read_text() for p in Path(tmp_path).glob("*.log"))
    assert "Traceback" not in logs, logs[-3000:]
