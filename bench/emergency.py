"""Emergency analysis benchmark: a full analysis (rings, shelters with walking routes, units by
travel time, cameras, closures with detours, grids) on a district of 20,000 buildings.

    python bench/emergency.py [--buildings 20000] [--sites 50]

The district is generated here (seeded): a 3.2 km square of streets every 100 m with buildings
in the blocks, schools, elderly homes, hospitals, 20 shelters, 16 grids, 60 units and 40 cameras.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import geopandas as gpd  # noqa: E402
import numpy as np  # noqa: E402
from shapely.geometry import LineString, Point, box  # noqa: E402

from config.emergency import EmergencyConfig  # noqa: E402
from config.schema import CameraConfig  # noqa: E402
from geo.emergency import EmergencyMap, analyse  # noqa: E402
from geo.layers import WGS84, DistrictLayers  # noqa: E402

CRS = "EPSG:32651"
X0, Y0 = 790_000.0, 3_350_000.0
SIDE, BLOCK = 3200.0, 100.0


def _frame(rows, geometries) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(rows, geometry=list(geometries), crs=CRS).to_crs(WGS84)


def district(buildings: int, rng) -> DistrictLayers:
    """A grid district in UTM metres with `buildings` footprints spread over its blocks."""
    ticks = np.arange(0, SIDE + 1, BLOCK)
    lines = [LineString([(X0 + t, Y0), (X0 + t, Y0 + SIDE)]) for t in ticks]
    lines += [LineString([(X0, Y0 + t), (X0 + SIDE, Y0 + t)]) for t in ticks]
    blocks = len(ticks) - 1
    bx = rng.integers(0, blocks, buildings)
    by = rng.integers(0, blocks, buildings)
    cx = X0 + bx * BLOCK + rng.uniform(15, 85, buildings)
    cy = Y0 + by * BLOCK + rng.uniform(15, 85, buildings)
    half = rng.uniform(3, 7, buildings)
    uses = rng.choice(["residential", "office", "retail", "school", "elderly_home", "hospital"],
                      size=buildings, p=[0.8, 0.1, 0.07, 0.015, 0.01, 0.005])  # fmt: skip
    floors = rng.integers(1, 20, buildings)
    residents = np.where(uses == "residential", floors * half * half * 4 / 35, 0).round()
    footprints = [box(x - h, y - h, x + h, y + h) for x, y, h in zip(cx, cy, half, strict=True)]
    shelters = [Point(X0 + x, Y0 + y) for x, y in rng.uniform(0, SIDE, (20, 2))]
    grid = SIDE / 4
    cells = [box(X0 + i * grid, Y0 + j * grid, X0 + (i + 1) * grid, Y0 + (j + 1) * grid)
             for i in range(4) for j in range(4)]  # fmt: skip
    return DistrictLayers(
        {
            "boundary": _frame([{"id": "d", "name": "d"}], [box(X0, Y0, X0 + SIDE, Y0 + SIDE)]),
            "streets": _frame(
                [{"id": f"s{i}", "name": f"路{i}"} for i in range(len(lines))], lines
            ),
            "buildings": _frame(
                [
                    {"id": f"b{i}", "name": "", "use": u, "floors": int(f), "residents": int(r)}
                    for i, (u, f, r) in enumerate(zip(uses, floors, residents, strict=True))
                ],
                footprints,
            ),  # fmt: skip
            "shelters": _frame(
                [
                    {"id": f"sh{i}", "name": f"避难点{i}", "capacity": 500}
                    for i in range(len(shelters))
                ],
                shelters,
            ),  # fmt: skip
            "grids": _frame(
                [
                    {"id": f"G{i}", "name": f"网格{i}", "responsible": "值班员", "phone": ""}
                    for i in range(len(cells))
                ],
                cells,
            ),  # fmt: skip
        }
    )


def run(args) -> None:
    rng = np.random.default_rng(7)
    layers = district(args.buildings, rng)
    started = time.perf_counter()
    emap = EmergencyMap(layers, CRS)
    print(
        f"district: {args.buildings:,} buildings; indexed in {time.perf_counter() - started:.1f} s"
    )
    area = layers.get("boundary").geometry[0]
    west, south, east, north = area.bounds

    inner = area.buffer(-0.0005)  # sites and units well inside the district

    def lon_lat(n: int) -> list[tuple[float, float]]:
        found: list[tuple[float, float]] = []
        while len(found) < n:
            x, y = rng.uniform(west, east), rng.uniform(south, north)
            if inner.contains(Point(x, y)):
                found.append((x, y))
        return found

    units = [(f"u{i}", float(x), float(y)) for i, (x, y) in enumerate(lon_lat(60))]
    cameras = [
        CameraConfig(id=f"c{i}", name={"zh": "c", "en": "c"}, source="x.mp4",
                     position=(float(x), float(y)), direction_deg=float(rng.uniform(0, 360)),
                     frame_size=(640, 480))
        for i, (x, y) in enumerate(lon_lat(40))
    ]  # fmt: skip
    cfg = EmergencyConfig()
    samples, sizes = [], []
    for x, y in lon_lat(args.sites):
        began = time.perf_counter()
        found = analyse(emap, cfg, "road_collapse", Point(x, y), units, cameras)
        samples.append(time.perf_counter() - began)
        sizes.append(sum(r.buildings for r in found.rings))
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    print(f"analysis of {args.sites} sites: p50 {statistics.median(ordered) * 1000:.0f} ms, "
          f"p95 {p95 * 1000:.0f} ms, max {ordered[-1] * 1000:.0f} ms; "
          f"{statistics.mean(sizes):.0f} buildings within 500 m on average")  # fmt: skip
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--buildings", type=int, default=20_000)
    parser.add_argument("--sites", type=int, default=50)
    run(parser.parse_args())
