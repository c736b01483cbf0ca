"""The one validated configuration tree: district, map, cameras, units, routing, services.

Value types and the strict base are in `config.types`; checks across sections in `config.checks`.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, field_validator, model_validator

from config.api import ApiConfig
from config.categories import CategoryConfig
from config.detection import CropConfig, GroundConfig
from config.display import WallConfig
from config.emergency import EmergencyConfig
from config.picture import PictureConfig
from config.retention import RetentionConfig
from config.rules import RuleConfig
from config.trends import Classification, TrendsConfig
from config.types import (
    ANY_AREA,
    Clock,
    Identifier,
    LayerKind,
    LonLat,
    Names,
    PixelPolygon,
    Strict,
    check_lon_lat,
    same_in_both,
)

__all__ = ["ANY_AREA", "AppConfig"]


class DistrictConfig(Strict):
    """The sub-district this installation serves."""

    name: Names = Field(description="district display name")
    crs: str = Field(
        description="metric CRS for distances and buffers, e.g. EPSG:32651 (UTM 51N)",
        pattern=r"^EPSG:\d{4,5}$",
    )
    center: LonLat = Field(description="map centre [lon, lat]")
    zoom: float = Field(default=14.5, ge=1, le=20, description="initial map zoom")
    timezone: str = Field(
        default="Asia/Shanghai",
        description="IANA time zone: wall clocks, feeds, evidence and working-time deadlines",
    )

    _center = field_validator("center")(check_lon_lat)

    @property
    def zone(self):
        """The district's time zone (what wall clocks, feeds and deadlines show)."""
        from zoneinfo import ZoneInfo

        return ZoneInfo(self.timezone)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name such as Asia/Shanghai"
            ) from None
        return value


class LayerConfig(Strict):
    """One vector base layer, read from GeoJSON, GeoPackage or Shapefile."""

    kind: LayerKind = Field(description="what the layer holds; grids and communities drive routing")
    path: Path = Field(description="file path, relative to the config file")
    id_field: str = Field(default="id", description="attribute holding each feature's id")
    name_field: str = Field(default="name", description="attribute holding each feature's name")


class MapConfig(Strict):
    """The cockpit's map: vector base layers, and an optional raster tile service."""

    layers: list[LayerConfig] = Field(min_length=1, description="district vector layers")
    tile_url: str | None = Field(
        default=None,
        description="optional XYZ tile URL template ({z}/{x}/{y}); none means vector layers only",
    )
    unit_amber_min: float = Field(
        default=30, gt=0, description="a unit on one ticket stage this long turns amber"
    )
    unit_red_min: float = Field(default=60, gt=0, description="... and red after this long")
    tile_datum: Literal["wgs84", "gcj02"] = Field(
        default="wgs84",
        description="the datum of the tiles: gcj02 for AutoNavi/Amap or Tencent tiles (the map "
        "then draws everything shifted onto them); Baidu's BD-09 tiles use a tiling of their "
        "own and are not supported",
    )


class ZoneConfig(Strict):
    """A polygon in image coordinates with the rule it runs and where it lies on the map."""

    id: Identifier
    rule: Identifier = Field(description="id of a rule in `rules`")
    polygon: PixelPolygon = Field(description="[x, y] pixel vertices, at least 3")
    map_anchor: LonLat = Field(description="[lon, lat] the zone's events are placed at")
    bays: list[PixelPolygon] = Field(
        default_factory=list,
        description="marked bays inside the zone, [x, y] pixel polygons: a thing standing in one "
        "is where it belongs (bicycle bays in a bike_parking zone)",
    )

    _anchor = field_validator("map_anchor")(check_lon_lat)


