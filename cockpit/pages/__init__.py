"""The cockpit's pages, one module each with its layout and callbacks (Dash Pages)."""

from __future__ import annotations

from cockpit.pages import cameras, desk, incident, live_map, trends, wall

PAGES = (live_map, desk, cameras, incident, trends, wall)
