"""GPS ingest: fixes filtered per unit (duplicates, jumps, stale or future fixes dropped) and the
accepted ones published on the bus; JSON batches from a unit's own app (the OsmAnd protocol of
Traccar Client is in `osmand`)."""

from __future__ import annotations

from fastapi import APIRouter

from dispatch.api import schemas
from dispatch.api.deps import API_PREFIX, ApiContext, Ctx, UnitId, aware
from dispatch.gps import RawFix
from streams.records import UnitPosition

router = APIRouter(prefix=API_PREFIX, tags=["gps"])


def ingest(ctx: ApiContext, unit: str, fixes: list[RawFix]) -> schemas.IngestResult:
    """Filter fixes in time order and publish the accepted ones."""
    order = sorted(range(len(fixes)), key=lambda i: fixes[i].fix_time)
    verdicts = ctx.fixes.filter(unit, [fixes[i] for i in order], ctx.clock())
    accepted, dropped = [], []
    for index, reason in zip(order, verdicts, strict=True):
        fix = fixes[index]
        if reason:
            dropped.append(schemas.Dropped(index=index, reason=reason))
            continue
        accepted.append(
            UnitPosition(
                unit_id=unit,
                lon=fix.lon,
                lat=fix.lat,
                fix_time=fix.fix_time,
                speed_mps=fix.speed_mps,
                heading_deg=fix.heading_deg,
                accuracy_m=fix.accuracy_m,
            )
        )
    if accepted:
        ctx.bus.publish_many(accepted)
    return schemas.IngestResult(
        accepted=len(accepted), dropped=sorted(dropped, key=lambda d: d.index)
    )


@router.post("/positions", response_model=schemas.IngestResult)
def positions(unit: UnitId, ctx: Ctx, body: schemas.FixBatch):
    """A batch of the unit's own fixes (e.g. buffered while offline)."""
    raw = [
        RawFix(
            lon=f.lon,
            lat=f.lat,
            fix_time=aware(f.time).timestamp(),
            speed_mps=f.speed_mps,
            heading_deg=f.heading_deg,
            accuracy_m=f.accuracy_m,
        )
        for f in body.fixes
    ]
    return ingest(ctx, unit, raw)