class CameraConfig(Strict):
    """A camera: its stream, its place on the map, and the zones it watches."""

    id: Identifier
    name: Names
    source: str = Field(description="rtsp://, http(s):// MJPEG, or a video file path")
    position: LonLat = Field(description="[lon, lat] of the camera")
    direction_deg: float = Field(ge=0, lt=360, description="view direction, degrees from north")
    frame_size: tuple[int, int] = Field(description="[width, height] of the analysed stream")
    analysis_fps: float = Field(default=2, gt=0, le=30, description="frames analysed per second")
    zones: list[ZoneConfig] = Field(default_factory=list)
    loop: bool = Field(
        default=True, description="a video file restarts at its end, like a live feed"
    )
    optional: bool = Field(
        default=False, description="a missing video file skips the camera instead of failing"
    )
    homography: list[list[float]] | None = Field(
        default=None,
        description="3x3 pixel -> [lon, lat] homography; events are then placed where the "
        "object stands instead of at the zone's map anchor",
    )
    crops: Literal["zones", "frame"] | None = Field(
        default=None,
        description="where the detector looks on this camera; none: vision.crops.mode ('frame' "
        "for rendered clips, whose scale the bundled model was trained at)",
    )

    _position = field_validator("position")(check_lon_lat)

    @field_validator("homography")
    @classmethod
    def _three_by_three(cls, matrix: list[list[float]] | None) -> list[list[float]] | None:
        if matrix is not None and (len(matrix) != 3 or any(len(row) != 3 for row in matrix)):
            raise ValueError("homography must be a 3x3 matrix: [[a, b, c], [d, e, f], [g, h, i]]")
        return matrix


class UnitTypeConfig(Strict):
    """A kind of field unit (sanitation crew, city-management patrol, grid worker)."""

    id: Identifier
    names: Names
    workload_cap: int = Field(default=3, ge=1, description="open tickets before a unit is busy")


class DepartmentConfig(Strict):
    """A department that owns units and receives tickets."""

    id: Identifier
    names: Names
    supervisor: Identifier | None = Field(
        default=None, description="unit id of the supervisor who gets this department's escalations"
    )


class UnitConfig(Strict):
    """One field unit (a person or crew with a phone)."""

    id: Identifier
    name: Annotated[Names, BeforeValidator(same_in_both)] = Field(
        description="display name: {zh, en}, or one string shown in both languages"
    )
    type: Identifier = Field(description="id of a unit type")
    department: Identifier = Field(description="id of a department")
    home: LonLat = Field(description="[lon, lat] of the unit's base")
    device_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="GPS device identifier (Traccar Client / OsmAnd `id`) when api.device_keys "
        "is false; default: the unit id",
    )

    _home = field_validator("home")(check_lon_lat)

    def label(self, lang: str) -> str:
        """The name in one UI language."""
        return getattr(self.name, lang)


class RouteConfig(Strict):
    """One routing matrix cell: category x area -> department and unit type."""

    category: Identifier
    area: str = Field(default=ANY_AREA, description="grid or community id, or * for anywhere")
    department: Identifier
    unit_type: Identifier


class DeadlineConfig(Strict):
    """Minutes allowed per stage for a category."""

    category: Identifier
    accept_min: float = Field(gt=0)
    arrive_min: float = Field(gt=0)
    resolve_min: float = Field(gt=0)


class WorkCalendarConfig(Strict):
    """When deadlines run: working days and hours, holidays, make-up working days."""

    work_days: list[int] = Field(default=[1, 2, 3, 4, 5], description="ISO weekdays, Monday = 1")
    day_start: Clock = Field(default="08:30", description="HH:MM, local time")
    day_end: Clock = Field(default="17:30", description="HH:MM, local time")
    holidays: list[dt.date] = Field(default_factory=list, description="public holidays")
    extra_workdays: list[dt.date] = Field(
        default_factory=list, description="weekend days worked to make up for a holiday"
    )

    @model_validator(mode="after")
    def _day_order(self) -> WorkCalendarConfig:
        if self.day_end <= self.day_start:
            raise ValueError(f"day_end {self.day_end} must be after day_start {self.day_start}")
        if not set(self.work_days) <= set(range(1, 8)) or not self.work_days:
            raise ValueError("work_days lists ISO weekdays 1 (Monday) to 7 (Sunday)")
        return self


