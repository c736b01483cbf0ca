"""Open311 GeoReport v2 as a standard client uses it: form-encoded POST with jurisdiction_id and
api_key, JSON answers with the standard fields, errors as GeoReport's error list."""

from __future__ import annotations

import datetime as dt
import threading

import geopandas as gpd
import pytest
import requests
import shapely

from dispatch import tokens
from dispatch.api.deps import TOKEN_COOKIE
from dispatch.dispatcher import run_dispatcher
from geo.gazetteer import Gazetteer
from geo.layers import DistrictLayers
from geo.projection import Projector
from sim.district import to_lon_lat
from tests.support.api import Client, counts, operator
from tests.support.open311 import REQUEST_FIELDS, SERVICE_FIELDS, report, request_id


def test_services_list_has_the_standard_fields(open311):
    base, _ = open311
    services = requests.get(f"{base}/services.json?jurisdiction_id=street-cockpit", timeout=10)
    assert services.status_code == 200
    listed = {s["service_code"]: s for s in services.json()}
    assert set(listed) == {
        "illegal_parking",
        "bin_overflow",
        "dirty_road",
        "street_vending",
        "bike_parking",
        "facility_damage",
    }
    for service in listed.values():
        assert list(service) == SERVICE_FIELDS
        assert service["type"] == "realtime"
    # Categories with extra fields say so, as GeoReport v2 asks.
    assert {code for code, s in listed.items() if s["metadata"]} == {
        "illegal_parking",
        "facility_damage",
    }
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
    ticket_id = request_id(base, created)
    assert created["service_notice"] == "已受理 / received"
    ticket = api_stack.desk.get(ticket_id)
    assert (ticket.source, ticket.service_code, ticket.status) == (
        "hotline",
        "bin_overflow",
        "dispatched",
    )
    assert ticket.address == "南环路 12 号"
    [one] = requests.get(f"{base}/requests/{ticket_id}.json", timeout=10).json()
    assert list(one) == REQUEST_FIELDS
    assert one["status"] == "open" and one["service_code"] == "bin_overflow"
    assert one["media_url"] == "https://example.org/photo.jpg"
    assert one["agency_responsible"] == "街道环卫所"
    assert dt.datetime.fromisoformat(one["requested_datetime"]).tzinfo is not None
    listed = requests.get(f"{base}/requests.json?status=open&service_code=bin_overflow", timeout=10)
    assert [r["service_request_id"] for r in listed.json()] == [ticket_id]
    assert requests.get(f"{base}/requests.json?status=closed", timeout=10).json() == []


def test_a_second_report_of_the_same_problem_merges(api_stack, open311):
    base, key = open311
    first = request_id(base, report(base, key).json()[0])
    lon, lat = to_lon_lat(760, 320)  # 60 m away
    second = request_id(base, report(base, key, lat=f"{lat:.6f}", long=f"{lon:.6f}").json()[0])
    assert second == first
    assert api_stack.desk.get(first).merged_events == 2


