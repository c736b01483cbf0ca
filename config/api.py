"""The API's config: its address, body limits, Open311 and GPS ingest (filters, device keys)."""

from __future__ import annotations

from pydantic import Field

from config.types import Strict


class GpsFilterConfig(Strict):
    """Which GPS fixes the ingest drops before they reach the map and the router."""

    max_speed_mps: float = Field(
        default=42, gt=0, description="faster than this from the last fix is a jump (150 km/h)"
    )
    max_future_s: float = Field(default=60, ge=0, description="fixes further ahead are dropped")
    max_age_s: float = Field(default=3600, gt=0, description="older fixes are dropped as stale")
    max_accuracy_m: float = Field(default=500, gt=0, description="vaguer fixes are dropped")


class ApiConfig(Strict):
    """The JSON API: field units, GPS ingest, Open311 GeoReport v2, the phone field page."""

    host: str = Field(default="127.0.0.1", description="API bind address (env API_HOST)")
    port: int = Field(default=8060, ge=1, le=65535, description="API port (env API_PORT)")
    jurisdiction_id: str = Field(
        default="street-cockpit", min_length=1, description="Open311 jurisdiction_id"
    )
    max_body_kb: int = Field(default=256, ge=1, description="largest JSON or form body")
    max_upload_mb: float = Field(default=10, gt=0, description="largest photo upload")
    max_photos: int = Field(default=6, ge=1, le=50, description="most photos one fix may carry")
    open311_file_wait_s: float = Field(
        default=3,
        ge=0,
        le=30,
        description="how long a report POST waits for its filing before answering with a token",
    )
    gps: GpsFilterConfig = Field(default_factory=GpsFilterConfig)
    failed_credentials_per_minute: int = Field(
        default=30,
        ge=1,
        description="failed tokens, device keys, Open311 keys and field sign-ins one address may "
        "send per minute before it is refused (429) for the rest of the minute",
    )
    device_keys: bool = Field(
        default=True,
        description="OsmAnd/Traccar GPS needs a device key (`run.py token device UNIT`) as the "
        "phone's device identifier; false accepts units[].device_id or the unit id, which anyone "
        "who knows it can spoof (only on a closed network)",
    )
