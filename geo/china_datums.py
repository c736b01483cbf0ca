"""China's offset map datums: GCJ-02 (the national standard's obfuscated coordinates, used by
AutoNavi/Amap, Tencent and most Chinese tile services) and BD-09 (Baidu's, a further offset of
GCJ-02), to and from WGS-84 (GPS, OpenStreetMap, this system's own data).

The forward formulas are the published ones; the ways back are solved by fixed-point iteration,
so a round trip returns to the point within millimetres (the common one-step approximation is
off by up to a few metres). Points outside China are not offset, as the standard specifies.
Functions take and return arrays (or scalars) of longitudes and latitudes in degrees.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

_A = 6378245.0  # Krasovsky 1940 semi-major axis, as GCJ-02 uses
_EE = 0.00669342162296594323  # its first eccentricity squared
_X_PI = np.pi * 3000.0 / 180.0
DATUMS = ("wgs84", "gcj02", "bd09")


def _outside_china(lon, lat) -> np.ndarray:
    lon, lat = np.asarray(lon, float), np.asarray(lat, float)
    return (lon < 72.004) | (lon > 137.8347) | (lat < 0.8293) | (lat > 55.8271)


def _shift_lat(x, y):
    out = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    out += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    out += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    out += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    return out


def _shift_lon(x, y):
    out = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    out += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    out += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    out += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    return out


def wgs84_to_gcj02(lon, lat):
    """WGS-84 -> GCJ-02."""
    lon, lat = np.asarray(lon, float), np.asarray(lat, float)
    dlat = _shift_lat(lon - 105.0, lat - 35.0)
    dlon = _shift_lon(lon - 105.0, lat - 35.0)
    rad = lat / 180.0 * np.pi
    magic = 1 - _EE * np.sin(rad) ** 2
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * np.sqrt(magic)) * np.pi)
    dlon = (dlon * 180.0) / (_A / np.sqrt(magic) * np.cos(rad) * np.pi)
    outside = _outside_china(lon, lat)
    return np.where(outside, lon, lon + dlon), np.where(outside, lat, lat + dlat)


def gcj02_to_wgs84(lon, lat, iterations: int = 8):
    """GCJ-02 -> WGS-84, solving the forward formula (millimetre round trips)."""
    lon, lat = np.asarray(lon, float), np.asarray(lat, float)
    guess_lon, guess_lat = lon.copy(), lat.copy()
    for _ in range(iterations):
        there_lon, there_lat = wgs84_to_gcj02(guess_lon, guess_lat)
        guess_lon, guess_lat = guess_lon + (lon - there_lon), guess_lat + (lat - there_lat)
    return guess_lon, guess_lat


def gcj02_to_bd09(lon, lat):
    """GCJ-02 -> BD-09."""
    lon, lat = np.asarray(lon, float), np.asarray(lat, float)
    z = np.sqrt(lon * lon + lat * lat) + 0.00002 * np.sin(lat * _X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02(lon, lat):
    """BD-09 -> GCJ-02."""
    x, y = np.asarray(lon, float) - 0.0065, np.asarray(lat, float) - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def wgs84_to_bd09(lon, lat):
    """WGS-84 -> BD-09."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon, lat):
    """BD-09 -> WGS-84."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def from_wgs84(datum: str) -> Callable:
    """The conversion from WGS-84 into `datum` (the identity for wgs84)."""
    return {
        "wgs84": lambda lon, lat: (np.asarray(lon, float), np.asarray(lat, float)),
        "gcj02": wgs84_to_gcj02,
        "bd09": wgs84_to_bd09,
    }[datum]
