"""Read the district's vector layers (GeoJSON, GeoPackage, Shapefile) into WGS-84 GeoDataFrames."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import shapely

from config.schema import AppConfig, LayerConfig

WGS84 = "EPSG:4326"


class LayerError(ValueError):
    """A layer file cannot be used; the message names the file and the fix."""


def read_layer(layer: LayerConfig) -> gpd.GeoDataFrame:
    """Read one layer, reproject to WGS-84, and normalise its id/name columns to `id` and `name`."""
    try:
        frame = gpd.read_file(layer.path)
    except Exception as exc:  # pyogrio raises several types; all mean "cannot read this file"
        raise LayerError(f"{layer.path}: cannot read {layer.kind} layer: {exc}") from exc
    for column in (layer.id_field, layer.name_field):
        if column not in frame.columns:
            raise LayerError(
                f"{layer.path}: {layer.kind} layer has no attribute {column!r} "
                f"(has: {', '.join(c for c in frame.columns if c != 'geometry')}); "
                "set id_field / name_field in the config"
            )
    if frame.crs is None:
        if Path(layer.path).suffix.lower() not in (".geojson", ".json"):
            raise LayerError(
                f"{layer.path}: {layer.kind} layer has no coordinate reference system; add its "
                ".prj file (Shapefile) or save it with a CRS (GeoPackage)"
            )
        frame = frame.set_crs(WGS84)  # GeoJSON is WGS-84 by its specification (RFC 7946)
    broken = frame[frame.geometry.isna() | ~frame.geometry.is_valid]
    if not broken.empty:
        row = broken.iloc[0]
        ident = row.get(layer.id_field, broken.index[0])
        reason = "no geometry" if row.geometry is None else shapely.is_valid_reason(row.geometry)
        raise LayerError(
            f"{layer.path}: {layer.kind} feature {ident!r} has a broken geometry ({reason}); "
            f"{len(broken)} feature(s) in all: repair them (e.g. QGIS 'Fix geometries')"
        )
    frame = frame.to_crs(WGS84).rename(columns={layer.id_field: "id", layer.name_field: "name"})
    frame["id"] = frame["id"].astype(str)
    return frame


@dataclass
class DistrictLayers:
    """All base layers of a district, keyed by kind."""

    frames: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)

    def get(self, kind: str) -> gpd.GeoDataFrame | None:
        """The layer of this kind, or None when the district has none."""
        return self.frames.get(kind)


def load_layers(cfg: AppConfig) -> DistrictLayers:
    """Read every layer named in the config."""
    return DistrictLayers({layer.kind: read_layer(layer) for layer in cfg.map.layers})
