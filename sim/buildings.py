"""The demo district's buildings: footprints filling the blocks between its streets, each with a
use, floors and estimated residents (seeded, so every run draws the same district)."""

from __future__ import annotations

import json
import random
from pathlib import Path

from sim.district import (
    RIVER_WIDTH_M,
    X_STOPS,
    Y_STOPS,
    near_old_street,
    river_centre,
    to_lon_lat,
)

SETBACK_M = 12.0  # from the street's centre line to the first building
GAP_M = 7.0
USES = (("residential", 0.74, (3, 12)), ("retail", 0.12, (1, 3)), ("office", 0.09, (5, 24)),
        ("public", 0.05, (2, 5)))  # fmt: skip
FLOOR_AREA_PER_RESIDENT_M2 = 35.0
KEEP = 0.85  # the rest of each block: courtyards, car parks, green


def _use(rng: random.Random) -> tuple[str, int]:
    pick, upto = rng.random(), 0.0
    for use, share, (low, high) in USES:
        upto += share
        if pick <= upto:
            return use, rng.randint(low, high)
    use, _, (low, high) = USES[-1]
    return use, rng.randint(low, high)


def _in_river(x: float, y: float, width: float, depth: float) -> bool:
    """Whether a footprint would stand in the river or on its banks (8 m kept clear)."""
    half = RIVER_WIDTH_M / 2 + 8
    centres = [river_centre(x + width * k / 4) for k in range(5)]
    return any(y - half < c < y + depth + half for c in centres)


def _block(rng: random.Random, x0: float, y0: float, x1: float, y1: float, first: int) -> list:
    found = []
    width, depth = rng.uniform(16, 22), rng.uniform(11, 15)
    x = x0 + SETBACK_M
    while x + width <= x1 - SETBACK_M:
        y = y0 + SETBACK_M
        while y + depth <= y1 - SETBACK_M:
            clear = not _in_river(x, y, width, depth) and not near_old_street(
                x + width / 2, y + depth / 2, SETBACK_M + max(width, depth) / 2
            )
            if rng.random() < KEEP and clear:
                use, floors = _use(rng)
                w, d = width * rng.uniform(0.8, 1.0), depth * rng.uniform(0.8, 1.0)
                homes = w * d * floors if use == "residential" else 0.0
                found.append(
                    {
                        "id": f"b{first + len(found):05d}",
                        "use": use,
                        "floors": floors,
                        "residents": round(homes / FLOOR_AREA_PER_RESIDENT_M2),
                        "ring": [to_lon_lat(px, py) for px, py in
                                 ((x, y), (x + w, y), (x + w, y + d), (x, y + d), (x, y))],
                    }
                )  # fmt: skip
            y += depth + GAP_M
        x += width + GAP_M
    return found


def buildings(seed: int = 11) -> dict:
    """Every building of the demo district as a GeoJSON FeatureCollection."""
    rng = random.Random(seed)
    rows: list[dict] = []
    for x0, x1 in zip(X_STOPS, X_STOPS[1:], strict=False):
        for y0, y1 in zip(Y_STOPS, Y_STOPS[1:], strict=False):
            rows += _block(rng, x0, y0, x1, y1, len(rows) + 1)
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {k: v for k, v in row.items() if k != "ring"} | {"name": ""},
                "geometry": {"type": "Polygon", "coordinates": [row["ring"]]},
            }
            for row in rows
        ],
    }


LAYER_KINDS = ("boundary", "communities", "grids", "streets", "water", "bridges", "metro",
               "buildings", "pois", "shelters")  # fmt: skip


def write_buildings(out_dir: Path) -> None:
    """The buildings (compact GeoJSON: thousands of them), and every layer in one GeoPackage
    (district.gpkg) so a city sees the layer format to follow."""
    import geopandas as gpd

    (out_dir / "buildings.geojson").write_text(
        json.dumps(buildings(), ensure_ascii=False, separators=(",", ":")), encoding="utf-8"
    )
    package = out_dir / "district.gpkg"
    package.unlink(missing_ok=True)
    for kind in LAYER_KINDS:
        frame = gpd.read_file(out_dir / f"{kind}.geojson")
        frame.to_file(package, layer=kind, driver="GPKG")
