"""The structure the code promises: imports flow one way, small modules and functions, ticket
states spelt once, Redis reached only through streams/."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from config.paths import PROJECT_ROOT
from dispatch.states import TicketState

PACKAGES = ("cockpit", "config", "dispatch", "geo", "sim", "stack", "streams", "vision")
MAX_MODULE_LINES = 450
MAX_FUNCTION_LINES = 60


def _modules() -> list[Path]:
    """Every product module and benchmark, migrations (generated, append-only history) left out."""
    found = [PROJECT_ROOT / "run.py"]
    for package in (*PACKAGES, "bench"):
        found += (PROJECT_ROOT / package).rglob("*.py")
    return sorted(p for p in found if "migrations" not in p.parts)


def _lint_imports(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_imports_flow_one_way():
    result = _lint_imports(PROJECT_ROOT)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "3 kept, 0 broken" in result.stdout


def test_an_import_against_the_layers_breaks_the_contracts(tmp_path):
    """The check can fail: dispatch importing the cockpit (upwards) is caught."""
    for package in PACKAGES:
        shutil.copytree(PROJECT_ROOT / package, tmp_path / package)
    shutil.copy(PROJECT_ROOT / "pyproject.toml", tmp_path)
    errors = tmp_path / "dispatch" / "errors.py"
    errors.write_text(errors.read_text() + "\nimport cockpit.app  # noqa\n")
    result = _lint_imports(tmp_path)
    assert result.returncode != 0
    assert "dispatch.errors -> cockpit.app" in result.stdout


def test_modules_and_functions_are_short_enough_to_read():
    long_modules, long_functions = [], []
    for path in _modules():
        text = path.read_text(encoding="utf-8")
        name = path.relative_to(PROJECT_ROOT)
        if len(text.splitlines()) > MAX_MODULE_LINES:
            long_modules.append(f"{name}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long_functions.append(f"{name}:{node.lineno} {node.name}: {length} lines")
    assert not long_modules, f"split these modules (<= {MAX_MODULE_LINES} lines): {long_modules}"
    assert not long_functions, f"split these (<= {MAX_FUNCTION_LINES} lines): {long_functions}"


# Where a ticket state's spelling may appear: the enum itself, and the alert levels (a warning
# "escalated" to a supervisor is a level of the alert record, not the ticket state).
STATE_SPELLING_HOMES = {Path("dispatch/states.py"), Path("streams/records.py")}


def test_ticket_states_are_spelt_only_in_the_enum():
    states = {state.value for state in TicketState}
    found = []
    for path in _modules():
        name = path.relative_to(PROJECT_ROOT)
        if name in STATE_SPELLING_HOMES:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and node.value in states:
                found.append(f"{name}:{node.lineno} {node.value!r}")
    assert not found, f"use dispatch.states.TicketState instead of the strings: {found}"


@pytest.mark.parametrize("package", [p for p in PACKAGES if p != "streams"])
def test_only_streams_touches_the_raw_redis_client(package):
    reaching = []
    for path in (PROJECT_ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr == "client":
                reaching.append(f"{path.relative_to(PROJECT_ROOT)}:{node.lineno}")
    assert not reaching, f"go through a streams/ module that owns the structure: {reaching}"