def test_reporters_contact_is_kept_for_operators_and_never_published(api_stack, open311):
    base, key = open311
    first = report(base, key, account_id="acct-7").json()[0]
    assert first["account_id"] == "acct-7"  # GeoReport echoes the account it was given
    lon, lat = to_lon_lat(730, 310)
    api_stack.clock.advance(120)
    again = report(  # a second person, reporting the same bin, leaves only a phone number
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
    ticket_id = request_id(base, first)
    assert request_id(base, again.json()[0]) == ticket_id
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


def test_address_only_report_is_placed_on_the_named_street(api_stack, open311, demo_layers):
    base, key = open311
    answer = report(base, key, lat=None, long=None, address_string="Nanhuan Rd near the bus stop")
    assert answer.status_code == 201, answer.text
    ticket = api_stack.desk.get(request_id(base, answer.json()[0]))
    streets = demo_layers.get("streets")
    nanhuan = streets[streets["name_en"] == "Nanhuan Rd"].geometry.iloc[0]
    to_metric = Projector(api_stack.cfg.district.crs).to_metric
    line = shapely.LineString(list(zip(*to_metric(*nanhuan.xy), strict=True)))
    spot = shapely.Point(to_metric(ticket.lon, ticket.lat))
    assert line.distance(spot) < 1, "placed on Nanhuan Rd, not anywhere in the district"


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
    before = counts(api_stack)
    answer = report(base, key, **fields)
    assert answer.status_code == status, answer.text
    [error] = answer.json()
    assert error["code"] == status and words in error["description"]
    assert counts(api_stack) == before


def test_operator_and_unit_tokens_are_not_api_keys(api_stack, open311):
    base, _ = open311
    unit_key = tokens.issue(api_stack.store, "unit", "san-01")
    assert report(base, unit_key).status_code == 403


def test_other_formats_and_unknown_ids_are_clear_errors(open311):
    base, _ = open311
    csv = requests.get(f"{base}/services.csv", timeout=10)
    assert csv.status_code == 400 and csv.headers["content-type"].startswith("text/xml")
    missing = requests.get(f"{base}/requests/abc.json", timeout=10)
    assert missing.status_code == 404 and missing.json()[0]["code"] == 404
    bad_date = requests.get(f"{base}/requests.json?start_date=yesterday", timeout=10)
    assert bad_date.status_code == 400
    huge = requests.post(f"{base}/requests.json", data={"description": "x" * 400_000}, timeout=10)
    assert huge.status_code == 413 and huge.json()[0]["code"] == 413


def test_a_report_the_dispatcher_files_late_answers_with_a_token_that_resolves(api_stack, open311):
    """A slow (here: stopped) dispatcher: the POST answers with a token, which turns into the
    request id once the report is filed."""
    base, key = open311
    api_stack.stop.set()  # the dispatcher stops consuming; the API stays up
    api_stack.threads[0].join(15)
    assert not api_stack.threads[0].is_alive()
    ctx = api_stack.app.state.ctx
    ctx.cfg = ctx.cfg.model_copy(
        update={"api": ctx.cfg.api.model_copy(update={"open311_file_wait_s": 0.2})}
    )
    [created] = report(base, key).json()
    assert "service_request_id" not in created and created["token"]
    pending = requests.get(f"{base}/tokens/{created['token']}.json", timeout=10)
    assert pending.status_code == 404 and "not filed yet" in pending.json()[0]["description"]
    later = threading.Event()
    thread = threading.Thread(
        target=run_dispatcher, args=(api_stack.dispatcher, "late-dispatcher", later), daemon=True
    )
    thread.start()
    try:
        ticket_id = request_id(base, created)
        assert api_stack.desk.get(ticket_id).event_id == created["token"]
    finally:
        later.set()
        thread.join(15)


def test_the_longest_known_name_in_an_address_wins():
    """ "Zhongshan Rd Primary School" is the school, not the middle of Zhongshan Rd."""
    street = gpd.GeoDataFrame(
        {"id": ["s1"], "name": ["中山路"], "name_en": ["Zhongshan Rd"]},
        geometry=[shapely.LineString([(120.0, 30.0), (120.02, 30.0)])],
        crs="EPSG:4326",
    )
    school = gpd.GeoDataFrame(
        {"id": ["p1"], "name": ["中山路小学"], "name_en": ["Zhongshan Rd Primary School"]},
        geometry=[shapely.Point(120.018, 30.001)],
        crs="EPSG:4326",
    )
    gazetteer = Gazetteer(DistrictLayers({"streets": street, "pois": school}))
    assert gazetteer.find("outside Zhongshan Rd Primary School, by the gate") == (120.018, 30.001)
    assert gazetteer.find("中山路小学门口") == (120.018, 30.001)
    assert gazetteer.find("Zhongshan Rd by the bus stop") == pytest.approx((120.01, 30.0))
    assert gazetteer.find("somewhere else") is None


def test_nul_characters_are_dropped_not_500s_on_either_database(api_stack, open311):
    """No database text column can hold a NUL; PostgreSQL refused them with a 500 before."""
    base, key = open311
    answer = report(base, key, description="满溢\x00了", address_string="南环路\x00 12 号")
    assert answer.status_code == 201, answer.text
    ticket = api_stack.desk.get(request_id(base, answer.json()[0]))
    assert (ticket.description, ticket.address) == ("满溢了", "南环路 12 号")
    unit = Client(api_stack.url, tokens.issue(api_stack.store, "unit", ticket.unit_id))
    accepted = unit.post(f"/api/v1/tickets/{ticket.id}/accept", json={"note": "on\x00 my way"})
    assert accepted.status_code == 200, accepted.text
    assert api_stack.desk.audit(ticket.id)[-1].note == "on my way"
    field = requests.post(
        f"{api_stack.url}/field/t/{ticket.id}/arrive",
        data={"note": "here\x00 now"},
        cookies={TOKEN_COOKIE: unit.session.headers["Authorization"][7:]},
        allow_redirects=False,
        timeout=10,
    )
    assert field.status_code == 303 and "ok=" in field.headers["location"], field.headers
    assert api_stack.desk.audit(ticket.id)[-1].note == "here now"
