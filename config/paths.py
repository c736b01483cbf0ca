"""Where the project lives: its root, the demo config, and paths given relative to the root."""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEMO_CONFIG = PROJECT_ROOT / "config" / "demo" / "district.yaml"


def project_path(path: Path | str) -> Path:
    """A path from config or the command line: absolute as it is, else under the project root."""
    path = Path(path)
    return path if path.is_absolute() else (PROJECT_ROOT / path).resolve()
