"""The meeting bridge through a real LiveKit server, with the fake Meeting BaaS bot dialing in.

No agent worker here: a participant of kind ``agent`` stands in for it (plays a tone on
demand and answers ``parley.ask``), so every direction of the bridge can be checked
precisely. tests/e2e/test_meeting_bridge.py runs the same path with the real worker.
"""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import numpy as np
import pytest
import websockets
from livekit import api

from tests.backend.conftest import AGENT_TOKEN
from tests.backend.meetings.conftest import (
    WEBHOOK_SECRET,
    Env,
    Listener,
    StandInAgent,
    bridge_in_room,
    rms,
)
from tests.fakes.meeting_baas import svix_headers
from tests.fakes.speech import speech_pcm
from tests.waiting import wait_until

pytestmark = pytest.mark.integration

MEET = "https://meet.google.com/abc-defg-hij"


async def _create(env: Env, **body) -> dict:
    resp = await env.http.post("/api/meetings", json={"meeting_url": MEET, **body})
    assert resp.status_code == 201, resp.text
    return resp.json()


async def _timeline(env: Env, meeting_id: str) -> list[dict]:
    resp = await env.http.get(f"/api/meetings/{meeting_id}")
    assert resp.status_code == 200
    return resp.json()["timeline"]


def _dominant_hz(pcm: bytes, rate: int) -> float:
    samples = np.frombuffer(pcm, dtype=np.int16).astype(np.float64)
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
    return float(np.fft.rfftfreq(samples.size, 1 / rate)[int(np.argmax(spectrum))])


