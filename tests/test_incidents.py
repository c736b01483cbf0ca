"""The incident lifecycle on both databases: open, level, hand-over, tasks through the ticket
lifecycle, evacuation, shelters, close; bad input changes nothing stored."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from dispatch.incidents import IncidentError, Incidents
from dispatch.lifecycle import transition
from dispatch.store import IncidentLogRow, IncidentRow, ShelterUseRow, TicketRow
from geo.emergency import EmergencyMap
from sim.district import to_lon_lat
from tests.support.waiting import wait_until

NOW = dt.datetime(2027, 1, 15, 2, 0, tzinfo=dt.UTC)
SITE = {"type": "Point", "coordinates": to_lon_lat(600, 500)}


@pytest.fixture
def incidents(demo_cfg, demo_layers, store) -> Incidents:
    return Incidents(demo_cfg, store, EmergencyMap(demo_layers, demo_cfg.district.crs))


def _count(store, table) -> int:
    with store.session() as session:
        return session.scalar(select(func.count()).select_from(table))


def test_an_incident_from_opening_to_closing(incidents, store):
    opened = incidents.open("road_collapse", 2, SITE, "解放路路面塌陷", "coordinator:zhao", NOW)
    later = NOW + dt.timedelta(minutes=5)
    incidents.set_level(opened.id, 1, "coordinator:zhao", later, "a gas main is exposed")
    incidents.hand_over(opened.id, "coordinator:qian", "coordinator:zhao", later)
    incidents.pin(opened.id, True, "coordinator:qian", later)
    incidents.evacuated(opened.id, "b00007", 42, "coordinator:qian", later)
    incidents.shelter(opened.id, "shelter-1", "coordinator:qian", later, occupied=120)
    task = incidents.summon(opened.id, "grd-01", "coordinator:qian", later, "close the road")
    assert (task.status, task.unit_id, task.incident_id) == ("dispatched", "grd-01", opened.id)
    with store.session() as session:  # the unit accepts and arrives on its phone
        ticket = session.get(TicketRow, task.id)
        transition(session, ticket, "accepted", "unit:grd-01", later + dt.timedelta(minutes=1))
        transition(session, ticket, "on_site", "unit:grd-01", later + dt.timedelta(minutes=6))
        session.commit()
    incidents.close(
        opened.id, "塌陷已回填，道路恢复通行", "coordinator:qian", later + dt.timedelta(hours=3)
    )
    steps = incidents.timeline(opened.id)
    assert [s.action for s in steps] == [
        "opened", "level", "handover", "pinned", "evacuated", "shelter", "summoned",
        "task accepted", "task on_site", "ended",
    ]  # fmt: skip
    assert steps[2].detail == "coordinator:zhao -> coordinator:qian"
    assert steps[5].detail == "shelter-1: 120/800 open"
    assert steps[7].actor == "unit:grd-01"
    ended = incidents.get(opened.id)
    assert (ended.status, ended.level, ended.owner, ended.pinned) == (
        "ended",
        1,
        "coordinator:qian",
        False,
    )
    with pytest.raises(IncidentError, match="has ended"):
        incidents.note(opened.id, "too late", "coordinator:qian", later)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"type_id": "meteor"}, "unknown incident type"),
        ({"level": 5}, "use 1"),
        ({"site": {"type": "Point", "coordinates": [0.0, 0.0]}}, "outside the district"),
        (
            {
                "site": {
                    "type": "Polygon",
                    "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]],
                }
            },
            "not a valid area",
        ),  # fmt: skip
        ({"site": {"kind": "nonsense"}}, "not GeoJSON"),
        ({"site": {"type": "Volcano", "coordinates": [1, 2]}}, "not GeoJSON"),
        ({"site": {"type": "Point", "coordinates": "here"}}, "not GeoJSON"),
        ({"site": {"type": "Point", "coordinates": [float("inf"), 30.0]}}, "not a WGS-84"),
        ({"title": "  \x00 "}, "title is empty"),
    ],
)
def test_a_bad_incident_is_refused_and_stores_nothing(incidents, store, change, words):
    asked = {"type_id": "fire", "level": 3, "site": SITE, "title": "火情", **change}
    with pytest.raises(IncidentError, match=words):
        incidents.open(asked["type_id"], asked["level"], asked["site"], asked["title"], "c", NOW)
    assert _count(store, IncidentRow) == 0 and _count(store, IncidentLogRow) == 0


def test_a_shelter_over_capacity_is_refused_and_keeps_its_count(incidents, store):
    opened = incidents.open("flood", 3, SITE, "内涝", "coordinator:zhao", NOW)
    incidents.shelter(opened.id, "shelter-1", "c", NOW, occupied=790)
    with pytest.raises(IncidentError, match="over its capacity"):
        incidents.shelter(opened.id, "shelter-1", "c", NOW, occupied=801)
    with pytest.raises(IncidentError, match="no shelter"):
        incidents.shelter(opened.id, "shelter-99", "c", NOW, occupied=1)
    assert incidents.shelter_use(opened.id)["shelter-1"].occupied == 790
    assert _count(store, ShelterUseRow) == 1
    with pytest.raises(IncidentError, match="no building 'b99999'"):
        incidents.evacuated(opened.id, "b99999", 5, "c", NOW)
    with pytest.raises(IncidentError, match="no field unit"):
        incidents.summon(opened.id, "nobody", "c", NOW)
    with pytest.raises(IncidentError, match="already leads"):
        incidents.hand_over(opened.id, "coordinator:zhao", "c", NOW)


def test_the_centre_opens_an_incident_from_a_ticket_and_reports_shelters_by_api(api_stack):
    """POST /api/v1/incidents at a ticket's place; shelters filled and buildings evacuated by
    API; over capacity is a 422 that changes nothing; the CAP alert follows."""
    import requests

    from dispatch import tokens
    from tests.support.api import dispatch_one

    ticket, _unit = dispatch_one(api_stack)
    secret = tokens.issue(api_stack.store, "operator", "wang")
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {secret}"
    url = api_stack.url + "/api/v1/incidents"
    body = {"type_id": "road_collapse", "level": 2, "title": "路面塌陷", "ticket_id": ticket.id}
    opened = api.post(url, json=body, timeout=15)
    assert opened.status_code == 201, opened.text
    incident = opened.json()
    assert (incident["lon"], incident["lat"]) == (round(ticket.lon, 7), round(ticket.lat, 7))
    assert incident["ticket_id"] == ticket.id and incident["owner"] == "operator:wang"
    shelter = f"{url}/{incident['id']}/shelters/shelter-1"
    assert api.post(shelter, json={"occupied": 300}, timeout=15).status_code == 200
    over = api.post(shelter, json={"occupied": 900}, timeout=15)
    assert over.status_code == 422 and "over its capacity" in over.json()["error"]
    steps = api.get(f"{url}/{incident['id']}", timeout=15).json()["timeline"]
    assert [s["action"] for s in steps] == ["opened", "shelter"]
    assert steps[1]["detail"] == "shelter-1: 300/800 open"
    cap = api.get(f"{url}/{incident['id']}/cap.xml", timeout=15)
    assert cap.status_code == 200 and b"<severity>Severe</severity>" in cap.content
    bad = api.post(url, json={**body, "ticket_id": None, "lon": 0.0, "lat": 0.0}, timeout=15)
    assert bad.status_code == 422 and "outside the district" in bad.json()["error"]
    volcano = {**body, "ticket_id": None, "site": {"type": "Volcano", "coordinates": [1, 2]}}
    refused = api.post(url, json=volcano, timeout=15)
    assert refused.status_code == 422 and "not GeoJSON" in refused.json()["error"]
    assert api.get(f"{url}/nothing", timeout=15).status_code == 404
    assert len(api.get(url, timeout=15).json()) == 1


def test_walls_ride_out_a_database_outage_quietly(demo_cfg, demo_layers, caplog):
    """The pusher reads the pinned incident from PostgreSQL; killed, the walls keep what they
    show, one warning says so (no traceback, no repeats); back, the pin arrives."""
    import logging

    from flask import Flask
    from flask_socketio import SocketIO

    from cockpit.emergency_watch import EmergencyWatch
    from cockpit.payload import WallView
    from cockpit.push import Pusher
    from cockpit.state import LiveState
    from dispatch.store import Store
    from tests.support.postgres import PrivatePostgres

    server = PrivatePostgres()
    store = Store(server.start().replace("postgresql://", "postgresql+psycopg://"))
    try:
        store.create_schema()
        emap = EmergencyMap(demo_layers, demo_cfg.district.crs)
        state = LiveState(demo_cfg)
        view = WallView(demo_cfg, state, emergency=EmergencyWatch(demo_cfg, store, emap))
        pusher = Pusher(SocketIO(Flask("walls")), None, view)
        assert pusher._check_pinned() is False
        with store.engine.begin() as connection:  # the test cluster runs without fsync
            connection.exec_driver_sql("CHECKPOINT")
        server.halt()
        with caplog.at_level(logging.INFO, logger="cockpit.push"):
            assert pusher._check_pinned() is False and pusher._check_pinned() is False
            warned = [r for r in caplog.records if r.levelno == logging.WARNING]
            assert len(warned) == 1 and "retrying quietly" in warned[0].getMessage()
            assert not any(r.exc_info for r in caplog.records)
            server.resume()
            incidents = Incidents(demo_cfg, store, emap)
            opened = incidents.open("fire", 2, SITE, "火情", "coordinator:zhao", NOW)
            incidents.pin(opened.id, True, "coordinator:zhao", NOW)
            assert wait_until(pusher._check_pinned, 30, "the pin after the outage")
        assert "back after" in caplog.text
        assert view.payload("zh")["emergency"]["title"] == "火情"
    finally:
        store.dispose()
        server.stop()
