"""The wall kiosk: what a wall screen opened with a display token shows. No controls and nothing
that needs a mouse: the live map and the board of KPIs and warnings in turn (`wall` config), a
clock, and how long ago the last push came (red when the stream stalls); pushed, never polled,
and it reconnects by itself."""

from __future__ import annotations

import dash
from dash import html

from cockpit.access import EVERYONE, Gate
from cockpit.chrome import denied
from cockpit.pages.live_map import page_layout
from config.i18n import pick_lang, t
from config.schema import AppConfig
from geo.layers import DistrictLayers

PATH = "/wall"
ROLES = EVERYONE
NAV = None  # a screen's page, not one people navigate to


def register(app: dash.Dash, cfg: AppConfig, layers: DistrictLayers, gate: Gate, _desk) -> None:
    """Add the kiosk page (its callbacks are the live map's: the same components)."""

    def layout(lang: str | None = None, **_query) -> html.Div:
        if not gate.page_allowed(PATH):
            return denied(pick_lang(lang))
        return page_layout(cfg, layers, pick_lang(lang), kiosk=True)

    dash.register_page("wall", path=PATH, layout=layout, title=t("title"))