async def test_bridge_two_way_audio_speakers_garbage_reconnect_ask_and_leave(env: Env) -> None:
    meeting = await _create(env, bot_name="Parley")
    mid = meeting["id"]
    assert meeting["platform"] == "google_meet" and meeting["status"] == "joining"
    bot = env.fake.bot(meeting["bot_id"])
    stream = bot.body["streaming_config"]
    assert stream["input_url"] == stream["output_url"]
    assert stream["input_url"].startswith(
        f"ws://127.0.0.1:{env.url.rsplit(':', 1)[1]}/ws/meetings/{mid}/"
    )
    assert stream["audio_frequency"] == 16000
    assert bot.body["callback_config"]["url"].endswith(f"/api/meetings/{mid}/callback")

    await bot.wait_connected(timeout=15)
    await wait_until(lambda: mid in env.app.state.meetings.bridges, 10, "bridge")
    agent, listener = StandInAgent(), Listener()
    await agent.join(env, meeting["room_name"])
    await listener.join(env, meeting["room_name"], target=f"meeting-{mid}")
    try:
        # The bridge participant names the meeting and platform.
        await wait_until(
            lambda: f"meeting-{mid}" in agent.room.remote_participants, 15, "bridge participant"
        )
        bridge_p = agent.room.remote_participants[f"meeting-{mid}"]
        assert bridge_p.attributes["parley.meeting_id"] == mid
        assert bridge_p.attributes["parley.platform"] == "google_meet"

        # Bot → room: espeak speech in 100 ms and odd-sized chunks reaches the room.
        bot.chunk_ms = [100.0, 37.3, 61.7, 13.1]
        t0 = time.monotonic()
        bot.say(speech_pcm("Parley, what is the weather like today?", 16000))
        await wait_until(lambda: listener.voiced_after(t0) >= 20, 20, "meeting audio in room")

        # Room → bot: the agent's 440 Hz tone arrives as 16 kHz PCM, paced in real time.
        agent.talking = True
        t1 = time.monotonic()
        await wait_until(lambda: rms(bot.received_pcm(t1)) > 1000, 15, "agent audio at bot")
        await asyncio.sleep(2.0)
        window = [r for r in bot.received if r.at >= time.monotonic() - 1.5]
        span = window[-1].at - window[0].at
        samples = sum(len(r.pcm) for r in window[1:]) / 2
        assert 0.8 * 16000 < samples / span < 1.25 * 16000, "not paced at the bot's rate"
        assert abs(_dominant_hz(b"".join(r.pcm for r in window), 16000) - 440) < 10
        assert all(len(r.pcm) % 2 == 0 for r in bot.received)

        # Speaker arrays → attributes and the parley.speakers data topic.
        bot.send_speakers(
            [
                {"name": "Ada Lovelace", "id": 7, "timestamp": 3.5, "isSpeaking": True},
                {"name": "Bob", "id": 8, "timestamp": 1.0, "isSpeaking": False},
            ]
        )
        await wait_until(
            lambda: bridge_p.attributes.get("parley.speaker") == "Ada Lovelace", 10, "attribute"
        )
        assert json.loads(bridge_p.attributes["parley.active_speakers"]) == ["Ada Lovelace"]
        await wait_until(
            lambda: any(t == "parley.speakers" for t, _ in listener.data), 10, "speaker data packet"
        )
        _topic, array = next(d for d in listener.data if d[0] == "parley.speakers")
        assert array[0] == {"name": "Ada Lovelace", "id": 7, "timestamp": 3.5, "isSpeaking": True}
        bot.send_speakers(
            [{"name": "Ada Lovelace", "id": 7, "timestamp": 9.0, "isSpeaking": False}]
        )
        # LiveKit drops an attribute set to "": absent means nobody is speaking.
        await wait_until(lambda: not bridge_p.attributes.get("parley.speaker"), 10, "cleared")

        # Garbage frames are skipped; audio keeps flowing both ways.
        for kind, payload in [
            ("binary", b"\x01\x02\x03"),
            ("text", "not json"),
            ("text", '{"type": "mystery"}'),
            ("text", "42"),
            ("text", '[{"name": 5}]'),
        ]:
            bot.send_raw(kind, payload)
        await asyncio.sleep(0.5)
        t2 = time.monotonic()
        bot.say(speech_pcm("Still here after the garbage.", 16000))
        await wait_until(lambda: listener.voiced_after(t2) >= 20, 20, "audio after garbage")
        assert rms(bot.received_pcm(t2)) > 1000
        assert bot.connections == 1
        assert env.app.state.meetings.bridges[mid].stats.malformed == 5

        # Drop and reconnect with the v1 handshake: audio resumes within a second.
        bot.protocol_version = 1
        bot.drop()
        await wait_until(lambda: bot.connections == 2 and bot._connected.is_set(), 10, "reconnect")
        t3 = time.monotonic()
        await wait_until(
            lambda: rms(bot.received_pcm(t3)) > 1000, 5, "audio after reconnect", interval=0.02
        )
        first = next(r.at for r in bot.received if r.at >= t3 and rms(r.pcm) > 1000)
        assert first - t3 < 1.0
        t4 = time.monotonic()
        bot.say(speech_pcm("Back again.", 16000))
        await wait_until(lambda: listener.voiced_after(t4) >= 10, 10, "meeting audio resumed")
        handshakes = [
            e["data"] for e in await _timeline(env, mid) if e["kind"] == "bridge.handshake"
        ]
        assert [h["protocol_version"] for h in handshakes] == [2, 1]
        assert handshakes[1]["sample_rate"] == 16000
        assert not handshakes[1]["sample_rate_in_handshake"]

        # The console's question reaches the agent by RPC.
        resp = await env.http.post(f"/api/meetings/{mid}/ask", json={"question": "Any risks?"})
        assert resp.status_code == 200, resp.text
        assert resp.json()["ok"] is True
        assert agent.asked == ["Any risks?"]

        # DELETE: the bot leaves, the callback lands, the room is gone.
        resp = await env.http.delete(f"/api/meetings/{mid}")
        assert resp.status_code == 200, resp.text
        assert resp.json()["status"] == "ended"
        await wait_until(lambda: bot.status == "completed", 10, "bot left")
        await wait_until(lambda: ("bot.completed", 200) in bot.callbacks_sent, 10, "callback")
        assert mid not in env.app.state.meetings.bridges
        async with api.LiveKitAPI(env.lk.http_url, env.lk.api_key, env.lk.api_secret) as lk:
            rooms = await lk.room.list_rooms(api.ListRoomsRequest())
        assert meeting["room_name"] not in [r.name for r in rooms.rooms]
        kinds = [e["kind"] for e in await _timeline(env, mid)]
        for expected in (
            "meeting.created",
            "room.created",
            "bot.created",
            "bridge.connected",
            "bridge.disconnected",
            "speaker.seen",
            "console.ask",
            "bridge.closed",
            "bot.leave_requested",
            "meeting.ended",
            "bot.completed",
        ):
            assert expected in kinds, (expected, kinds)
        sources = {
            e["data"].get("source") for e in await _timeline(env, mid) if e["kind"] == "bot.status"
        }
        assert {"poll", "webhook"} & sources
        listing = (await env.http.get("/api/meetings")).json()["meetings"]
        assert listing[0]["id"] == mid and listing[0]["status"] == "ended"
    finally:
        await agent.close()
        await listener.close()