class DispatchConfig(Strict):
    """How tickets are merged and timed."""

    merge_radius_m: float = Field(
        default=250, ge=0, description="same-category events this close merge into an open ticket"
    )
    calendar: WorkCalendarConfig = Field(default_factory=WorkCalendarConfig)
    distance: Literal["street", "straight"] = Field(
        default="street",
        description="nearest unit by travel along the streets layer, or in a straight line",
    )
    escalate_after_min: float = Field(
        default=30,
        ge=0,
        description="working minutes a stage may stay overdue before it goes to the supervisor",
    )
    verify_clear_s: float = Field(
        default=60, gt=0, description="camera must see a resolved ticket's zone clear this long"
    )
    verify_settle_s: float = Field(
        default=10, ge=0, description="camera observations this soon after 'resolved' are ignored"
    )
    verify_timeout_s: float = Field(
        default=900, gt=0, description="no camera verdict after this long: an operator verifies"
    )
    photo_required: bool = Field(default=True, description="'resolved' needs a field photo")
    reopen_within_days: float = Field(
        default=30,
        ge=0,
        description="an operator may reopen a closed ticket this long after it was closed "
        "(later, the problem is filed as a new ticket)",
    )


class SimConfig(Strict):
    """The scenario player used by the demo and for drills."""

    enabled: bool = Field(default=True, description="run the simulator in the demo")
    scenario: Path | None = Field(default=None, description="scenario YAML, relative to config")
    speed: float = Field(default=1.0, gt=0, le=1000, description="time multiplier")
    loop: bool = Field(default=True, description="start again at the end of the timeline")
    crews: bool = Field(
        default=True,
        description="simulated crews work their tickets through the API (needs demo tokens)",
    )


class VisionConfig(Strict):
    """The vision workers: which model, how it runs, and how cameras are watched and shared."""

    weights: Path = Field(
        default=Path("vision/models/street-yolo11n.pt"),
        description="Ultralytics weights (.pt), relative to the project root; any YOLO model works",
    )
    class_map: dict[str, str] = Field(
        default_factory=dict,
        description="model class name -> class name the rules use (e.g. COCO 'car' -> 'car'); "
        "classes not listed keep their own name",
    )
    runtime: Literal["auto", "openvino", "onnx", "torch"] = Field(
        default="auto",
        description="inference runtime: 'auto' is the fastest installed (OpenVINO, else ONNX "
        "Runtime); exports are cached under the data dir",
    )
    quantized: Path | None = Field(
        default=Path("vision/models/street-yolo11n-int8_openvino_model"),
        description="OpenVINO INT8 model `run.py quantize` made from these weights (used with "
        "OpenVINO when it matches them; none: float only)",
    )
    imgsz: int = Field(default=320, ge=32, le=1920, description="model input size in pixels")
    confidence: float = Field(default=0.35, gt=0, lt=1, description="lowest detection score kept")
    class_confidence: dict[str, Annotated[float, Field(gt=0, lt=1)]] = Field(
        default_factory=dict, description="class name -> its own lowest score (else confidence)"
    )
    threads: int = Field(default=0, ge=0, le=64, description="ONNX Runtime threads; 0: all cores")
    crops: CropConfig = Field(default_factory=CropConfig, description="where the detector looks")
    ground: GroundConfig = Field(default_factory=GroundConfig, description="ground-size check")
    tracker: Literal["bytetrack"] = Field(default="bytetrack", description="multi-object tracker")
    motion_threshold: float = Field(
        default=0.002, ge=0, le=1, description="share of changed pixels that counts as motion"
    )
    full_check_s: float = Field(
        default=10, gt=0, description="run the detector at least this often even without motion"
    )
    stall_s: float = Field(default=20, gt=0, description="no frame this long: reconnect the source")
    offline_after_s: float = Field(
        default=5, gt=0, description="no frame this long: camera offline"
    )
    reconnect_max_s: float = Field(default=10, gt=0, description="longest wait between reconnects")
    health_every_s: float = Field(default=30, gt=0, description="repeat camera health this often")
    recheck_every_s: float = Field(
        default=5, gt=0, description="re-check zones awaiting verification this often"
    )
    lease_ttl_s: float = Field(
        default=10, gt=1, description="a dead worker's cameras move to a live one after this"
    )
    max_cameras: int = Field(default=32, ge=1, description="most cameras one worker takes")
    wall_frame_s: float | None = Field(
        default=1.0,
        gt=0,
        description="a small annotated frame per camera for the camera wall this often; "
        "none sends none",
    )
    wall_frame_width: int = Field(default=480, ge=160, le=1920, description="its width in px")
    workers: int = Field(default=1, ge=1, le=64, description="vision worker processes in the demo")
    picture: PictureConfig = Field(
        default_factory=PictureConfig, description="checks of each camera's picture"
    )


