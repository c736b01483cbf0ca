"""The code base stays lint-clean and formatted (ruff, as pyproject.toml configures it)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from config.paths import PROJECT_ROOT


@pytest.mark.parametrize("args", [["check", "."], ["format", "--check", "."]])
def test_ruff(args):
    result = subprocess.run(
        [sys.executable, "-m", "ruff", *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
