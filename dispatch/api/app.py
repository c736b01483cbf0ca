"""The API application: routers per audience, limits, uniform errors, and the wiring."""

from __future__ import annotations

import time
from collections.abc import Callable

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse

from config.schema import AppConfig
from dispatch.api import (
    field,
    health,
    incidents,
    media,
    open311,
    operators,
    osmand,
    positions,
    units,
)
from dispatch.api.deps import ApiContext, context
from dispatch.api.errors import BodyLimit, document_refusals, install_error_handlers
from dispatch.api.guesses import Guesses
from dispatch.desk import Desk
from dispatch.gps import FixFilter
from dispatch.incidents import Incidents
from dispatch.routing import Router
from dispatch.store import Store
from dispatch.warnings import Warnings
from geo.emergency import EmergencyMap
from geo.gazetteer import Gazetteer
from geo.layers import DistrictLayers
from streams.bus import Bus

ROUTERS = (units, operators, incidents, media, positions, osmand, open311, field, health)


def build_app() -> FastAPI:
    """The application's routes, limits and error handling, without any connections."""
    app = FastAPI(
        title="Street Cockpit API",
        version="1",
        description=(
            "Field units (one token each), operators, GPS ingest (JSON batches and the OsmAnd "
            "protocol of Traccar Client) and Open311 GeoReport v2 for hotline and citizen reports."
        ),
        docs_url=None,  # Swagger UI loads from a CDN; command centres are often offline
        redoc_url=None,
    )
    install_error_handlers(app)
    document_refusals(app)
    for module in ROUTERS:
        app.include_router(module.router)

    @app.get("/", include_in_schema=False)
    def root(request: Request):
        if request.query_params.get("id") or request.query_params.get("deviceid"):
            return osmand.from_query(request, context(request))
        return RedirectResponse("/field")

    return app


def create_api(
    cfg: AppConfig,
    store: Store,
    bus: Bus,
    router: Router,
    layers: DistrictLayers,
    clock: Callable[[], float] = time.time,
) -> FastAPI:
    """The API application wired to the store and the bus."""
    app = build_app()
    app.state.ctx = ApiContext(
        cfg=cfg,
        store=store,
        bus=bus,
        desk=Desk(cfg, store, bus, router, clock),
        warnings=Warnings(cfg, store, bus, clock),
        router=router,
        fixes=FixFilter(cfg.api.gps, bus),
        gazetteer=Gazetteer(layers),
        clock=clock,
        incidents=Incidents(cfg, store, EmergencyMap(layers, cfg.district.crs), bus),
        guesses=Guesses(cfg.api.failed_credentials_per_minute, bus),
    )
    app.add_middleware(
        BodyLimit,
        max_body=cfg.api.max_body_kb * 1024,
        max_upload=int(cfg.api.max_upload_mb * 1024 * 1024),
    )
    return app
