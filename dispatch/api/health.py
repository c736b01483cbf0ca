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


@router.get("/readyz")
async def ready(ctx: Ctx):
    """Ready to serve: the ticket database and the event bus both answer (503 otherwise)."""
    database = await run_in_threadpool(ctx.store.reachable)
    bus = await run_in_threadpool(ctx.bus.reachable)
    body = {"status": "ready" if database and bus else "waiting",
            "database": "ok" if database else "away", "bus": "ok" if bus else "away"}  # fmt: skip
    if database and bus:
        return body
    return JSONResponse(body, status_code=503, headers={"Retry-After": str(RETRY_AFTER_S)})
