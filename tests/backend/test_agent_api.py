"""Agent API: idempotent turns and summaries, context look-ups, the agent's own token."""

from __future__ import annotations

import time

import httpx
import pytest

from .conftest import AGENT_AUTH, post_webhook, webhook_body


def turn(n: int, **overrides: object) -> dict:
    body = {
        "turn_id": f"job1:item_{n}",
        "room_name": "room-a",
        "room_sid": "RM_test1",
        "job_id": "AJ_1",
        "seq": n,
        "speaker_identity": "parley-agent" if n % 2 == 0 else "alice",
        "role": "agent" if n % 2 == 0 else "user",
        "text": f"turn number {n}",
        "language": "en",
        "started_at": f"2026-01-01T00:00:{10 + n:02d}Z",
        "ended_at": f"2026-01-01T00:00:{11 + n:02d}Z",
        "latency": {"e2e": 0.8, "llm_ttft": 0.3, "tts_ttfb": 0.1} if n % 2 == 0 else None,
    }
    body.update(overrides)
    return body


async def test_agent_token_required(client: httpx.AsyncClient) -> None:
    assert (await client.post("/api/agent/turns", json=turn(1))).status_code == 401
    wrong = {"Authorization": "Bearer nope"}
    assert (await client.post("/api/agent/turns", json=turn(1), headers=wrong)).status_code == 401
    ctx = await client.get("/api/agent/context", params={"room_name": "room-a"})
    assert ctx.status_code == 401


async def test_turn_posting_is_idempotent(client: httpx.AsyncClient) -> None:
    first = await client.post("/api/agent/turns", json=turn(2), headers=AGENT_AUTH)
    assert first.status_code == 201, first.text
    assert first.json()["duplicate"] is False
    assert first.json()["turn"]["latency"] == {"e2e": 0.8, "llm_ttft": 0.3, "tts_ttfb": 0.1}
    retry = await client.post("/api/agent/turns", json=turn(2), headers=AGENT_AUTH)
    assert retry.status_code == 200 and retry.json()["duplicate"] is True
    clash = await client.post(
        "/api/agent/turns", json=turn(2, text="something else"), headers=AGENT_AUTH
    )
    assert clash.status_code == 409 and clash.json()["error"]["code"] == "conflict"
    transcript = (await client.get("/api/sessions/RM_test1/transcript")).json()
    assert [t["text"] for t in transcript["turns"]] == ["turn number 2"]


async def test_transcript_in_speech_order(client: httpx.AsyncClient) -> None:
    await post_webhook(client, webhook_body("room_started"))
    for n in (3, 1, 2, 4):  # arrival order differs from speech order
        resp = await client.post("/api/agent/turns", json=turn(n), headers=AGENT_AUTH)
        assert resp.status_code == 201
    transcript = (await client.get("/api/sessions/RM_test1/transcript")).json()["turns"]
    assert [t["text"] for t in transcript] == [f"turn number {n}" for n in (1, 2, 3, 4)]
    assert [t["role"] for t in transcript] == ["user", "agent", "user", "agent"]
    session = (await client.get("/api/sessions/RM_test1")).json()
    assert session["turn_count"] == 4


async def test_turn_without_room_sid_joins_the_rooms_latest_session(
    client: httpx.AsyncClient,
) -> None:
    now = int(time.time())
    old = webhook_body("room_started", room_sid="RM_old", created_at=now - 2000)
    new = webhook_body("room_started", room_sid="RM_new", created_at=now - 1000)
    assert (await post_webhook(client, old)).status_code == 200
    assert (await post_webhook(client, new)).status_code == 200
    resp = await client.post("/api/agent/turns", json=turn(1, room_sid=None), headers=AGENT_AUTH)
    assert resp.json()["turn"]["session_id"] == "RM_new"


@pytest.mark.parametrize(
    "overrides",
    [
        {"latency": {"made_up": 1.0}},
        {"latency": {"e2e": -1}},
        {"ended_at": "2026-01-01T00:00:00Z"},
        {"text": ""},
        {"text": "nul \x00 byte"},
        {"role": "narrator"},
        {"room_name": "bad room"},
        {"turn_id": "has space"},
        {"language": "english"},
        {"extra_field": 1},
    ],
)
async def test_bad_turns_rejected(client: httpx.AsyncClient, overrides: dict) -> None:
    resp = await client.post("/api/agent/turns", json=turn(1, **overrides), headers=AGENT_AUTH)
    assert resp.status_code == 422, resp.text
    assert resp.json()["error"]["code"] == "validation_error"


async def test_summary_idempotent_and_in_context(client: httpx.AsyncClient) -> None:
    body = {
        "summary_id": "job1:summary",
        "room_name": "room-a",
        "room_sid": "RM_test1",
        "job_id": "AJ_1",
        "text": "Alice asked about the weather.",
        "data": {"topics": ["weather"]},
    }
    assert (
        await client.post("/api/agent/summaries", json=body, headers=AGENT_AUTH)
    ).status_code == 201
    again = await client.post("/api/agent/summaries", json=body, headers=AGENT_AUTH)
    assert again.status_code == 200 and again.json()["duplicate"] is True
    changed = await client.post(
        "/api/agent/summaries", json={**body, "text": "different"}, headers=AGENT_AUTH
    )
    assert changed.status_code == 409
    ctx = (
        await client.get("/api/agent/context", params={"room_name": "room-a"}, headers=AGENT_AUTH)
    ).json()
    assert [s["text"] for s in ctx["summaries"]] == ["Alice asked about the weather."]


async def test_context_for_room_and_participant(client: httpx.AsyncClient) -> None:
    await post_webhook(client, webhook_body("participant_joined", identity="alice"))
    for n in range(1, 7):
        await client.post("/api/agent/turns", json=turn(n), headers=AGENT_AUTH)
    other_room = turn(9, room_name="room-b", room_sid="RM_b", turn_id="job2:item_9")
    await client.post("/api/agent/turns", json=other_room, headers=AGENT_AUTH)
    by_room = await client.get(
        "/api/agent/context", params={"room_name": "room-a", "limit": 3}, headers=AGENT_AUTH
    )
    assert [t["text"] for t in by_room.json()["turns"]] == [
        "turn number 4",
        "turn number 5",
        "turn number 6",
    ]
    # Whose history: only an identity the backend vouched for, and that needs the live
    # participant in LiveKit (tests/security/test_policy_context.py); never by name alone.
    by_person = await client.get(
        "/api/agent/context", params={"participant_identity": "alice"}, headers=AGENT_AUTH
    )
    assert by_person.status_code == 422
    neither = await client.get("/api/agent/context", headers=AGENT_AUTH)
    assert neither.status_code == 422
