"""Open311 GeoReport v2 as a standard client uses it: form-encoded POST with jurisdiction_id and
api_key, JSON answers with the standard fields, errors as GeoReport's error list."""

from __future__ import annotations

import datetime as dt

import pytest
import requests

from dispatch import tokens
from sim.district import to_lon_lat
from tests.support.api import Client, counts, operator, place_units

STANDARD_REQUEST_FIELDS = {
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
}


@pytest.fixture
def open311(api_stack):
    place_units(api_stack)
    return api_stack.url + "/open311/v2", tokens.issue(api_stack.store, "hotline", "12345")


def report(base: str, key: str, **fields) -> requests.Response:
    lon, lat = to_lon_lat(700, 300)
    form = {
        "jurisdiction_id": "street-cockpit",
        "api_key": key,
        "service_code": "bin_overflow",
        "lat": f"{lat:.6f}",
        "long": f"{lon:.6f}",
        "address_string": "南环路 12 号",
        "email": "resident@example.org",
        "device_id": "phone-1",
        "first_name": "Mei",
        "last_name": "Li",
        "phone": "13800000000",
        "description": "垃圾桶满了，袋子堆在路边",
        "media_url": "https://example.org/photo.jpg",
        "attribute[WHISPER]": "ignored",
    }
    form.update(fields)
    form = {k: v for k, v in form.items() if v is not None}
    return requests.post(f"{base}/requests.json", data=form, timeout=15)


def test_services_list_has_the_standard_fields(open311):
    base, _ = open311
    services = requests.get(f"{base}/services.json?jurisdiction_id=street-cockpit", timeout=10)
    assert services.status_code == 200
    listed = {s["service_code"]: s for s in services.json()}
    assert set(listed) == {"illegal_parking", "bin_overflow", "dirty_road", "facility_damage"}
    for service in listed.values():
        assert {
            "service_code",
            "service_name",
            "description",
            "metadata",
            "type",
            "keywords",
            "group",
        } <= set(service)
        assert service["metadata"] is False and service["type"] == "realtime"
    english = requests.get(f"{base}/services.json?lang=en", timeout=10).json()
    assert {s["service_name"] for s in english} >= {"Overflowing bin", "Illegal parking"}
    assert (
        requests.get(f"{base}/discovery.json", timeout=10)
        .json()["endpoints"][0]["url"]
        .endswith("/open311/v2/")
    )


def test_form_encoded_report_becomes_a_ticket_and_reads_back(api_stack, open311):
    base, key = open311
    answer = report(base, key)
    assert answer.status_code == 201, answer.text
    [created] = answer.json()
    ticket_id = created["service_request_id"]
    assert created["service_notice"]
    ticket = api_stack.desk.get(ticket_id)
    assert (ticket.source, ticket.service_code, ticket.status) == (
        "hotline",
        "bin_overflow",
        "dispatched",
    )
    assert ticket.address == "南环路 12 号"
    [one] = requests.get(f"{base}/requests/{ticket_id}.json", timeout=10).json()
    assert set(one) == STANDARD_REQUEST_FIELDS
    assert one["status"] == "open" and one["service_code"] == "bin_overflow"
    assert one["media_url"] == "https://example.org/photo.jpg"
    assert one["agency_responsible"] == "街道环卫所"
    assert dt.datetime.fromisoformat(one["requested_datetime"]).tzinfo is not None
    listed = requests.get(f"{base}/requests.json?status=open&service_code=bin_overflow", timeout=10)
    assert [r["service_request_id"] for r in listed.json()] == [ticket_id]
    assert requests.get(f"{base}/requests.json?status=closed", timeout=10).json() == []


def test_a_second_report_of_the_same_problem_merges(api_stack, open311):
    base, key = open311
    first = report(base, key).json()[0]["service_request_id"]
    lon, lat = to_lon_lat(760, 320)  # 60 m away
    second = report(base, key, lat=f"{lat:.6f}", long=f"{lon:.6f}").json()[0]["service_request_id"]
    assert second == first
    assert api_stack.desk.get(first).merged_events == 2


