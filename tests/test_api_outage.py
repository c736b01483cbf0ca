"""The API while its Redis is away: every route that needs the bus answers 503 in the caller's
error shape with Retry-After (never a plain-text 500), stores nothing, and works again once
Redis is back."""

from __future__ import annotations

import pytest
import requests

from dispatch import tokens
from sim.district import to_lon_lat
from streams.bus import Bus, connect
from streams.embedded import EmbeddedRedis
from tests.conftest import ApiStack, Clock
from tests.support.api import counts
from tests.support.open311 import report

NOW = 1_799_805_600.0  # Wednesday 2027-01-13 10:00 in Shanghai


@pytest.fixture
def stack_on_private_redis(demo_cfg, store, demo_index, demo_layers, tmp_path):
    redis = EmbeddedRedis(tmp_path / "redis", persist=False)
    bus = Bus(connect(redis.start()))
    services = demo_cfg.services.model_copy(update={"data_dir": tmp_path / "data"})
    cfg = demo_cfg.model_copy(update={"services": services})
    stack = ApiStack(cfg, store, bus, demo_index, demo_layers, Clock(NOW))
    yield stack, redis
    if redis.exited():
        redis.start()
    stack.close()
    redis.stop()


def _requests(stack) -> dict[str, callable]:
    lon, lat = to_lon_lat(800, 400)
    unit = tokens.issue(stack.store, "unit", "san-01")
    hotline = tokens.issue(stack.store, "hotline", "12345")
    fix = {"lat": lat, "lon": lon, "time": "2027-01-13T02:00:00Z"}
    device = tokens.issue(stack.store, "device", "cmg-02")
    osmand = {"id": device, "timestamp": int(NOW) - 5, "lat": lat, "lon": lon}
    return {
        "open311": lambda: report(stack.url + "/open311/v2", hotline),
        "positions": lambda: requests.post(
            stack.url + "/api/v1/positions", json={"fixes": [fix]},
            headers={"Authorization": f"Bearer {unit}"}, timeout=15,
        ),
        "osmand": lambda: requests.post(stack.url + "/", params=osmand, timeout=15),
    }  # fmt: skip


def test_routes_that_need_the_bus_answer_503_while_redis_is_away(stack_on_private_redis):
    stack, redis = stack_on_private_redis
    calls = _requests(stack)
    before = counts(stack)
    redis.stop()
    waiting = requests.get(stack.url + "/readyz", timeout=10)
    assert waiting.status_code == 503 and waiting.json()["bus"] == "away"
    assert waiting.json()["database"] == "ok" and waiting.headers["Retry-After"] == "5"
    for name, call in calls.items():
        answer = call()
        assert answer.status_code == 503, (name, answer.status_code, answer.text[:300])
        assert int(answer.headers["Retry-After"]) > 0, name
        body = answer.json()
        words = body["error"] if isinstance(body, dict) else body[0]["description"]
        assert "try again" in words and "Traceback" not in answer.text, (name, words)
    redis.start()
    assert counts(stack) == before  # nothing stored for a refused request, now or later
    assert requests.get(stack.url + "/readyz", timeout=10).status_code == 200
    for name, call in calls.items():
        answer = call()
        assert answer.status_code in (200, 201), (name, answer.status_code, answer.text[:300])
