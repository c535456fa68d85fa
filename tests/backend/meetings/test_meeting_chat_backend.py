"""Meeting chat through the real backend, a real LiveKit server and the fake Meeting BaaS:
a participant's chat message (Svix-signed ``bot.chat_message``) is stored in the transcript
and relayed into the room on ``parley.chat``; the agent's post through the agent API and the
console's post reach ``send-chat-message``, split and once; disabled chat is reported."""

from __future__ import annotations

import json

import pytest
from livekit import rtc

from parley_backend.meetings.livekit_rooms import find_agent
from parley_common.wire import (
    CHAT_TOPIC,
    IDEMPOTENCY_HEADER,
    MEETING_CHAT_PATH,
    WRAP_UP_METHOD,
    WrapUpReply,
)
from tests.backend.conftest import AGENT_AUTH
from tests.backend.meetings.conftest import (
    WEBHOOK_SECRET,
    Env,
    Listener,
    StandInAgent,
    bridge_in_room,
)
from tests.fakes.meeting_baas import svix_headers
from tests.waiting import wait_until

pytestmark = pytest.mark.integration

MEET = "https://zoom.us/j/1234567890"


async def test_chat_in_and_out(env: Env) -> None:
    resp = await env.http.post("/api/meetings", json={"meeting_url": MEET})
    assert resp.status_code == 201, resp.text
    meeting = resp.json()
    mid, room = meeting["id"], meeting["room_name"]
    bot = env.fake.bot(meeting["bot_id"])
    await bridge_in_room(env, meeting)
    listener = Listener()
    await listener.join(env, room, target="nobody")
    try:
        # In: stored under the sender, relayed to the room for the agent.
        await bot.post_chat("Maria Garcia", "Parley, what did I say about the budget?")
        await wait_until(
            lambda: any(topic == CHAT_TOPIC for topic, _ in listener.data), 15, "chat relayed"
        )
        relayed = next(data for topic, data in listener.data if topic == CHAT_TOPIC)
        assert relayed["sender"] == "Maria Garcia"
        assert relayed["text"] == "Parley, what did I say about the budget?"
        chat = (await env.http.get(f"/api/meetings/{mid}/chat")).json()["messages"]
        assert [(m["speaker"], m["role"]) for m in chat] == [("Maria Garcia", "chat")]
        transcript = (await env.http.get(f"/api/meetings/{mid}/transcript")).json()
        assert any(t["role"] == "chat" for t in transcript["turns"])

        # A replayed delivery (same svix id) changes nothing; a bad one is a clear 422.
        body = json.dumps(
            {"event": "bot.chat_message", "data": {"bot_id": bot.bot_id, "sender_name": "X"}}
        )
        resp = await env.http.post(
            "/api/webhooks/meeting-baas",
            content=body,
            headers=svix_headers(WEBHOOK_SECRET, "msg_bad", body),
        )
        assert resp.status_code == 422, resp.text
        flat = json.dumps(
            {
                "event": "bot.chat_message",
                "data": {"bot_id": bot.bot_id, "sender_name": "Ada", "text": "hello all"},
            }
        )
        for _ in range(2):
            resp = await env.http.post(
                "/api/webhooks/meeting-baas",
                content=flat,
                headers=svix_headers(WEBHOOK_SECRET, "msg_flat", flat),
            )
            assert resp.status_code == 200, resp.text
        chat = (await env.http.get(f"/api/meetings/{mid}/chat")).json()["messages"]
        assert [m["speaker"] for m in chat] == ["Maria Garcia", "Ada"]

        # Out, from the agent: split at sentences, sent once even when the post is retried.
        answer = " ".join(f"Maria said budget item {i} is approved." for i in range(20))
        post = {"message_id": "job1:chat:1", "room_name": room, "text": answer}
        for _ in range(2):
            resp = await env.http.post(MEETING_CHAT_PATH, json=post, headers=AGENT_AUTH)
            assert resp.status_code == 200, resp.text
            assert resp.json()["status"] == "sent" and resp.json()["parts"] == 2
        assert len(bot.chat_sent) == 2 and all(len(m) <= 500 for m in bot.chat_sent)
        assert " ".join(bot.chat_sent) == answer
        unauth = await env.http.post(MEETING_CHAT_PATH, json=post)
        assert unauth.status_code == 401

        # Out, from the console (management key, as its other actions).
        resp = await env.http.post(
            f"/api/meetings/{mid}/chat",
            json={"message": "Notes follow after the call."},
            headers={IDEMPOTENCY_HEADER: "console-1"},
        )
        assert resp.status_code == 200, resp.text
        assert bot.chat_sent[-1] == "Notes follow after the call."
        chat = (await env.http.get(f"/api/meetings/{mid}/chat")).json()["messages"]
        assert [m["role"] for m in chat].count("agent_chat") == 3

        # The host disables chat: the agent hears "chat_disabled" (and speaks instead).
        bot.chat_enabled = False
        post = {"message_id": "job1:chat:2", "room_name": room, "text": "Short answer."}
        resp = await env.http.post(MEETING_CHAT_PATH, json=post, headers=AGENT_AUTH)
        assert resp.json() == {"status": "chat_disabled", "parts": 1, "sent": 0}
        resp = await env.http.post(f"/api/meetings/{mid}/chat", json={"message": "Hi."})
        assert resp.status_code == 422 and resp.json()["error"]["code"] == "chat_disabled"
        resp = await env.http.post(f"/api/meetings/{mid}/chat", json={"message": "   "})
        assert resp.status_code == 422
    finally:
        await listener.close()

    # After the meeting: the console gets a 409, the agent "not_in_call".
    resp = await env.http.delete(f"/api/meetings/{mid}")
    assert resp.status_code == 200
    resp = await env.http.post(f"/api/meetings/{mid}/chat", json={"message": "Late."})
    assert resp.status_code == 409, resp.text
    post = {"message_id": "job1:chat:3", "room_name": room, "text": "Late."}
    resp = await env.http.post(MEETING_CHAT_PATH, json=post, headers=AGENT_AUTH)
    assert resp.json()["status"] == "not_in_call"
    resp = await env.http.post(
        MEETING_CHAT_PATH, json={**post, "room_name": "no-such-room"}, headers=AGENT_AUTH
    )
    assert resp.status_code == 404