def test_reporters_contact_is_kept_for_operators_and_never_published(api_stack, open311):
    base, key = open311
    first = report(base, key, account_id="acct-7").json()[0]
    assert first["account_id"] == "acct-7"  # GeoReport echoes the account it was given
    lon, lat = to_lon_lat(730, 310)
    api_stack.clock.advance(120)
    report(  # a second person, reporting the same bin, leaves only a phone number
        base,
        key,
        lat=f"{lat:.6f}",
        long=f"{lon:.6f}",
        email=None,
        first_name=None,
        last_name=None,
        device_id=None,
        phone=" 13900000001 ",
    )
    ticket_id = first["service_request_id"]
    path = f"/api/v1/tickets/{ticket_id}/reporters"
    people = operator(api_stack).get(path).json()
    assert [(p["first_name"], p["email"], p["phone"], p["account_id"]) for p in people] == [
        ("Mei", "resident@example.org", "13800000000", "acct-7"),
        (None, None, "13900000001", None),
    ]
    assert {p["source"] for p in people} == {"hotline"}
    unit = Client(api_stack.url, tokens.issue(api_stack.store, "unit", "san-01"))
    assert unit.get(path).status_code == 403  # personal data: not for field units
    assert Client(api_stack.url, key).get(path).status_code == 403  # nor for the hotline key
    assert operator(api_stack).get("/api/v1/tickets/nope/reporters").status_code == 404
    public = requests.get(f"{base}/requests/{ticket_id}.json", timeout=10).text
    assert "resident@example.org" not in public and "1380000" not in public and "Mei" not in public


def test_address_only_report_is_placed_on_the_named_street(api_stack, open311):
    base, key = open311
    answer = report(base, key, lat=None, long=None, address_string="Nanhuan Rd near the bus stop")
    assert answer.status_code == 201, answer.text
    ticket = api_stack.desk.get(answer.json()[0]["service_request_id"])
    assert ticket.grid_id is not None


@pytest.mark.parametrize(
    "fields,status,words",
    [
        ({"api_key": "wrong"}, 403, "api_key"),
        ({"api_key": None}, 400, "api_key: is required"),
        ({"service_code": None}, 400, "service_code: is required"),
        ({"service_code": "potholes"}, 400, "unknown service_code"),
        ({"jurisdiction_id": "other-city"}, 404, "jurisdiction_id"),
        ({"lat": "north"}, 400, "lat"),
        ({"lat": "10.0", "long": "10.0"}, 400, "outside this district"),
        ({"lat": None, "long": None, "address_string": "somewhere"}, 400, "location is required"),
        ({"lat": None}, 400, "both lat and long"),
        ({"media_url": "javascript:alert(1)"}, 400, "media_url"),
        ({"description": "x" * 5000}, 400, "description"),
    ],
)
def test_bad_reports_get_open311_errors_and_store_nothing(
    api_stack, open311, fields, status, words
):
    base, key = open311
    before = counts(api_stack.store)
    answer = report(base, key, **fields)
    assert answer.status_code == status, answer.text
    [error] = answer.json()
    assert error["code"] == status and words in error["description"]
    assert counts(api_stack.store) == before


def test_operator_and_unit_tokens_are_not_api_keys(api_stack, open311):
    base, _ = open311
    unit_key = tokens.issue(api_stack.store, "unit", "san-01")
    assert report(base, unit_key).status_code == 403


def test_other_formats_and_unknown_ids_are_clear_errors(open311):
    base, _ = open311
    xml = requests.get(f"{base}/services.xml", timeout=10)
    assert xml.status_code == 400 and "use .json" in xml.json()[0]["description"]
    missing = requests.get(f"{base}/requests/abc.json", timeout=10)
    assert missing.status_code == 404 and missing.json()[0]["code"] == 404
    bad_date = requests.get(f"{base}/requests.json?start_date=yesterday", timeout=10)
    assert bad_date.status_code == 400
    huge = requests.post(f"{base}/requests.json", data={"description": "x" * 400_000}, timeout=10)
    assert huge.status_code == 413 and huge.json()[0]["code"] == 413
