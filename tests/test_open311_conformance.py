"""GeoReport v2 conformance, driven by clients nobody here wrote.

Reads go through `georeport` (a third-party Open311 client from PyPI) in both of its formats;
POSTs are sent with `requests` exactly as the spec's examples send them (form-encoded, and the
same fields as multipart). The XML is read with a real parser (ElementTree), never by matching
strings: root and item element names, their children in the spec's order, the declaration, and
the content type.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
import requests
from georeport import GeoReport
from sqlalchemy import select

from dispatch.store import EventLinkRow
from tests.support.api import counts
from tests.support.open311 import REQUEST_FIELDS, SERVICE_FIELDS, report, report_form, request_id

JURISDICTION = "street-cockpit"
ATTRIBUTE_FIELDS = [
    "variable",
    "code",
    "datatype",
    "required",
    "datatype_description",
    "order",
    "description",
    "values",
]


def xml_of(answer: requests.Response) -> ET.Element:
    """The parsed document of an XML answer, after checking its type and declaration."""
    assert answer.headers["content-type"] == "text/xml; charset=utf-8", answer.headers
    assert answer.content.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    return ET.fromstring(answer.content)


def as_list(value) -> list:
    """xmltodict gives one repeated element as a dict and several as a list."""
    return value if isinstance(value, list) else [value]


def filed(base: str, answer: requests.Response) -> str:
    """The request id of a POST's answer, in either format."""
    assert answer.status_code == 201, answer.text
    if answer.headers["content-type"].startswith("application/json"):
        [created] = answer.json()
    else:
        root = xml_of(answer)
        assert root.tag == "service_requests"
        [request] = root
        assert request.tag == "request"
        created = {child.tag: child.text for child in request}
    return request_id(base, created)


def test_georeport_client_reads_services_and_definitions_in_both_formats(open311):
    base, _ = open311
    xml = GeoReport(base, jurisdiction=JURISDICTION, output_format="xml")
    json = GeoReport(base, jurisdiction=JURISDICTION, output_format="json")
    xml_services = {s["service_code"]: s for s in as_list(xml.get_service_list())}
    json_services = {s["service_code"]: s for s in json.get_service_list()}
    assert (
        set(xml_services)
        == set(json_services)
        == {
            "illegal_parking",
            "bin_overflow",
            "dirty_road",
            "street_vending",
            "bike_parking",
            "facility_damage",
        }
    )
    for code, service in xml_services.items():
        assert list(service) == SERVICE_FIELDS
        assert service["metadata"] == str(json_services[code]["metadata"]).lower()
        assert service["service_name"] == json_services[code]["service_name"]
    assert xml_services["facility_damage"]["metadata"] == "true"
    assert xml_services["bin_overflow"]["metadata"] == "false"

    definition = xml.get_service_definition("facility_damage")
    assert definition["service_code"] == "facility_damage"
    facility, hazards = definition["attributes"]["attribute"]
    assert list(facility) == ATTRIBUTE_FIELDS
    assert (facility["code"], facility["datatype"], facility["required"]) == (
        "facility",
        "singlevaluelist",
        "true",
    )
    keys = [v["key"] for v in facility["values"]["value"]]
    assert keys == ["manhole", "streetlight", "railing", "bench", "sign"]
    assert (hazards["datatype"], hazards["required"]) == ("multivaluelist", "false")
    as_json = json.get_service_definition("facility_damage")
    assert [a["code"] for a in as_json["attributes"]] == ["facility", "hazards"]
    assert [v["key"] for v in as_json["attributes"][0]["values"]] == keys
    empty = xml.get_service_definition("bin_overflow")
    assert empty["service_code"] == "bin_overflow" and not empty["attributes"]


def test_georeport_client_reads_requests_in_both_formats_from_the_same_record(open311):
    base, key = open311
    ticket_id = filed(base, report(base, key, description="满溢\x0b 袋子 <堆> & 路边"))
    xml = GeoReport(base, jurisdiction=JURISDICTION, output_format="xml")
    json = GeoReport(base, jurisdiction=JURISDICTION, output_format="json")
    [listed] = as_list(xml.get_service_requests(service_code="bin_overflow", status="open"))
    one = xml.get_service_request(ticket_id)
    from_json = json.get_service_request(ticket_id)
    assert list(one) == REQUEST_FIELDS and listed == one
    assert one["service_request_id"] == ticket_id and one["status"] == "open"
    # XML cannot carry a vertical tab: it is dropped, the rest (escaped markup) comes through.
    assert one["description"] == "满溢 袋子 <堆> & 路边"
    for name in REQUEST_FIELDS:
        expected = from_json[name]
        expected = None if expected is None else str(expected)
        if name == "description":
            expected = expected.replace("\x0b", "")
        assert one[name] == expected, name
    by_ids = as_list(xml.get_service_requests(service_request_id=f"{ticket_id},unknown"))
    assert [r["service_request_id"] for r in by_ids] == [ticket_id]


