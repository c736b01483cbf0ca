"""The JSON API (field units, operators, GPS ingest, Open311 GeoReport v2) and the field page."""
