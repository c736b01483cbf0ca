"""GeoReport v2's two wire formats from one set of records.

Every Open311 route builds plain records (dicts and lists of them) once; `respond` writes them as
JSON or as the spec's XML: a root element per resource (`services`, `service_requests`, ...), one
child element per list item (`service`, `request`, ...), list-valued fields nested the same way
(`attributes/attribute`, `values/value`, `endpoints/endpoint`, `formats/format`), `null` as an
empty element, booleans as `true`/`false`, UTF-8 with the XML declaration. Errors use the spec's
`<errors><error><code/><description/></error></errors>` (JSON: a list of the same objects).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence

from fastapi.responses import JSONResponse, Response

FORMATS = {"xml": "text/xml; charset=utf-8", "json": "application/json"}
DISCOVERY_FORMATS = ["text/xml", "application/json"]
# Each list, at the top or inside a record, is written as a container of these items.
ITEMS = {
    "services": "service",
    "service_requests": "request",
    "errors": "error",
    "endpoints": "endpoint",
    "formats": "format",
    "attributes": "attribute",
    "values": "value",
}


# Characters XML 1.0 cannot carry at all (stored text may hold them); dropped on the way out.
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'


class FormatError(ValueError):
    """A resource asked for in a format GeoReport v2 does not define."""


def check_format(fmt: str) -> str:
    """The format, if it is one of GeoReport v2's (`xml`, `json`); else FormatError."""
    if fmt not in FORMATS:
        raise FormatError(f"format {fmt[:16]!r} is not served; use .xml or .json")
    return fmt


def path_format(path: str) -> str:
    """The format an Open311 URL asks for (`.json`, else the spec's required XML)."""
    return "json" if path.endswith(".json") else "xml"


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("", str(value))


def _fill(element: ET.Element, value) -> None:
    if isinstance(value, Mapping):
        for key, inner in value.items():
            _fill(ET.SubElement(element, key), inner)
    elif isinstance(value, Sequence) and not isinstance(value, str):
        item = ITEMS.get(element.tag)
        if item is None:
            raise TypeError(f"no XML item name for the list in <{element.tag}>")
        for inner in value:
            _fill(ET.SubElement(element, item), inner)
    else:
        element.text = _text(value)


def to_xml(root: str, data) -> bytes:
    """`data` as GeoReport v2 XML under the element `root`."""
    element = ET.Element(root)
    _fill(element, data)
    return DECLARATION + ET.tostring(element, encoding="utf-8")


def respond(fmt: str, root: str, data, status: int = 200) -> Response:
    """The records in the asked format; `root` names the XML document element."""
    if fmt == "json":
        return JSONResponse(data, status_code=status)
    return Response(to_xml(root, data), status_code=status, media_type=FORMATS["xml"])


def error_response(fmt: str, status: int, message: str) -> Response:
    """GeoReport v2's error list with one error."""
    return respond(fmt, "errors", [{"code": status, "description": message}], status)
