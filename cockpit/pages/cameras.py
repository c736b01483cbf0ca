"""The camera wall: every camera's latest small frame with its zones and detections drawn in,
and its health; filtered by grid or to the cameras with an open problem; click to enlarge.

Frames come from the vision workers through the frame cache (`streams.frames`), never from the
cockpit opening a camera itself. The browser asks for each visible frame at most once a second
and never while the previous one is still loading, so the bandwidth stays bounded (about one
small JPEG per camera per second; see docs/BENCHMARKS.md).
"""

from __future__ import annotations

import dash
import shapely
from dash import Input, Output, State, dcc, html
from sqlalchemy import select

from cockpit.access import USERS, Gate
from cockpit.chrome import denied, header
from config.i18n import pick_lang, t
from config.schema import AppConfig
from dispatch.desk import Desk
from dispatch.states import OPEN_STATES
from dispatch.store import TicketRow
from geo.layers import DistrictLayers
from streams.records import PICTURE_PROBLEMS

PATH = "/cameras"
ROLES = USERS
NAV = "nav.cameras"


NEAR_DEG = 0.0005  # about 50 m: a camera on the street between grids belongs to the nearest


def camera_grids(cfg: AppConfig, layers: DistrictLayers) -> dict[str, str | None]:
    """The grid each camera stands in or next to (None far from every grid)."""
    grids = layers.get("grids")
    found: dict[str, str | None] = {}
    for camera in cfg.cameras:
        found[camera.id] = None
        if grids is None or grids.empty:
            continue
        distances = shapely.distance(grids.geometry.to_numpy(), shapely.Point(camera.position))
        nearest = int(distances.argmin())
        if distances[nearest] <= NEAR_DEG:
            found[camera.id] = str(grids.iloc[nearest]["id"])
    return found


def wall_tiles(cfg: AppConfig, lang: str) -> html.Div:
    """The camera wall as a kiosk wall's view (no filters, no enlarging)."""
    return html.Div(
        className="camera-grid wall-cameras",
        children=[_tile(c, lang) for c in cfg.cameras],
        **{"data-detections": t("cameras.detections", lang)},
    )


def _tile(camera, lang: str) -> html.Div:
    return html.Div(
        id=f"cam-{camera.id}",
        className="cam-tile",
        **{"data-camera": camera.id},
        children=[
            html.Img(className="cam-frame", alt=""),
            html.Div(
                className="cam-caption",
                children=[
                    html.Span(getattr(camera.name, lang), className="cam-name"),
                    html.Span(
                        t("cameras.waiting", lang),
                        className="cam-state",
                        **{
                            "data-live": t("cameras.live", lang),
                            "data-offline": t("cameras.offline", lang),
                            **{f"data-{p}": t(f"picture.{p}", lang) for p in PICTURE_PROBLEMS},
                        },
                    ),
                ],
            ),
        ],
    )


def page_layout(cfg: AppConfig, grids: dict[str, str | None], lang: str) -> html.Div:
    """The camera wall in one language."""
    grid_ids = sorted({g for g in grids.values() if g})
    return html.Div(
        className="cockpit cameras",
        children=[
            dcc.Store(id="cameras-lang", data=lang),
            header(cfg, lang, PATH, live=False),
            html.Div(
                className="camera-filters",
                children=[
                    dcc.Dropdown(
                        id="cameras-grid",
                        options=[{"label": g, "value": g} for g in grid_ids],
                        placeholder=t("desk.grid", lang),
                        searchable=False,
                    ),
                    dcc.Checklist(
                        id="cameras-problem",
                        options=[{"label": t("cameras.with_problem", lang), "value": "open"}],
                    ),
                    html.Span(id="cameras-count", className="desk-total"),
                ],
            ),
            html.Main(
                id="camera-grid",
                className="camera-grid",
                children=[_tile(c, lang) for c in cfg.cameras],
                **{"data-detections": t("cameras.detections", lang)},
            ),
            html.Div(
                id="camera-zoom",
                className="camera-zoom",
                hidden=True,
                children=[html.Img(id="camera-zoom-frame"), html.Div(id="camera-zoom-caption")],
            ),
        ],
    )


def register(app: dash.Dash, cfg: AppConfig, layers: DistrictLayers, gate: Gate, desk: Desk):
    """Add the camera wall and its filter callback."""
    grids = camera_grids(cfg, layers)

    def layout(lang: str | None = None, **_query) -> html.Div:
        if not gate.page_allowed(PATH):
            return denied(pick_lang(lang))
        return page_layout(cfg, grids, pick_lang(lang))

    dash.register_page("cameras", path=PATH, layout=layout, title=t("nav.cameras"))

    @app.callback(
        Output("camera-grid", "children"),
        Output("cameras-count", "children"),
        Input("cameras-grid", "value"),
        Input("cameras-problem", "value"),
        State("cameras-lang", "data"),
    )
    def _filter(grid, problem, lang):
        if not gate.page_allowed(PATH):
            raise dash.exceptions.PreventUpdate
        lang = pick_lang(lang)
        shown = [c for c in cfg.cameras if not grid or grids.get(c.id) == grid]
        if problem:
            query = select(TicketRow.camera_id).where(TicketRow.status.in_(OPEN_STATES)).distinct()
            with desk.store.session() as session:
                open_cameras = set(session.scalars(query))
            shown = [c for c in shown if c.id in open_cameras]
        count = t("cameras.count", lang).format(n=len(shown), total=len(cfg.cameras))
        return [_tile(c, lang) for c in shown], count
