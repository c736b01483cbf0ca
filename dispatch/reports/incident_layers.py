"""An incident's layers as one GeoJSON FeatureCollection: the site, its rings, sensitive places,
shelters with their walking routes, streets to close and detours (for GIS and other centres)."""

from __future__ import annotations

import json

from dispatch.store import IncidentRow
from geo.emergency import Analysis, EmergencyMap


def _feature(geometry: dict, **properties) -> dict:
    return {"type": "Feature", "geometry": geometry, "properties": properties}


def _line(points) -> dict:
    return {"type": "LineString", "coordinates": [list(p) for p in points]}


def incident_geojson(incident: IncidentRow, analysis: Analysis, emap: EmergencyMap) -> bytes:
    """The incident's layers, WGS-84 ([lon, lat]), UTF-8."""
    features = [
        _feature(
            incident.site,
            layer="site",
            id=incident.id,
            title=incident.title,
            level=incident.level,
            type=incident.type_id,
        )
    ]
    for ring in analysis.rings:
        outline = emap.ring_outline(analysis.lon, analysis.lat, ring.radius_m)
        circle = {"type": "Polygon", "coordinates": [[list(p) for p in outline]]}
        features.append(
            _feature(
                circle,
                layer="ring",
                radius_m=ring.radius_m,
                buildings=ring.buildings,
                residents=ring.residents,
            )
        )
    for shelter in analysis.shelters:
        if shelter.route:
            features.append(
                _feature(
                    _line(shelter.route),
                    layer="evacuation_route",
                    shelter=shelter.id,
                    name=shelter.name,
                    remaining=shelter.remaining,
                    metres=shelter.distance_m,
                )
            )
    for closure in analysis.closures:
        for stretch in closure.closed:
            features.append(_feature(_line(stretch), layer="closed_street", name=closure.name))
        if closure.route:
            features.append(
                _feature(
                    _line(closure.route),
                    layer="detour",
                    street=closure.name,
                    metres=closure.detour_m,
                )
            )
    collection = {"type": "FeatureCollection", "features": features}
    return json.dumps(collection, ensure_ascii=False).encode("utf-8")
