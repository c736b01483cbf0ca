"""Importing any module has no side effects: no threads, no sockets, no processes, no files, no
model loads, no cameras opened."""

from __future__ import annotations

import subprocess
import sys

from config.paths import PROJECT_ROOT

PACKAGES = ("config", "geo", "streams", "dispatch", "sim", "cockpit", "stack", "vision")

PROBE = """
import importlib, pkgutil, socket, subprocess, threading, sys
import cv2, onnxruntime, torch
import urllib3  # probes IPv6 with a bind at its own import: a library's habit, not ours
import os, pathlib
def files():
    places = (pathlib.Path.home(), pathlib.Path.cwd(), pathlib.Path(os.environ["TMPDIR"]))
    return {str(p) for place in places for p in place.rglob("*")}
existing = files()  # what the libraries above left (caches of their own)
done = []
def spy(owner, name):
    real = getattr(owner, name)
    def wrapper(*args, **kwargs):
        done.append(f"{owner.__name__}.{name}")
        return real(*args, **kwargs)
    setattr(owner, name, wrapper)
for owner, name in ((socket.socket, "connect"), (socket.socket, "bind"),
                    (subprocess, "Popen"), (torch, "load"), (onnxruntime, "InferenceSession"),
                    (cv2, "VideoCapture")):
    spy(owner, name)
before = threading.active_count()
names = []
for package in sys.argv[1:]:
    module = importlib.import_module(package)
    names.append(package)
    for info in pkgutil.walk_packages(module.__path__, package + "."):
        importlib.import_module(info.name)
        names.append(info.name)
assert threading.active_count() == before, "a module started a thread at import"
assert not done, f"modules did this at import: {done}"
assert files() == existing, f"modules wrote files at import: {sorted(files() - existing)}"
print(len(names))
"""


def test_importing_every_module_has_no_side_effects(tmp_path):
    places = {name: tmp_path / name for name in ("home", "cwd", "tmp")}  # watched by the probe
    for place in places.values():
        place.mkdir()
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *PACKAGES],
        cwd=places["cwd"],
        capture_output=True,
        text=True,
        timeout=300,
        env={
            "PATH": "/usr/bin:/bin",
            "HOME": str(places["home"]),
            "TMPDIR": str(places["tmp"]),
            "PYTHONPATH": str(PROJECT_ROOT),
            "PYTHONDONTWRITEBYTECODE": "1",
        },
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert int(result.stdout.strip()) >= 60  # every module of every package was imported
