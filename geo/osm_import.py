"""Real map data in: an OpenStreetMap extract (.osm.pbf, read with pyrosm) as the district's
layers: named streets (a routable graph follows from them), buildings with use, floors and
estimated residents, schools, kindergartens, hospitals, elderly homes, shelters and assembly
points, and the area they cover. Written as GeoJSON files and one GeoPackage, the formats the
config's `map.layers` read."""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import box

from geo.layers import WGS84

log = logging.getLogger(__name__)
RESIDENTIAL = {"apartments", "residential", "house", "detached", "semidetached_house",
               "terrace", "dormitory", "bungalow"}  # fmt: skip
UNKNOWN_USE = {"yes", "block"}  # may hold homes: half the floor area counted as homes
FLOOR_AREA_PER_RESIDENT_M2 = 35.0
DEFAULT_FLOORS = 2
PLACE_FILTER = {
    "amenity": ["school", "kindergarten", "hospital", "nursing_home", "social_facility",
                "shelter", "childcare", "clinic"],
    "social_facility": ["nursing_home", "assisted_living"],
    "emergency": ["assembly_point"],
}  # fmt: skip
KINDS = {"school": "school", "kindergarten": "kindergarten", "childcare": "kindergarten",
         "hospital": "hospital", "clinic": "hospital", "nursing_home": "elderly_home"}  # fmt: skip


class OsmImportError(ValueError):
    """The extract cannot be imported as asked; the message names the fix."""


def _floors(levels: pd.Series) -> np.ndarray:
    values = pd.to_numeric(levels, errors="coerce").to_numpy(dtype=float)
    return np.where(np.isfinite(values) & (values > 0), np.ceil(values), DEFAULT_FLOORS)


def estimate_residents(use: pd.Series, floors: np.ndarray, area_m2: np.ndarray) -> np.ndarray:
    """Residents from floor area when the data has none: homes' floor area / 35 m2 a person."""
    share = np.where(use.isin(RESIDENTIAL), 1.0, np.where(use.isin(UNKNOWN_USE), 0.5, 0.0))
    return np.round(area_m2 * floors * share / FLOOR_AREA_PER_RESIDENT_M2).astype(int)


def _streets(osm) -> gpd.GeoDataFrame:
    network = osm.get_network(network_type="walking")
    if network is None or network.empty:
        raise OsmImportError("the extract has no streets or paths in this area; widen --bbox")
    streets = network[["id", "name", "highway", "geometry"]].copy()
    streets["id"] = "way-" + streets["id"].astype(str)
    streets["name"] = streets["name"].fillna("")
    return streets.rename(columns={"highway": "kind"})


def _buildings(osm, metric_crs: str) -> gpd.GeoDataFrame:
    frame = osm.get_buildings()
    if frame is None or frame.empty:
        return gpd.GeoDataFrame({"id": [], "name": [], "use": [], "floors": [], "residents": []},
                                geometry=[], crs=WGS84)  # fmt: skip
    levels = (
        frame["building:levels"] if "building:levels" in frame else pd.Series(np.nan, frame.index)
    )
    use = frame["building"].fillna("yes").astype(str)
    floors = _floors(levels)
    area = frame.to_crs(metric_crs).area.to_numpy()
    amenity = frame["amenity"] if "amenity" in frame else pd.Series(None, frame.index)
    use = use.where(~amenity.isin(KINDS), amenity.map(KINDS))
    geometry = shapely.make_valid(frame.geometry.to_numpy())  # mapped outlines may self-cross
    return gpd.GeoDataFrame(
        {
            "id": "bld-" + frame["id"].astype(str),
            "name": frame["name"].fillna("") if "name" in frame else "",
            "use": use.replace(KINDS),
            "floors": floors.astype(int),
            "residents": estimate_residents(use, floors, area),
        },
        geometry=geometry,
        crs=WGS84,
    )


def _places(osm) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Sensitive places (kind) and shelters (capacity when tagged)."""
    frame = osm.get_pois(custom_filter=PLACE_FILTER)
    empty = gpd.GeoDataFrame({"id": [], "name": [], "kind": []}, geometry=[], crs=WGS84)
    if frame is None or frame.empty:
        return empty, empty.assign(capacity=[])
    amenity = frame.get("amenity", pd.Series(None, frame.index)).astype(object)
    social = frame.get("social_facility", pd.Series(None, frame.index)).astype(object)
    emergency = frame.get("emergency", pd.Series(None, frame.index)).astype(object)
    kind = amenity.map(KINDS)
    kind = kind.where(~social.isin(["nursing_home", "assisted_living"]), "elderly_home")
    shelter = amenity.eq("shelter") | emergency.eq("assembly_point")
    points = frame.geometry.representative_point()
    names = frame["name"].fillna("") if "name" in frame else pd.Series("", frame.index)
    ids = "osm-" + frame["id"].astype(str)
    pois = gpd.GeoDataFrame({"id": ids, "name": names, "kind": kind}, geometry=points, crs=WGS84)
    capacity = pd.to_numeric(frame.get("capacity", pd.Series(np.nan, frame.index)), errors="coerce")
    shelters = gpd.GeoDataFrame({"id": ids, "name": names, "capacity": capacity.fillna(0)},
                                geometry=points, crs=WGS84)  # fmt: skip
    return pois[kind.notna().to_numpy()], shelters[shelter.to_numpy()]


def import_osm(path: Path, bbox: tuple[float, float, float, float] | None = None,
               metric_crs: str | None = None) -> dict[str, gpd.GeoDataFrame]:  # fmt: skip
    """The extract's layers by kind (boundary, streets, buildings, pois, shelters), WGS-84."""
    from pyrosm import OSM

    path = Path(path)
    if not path.exists():
        raise OsmImportError(f"{path}: no such file; give an .osm.pbf extract")
    if bbox is not None:
        west, south, east, north = bbox
        if not (west < east and south < north):
            raise OsmImportError("--bbox is WEST,SOUTH,EAST,NORTH in degrees, west < east")
    try:
        osm = OSM(str(path), bounding_box=list(bbox) if bbox else None)
        streets = _streets(osm)
    except OsmImportError:
        raise
    except Exception as exc:  # pyrosm raises several types for a file it cannot read
        raise OsmImportError(f"{path}: cannot read it as OpenStreetMap PBF: {exc}") from None
    metric_crs = metric_crs or streets.estimate_utm_crs().to_string()
    buildings = _buildings(osm, metric_crs)
    pois, shelters = _places(osm)
    area = box(*bbox) if bbox else streets.union_all().convex_hull
    boundary = gpd.GeoDataFrame(
        {"id": ["district"], "name": [path.stem]}, geometry=[area], crs=WGS84
    )
    log.info("imported %s: %d streets, %d buildings, %d places, %d shelters", path.name,
             len(streets), len(buildings), len(pois), len(shelters))  # fmt: skip
    return {"boundary": boundary, "streets": streets, "buildings": buildings, "pois": pois,
            "shelters": shelters}  # fmt: skip


def write_layers(frames: dict[str, gpd.GeoDataFrame], out: Path) -> list[Path]:
    """Each layer as OUT/KIND.geojson, and all of them in OUT/district.gpkg."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    package = out / "district.gpkg"
    package.unlink(missing_ok=True)
    for kind, frame in frames.items():
        target = out / f"{kind}.geojson"
        frame.to_file(target, driver="GeoJSON")
        frame.to_file(package, layer=kind, driver="GPKG")
        written.append(target)
    return [*written, package]
