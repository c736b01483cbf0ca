"""A realistic multi-year ticket history for leaders' trends, their tests and their benchmark.

Deterministic for a seed. Cases follow the seasons (bins and dirty roads peak in summer, damaged
facilities in the rainy months), the week (parking on workdays), the hours of a street's day and
a yearly growth; they cluster at hotspots and come back to chronic spots (repeat places); each
unit has its own speed and its own rate of failed fixes, so rankings differ. Stage times follow
the district's working calendar exactly as the live dispatcher counts them (dispatch/facts.py),
so generated and live tickets are counted alike.

`write` streams the rows into the ticket store: PostgreSQL through COPY (a million tickets in
minutes), SQLite through batched inserts (the demo's smaller history).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from config.schema import AppConfig
from dispatch.calendar import district_calendar
from dispatch.facts import hex_of
from dispatch.routing import Router
from dispatch.states import CloseReason, TicketState
from dispatch.store import Store, TicketRow
from geo.index import Location
from geo.layers import DistrictLayers
from sim.work_clock import WorkClock

log = logging.getLogger(__name__)
S = TicketState
CHUNK = 50_000
SHARE = {  # of all tickets; categories not listed share the rest
    "illegal_parking": 0.3,
    "bin_overflow": 0.22,
    "dirty_road": 0.2,
    "street_vending": 0.07,
    "bike_parking": 0.06,
}
SUMMER = {"bin_overflow": 0.35, "dirty_road": 0.25}  # seasonal swing, peak in July
RAINY = {"facility_damage": 0.3}  # peak in June
CAMERA_SOURCES = (("camera", 0.6), ("patrol", 0.2), ("hotline", 0.12), ("citizen", 0.05))
OTHER_SOURCES = (("patrol", 0.5), ("hotline", 0.3), ("citizen", 0.15))
HOURS = np.array([1, 1, 1, 1, 1, 2, 4, 8, 12, 13, 12, 10, 8, 9, 11, 12, 12, 11, 9, 7, 5, 4, 3, 2])


@dataclass(frozen=True)
class HistorySpec:
    """How many tickets over which local days, as things stand at `now`."""

    tickets: int
    start: dt.date
    end: dt.date
    now: dt.datetime
    seed: int = 7
    growth: float = 0.08  # more cases each year


def _day_weights(cfg: AppConfig, spec: HistorySpec, days: pd.DatetimeIndex, category: str):
    doy = days.dayofyear.to_numpy()
    weight = np.ones(len(days))
    weight *= 1 + SUMMER.get(category, 0) * np.cos(2 * np.pi * (doy - 196) / 365.25)
    weight *= 1 + RAINY.get(category, 0) * np.cos(2 * np.pi * (doy - 166) / 365.25)
    weekend = days.dayofweek.to_numpy() >= 5
    weight *= np.where(weekend, 0.6 if category == "illegal_parking" else 1.1, 1.0)
    years = (days - days[0]).days.to_numpy() / 365.25
    return weight * (1 + spec.growth) ** years


def _categories(cfg: AppConfig) -> dict[str, float]:
    ids = [c.id for c in cfg.categories]
    known = {c: SHARE[c] for c in ids if c in SHARE}
    rest = [c for c in ids if c not in SHARE]
    left = max(0.0, 1 - sum(known.values()))
    shares = {**known, **{c: left / len(rest) for c in rest}} if rest else known
    total = sum(shares.values())
    return {c: w / total for c, w in shares.items()}


def _requested(cfg: AppConfig, spec: HistorySpec, rng, n: int, category: str) -> np.ndarray:
    """Report instants (UTC seconds) by season, weekday, growth and hour of day."""
    days = pd.date_range(spec.start, spec.end, freq="D")
    weight = _day_weights(cfg, spec, days, category)
    picked = rng.choice(len(days), size=n, p=weight / weight.sum())
    hours = rng.choice(24, size=n, p=HOURS / HOURS.sum())
    local = days[picked] + pd.to_timedelta(hours * 3600 + rng.integers(0, 3600, n), unit="s")
    utc = local.tz_localize(cfg.district.zone).tz_convert("UTC")
    return utc.as_unit("s").asi8.astype(np.float64)


class _Places:
    """Where cases happen: hotspots, chronic spots (reported again and again) and anywhere."""

    def __init__(self, cfg: AppConfig, layers: DistrictLayers, rng):
        boundary = layers.get("boundary")
        self.area = (boundary if boundary is not None else layers.get("grids")).union_all()
        west, south, east, north = self.area.bounds
        self.box = (west, south, east, north)
        self.hotspots = self._inside(rng, 12)
        self.spots = self._inside(rng, 40)
        streets = layers.get("streets")
        self.spot_names = _nearest_names(self.spots, streets)

    def _inside(self, rng, n: int) -> np.ndarray:
        found: list[tuple[float, float]] = []
        west, south, east, north = self.box
        while len(found) < n:
            lon, lat = rng.uniform(west, east), rng.uniform(south, north)
            if self.area.contains(gpd.points_from_xy([lon], [lat])[0]):
                found.append((lon, lat))
        return np.array(found)

    def draw(self, rng, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Longitudes, latitudes and the chronic spot of each case (-1: none)."""
        kind = rng.choice(3, size=n, p=[0.45, 0.1, 0.45])  # hotspot, chronic spot, anywhere
        west, south, east, north = self.box
        lon, lat = rng.uniform(west, east, n), rng.uniform(south, north, n)
        hot = rng.integers(0, len(self.hotspots), n)
        scatter = 0.0008  # about 80 m
        at_hot = kind == 0
        lon[at_hot] = self.hotspots[hot[at_hot], 0] + rng.normal(0, scatter, at_hot.sum())
        lat[at_hot] = self.hotspots[hot[at_hot], 1] + rng.normal(0, scatter, at_hot.sum())
        spot = np.where(kind == 1, rng.integers(0, len(self.spots), n), -1)
        chronic = spot >= 0
        lon[chronic] = self.spots[spot[chronic], 0] + rng.normal(0, 0.00003, chronic.sum())
        lat[chronic] = self.spots[spot[chronic], 1] + rng.normal(0, 0.00003, chronic.sum())
        lon, lat = np.clip(lon, west, east), np.clip(lat, south, north)
        return lon, lat, spot