async def test_wrong_secret_or_unknown_meeting_cannot_connect(env: Env) -> None:
    env.fake.join_step_s = 60  # keep the fake bot out; we dial ourselves
    meeting = await _create(env)
    base = env.url.replace("http://", "ws://")
    for path in (
        f"/ws/meetings/{meeting['id']}/wrong-secret",
        f"/ws/meetings/{'0' * 16}/whatever",
        "/ws/meetings/nothex/x",
    ):
        with pytest.raises(websockets.InvalidStatus) as info:
            async with websockets.connect(base + path, open_timeout=10):
                pass
        assert info.value.response.status_code == 403


async def test_callbacks_need_the_secret_and_are_idempotent(env: Env) -> None:
    env.fake.join_step_s = 60
    meeting = await _create(env)
    mid, bot_id = meeting["id"], meeting["bot_id"]
    secret = env.fake.bot(bot_id).body["callback_config"]["secret"]
    url = f"/api/meetings/{mid}/callback"
    body = {
        "event": "bot.failed",
        "data": {"bot_id": bot_id, "event_id": "ev-1", "error_code": "BOT_NOT_ACCEPTED"},
    }
    assert (await env.http.post(url, json=body)).status_code == 401
    wrong = await env.http.post(url, json=body, headers={"x-mb-secret": secret + "x"})
    assert wrong.status_code == 401
    as_json = {"x-mb-secret": secret, "content-type": "application/json"}
    assert (await env.http.post(url, content=b"{", headers=as_json)).status_code == 400
    # JSON routes take JSON only: an untyped body never reaches the handler.
    assert (
        await env.http.post(url, content=b"{", headers={"x-mb-secret": secret})
    ).status_code == 415
    huge = b'{"event": "bot.failed", "data": {"pad": "' + b"x" * (2 * 1024 * 1024) + b'"}}'
    assert (await env.http.post(url, content=huge, headers=as_json)).status_code == 413
    odd = {"event": "bot.exploded", "data": {}}
    assert (await env.http.post(url, json=odd, headers={"x-mb-secret": secret})).status_code == 422
    first = await env.http.post(url, json=body, headers={"x-mb-secret": secret})
    assert first.status_code == 200 and first.json()["duplicate"] is False
    again = await env.http.put(url, json=body, headers={"x-mb-secret": secret})
    assert again.status_code == 200 and again.json()["duplicate"] is True
    got = (await env.http.get(f"/api/meetings/{mid}")).json()
    assert got["status"] == "failed"
    failed = [e for e in got["timeline"] if e["kind"] == "bot.failed"]
    assert len(failed) == 1 and failed[0]["data"]["error_code"] == "BOT_NOT_ACCEPTED"


async def test_failed_join_arrives_as_bot_failed_callback(env: Env) -> None:
    env.fake.fail_join_with = "CANNOT_JOIN_MEETING"
    meeting = await _create(env)
    await wait_until(
        lambda: ("bot.failed", 200) in env.fake.bot(meeting["bot_id"]).callbacks_sent,
        15,
        "bot.failed callback",
    )
    got = (await env.http.get(f"/api/meetings/{meeting['id']}")).json()
    assert got["status"] == "failed"


async def test_svix_account_webhook_signature_is_checked(env: Env) -> None:
    payload = json.dumps(
        {"event": "bot.status_change", "data": {"bot_id": "x", "status": {"code": "joining_call"}}}
    )
    headers = {
        "svix-id": "msg_1",
        "svix-timestamp": str(int(time.time())),
        "svix-signature": "v1,Zm9vYmFy",
        "content-type": "application/json",
    }
    resp = await env.http.post("/api/webhooks/meeting-baas", content=payload, headers=headers)
    assert resp.status_code == 401
    resp = await env.http.post(
        "/api/webhooks/meeting-baas", content=b"x" * (2 * 1024 * 1024), headers=headers
    )
    assert resp.status_code == 413


