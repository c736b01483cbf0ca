"""Open311 reports as a hotline client sends them, and following their answers to a ticket."""

from __future__ import annotations

import requests

from sim.district import to_lon_lat
from tests.support.waiting import wait_until

# GeoReport v2's fields of a service and of a service request, in the spec's order.
SERVICE_FIELDS = [
    "service_code",
    "service_name",
    "description",
    "metadata",
    "type",
    "keywords",
    "group",
]
REQUEST_FIELDS = [
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
]


def report_form(key: str, **fields) -> dict:
    """A GeoReport v2 form for an overflowing bin on 南环路 with the reporter's contact; `fields`
    replace or (as None) remove fields."""
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
    }
    form.update(fields)
    return {k: v for k, v in form.items() if v is not None}


def report(base: str, key: str, fmt: str = "json", **fields) -> requests.Response:
    """POST the report form-encoded, as the spec's example does."""
    return requests.post(f"{base}/requests.{fmt}", data=report_form(key, **fields), timeout=15)


def request_id(base: str, answer: dict) -> str:
    """The service_request_id of a POST's answer: given at once, or (when filing took longer
    than the API waits) by following its token until the report is filed."""
    if answer.get("service_request_id"):
        return answer["service_request_id"]

    def filed():
        got = requests.get(f"{base}/tokens/{answer['token']}.json", timeout=10)
        return got.status_code == 200 and got.json()[0]["service_request_id"]

    return wait_until(filed, 30, f"token {answer['token']} filed")