def test_a_json_and_an_xml_post_of_the_same_report_make_one_ticket(api_stack, open311):
    base, key = open311
    first = filed(base, report(base, key, "json"))
    second = filed(base, report(base, key, "xml", email="neighbour@example.org"))
    assert first == second
    ticket = api_stack.desk.get(first)
    assert ticket.merged_events == 2 and ticket.status == "dispatched"
    tokens = requests.get(f"{base}/tokens/{api_stack.desk.get(first).event_id}.xml", timeout=10)
    [request] = xml_of(tokens)
    assert [(c.tag, c.text) for c in request] == [
        ("service_request_id", first),
        ("token", ticket.event_id),
    ]


def test_discovery_and_services_xml_have_the_specs_shape(open311):
    base, _ = open311
    discovery = xml_of(requests.get(f"{base}/discovery.xml", timeout=10))
    assert discovery.tag == "discovery"
    [endpoint] = discovery.find("endpoints")
    assert endpoint.tag == "endpoint" and endpoint.findtext("url").endswith("/open311/v2/")
    formats = [f.text for f in endpoint.find("formats")]
    assert formats == ["text/xml", "application/json"]
    assert all(f.tag == "format" for f in endpoint.find("formats"))
    services = xml_of(requests.get(f"{base}/services.xml?lang=en", timeout=10))
    assert services.tag == "services" and {s.tag for s in services} == {"service"}
    assert [c.tag for c in services[0]] == SERVICE_FIELDS
    assert "Overflowing bin" in [s.findtext("service_name") for s in services]


def test_attributes_are_posted_as_the_spec_sends_them_checked_and_kept(api_stack, open311):
    """A multipart POST (the same fields as parts) with a singlevaluelist and a repeated
    multivaluelist: the answers are kept with the report and shown in the ticket's timeline."""
    base, key = open311
    form = report_form(key, service_code="facility_damage", description="井盖翘起")
    fields = [(name, (None, value)) for name, value in form.items()]
    fields += [
        ("attribute[facility]", (None, "manhole")),
        ("attribute[hazards][]", (None, "open_hole")),
        ("attribute[hazards][]", (None, "blocks_way")),
    ]
    answer = requests.post(f"{base}/requests.xml", files=fields, timeout=15)
    ticket_id = filed(base, answer)
    with api_stack.store.session() as session:
        [link] = session.scalars(select(EventLinkRow).where(EventLinkRow.ticket_id == ticket_id))
    assert link.attributes == {"facility": "manhole", "hazards": ["open_hole", "blocks_way"]}
    [filed_row] = api_stack.desk.audit(ticket_id)[:1]
    assert "facility=manhole" in filed_row.note and "hazards=open_hole+blocks_way" in filed_row.note


@pytest.mark.parametrize(
    ("path", "fields", "status", "words"),
    [
        ("services.csv", None, 400, "use .xml or .json"),
        ("requests.yaml", {}, 400, "use .xml or .json"),
        ("requests/nope.xml", None, 404, "no service request"),
        ("requests.xml?start_date=yesterday", None, 400, "W3C datetime"),
        ("requests.xml?end_date=0001-01-02T00:00:00Z", None, 400, "out of range"),
        ("requests.xml", {"api_key": "wrong"}, 403, "invalid api_key"),
        ("requests.xml", {"service_code": "potholes"}, 400, "unknown service_code"),
        ("requests.xml", {"service_code": "facility_damage"}, 400, "is required"),
        ("requests.xml", {"attribute[facility": "manhole"}, 400, "malformed field"),
        ("requests.xml", {"attribute[]": "manhole"}, 400, "malformed field"),
        ("requests.xml", {"attribute[plate]": "浙A12345"}, 400, "not a field of service"),
        (
            "requests.xml",
            {"service_code": "illegal_parking", "attribute[vehicle]": "tank"},
            400,
            "not a choice",
        ),
        (
            "requests.xml",
            {"service_code": "illegal_parking", "attribute[plate]": "x" * 40},
            400,
            "longer than 16",
        ),
        ("requests.xml", {"lat": "north"}, 400, "lat"),
    ],
)
def test_bad_input_gets_the_specs_xml_error_and_stores_nothing(
    api_stack, open311, path, fields, status, words
):
    base, key = open311
    before = counts(api_stack)
    if fields is None:
        answer = requests.get(f"{base}/{path}", timeout=10)
    else:
        answer = requests.post(f"{base}/{path}", data=report_form(key, **fields), timeout=15)
    assert answer.status_code == status, answer.text
    root = xml_of(answer)
    assert root.tag == "errors"
    [error] = root
    assert error.tag == "error" and [c.tag for c in error] == ["code", "description"]
    assert error.findtext("code") == str(status) and words in error.findtext("description")
    assert counts(api_stack) == before
