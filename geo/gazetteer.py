"""Find a place of the district by name: streets and points of interest, Chinese or English."""

from __future__ import annotations

from geo.layers import DistrictLayers


class Gazetteer:
    """Name -> [lon, lat] for the district's streets (their midpoint) and POIs."""

    def __init__(self, layers: DistrictLayers):
        self.places: list[tuple[str, tuple[float, float]]] = []
        for kind in ("pois", "streets"):
            frame = layers.get(kind)
            if frame is None:
                continue
            for _, row in frame.iterrows():
                geometry = row.geometry
                point = (
                    geometry.interpolate(0.5, normalized=True) if kind == "streets" else geometry
                )
                point = point if point.geom_type == "Point" else geometry.representative_point()
                for column in ("name", "name_en"):
                    name = row.get(column)
                    if isinstance(name, str) and name.strip():
                        self.places.append((name.strip().lower(), (point.x, point.y)))
        # Longest names first, so "Zhongshan Rd Primary School" beats "Zhongshan Rd".
        self.places.sort(key=lambda place: -len(place[0]))

    def find(self, text: str) -> tuple[float, float] | None:
        """[lon, lat] of the first (longest) known name the text mentions, else None."""
        wanted = text.strip().lower()
        if not wanted:
            return None
        return next((where for name, where in self.places if name in wanted), None)
