"""POST /api/token: fields, minimal grants, validation, auth in production, rate limiting."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from livekit import api

from .conftest import LK_KEY, LK_SECRET, make_settings, running_app

PROD = {
    "PARLEY_ENV": "production",
    "PARLEY_API_KEYS": "mgmt-key-1",
    "PARLEY_TOKEN_API_KEYS": "frontend-key-1",
}


async def test_token_fields_and_minimal_grants(client: httpx.AsyncClient) -> None:
    resp = await client.post(
        "/api/token",
        json={
            "participant_name": "Alice",
            "agent_config": {"preset": "pirate", "language": "es"},
            "ttl_seconds": 600,
        },
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert set(body) == {"server_url", "participant_token", "room_name", "participant_identity"}
    claims = api.TokenVerifier(LK_KEY, LK_SECRET).verify(body["participant_token"])
    video = claims.video
    assert video.room == body["room_name"] and video.room_join
    assert claims.identity == body["participant_identity"] and claims.name == "Alice"
    assert video.can_publish and video.can_subscribe and video.can_publish_data
    # Microphone only: no camera, no screen share; no changing its own name or attributes.
    assert video.can_publish_sources == ["microphone"]
    assert not video.can_update_own_metadata
    assert not (video.room_admin or video.room_create or video.room_list or video.room_record)
    # The backend vouches for the caller kind in a signed attribute.
    assert claims.attributes == {"parley.caller": "anonymous"}
    # The preset is expanded into the config the agent receives.
    config = json.loads(claims.room_config.agents[0].metadata)
    assert config["persona"] == "pirate" and config["language"] == "es"


async def test_room_and_identity_generated_when_absent(client: httpx.AsyncClient) -> None:
    first = (await client.post("/api/token", json={})).json()
    second = (await client.post("/api/token")).json()
    assert first["room_name"] != second["room_name"]
    assert first["room_name"].startswith("parley-")
    assert first["participant_identity"].startswith("user-")
    assert first["participant_identity"] != second["participant_identity"]


@pytest.mark.parametrize(
    "body",
    [
        {"room_name": "has space"},
        {"room_name": "x" * 65},
        {"room_name": ""},
        {"participant_identity": "bob/../etc"},
        {"participant_name": ""},
        {"ttl_seconds": 3601},
        {"ttl_seconds": 10},
        {"agent_config": {"tools": ["rm -rf"]}},
        {"agent_config": {"language": "english please"}},
        {"unexpected": 1},
        ["not", "an", "object"],
    ],
)
async def test_bad_input_rejected(client: httpx.AsyncClient, body: object) -> None:
    resp = await client.post("/api/token", json=body)
    assert resp.status_code == 422, resp.text
    assert resp.json()["error"]["code"] == "validation_error"
    assert resp.json()["error"]["details"], "the details say which field"


async def test_production_requires_an_api_key(tmp_path: Path) -> None:
    async with running_app(make_settings(tmp_path, **PROD)) as c:
        denied = await c.post("/api/token", json={})
        assert denied.status_code == 401 and denied.headers["www-authenticate"] == "Bearer"
        wrong = await c.post("/api/token", json={}, headers={"X-API-Key": "nope"})
        assert wrong.status_code == 401
        for key in ("mgmt-key-1", "frontend-key-1"):
            ok = await c.post("/api/token", json={}, headers={"Authorization": f"Bearer {key}"})
            assert ok.status_code == 200, ok.text
        # A token-only key cannot manage rooms.
        rooms = await c.get("/api/rooms", headers={"X-API-Key": "frontend-key-1"})
        assert rooms.status_code == 401


async def test_production_can_be_opened_explicitly(tmp_path: Path) -> None:
    async with running_app(make_settings(tmp_path, **PROD, PARLEY_TOKEN_OPEN="true")) as c:
        assert (await c.post("/api/token", json={})).status_code == 200


async def test_development_can_be_closed_explicitly(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, PARLEY_TOKEN_OPEN="false", PARLEY_TOKEN_API_KEYS="k1")
    async with running_app(settings) as c:
        assert (await c.post("/api/token", json={})).status_code == 401
        assert (await c.post("/api/token", json={}, headers={"X-API-Key": "k1"})).status_code == 200


async def test_rate_limit_per_client_with_retry_after(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, PARLEY_TOKEN_RATE_PER_MINUTE="6", PARLEY_TOKEN_RATE_BURST="3"
    )
    async with running_app(settings) as c:
        codes = [(await c.post("/api/token", json={})).status_code for _ in range(3)]
        assert codes == [200, 200, 200]
        limited = await c.post("/api/token", json={})
        assert limited.status_code == 429
        assert limited.json()["error"]["code"] == "rate_limited"
        # 6/min = one token every 10 s.
        assert 1 <= int(limited.headers["retry-after"]) <= 10
        # Forwarded-For is not trusted by default: spoofing it does not buy a new bucket.
        spoofed = await c.post("/api/token", json={}, headers={"X-Forwarded-For": "198.51.100.9"})
        assert spoofed.status_code == 429
        metrics = (await c.get("/metrics")).text
        assert 'parley_rate_limited_requests_total{route="/api/token"} 2.0' in metrics


async def test_rate_limit_buckets_are_per_client(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path,
        PARLEY_TOKEN_RATE_PER_MINUTE="1",
        PARLEY_TOKEN_RATE_BURST="1",
        PARLEY_TRUST_FORWARDED_FOR="true",
    )
    async with running_app(settings) as c:
        a = {"X-Forwarded-For": "198.51.100.1, 10.0.0.1"}
        b = {"X-Forwarded-For": "198.51.100.2"}
        assert (await c.post("/api/token", json={}, headers=a)).status_code == 200
        assert (await c.post("/api/token", json={}, headers=a)).status_code == 429
        assert (await c.post("/api/token", json={}, headers=b)).status_code == 200


async def test_rate_limit_by_key_in_production(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path,
        **PROD,
        PARLEY_TOKEN_RATE_PER_MINUTE="1",
        PARLEY_TOKEN_RATE_BURST="1",
    )
    async with running_app(settings) as c:
        k1 = {"X-API-Key": "mgmt-key-1"}
        k2 = {"X-API-Key": "frontend-key-1"}
        assert (await c.post("/api/token", json={}, headers=k1)).status_code == 200
        assert (await c.post("/api/token", json={}, headers=k1)).status_code == 429
        assert (await c.post("/api/token", json={}, headers=k2)).status_code == 200
        # Unauthenticated floods are refused before they can drain anyone's bucket.
        for _ in range(3):
            assert (await c.post("/api/token", json={})).status_code == 401