async def test_ending_a_meeting_asks_the_agent_for_the_chat_summary_first(env: Env) -> None:
    service = env.app.state.meetings
    service.settings = service.settings.model_copy(update={"meeting_chat_summary": True})
    # No agent in the room: the bot still leaves, the timeline says why nothing was posted.
    meeting = (await env.http.post("/api/meetings", json={"meeting_url": MEET})).json()
    await bridge_in_room(env, meeting)
    resp = await env.http.delete(f"/api/meetings/{meeting['id']}")
    assert resp.status_code == 200 and resp.json()["status"] == "ended"
    kinds = [e["kind"] for e in resp.json()["timeline"]]
    assert "chat.summary_skipped" in kinds
    assert kinds.index("chat.summary_skipped") < kinds.index("bot.leave_requested")

    # An agent answers parley.wrap_up before the bot is told to leave.
    meeting = (await env.http.post("/api/meetings", json={"meeting_url": MEET})).json()
    await bridge_in_room(env, meeting)
    bot = env.fake.bot(meeting["bot_id"])
    agent = StandInAgent()
    await agent.join(env, meeting["room_name"])
    statuses: list[str] = []

    async def wrap_up(_data: rtc.RpcInvocationData) -> str:
        statuses.append(bot.status)
        return WrapUpReply(ok=True, status="sent").model_dump_json()

    agent.room.local_participant.register_rpc_method(WRAP_UP_METHOD, wrap_up)
    try:
        await wait_until(
            lambda: find_agent(service.bridges[meeting["id"]].room) is not None, 15, "agent seen"
        )
        resp = await env.http.delete(f"/api/meetings/{meeting['id']}")
        assert resp.status_code == 200
    finally:
        await agent.close()
    assert statuses == ["in_call_recording"], "the summary must be asked while the bot is in"
    summary = [e for e in resp.json()["timeline"] if e["kind"] == "chat.summary"]
    assert summary and summary[0]["data"] == {"status": "sent", "ok": True}