async def test_create_rejects_bad_links_and_maps_upstream_errors(env: Env) -> None:
    resp = await env.http.post("/api/meetings", json={"meeting_url": "https://example.com/x"})
    assert resp.status_code == 422 and resp.json()["error"]["code"] == "invalid_meeting_url"
    resp = await env.http.post("/api/meetings", json={"meeting_url": MEET, "surprise": 1})
    assert resp.status_code == 422
    assert env.fake.bots == {}

    env.fake.fail_next(402, "FST_ERR_INSUFFICIENT_TOKENS", "no tokens left")
    resp = await env.http.post("/api/meetings", json={"meeting_url": MEET})
    assert resp.status_code == 402, resp.text
    assert resp.json()["error"]["code"] == "meeting_baas_out_of_tokens"
    listing = (await env.http.get("/api/meetings")).json()["meetings"]
    assert listing[0]["status"] == "failed" and listing[0]["bot_id"] is None
    async with api.LiveKitAPI(env.lk.http_url, env.lk.api_key, env.lk.api_secret) as lk:
        rooms = await lk.room.list_rooms(api.ListRoomsRequest())
    assert listing[0]["room_name"] not in [r.name for r in rooms.rooms]

    assert (await env.http.get("/api/meetings/0123456789abcdef")).status_code == 404
    assert (await env.http.get("/api/meetings/nope")).status_code == 422


async def test_ask_without_agent_is_409_and_reaches_agent_without_bridge(env: Env) -> None:
    env.fake.join_step_s = 60  # no bridge: the ask goes through a short-lived helper participant
    meeting = await _create(env)
    mid = meeting["id"]
    resp = await env.http.post(f"/api/meetings/{mid}/ask", json={"question": "Hello?"})
    assert resp.status_code == 409 and resp.json()["error"]["code"] == "agent_not_in_room"
    assert (
        await env.http.post(f"/api/meetings/{mid}/ask", json={"question": ""})
    ).status_code == 422

    mute = StandInAgent()
    await mute.join(env, meeting["room_name"], rpc=False)
    try:
        resp = await env.http.post(f"/api/meetings/{mid}/ask", json={"question": "Hello?"})
        assert resp.status_code == 409 and resp.json()["error"]["code"] == "agent_cannot_ask"
    finally:
        await mute.close()

    agent = StandInAgent()
    await agent.join(env, meeting["room_name"])
    try:
        resp = await env.http.post(f"/api/meetings/{mid}/ask", json={"question": "Hello?"})
        assert resp.status_code == 200, resp.text
        assert agent.asked == ["Hello?"]
    finally:
        await agent.close()
    await env.http.delete(f"/api/meetings/{mid}")
    resp = await env.http.post(f"/api/meetings/{mid}/ask", json={"question": "Hello?"})
    assert resp.status_code == 409 and resp.json()["error"]["code"] == "meeting_ended"


async def test_signed_account_webhooks_update_the_timeline(env: Env) -> None:
    env.fake.join_step_s = 60  # no status changes of its own
    meeting = await _create(env)
    mid, bot_id = meeting["id"], meeting["bot_id"]

    async def deliver(msg_id: str, payload: dict) -> httpx.Response:
        body = json.dumps(payload)
        headers = svix_headers(WEBHOOK_SECRET, msg_id, body)
        return await env.http.post("/api/webhooks/meeting-baas", content=body, headers=headers)

    resp = await deliver(
        "msg_a",
        {
            "event": "bot.status_change",
            "data": {"bot_id": bot_id, "status": {"code": "in_waiting_room"}},
        },
    )
    assert resp.status_code == 200 and resp.json()["result"] == "applied"
    # `extra` inside `data`, no bot_id: still ours.
    resp = await deliver(
        "msg_b",
        {
            "event": "bot.status_change",
            "data": {"status": {"code": "in_call_recording"}, "extra": {"parley_meeting_id": mid}},
        },
    )
    assert resp.json()["result"] == "applied"
    got = (await env.http.get(f"/api/meetings/{mid}")).json()
    assert got["status"] == "in_call" and got["bot_status"] == "in_call_recording"
    hooks = [e["data"] for e in got["timeline"] if e["data"].get("source") == "webhook"]
    assert [h["status"] for h in hooks] == ["in_waiting_room", "in_call_recording"]

    other = {
        "event": "bot.status_change",
        "data": {"bot_id": "someone-else", "status": {"code": "joining_call"}},
    }
    assert (await deliver("msg_c", other)).json()["result"].startswith("ignored")
    done = {"event": "bot.completed", "data": {"bot_id": bot_id, "event_id": "e9"}}
    assert (await deliver("msg_d", done)).json()["result"] == "applied"
    assert (await deliver("msg_d", done)).json()["result"] == "duplicate"
    got = (await env.http.get(f"/api/meetings/{mid}")).json()
    assert got["status"] == "ended"
    assert [e["kind"] for e in got["timeline"]].count("bot.completed") == 1


