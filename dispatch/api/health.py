"""Liveness and readiness, for load balancers, orchestrators and `run.py status`."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from dispatch.api.deps import Ctx
from dispatch.api.errors import RETRY_AFTER_S

router = APIRouter(tags=["health"])


@router.get("/healthz")
def alive() -> dict:
    """The process answers (it may still be waiting for its database or bus)."""
    return {"status": "alive"}


def readiness(store, bus) -> tuple[dict, bool]:
    """What a readiness probe answers (the API's and the cockpit's): whether the ticket database
    and the bus (None: a process without one) answer now."""
    database = store.reachable()
    reached = bus.reachable() if bus is not None else True
    body = {
        "status": "ready" if database and reached else "waiting",
        "database": "ok" if database else "away",
        "bus": "ok" if reached else "away",
    }
    return body, database and reached


@router.get("/readyz")
async def ready(ctx: Ctx):
    """Ready to serve: the ticket database and the event bus both answer (503 otherwise)."""
    body, ok = await run_in_threadpool(readiness, ctx.store, ctx.bus)
    if ok:
        return body
    return JSONResponse(body, status_code=503, headers={"Retry-After": str(RETRY_AFTER_S)})
