"""LiveKit webhooks: real signatures accepted once, anything tampered refused and not stored."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from .conftest import LK_KEY, LK_SECRET, post_webhook, sign_webhook, webhook_body


async def _stored_events(client: httpx.AsyncClient, session_id: str = "RM_test1") -> list[dict]:
    resp = await client.get(f"/api/sessions/{session_id}/events")
    if resp.status_code == 404:
        return []
    return resp.json()["events"]


async def test_signed_event_is_stored(client: httpx.AsyncClient) -> None:
    body = webhook_body("room_started", event_id="EV_one")
    resp = await post_webhook(client, body)
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"status": "stored", "event_id": "EV_one"}
    events = await _stored_events(client)
    assert [e["id"] for e in events] == ["EV_one"]
    assert events[0]["payload"]["room"]["name"] == "room-a"


async def test_redelivery_is_idempotent(client: httpx.AsyncClient) -> None:
    body = webhook_body("participant_joined", identity="alice", event_id="EV_dup")
    assert (await post_webhook(client, body)).json()["status"] == "stored"
    again = await post_webhook(client, body)
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    assert [e["id"] for e in await _stored_events(client)] == ["EV_dup"]
    metrics = (await client.get("/metrics")).text
    assert 'parley_webhook_events_total{event="participant_joined",outcome="duplicate"} 1.0' in (
        metrics
    )


def _tampered(body: str) -> tuple[str, str]:
    signed_for = body
    data = json.loads(body)
    data["room"]["name"] = "evil-room"
    return json.dumps(data), sign_webhook(signed_for)


@pytest.mark.parametrize(
    "case",
    ["tampered_body", "wrong_secret", "wrong_key", "expired", "missing", "garbage", "no_hash"],
)
async def test_bad_signatures_are_refused_and_nothing_stored(
    client: httpx.AsyncClient, case: str
) -> None:
    body = webhook_body("room_started", event_id=f"EV_{case}")
    auth: str | None
    if case == "tampered_body":
        body, auth = _tampered(body)
    elif case == "wrong_secret":
        auth = sign_webhook(body, secret="another-secret-of-sufficient-length!!")
    elif case == "wrong_key":
        auth = sign_webhook(body, key="otherkey")
    elif case == "expired":
        auth = sign_webhook(body, ttl_s=-600)  # beyond the verifier's 60 s leeway
    elif case == "missing":
        auth = ""
    elif case == "garbage":
        auth = "not-a-jwt"
    else:  # a valid token for this key but with no body hash at all
        from livekit import api

        auth = api.AccessToken(LK_KEY, LK_SECRET).to_jwt()
    resp = await post_webhook(client, body, auth=auth)
    assert resp.status_code == 401, resp.text
    assert resp.json()["error"]["code"] == "unauthorized"
    assert await _stored_events(client) == []
    assert (await client.get("/api/sessions")).json() == {"sessions": []}


async def test_bearer_prefix_is_accepted(client: httpx.AsyncClient) -> None:
    body = webhook_body("room_started")
    resp = await post_webhook(client, body, auth="Bearer " + sign_webhook(body))
    assert resp.status_code == 200


async def test_signed_but_not_an_event(client: httpx.AsyncClient) -> None:
    no_id = json.dumps({"event": "room_started", "room": {"sid": "RM_x", "name": "r"}})
    resp = await post_webhook(client, no_id)
    assert resp.status_code == 400
    not_json = "this is not json"
    assert (await post_webhook(client, not_json)).status_code == 401
    assert (await client.get("/api/sessions")).json() == {"sessions": []}


async def test_session_derived_from_room_and_participant_events(
    client: httpx.AsyncClient,
) -> None:
    t0 = int(time.time()) - 100
    sequence = [
        webhook_body("room_started", created_at=t0),
        webhook_body("participant_joined", identity="alice", created_at=t0 + 1),
        webhook_body(
            "participant_joined", identity="parley-agent", kind="AGENT", created_at=t0 + 2
        ),
        webhook_body("track_published", identity="alice", created_at=t0 + 3),
        webhook_body("participant_left", identity="alice", created_at=t0 + 50),
        webhook_body("room_finished", created_at=t0 + 60),
    ]
    for body in sequence:
        assert (await post_webhook(client, body)).status_code == 200
    listed = (await client.get("/api/sessions")).json()["sessions"]
    assert [s["id"] for s in listed] == ["RM_test1"]
    session = (await client.get("/api/sessions/RM_test1")).json()
    assert session["room_name"] == "room-a" and session["status"] == "ended"
    assert session["ended_at"] is not None
    people = {p["identity"]: p for p in session["participants"]}
    assert set(people) == {"alice", "parley-agent"}
    assert people["parley-agent"]["kind"] == "agent"
    assert people["alice"]["left_at"] is not None and people["parley-agent"]["left_at"] is None
    events = await _stored_events(client)
    assert [e["event"] for e in events] == [
        "room_started",
        "participant_joined",
        "participant_joined",
        "track_published",
        "participant_left",
        "room_finished",
    ]
    active = (await client.get("/api/sessions", params={"status": "active"})).json()
    assert active == {"sessions": []}


async def test_out_of_order_events_still_make_a_session(client: httpx.AsyncClient) -> None:
    # participant_joined can be delivered before room_started.
    await post_webhook(client, webhook_body("participant_joined", identity="bob", room_sid="RM_b"))
    await post_webhook(client, webhook_body("room_started", room_sid="RM_b"))
    session = (await client.get("/api/sessions/RM_b")).json()
    assert session["status"] == "active"
    assert [p["identity"] for p in session["participants"]] == ["bob"]


async def test_oversized_body_refused(client: httpx.AsyncClient) -> None:
    body = " " * (1024 * 1024 + 1)
    assert (await post_webhook(client, body)).status_code == 413
