"""Coordinates: WGS-84 <-> the district's metric CRS, for distances in metres."""

from __future__ import annotations

import numpy as np
from pyproj import Transformer

from geo.layers import WGS84


class Projector:
    """WGS-84 <-> the district's metric CRS, for distances in metres."""

    def __init__(self, metric_crs: str):
        self.crs = metric_crs
        self._forward = Transformer.from_crs(WGS84, metric_crs, always_xy=True)
        self._back = Transformer.from_crs(metric_crs, WGS84, always_xy=True)

    def to_metric(self, lon, lat):
        """Project lon/lat (scalars or arrays) to metric x/y."""
        return self._forward.transform(lon, lat)

    def to_lon_lat(self, x, y):
        """Metric x/y (scalars or arrays) back to lon/lat."""
        return self._back.transform(x, y)

    def distance_m(self, a: tuple[float, float], b: tuple[float, float]) -> float:
        """Straight-line distance in metres between two [lon, lat] points."""
        (ax, bx), (ay, by) = self.to_metric([a[0], b[0]], [a[1], b[1]])
        return float(np.hypot(ax - bx, ay - by))