class ServicesConfig(Strict):
    """Where the system's services are; environment variables override these."""

    redis_url: str | None = Field(
        default=None, description="Redis URL (env REDIS_URL); none starts a private redis-server"
    )
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL (env DATABASE_URL); none uses SQLite in data_dir"
    )
    data_dir: Path = Field(default=Path("data"), description="state, snapshots (env SC_DATA_DIR)")
    cockpit_host: str = Field(default="127.0.0.1", description="cockpit bind address")
    cockpit_port: int = Field(default=8050, ge=1, le=65535, description="cockpit port")
    cockpit_origins: list[str] = Field(
        default_factory=list,
        description="browser origins allowed to open the cockpit's live connection besides its "
        "own address, e.g. https://cockpit.example.gov.cn behind a proxy",
    )
    proxy_hops: int = Field(
        default=0,
        ge=0,
        le=3,
        description="reverse proxies in front of the cockpit and the API that set "
        "X-Forwarded-For/-Proto (0: browsers and units connect directly); rate limits then "
        "count the address the proxy saw",
    )
    session_hours: float = Field(default=12, gt=0, le=24 * 7, description="sign-in lasts this")
    login_attempts_per_minute: int = Field(
        default=10, ge=1, description="sign-ins and display tokens tried per client per minute"
    )
    stream_maxlen: int = Field(default=100_000, ge=100, description="approximate cap per stream")
    position_stale_s: float = Field(default=300, gt=0, description="older GPS fixes are stale")


class AppConfig(Strict):
    """The whole system's configuration."""

    district: DistrictConfig
    map: MapConfig
    categories: list[CategoryConfig] = Field(min_length=1)
    rules: list[RuleConfig] = Field(default_factory=list)
    cameras: list[CameraConfig] = Field(default_factory=list)
    unit_types: list[UnitTypeConfig] = Field(min_length=1)
    departments: list[DepartmentConfig] = Field(min_length=1)
    units: list[UnitConfig] = Field(default_factory=list)
    routing: list[RouteConfig] = Field(min_length=1)
    deadlines: list[DeadlineConfig] = Field(default_factory=list)
    dispatch: DispatchConfig = Field(default_factory=DispatchConfig)
    services: ServicesConfig = Field(default_factory=ServicesConfig)
    api: ApiConfig = Field(default_factory=ApiConfig)
    retention: RetentionConfig = Field(default_factory=RetentionConfig)
    sim: SimConfig = Field(default_factory=SimConfig)
    vision: VisionConfig = Field(default_factory=VisionConfig)
    wall: WallConfig = Field(default_factory=WallConfig)
    trends: TrendsConfig = Field(default_factory=TrendsConfig)
    emergency: EmergencyConfig = Field(default_factory=EmergencyConfig)
    classification: Classification | None = Field(
        default=None, exclude=True, description="set by the loader from trends.classification"
    )
    source_path: Path | None = Field(default=None, exclude=True, description="set by the loader")

    def category(self, category_id: str) -> CategoryConfig:
        """The category with this id."""
        return next(c for c in self.categories if c.id == category_id)

    def unit_type(self, type_id: str) -> UnitTypeConfig:
        """The unit type with this id."""
        return next(t for t in self.unit_types if t.id == type_id)

    def unit(self, unit_id: str) -> UnitConfig | None:
        """The unit with this id, if configured."""
        return next((u for u in self.units if u.id == unit_id), None)

    def camera_position(self, camera_id: str) -> tuple[float, float] | None:
        """[lon, lat] of the camera with this id, if configured."""
        return next((c.position for c in self.cameras if c.id == camera_id), None)

    def layer(self, kind: str) -> LayerConfig | None:
        """The first layer of this kind, if any."""
        return next((layer for layer in self.map.layers if layer.kind == kind), None)