def _nearest_names(points: np.ndarray, streets: gpd.GeoDataFrame | None) -> list[str]:
    if streets is None or streets.empty:
        return [f"#{i + 1}" for i in range(len(points))]
    metric = streets.to_crs(streets.estimate_utm_crs())
    spots = gpd.GeoSeries(gpd.points_from_xy(points[:, 0], points[:, 1]), crs=streets.crs)
    spots = spots.to_crs(metric.crs)
    return [str(metric.loc[metric.distance(p).idxmin(), "name"]) for p in spots]


def _locate(layers: DistrictLayers, lon: np.ndarray, lat: np.ndarray) -> tuple[list, list]:
    """Grid and community of each point (a grid's own community attribute wins)."""
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
    found = {}
    for kind in ("grids", "communities"):
        layer = layers.get(kind)
        if layer is None:
            found[kind] = [None] * len(lon)
            continue
        joined = gpd.sjoin(points, layer[["id", "geometry"]], predicate="within", how="left")
        joined = joined[~joined.index.duplicated(keep="first")]
        found[kind] = [None if pd.isna(v) else str(v) for v in joined["id"]]
    grids = layers.get("grids")
    if grids is not None and "community" in grids:
        own = dict(zip(grids["id"].astype(str), grids["community"], strict=True))
        found["communities"] = [
            own.get(g) or c for g, c in zip(found["grids"], found["communities"], strict=True)
        ]
    return found["grids"], found["communities"]


