"""Backend through the real stack: management API → dispatch → worker joins → the server's
own signed webhooks are stored as a session → the agent's turns appear in its transcript."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from livekit import api

from parley_common.testing.devstack import Stack
from parley_common.testing.room_probe import RoomProbe

pytestmark = pytest.mark.integration

GREETING = "Hello from the history test."


async def eventually(
    check: Callable[[], Awaitable[Any]], timeout: float, what: str, interval: float = 0.5
) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"{what} not seen within {timeout:.0f} s (last: {last!r})")


def probe_token(stack: Stack, room: str, identity: str) -> str:
    # A plain join token (no room configuration): the API's explicit dispatch is the only one.
    grants = api.VideoGrants(room_join=True, room=room, can_publish=True, can_subscribe=True)
    return (
        api.AccessToken(stack.livekit.api_key, stack.livekit.api_secret)
        .with_identity(identity)
        .with_grants(grants)
        .to_jwt()
    )


async def test_dispatch_webhooks_session_and_agent_turns(shared_stack: Stack) -> None:
    room = f"hist-{secrets.token_hex(4)}"
    async with httpx.AsyncClient(base_url=shared_stack.backend.url, timeout=30) as http:
        created = await http.post(
            "/api/rooms", json={"name": room, "agent_config": {"greeting": GREETING}}
        )
        assert created.status_code == 201, created.text
        room_sid = created.json()["room"]["sid"]
        assert created.json()["dispatch"]["agent_name"] == "parley"

        probe = RoomProbe()
        await probe.connect(shared_stack.livekit.ws_url, probe_token(shared_stack, room, "tester"))
        try:
            await probe.wait_for_agent_voice(timeout=120)

            async def session_with_agent() -> dict | None:
                resp = await http.get(f"/api/sessions/{room_sid}")
                if resp.status_code != 200:
                    return None
                body = resp.json()
                kinds = {p["identity"]: p["kind"] for p in body["participants"]}
                return body if "tester" in kinds and "agent" in kinds.values() else None

            session = await eventually(session_with_agent, 60, "session with agent and tester")
            assert session["room_name"] == room and session["status"] == "active"
            agent_identity = next(
                p["identity"] for p in session["participants"] if p["kind"] == "agent"
            )

            async def greeting_turn() -> dict | None:
                resp = await http.get(f"/api/sessions/{room_sid}/transcript")
                if resp.status_code != 200:
                    return None
                turns = [t for t in resp.json()["turns"] if t["role"] == "agent"]
                return turns[0] if turns else None

            turn = await eventually(greeting_turn, 90, "the agent's greeting turn")
            assert turn["text"] == GREETING
            assert turn["speaker_identity"] == agent_identity
            assert turn["session_id"] == room_sid and turn["room_name"] == room
            assert turn["started_at"] is not None
        finally:
            await probe.close()

        events = (await http.get(f"/api/sessions/{room_sid}/events")).json()["events"]
        kinds = [e["event"] for e in events]
        assert "room_started" in kinds and kinds.count("participant_joined") >= 2
        assert len({e["id"] for e in events}) == len(events)

        assert (await http.delete(f"/api/rooms/{room}")).status_code == 204

        async def ended() -> bool:
            body = (await http.get(f"/api/sessions/{room_sid}")).json()
            return body["status"] == "ended"

        await eventually(ended, 60, "room_finished webhook ending the session")

        # The job's shutdown posts the session summary through the agent API.
        async def summary() -> list[dict]:
            resp = await http.get(
                "/api/agent/context",
                params={"room_name": room},
                headers={"Authorization": "Bearer dev-agent-token"},  # devstack's default
            )
            return resp.json()["summaries"]

        summaries = await eventually(summary, 60, "the session summary")
        assert "agent turn(s)" in summaries[0]["text"]
