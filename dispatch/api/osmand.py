"""GPS ingest in the OsmAnd protocol, as Traccar Client (and OsmAnd, and many trackers) send it.

Two shapes reach the same handler, on `/` (Traccar's own server path) and on `/osmand`:

- query string or form: `?id=DEVICE&lat=..&lon=..&timestamp=..&speed=..&bearing=..&accuracy=..`
  with speed in knots and timestamp in Unix seconds, milliseconds or ISO 8601;
- JSON (Traccar Client 9 and later): `{"device_id": .., "location": {"timestamp": ISO,
  "coords": {"latitude", "longitude", "speed" (m/s), "heading", "accuracy", ...}}}`.

The device identifier is the phone's device key (`run.py token device UNIT`), a secret stored
only as its hash; with `api.device_keys: false` it is `units[].device_id` (default: the unit id).
"""

from __future__ import annotations

import datetime as dt
import json
import math

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from dispatch import tokens
from dispatch.api.deps import ApiContext, ApiError, Ctx
from dispatch.api.positions import ingest
from dispatch.api.schemas import IngestResult
from dispatch.gps import RawFix

router = APIRouter(tags=["gps"])
KNOT_MPS = 0.514444


def _number(params: dict, *names: str) -> float | None:
    for name in names:
        value = params.get(name)
        if value in (None, ""):
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ApiError(400, f"{name}={value!r} is not a number") from None
        if not math.isfinite(number):
            raise ApiError(400, f"{name}={value!r} is not a finite number")
        return number
    return None


def parse_time(value, now: float) -> float:
    """Unix seconds or milliseconds, or ISO 8601 (no zone means UTC, as Traccar reads it)."""
    if value in (None, ""):
        return now
    text = str(value).strip()
    if text.replace(".", "", 1).isdigit():
        number = float(text)
        return number / 1000 if number > 1e11 else number
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(
            400, f"timestamp={text!r} is neither Unix seconds/milliseconds nor ISO 8601"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()


def _unit_for_device(ctx: ApiContext, device: str | None, request: Request | None = None) -> str:
    if not device:
        raise ApiError(400, "missing device identifier: send id=<device id>")
    if ctx.cfg.api.device_keys:  # the identifier is the phone's secret key
        if request is not None:
            ctx.check_guesses(request)
        row = tokens.lookup(ctx.store, device)
        if row is None or row.role != "device" or ctx.cfg.unit(row.subject) is None:
            if request is not None:
                ctx.guessed(request)
            raise ApiError(
                401,
                "unknown or revoked device key: issue one with `run.py token device UNIT` and "
                "enter it as Traccar Client's device identifier",
            )
        return row.subject
    for unit in ctx.cfg.units:
        if (unit.device_id or unit.id) == device:
            return unit.id
    raise ApiError(
        400,
        f"unknown device id {device[:64]!r}: set it as units[].device_id in the config, "
        "or use the unit id as Traccar Client's device identifier",
    )


def _from_params(ctx: ApiContext, params: dict, request: Request | None = None) -> IngestResult:
    device = params.get("id") or params.get("deviceid")
    unit = _unit_for_device(ctx, device, request)
    lat, lon = _number(params, "lat"), _number(params, "lon")
    if (lat is None or lon is None) and params.get("location"):
        try:
            lat, lon = (float(v) for v in str(params["location"]).split(","))
        except ValueError:
            raise ApiError(400, f"location={params['location']!r} is not 'lat,lon'") from None
    if lat is None or lon is None:
        raise ApiError(400, "missing position: send lat=..&lon=.. (or location=lat,lon)")
    knots = _number(params, "speed")
    fix = _fix(
        lon,
        lat,
        parse_time(params.get("timestamp"), ctx.clock()),
        knots * KNOT_MPS if knots is not None else None,
        _number(params, "bearing", "heading"),
        _number(params, "accuracy"),
    )
    return ingest(ctx, unit, [fix])


def _fix(lon, lat, fix_time, speed_mps, heading, accuracy) -> RawFix:
    """A fix; negative speed or heading means "unknown" in both shapes of the protocol."""
    return RawFix(
        lon=lon,
        lat=lat,
        fix_time=fix_time,
        speed_mps=speed_mps if speed_mps is not None and speed_mps >= 0 else None,
        heading_deg=heading % 360 if heading is not None and heading >= 0 else None,
        accuracy_m=accuracy,
    )


def _from_json(ctx: ApiContext, body: bytes, request: Request | None = None) -> IngestResult:
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ApiError(400, "the body is not JSON; send Traccar Client's JSON or a query") from None
    if not isinstance(data, dict) or not isinstance(data.get("location"), dict):
        raise ApiError(400, "JSON body needs a 'location' object with 'coords' (Traccar Client)")
    unit = _unit_for_device(ctx, str(data.get("device_id") or "") or None, request)
    location = data["location"]
    coords = location.get("coords")
    if not isinstance(coords, dict):
        raise ApiError(400, "location.coords is missing or not an object")
    lat = _number(coords, "latitude")
    lon = _number(coords, "longitude")
    if lat is None or lon is None:
        raise ApiError(400, "location.coords needs latitude and longitude")
    fix = _fix(
        lon,
        lat,
        parse_time(location.get("timestamp"), ctx.clock()),
        _number(coords, "speed"),
        _number(coords, "heading"),
        _number(coords, "accuracy"),
    )
    return ingest(ctx, unit, [fix])


def from_query(request: Request, ctx: ApiContext) -> IngestResult:
    """A GET with the fix in the query string."""
    return _from_params(ctx, dict(request.query_params), request)


async def _handle(request: Request, ctx: ApiContext) -> IngestResult:
    params = dict(request.query_params)
    if request.method == "POST":
        kind = request.headers.get("content-type", "")
        if kind.startswith("application/json"):
            return await run_in_threadpool(_from_json, ctx, await request.body(), request)
        if kind.startswith("application/x-www-form-urlencoded"):
            params.update({k: v for k, v in (await request.form()).items() if isinstance(v, str)})
    return await run_in_threadpool(_from_params, ctx, params, request)


@router.get("/osmand", response_model=IngestResult)
async def osmand_get(request: Request, ctx: Ctx):
    """One fix in the OsmAnd protocol, in the query string."""
    return await _handle(request, ctx)


@router.post("/osmand", response_model=IngestResult)
async def osmand_post(request: Request, ctx: Ctx):
    """One fix in the OsmAnd protocol: query string, form, or Traccar Client's JSON body."""
    return await _handle(request, ctx)


@router.post("/", response_model=IngestResult, include_in_schema=False)
async def osmand_root(request: Request, ctx: Ctx):
    """Traccar Client posts to the server's root path."""
    return await _handle(request, ctx)