class _Crews:
    """Units by department and type, each with its own pace and rate of failed fixes."""

    def __init__(self, cfg: AppConfig, rng):
        self.by_route: dict[tuple[str, str], list[str]] = {}
        for unit in cfg.units:
            self.by_route.setdefault((unit.department, unit.type), []).append(unit.id)
        ids = sorted(u.id for u in cfg.units)
        pace = rng.uniform(0.5, 1.3, len(ids))
        pace[rng.choice(len(ids), size=max(1, len(ids) // 6), replace=False)] *= 2.3  # the laggards
        self.pace = dict(zip(ids, pace, strict=True))
        self.rework = dict(zip(ids, rng.uniform(0.01, 0.09, len(ids)), strict=True))


def _routes(cfg, router: Router, crews: _Crews, category, grids, communities, rng):
    """Department and unit of each case, as the routing matrix sends them."""
    departments, units = [], []
    cache: dict[tuple, tuple[str, list[str]]] = {}
    for grid, community in zip(grids, communities, strict=True):
        key = (grid, community)
        if key not in cache:
            route = router.route(category, Location(grid, community))
            cache[key] = (
                route.department_id,
                crews.by_route.get((route.department_id, route.unit_type), []),
            )
        department, pool = cache[key]
        departments.append(department)
        units.append(pool[rng.integers(0, len(pool))] if pool else None)
    return departments, units


def _sources(rng, n: int, camera_category: bool) -> np.ndarray:
    table = CAMERA_SOURCES if camera_category else OTHER_SOURCES
    names = [name for name, _ in table] + ["operator"]
    weights = [w for _, w in table]
    weights.append(1 - sum(weights))
    return rng.choice(names, size=n, p=weights)


def _stage_times(cfg, clock: WorkClock, rng, category: str, frame: pd.DataFrame) -> None:
    """Deadlines from filing, and stamps along the working clock from dispatch (in place)."""
    n = len(frame)
    limits = next((d for d in cfg.deadlines if d.category == category), None)
    filed = clock.to_work(frame["requested"].to_numpy())
    sent = frame["requested"].to_numpy() + rng.uniform(20, 300, n)
    frame["at_dispatch"] = sent
    sent_w = clock.to_work(sent)
    if limits is None:
        limits_min = (30.0, 120.0, 480.0)
        frame["accept_due"] = frame["arrive_due"] = frame["resolve_due"] = np.nan
    else:
        limits_min = (limits.accept_min, limits.arrive_min, limits.resolve_min)
        for column, minutes in zip(
            ("accept_due", "arrive_due", "resolve_due"), limits_min, strict=True
        ):
            frame[column] = clock.from_work(filed + minutes)
    pace = frame["pace"].to_numpy()  # the unit's: slower units miss more deadlines
    frame["accept_work_min"] = np.round(limits_min[0] * rng.lognormal(-1.0, 0.5, n) * pace, 2)
    travel = limits_min[1] * rng.lognormal(-1.3, 0.4, n) * pace
    fix = limits_min[2] * rng.lognormal(-1.1, 0.45, n) * pace
    frame["arrive_work_min"] = np.round(frame["accept_work_min"] + travel, 2)
    frame["resolve_work_min"] = np.round(frame["arrive_work_min"] + fix, 2)
    for stamp, column in (
        ("at_accept", "accept_work_min"),
        ("at_arrive", "arrive_work_min"),
        ("at_resolve", "resolve_work_min"),
    ):
        frame[stamp] = clock.from_work(sent_w + frame[column].to_numpy())
    frame["at_verify"] = frame["at_resolve"] + rng.uniform(120, 1800, n)


def _outcomes(cfg, clock: WorkClock, rng, frame: pd.DataFrame, now_s: float) -> None:
    """False findings, failed fixes, units giving tickets back, what is still open at `now`,
    supervision of late cases; then each ticket's state (in place)."""
    n = len(frame)
    false = (frame["source"].to_numpy() == "camera") & (rng.random(n) < 0.05)
    frame["reopened_count"] = (rng.random(n) < frame["rework_p"].to_numpy()).astype(int)
    frame["returned_count"] = (rng.random(n) < 0.03).astype(int)
    stamps = ("at_dispatch", "at_accept", "at_arrive", "at_resolve", "at_verify")
    for stamp in stamps:
        frame.loc[false | (frame[stamp] > now_s), stamp] = np.nan
    frame.loc[false, ["accept_work_min", "arrive_work_min", "resolve_work_min"]] = np.nan
    for stamp, column in (
        ("at_accept", "accept_work_min"),
        ("at_arrive", "arrive_work_min"),
        ("at_resolve", "resolve_work_min"),
    ):
        frame.loc[frame[stamp].isna(), column] = np.nan
    frame["at_close"] = frame["at_verify"]
    frame.loc[false, "at_close"] = frame.loc[false, "requested"] + 600
    frame["close_reason"] = np.where(frame["at_close"].notna(), CloseReason.DONE.value, None)
    frame.loc[false, "close_reason"] = CloseReason.FALSE_POSITIVE.value
    status = np.full(n, S.NEW.value, dtype=object)
    for stamp, state in zip(
        stamps, (S.DISPATCHED, S.ACCEPTED, S.ON_SITE, S.RESOLVED, S.CLOSED), strict=True
    ):
        status[frame[stamp].notna().to_numpy()] = state.value
    status[false] = S.CLOSED.value
    frame["status"] = status
    late_by = clock.to_work(np.nan_to_num(frame["resolve_due"].to_numpy(), nan=now_s))
    escalate = clock.from_work(late_by + cfg.dispatch.escalate_after_min)
    reached = np.nan_to_num(frame["at_resolve"].to_numpy(), nan=np.inf)
    supervised = (
        frame["resolve_due"].notna().to_numpy() & (reached > escalate) & (escalate <= now_s)
    )
    frame["supervised"] = np.where(supervised & ~false, escalate, np.nan)


def _repeats(cfg: AppConfig, frame: pd.DataFrame) -> np.ndarray:
    """For cases at a chronic spot: the spot's previous case of the category when it is recent
    enough (the place reported again); None elsewhere."""
    repeat = np.full(len(frame), None, dtype=object)
    chronic = frame[frame["spot"] >= 0].sort_values("requested")
    window = cfg.trends.repeat_days * 86400
    for _, group in chronic.groupby(["spot", "service_code"]):
        times, ids = group["requested"].to_numpy(), group["id"].to_numpy()
        recent = np.diff(times) <= window
        positions = frame.index.get_indexer(group.index[1:][recent])
        repeat[positions] = ids[:-1][recent]
    return repeat


@dataclass
class _World:
    """What the generator draws on: the district, its routing, its crews and its calendar."""

    cfg: AppConfig
    layers: DistrictLayers
    router: Router
    crews: _Crews
    clock: WorkClock
    places: _Places


def _category_frame(world: _World, spec: HistorySpec, rng, category: str, n: int):
    """Every generated ticket of one category, as columns."""
    cfg = world.cfg
    camera_kind = any(rule.category == category for rule in cfg.rules)
    frame = pd.DataFrame({"requested": _requested(cfg, spec, rng, n, category)})
    frame["lon"], frame["lat"], frame["spot"] = world.places.draw(rng, n)
    grids, communities = _locate(world.layers, frame["lon"].to_numpy(), frame["lat"].to_numpy())
    departments, units = _routes(cfg, world.router, world.crews, category, grids, communities, rng)
    frame["grid_id"], frame["community_id"] = grids, communities
    frame["department_id"], frame["unit_id"] = departments, units
    frame["service_code"] = category
    frame["source"] = _sources(rng, n, camera_kind)
    frame["pace"] = [world.crews.pace.get(u, 1.0) for u in units]
    frame["rework_p"] = [world.crews.rework.get(u, 0.03) for u in units]
    frame["id"] = [f"{v:016x}" for v in rng.integers(0, 2**63, n)]
    names = world.places.spot_names
    frame["address"] = [names[s] if s >= 0 else None for s in frame["spot"]]
    _stage_times(cfg, world.clock, rng, category, frame)
    _outcomes(cfg, world.clock, rng, frame, spec.now.timestamp())
    frame["repeat_of"] = _repeats(cfg, frame)
    return frame


TIMES = {
    "requested_at": "requested",
    "dispatched_at": "at_dispatch",
    "accepted_at": "at_accept",
    "arrived_at": "at_arrive",
    "resolved_at": "at_resolve",
    "verified_at": "at_verify",
    "closed_at": "at_close",
    "accept_due": "accept_due",
    "arrive_due": "arrive_due",
    "resolve_due": "resolve_due",
    "supervised_at": "supervised",
}
PLAIN = (
    "id", "service_code", "status", "source", "lon", "lat", "grid_id", "community_id",
    "department_id", "unit_id", "returned_count", "reopened_count", "close_reason", "address",
    "repeat_of", "accept_work_min", "arrive_work_min", "resolve_work_min",
)  # fmt: skip
COLUMNS = (*PLAIN, *TIMES, "updated_at", "local_day", "local_hour", "local_dow", "hex_cell",
           "description", "version", "merged_events", "priority", "facts_due")  # fmt: skip


def _instants(values: np.ndarray) -> list:
    stamps = pd.to_datetime(np.round(values), unit="s", utc=True)
    return [None if pd.isna(v) else v.to_pydatetime() for v in stamps]


def _rows(cfg: AppConfig, frame: pd.DataFrame) -> Iterator[tuple]:
    """The frame as ticket rows in COLUMNS order."""
    local = pd.to_datetime(frame["requested"], unit="s", utc=True).dt.tz_convert(cfg.district.zone)
    times = [_instants(frame[column].to_numpy()) for column in TIMES.values()]
    last = frame[list(TIMES.values())].max(axis=1).to_numpy()
    plain = [
        [None if isinstance(v, float) and np.isnan(v) else v for v in frame[c].tolist()]
        for c in PLAIN
    ]
    hexes = [
        hex_of(lon, lat, cfg.trends.hex_resolution)
        for lon, lat in zip(frame["lon"], frame["lat"], strict=True)
    ]
    priority = {c.id: c.priority for c in cfg.categories}
    fixed = ("", 1, 1, priority.get(str(frame["service_code"].iloc[0]), 2), False)
    extra = zip(
        _instants(last),
        local.dt.date.tolist(),
        local.dt.hour.tolist(),
        (local.dt.dayofweek + 1).tolist(),
        hexes,
        strict=True,
    )
    for values in zip(*plain, *times, extra, strict=True):
        yield (*values[:-1], *values[-1], *fixed)


def generate(cfg: AppConfig, layers: DistrictLayers, spec: HistorySpec) -> Iterator[list[tuple]]:
    """The history in chunks of rows (COLUMNS order), one category after another."""
    rng = np.random.default_rng(spec.seed)
    calendar = district_calendar(cfg)
    clock = WorkClock(calendar, spec.start - dt.timedelta(days=3), spec.end + dt.timedelta(400))
    world = _World(
        cfg, layers, Router(cfg, None), _Crews(cfg, rng), clock, _Places(cfg, layers, rng)
    )
    shares = _categories(cfg)
    left = spec.tickets
    for index, (category, share) in enumerate(shares.items()):
        n = left if index == len(shares) - 1 else round(spec.tickets * share)
        left -= n
        if n <= 0:
            continue
        frame = _category_frame(world, spec, rng, category, n)
        for begin in range(0, n, CHUNK):
            yield list(_rows(cfg, frame.iloc[begin : begin + CHUNK]))


def write(
    store: Store, chunks: Iterator[list[tuple]], progress: Callable[[int], None] | None = None
) -> int:
    """Insert the chunks into the ticket store; how many tickets were written."""
    written = 0
    postgres = store.engine.dialect.name == "postgresql"
    names = ", ".join(COLUMNS)
    for rows in chunks:
        if postgres:
            raw = store.engine.raw_connection()
            try:
                with (
                    raw.cursor() as cursor,
                    cursor.copy(f"COPY tickets ({names}) FROM STDIN") as copy,
                ):
                    for row in rows:
                        copy.write_row(row)
                raw.commit()
            finally:
                raw.close()
        else:
            with store.engine.begin() as connection:
                connection.execute(
                    TicketRow.__table__.insert(),
                    [dict(zip(COLUMNS, row, strict=True)) for row in rows],
                )
        written += len(rows)
        if progress:
            progress(written)
    if postgres:  # stored in time order, as a live history is, and with fresh statistics
        with store.engine.begin() as connection:
            connection.exec_driver_sql("CLUSTER tickets USING ix_tickets_local_day")
            connection.exec_driver_sql("ANALYZE tickets")
    return written