async def test_room_ending_makes_the_bot_leave(env: Env) -> None:
    meeting = await _create(env)
    await bridge_in_room(env, meeting)
    bot = env.fake.bot(meeting["bot_id"])
    async with api.LiveKitAPI(env.lk.http_url, env.lk.api_key, env.lk.api_secret) as lk:
        await lk.room.delete_room(api.DeleteRoomRequest(room=meeting["room_name"]))
    await wait_until(lambda: bot.status == "completed", 15, "the bot to leave")
    await wait_until(lambda: meeting["id"] not in env.app.state.meetings.bridges, 15, "teardown")
    got = (await env.http.get(f"/api/meetings/{meeting['id']}")).json()
    kinds = [e["kind"] for e in got["timeline"]]
    assert got["status"] == "ended" and "room.ended" in kinds and "bot.leave_requested" in kinds


async def test_transcript_falls_back_to_the_agent_history(env: Env) -> None:
    env.fake.join_step_s = 60
    meeting = await _create(env)
    turn = {
        "turn_id": "t-1",
        "room_name": meeting["room_name"],
        "speaker_identity": "agent-x",
        "role": "agent",
        "text": "Hello everyone.",
        "started_at": "2026-01-01T10:00:00+00:00",
    }
    resp = await env.http.post(
        "/api/agent/turns", json=turn, headers={"Authorization": f"Bearer {AGENT_TOKEN}"}
    )
    assert resp.status_code == 201, resp.text
    got = (await env.http.get(f"/api/meetings/{meeting['id']}/transcript")).json()
    assert got == {
        "source": "history",
        "turns": [
            {
                "speaker": "agent-x",
                "text": "Hello everyone.",
                "started_at": "2026-01-01T10:00:00+00:00",
                "role": "agent",
            }
        ],
    }


async def test_handshake_sample_rate_wins_both_ways(env: Env) -> None:
    """A bot announcing 24 kHz (configured 16 kHz) is heard and answered at 24 kHz."""
    env.fake.join_step_s = 0.5
    meeting = await _create(env)
    bot = env.fake.bot(meeting["bot_id"])
    bot.sample_rate = 24000  # before it dials: its handshake and its audio use 24 kHz
    await bot.wait_connected(timeout=15)
    agent, listener = StandInAgent(), Listener()
    await agent.join(env, meeting["room_name"])
    await listener.join(env, meeting["room_name"], target=f"meeting-{meeting['id']}")
    try:
        agent.talking = True
        t0 = time.monotonic()
        await wait_until(lambda: rms(bot.received_pcm(t0)) > 1000, 15, "agent audio at bot")
        await asyncio.sleep(1.5)
        window = [r for r in bot.received if r.at >= time.monotonic() - 1.0]
        pcm = b"".join(r.pcm for r in window)
        samples = sum(len(r.pcm) for r in window[1:]) / 2
        assert 0.8 * 24000 < samples / (window[-1].at - window[0].at) < 1.25 * 24000
        assert abs(_dominant_hz(pcm, 24000) - 440) < 10
        t1 = time.monotonic()
        bot.say(speech_pcm("Twenty four kilohertz.", 24000))
        await wait_until(lambda: listener.voiced_after(t1) >= 20, 20, "24 kHz speech in room")
    finally:
        await agent.close()
        await listener.close()
        await env.http.delete(f"/api/meetings/{meeting['id']}")
