"""Importing any module has no side effects: no threads, no sockets, no files, no model loads."""

from __future__ import annotations

import subprocess
import sys

from config.paths import PROJECT_ROOT

PACKAGES = ("config", "geo", "streams", "dispatch", "sim", "cockpit", "stack", "vision")

PROBE = """
import importlib, pkgutil, socket, threading, sys
opened = []
real_connect = socket.socket.connect
socket.socket.connect = lambda self, *a: opened.append(a) or real_connect(self, *a)
before = threading.active_count()
names = []
for package in sys.argv[1:]:
    module = importlib.import_module(package)
    names.append(package)
    for info in pkgutil.walk_packages(module.__path__, package + "."):
        importlib.import_module(info.name)
        names.append(info.name)
assert threading.active_count() == before, "a module started a thread at import"
assert not opened, f"a module opened a connection at import: {opened}"
print(len(names))
"""


def test_importing_every_module_has_no_side_effects(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *PACKAGES],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": str(PROJECT_ROOT)},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert int(result.stdout.strip()) >= 25
    leftovers = [p for p in tmp_path.iterdir()]
    assert leftovers == [], f"imports wrote files: {leftovers}"
