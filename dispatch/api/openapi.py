"""Write the published OpenAPI document: `python -m dispatch.api.openapi` -> docs/openapi.json."""

from __future__ import annotations

import json
from pathlib import Path

from dispatch.api.app import build_app

OUT = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def document() -> dict:
    """The API's OpenAPI document."""
    return build_app().openapi()


if __name__ == "__main__":
    OUT.write_text(json.dumps(document(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {OUT}")
