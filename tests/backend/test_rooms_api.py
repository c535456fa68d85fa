"""Management API for rooms and dispatches, against a real LiveKit server (no worker)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from parley_common.testing.devstack import LiveKitServer, start_livekit_server

from .conftest import make_settings, running_app

pytestmark = pytest.mark.integration

KEY = {"X-API-Key": "mgmt-key"}


@pytest.fixture(scope="module")
def lk_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveKitServer]:
    """One LiveKit server for this module: each start/stop costs seconds on a busy machine."""
    server = start_livekit_server(tmp_path_factory.mktemp("rooms-livekit"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def lk_client(tmp_path: Path, lk_server: LiveKitServer) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(
        tmp_path,
        LIVEKIT_URL=lk_server.ws_url,
        LIVEKIT_API_KEY=lk_server.api_key,
        LIVEKIT_API_SECRET=lk_server.api_secret,
        PARLEY_API_KEYS="mgmt-key",
    )
    async with running_app(settings) as c:
        yield c


async def _parley_dispatch_ids(c: httpx.AsyncClient, room: str) -> set[str]:
    resp = await c.get(f"/api/rooms/{room}/dispatches", headers=KEY)
    assert resp.status_code == 200, resp.text
    # LiveKit also lists its own automatic dispatch (agent_name "") for every room.
    return {d["id"] for d in resp.json()["dispatches"] if d["agent_name"] == "parley"}


async def test_room_lifecycle_with_explicit_dispatch(lk_client: httpx.AsyncClient) -> None:
    c = lk_client
    assert (await c.get("/api/rooms")).status_code == 401  # keys configured: key required
    created = await c.post(
        "/api/rooms",
        json={
            "name": "ops-room",
            "metadata": '{"team": "ops"}',
            "empty_timeout": 120,
            "max_participants": 5,
            "agent_config": {"persona": "concierge", "mode": "meeting"},
        },
        headers=KEY,
    )
    assert created.status_code == 201, created.text
    room, dispatch = created.json()["room"], created.json()["dispatch"]
    assert room["name"] == "ops-room" and room["sid"].startswith("RM_")
    assert room["empty_timeout"] == 120 and room["max_participants"] == 5
    assert dispatch["agent_name"] == "parley" and dispatch["room"] == "ops-room"
    assert json.loads(dispatch["metadata"]) == {"persona": "concierge", "mode": "meeting"}

    got = (await c.get("/api/rooms/ops-room", headers=KEY)).json()
    assert got["sid"] == room["sid"] and got["metadata"] == '{"team": "ops"}'
    listed = (await c.get("/api/rooms", headers=KEY)).json()["rooms"]
    assert "ops-room" in [r["name"] for r in listed]
    dup = await c.post("/api/rooms", json={"name": "ops-room"}, headers=KEY)
    assert dup.status_code == 409

    second = await c.post(
        "/api/rooms/ops-room/dispatches",
        json={"agent_config": {"greeting": "Second agent here"}},
        headers=KEY,
    )
    assert second.status_code == 201, second.text
    ids = await _parley_dispatch_ids(c, "ops-room")
    assert ids == {dispatch["id"], second.json()["id"]}
    gone = await c.delete(f"/api/rooms/ops-room/dispatches/{second.json()['id']}", headers=KEY)
    assert gone.status_code == 204
    missing = await c.delete(f"/api/rooms/ops-room/dispatches/{second.json()['id']}", headers=KEY)
    assert missing.status_code == 404
    ids = await _parley_dispatch_ids(c, "ops-room")
    assert ids == {dispatch["id"]}

    assert (await c.delete("/api/rooms/ops-room", headers=KEY)).status_code == 204
    assert (await c.get("/api/rooms/ops-room", headers=KEY)).status_code == 404
    assert (await c.delete("/api/rooms/ops-room", headers=KEY)).status_code == 404


async def test_room_without_dispatch_and_generated_name(lk_client: httpx.AsyncClient) -> None:
    resp = await lk_client.post("/api/rooms", json={"dispatch_agent": False}, headers=KEY)
    assert resp.status_code == 201
    assert resp.json()["dispatch"] is None
    name = resp.json()["room"]["name"]
    assert name.startswith("parley-")
    assert (await lk_client.delete(f"/api/rooms/{name}", headers=KEY)).status_code == 204


@pytest.mark.parametrize(
    "body",
    [
        {"name": "bad name"},
        {"empty_timeout": 0},
        {"max_participants": -1},
        {"agent_config": {"mode": "karaoke"}},
        {"agent_name": "../x"},
    ],
)
async def test_room_validation(lk_client: httpx.AsyncClient, body: dict) -> None:
    resp = await lk_client.post("/api/rooms", json=body, headers=KEY)
    assert resp.status_code == 422


async def test_livekit_down_is_a_502_in_the_error_shape(tmp_path: Path) -> None:
    async with running_app(make_settings(tmp_path)) as c:  # LIVEKIT_URL points at nothing
        resp = await c.get("/api/rooms")
        assert resp.status_code == 502
        assert resp.json()["error"]["code"] == "upstream_error"


async def test_dispatch_calls_for_a_missing_room_are_404(lk_client: httpx.AsyncClient) -> None:
    # LiveKit itself times out on these ("unavailable"); the API answers 404 at once.
    for method, path in (
        ("GET", "/api/rooms/no-such-room/dispatches"),
        ("POST", "/api/rooms/no-such-room/dispatches"),
        ("DELETE", "/api/rooms/no-such-room/dispatches/AD_x"),
    ):
        kwargs = {"json": {}} if method == "POST" else {}
        resp = await lk_client.request(method, path, headers=KEY, **kwargs)
        assert resp.status_code == 404, (method, path, resp.text)


async def test_ready_with_real_livekit(lk_client: httpx.AsyncClient) -> None:
    resp = await lk_client.get("/ready")
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"status": "ready", "checks": {"database": "ok", "livekit": "ok"}}
