"""The meeting bridge under attack, through a real LiveKit server and the fake Meeting BaaS.

Replayed and out-of-order Svix status webhooks, oversized and long bot frames, a huge
speaker array, and the bridge evicted from its room (removed through the LiveKit API, or
pushed out by someone holding its identity): it comes back within 2 s and the meeting
goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import json
import time

import httpx
import pytest
from livekit import api, rtc

from tests.backend.meetings import conftest as meeting_fixtures
from tests.backend.meetings.conftest import (
    WEBHOOK_SECRET,
    Env,
    Listener,
    StandInAgent,
    bridge_in_room,
)
from tests.fakes.meeting_baas import svix_headers
from tests.fakes.speech import speech_pcm, tone_pcm
from tests.waiting import wait_until

pytestmark = [pytest.mark.security, pytest.mark.integration]

# A real backend with a real LiveKit server and the fake Meeting BaaS (module-scoped server).
env = meeting_fixtures.env
lk_server = meeting_fixtures.lk_server

MEET = "https://meet.google.com/abc-defg-hij"


async def _create(env: Env) -> dict:
    resp = await env.http.post("/api/meetings", json={"meeting_url": MEET})
    assert resp.status_code == 201, resp.text
    return resp.json()


async def _meeting(env: Env, mid: str) -> dict:
    resp = await env.http.get(f"/api/meetings/{mid}")
    assert resp.status_code == 200
    return resp.json()


async def _deliver(env: Env, msg_id: str, payload: dict) -> httpx.Response:
    body = json.dumps(payload)
    headers = svix_headers(WEBHOOK_SECRET, msg_id, body)
    return await env.http.post("/api/webhooks/meeting-baas", content=body, headers=headers)


def _status(bot_id: str, code: str, at: str | None = None) -> dict:
    status: dict = {"code": code}
    if at is not None:
        status["created_at"] = at
    return {"event": "bot.status_change", "data": {"bot_id": bot_id, "status": status}}


async def test_replayed_and_stale_status_webhooks_never_roll_back(env: Env) -> None:
    env.fake.join_step_s = 60  # the fake sends no status changes of its own
    meeting = await _create(env)
    mid, bot = meeting["id"], meeting["bot_id"]
    now = datetime.datetime.now(datetime.UTC)
    early, late = (now - datetime.timedelta(seconds=s) for s in (30, 5))

    first = await _deliver(env, "msg_1", _status(bot, "in_waiting_room", early.isoformat()))
    assert first.json()["result"] == "applied"
    second = await _deliver(env, "msg_2", _status(bot, "in_call_recording", late.isoformat()))
    assert second.json()["result"] == "applied"
    # The Svix replay of msg_1 (a valid signature, seconds later): not applied again.
    replay = await _deliver(env, "msg_1", _status(bot, "in_waiting_room", early.isoformat()))
    assert replay.status_code == 200 and replay.json()["result"] == "duplicate"
    # A new id carrying an older status (late delivery), or a status that moves backwards.
    older = await _deliver(env, "msg_3", _status(bot, "recording_paused", early.isoformat()))
    assert older.json()["result"] == "stale"
    backwards = await _deliver(env, "msg_4", _status(bot, "joining_call"))
    assert backwards.json()["result"] == "stale"
    got = await _meeting(env, mid)
    assert got["status"] == "in_call" and got["bot_status"] == "in_call_recording"

    # Hostile times are refused at the edge (and not claimed, so a fixed retry can apply).
    for bad in ("0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59Z", "yesterday", 1e20):
        resp = await _deliver(env, f"msg_bad_{bad}", _status(bot, "recording_resumed", bad))
        assert resp.status_code == 422, (bad, resp.text)
    assert (await _meeting(env, mid))["bot_status"] == "in_call_recording"

    done = {"event": "bot.completed", "data": {"bot_id": bot, "event_id": "ev_done"}}
    assert (await _deliver(env, "msg_5", done)).json()["result"] == "applied"
    # After the end, nothing brings the meeting back: no status, no replay, no callback.
    revived = await _deliver(env, "msg_6", _status(bot, "in_call_recording"))
    assert revived.json()["result"] == "stale"
    assert (await _deliver(env, "msg_2", _status(bot, "in_call_recording"))).json()[
        "result"
    ] == "duplicate"
    got = await _meeting(env, mid)
    assert got["status"] == "ended"
    kinds = [e["kind"] for e in got["timeline"]]
    assert kinds.count("bot.completed") == 1 and kinds.count("webhook.received") == 6


async def test_oversized_frame_closes_1009_and_live_audio_survives(env: Env) -> None:
    meeting = await _create(env)
    mid = meeting["id"]
    bot = env.fake.bot(meeting["bot_id"])
    await bridge_in_room(env, meeting)
    listener = Listener()
    await listener.join(env, meeting["room_name"], target=f"meeting-{mid}")
    try:
        # 5 MB, "109 s of audio": refused whole, the socket closed with 1009.
        bot.send_raw("binary", b"\x00\x01" * 2_500_000)
        bridge = env.app.state.meetings.bridges[mid]
        await wait_until(lambda: bridge.stats.oversized_frames == 1, 10, "oversized frame")
        await wait_until(lambda: bot.connections == 2 and bot._connected.is_set(), 15, "redial")
        t0 = time.monotonic()
        bot.say(speech_pcm("Still here after the big frame.", 16000))
        await wait_until(lambda: listener.voiced_after(t0) >= 10, 5, "speech after redial")
        kinds = [e["kind"] for e in (await _meeting(env, mid))["timeline"]]
        assert "bridge.frame_too_large" in kinds

        # A single 2 s frame of silence, then live speech at once: the speech is heard
        # promptly (the oldest audio is what the trim drops, not the newest).
        bot.send_raw("binary", b"\x00" * (2 * 16000 * 2))
        await asyncio.sleep(0.05)
        t1 = time.monotonic()
        bot.say(tone_pcm(440, 1.5, 16000))
        await wait_until(lambda: listener.voiced_after(t1) >= 1, 5, "live speech")
        first = min(at for at, level in listener.levels if at >= t1 and level >= 300)
        assert first - t1 < 1.2, f"live speech waited {first - t1:.2f} s behind the long frame"
        assert (await _meeting(env, mid))["status"] in ("joining", "in_call")
    finally:
        await listener.close()
        await env.http.delete(f"/api/meetings/{mid}")


async def test_speaker_arrays_over_200_are_truncated_not_dropped(env: Env) -> None:
    meeting = await _create(env)
    mid = meeting["id"]
    bot = env.fake.bot(meeting["bot_id"])
    await bridge_in_room(env, meeting)
    agent, listener = StandInAgent(), Listener()
    await agent.join(env, meeting["room_name"])
    await listener.join(env, meeting["room_name"], target=f"meeting-{mid}")
    try:
        crowd = [
            {"name": f"Person {i}", "id": i, "timestamp": 1.0, "isSpeaking": i == 900}
            for i in range(1000)
        ]
        bot.send_speakers(crowd)
        await wait_until(
            lambda: f"meeting-{mid}" in agent.room.remote_participants, 15, "bridge participant"
        )
        bridge_p = agent.room.remote_participants[f"meeting-{mid}"]
        await wait_until(
            lambda: bridge_p.attributes.get("parley.speaker") == "Person 900", 10, "speaker"
        )
        await wait_until(
            lambda: any(t == "parley.speakers" for t, _ in listener.data), 10, "speakers data"
        )
        array = next(a for t, a in listener.data if t == "parley.speakers")
        assert len(array) == 200
        assert {"name": "Person 900", "id": 900, "timestamp": 1.0, "isSpeaking": True} in array
        assert env.app.state.meetings.bridges[mid].stats.malformed == 0
    finally:
        await agent.close()
        await listener.close()
        await env.http.delete(f"/api/meetings/{mid}")


async def _participant_sids(env: Env, room: str, identity: str) -> list[str]:
    async with api.LiveKitAPI(env.lk.http_url, env.lk.api_key, env.lk.api_secret) as lk:
        listed = await lk.room.list_participants(api.ListParticipantsRequest(room=room))
    return [p.sid for p in listed.participants if p.identity == identity]


async def _bridge_identities(env: Env, room: str) -> list[str]:
    async with api.LiveKitAPI(env.lk.http_url, env.lk.api_key, env.lk.api_secret) as lk:
        listed = await lk.room.list_participants(api.ListParticipantsRequest(room=room))
    return [p.identity for p in listed.participants]


async def test_evicted_bridge_is_back_within_2s_and_the_meeting_goes_on(env: Env) -> None:
    meeting = await _create(env)
    mid, room = meeting["id"], meeting["room_name"]
    bot = env.fake.bot(meeting["bot_id"])
    await bridge_in_room(env, meeting)
    identity = f"meeting-{mid}"
    bridge = env.app.state.meetings.bridges[mid]
    listener = Listener()
    await listener.join(env, room, target=identity)
    try:
        # 1. Removed through the LiveKit API.
        async with api.LiveKitAPI(env.lk.http_url, env.lk.api_key, env.lk.api_secret) as lk:
            await lk.room.remove_participant(
                api.RoomParticipantIdentity(room=room, identity=identity)
            )
        removed_at = time.monotonic()
        await wait_until(lambda: bridge.stats.rejoins == 1, 2.0, "bridge rejoined", interval=0.02)
        assert identity in await _bridge_identities(env, room)
        assert time.monotonic() - removed_at < 2.0
        # Its audio is back in the room too.
        t0 = time.monotonic()
        bot.say(speech_pcm("Back in the room.", 16000))
        await wait_until(lambda: listener.voiced_after(t0) >= 10, 10, "audio after rejoin")

        # 2. Pushed out by a participant holding its identity (LiveKit's duplicate rule).
        # (Keeping strangers from that identity is the access policy's job; here the
        # bridge must simply come back, which in turn pushes the intruder out.)
        intruder = rtc.Room()
        await intruder.connect(env.lk.ws_url, env.token(room, identity))
        try:
            await wait_until(lambda: bridge.stats.rejoins >= 2, 5.0, "rejoined after duplicate")
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(intruder.disconnect(), 10)
        # The identity in the room is the bridge's own connection again, not the intruder's.
        deadline = time.monotonic() + 10
        while True:
            live = bridge.room
            sids = await _participant_sids(env, room, identity)
            if live is not None and sids == [live.local_participant.sid]:
                break
            assert time.monotonic() < deadline, f"bridge not back as {identity}: {sids}"
            await asyncio.sleep(0.1)

        got = await _meeting(env, mid)
        assert got["status"] in ("joining", "in_call"), got["status"]
        kinds = [e["kind"] for e in got["timeline"]]
        assert kinds.count("bridge.evicted") >= 2 and "room.ended" not in kinds
        assert "meeting.ended" not in kinds
        # The bot was never told to leave the real call.
        assert not any(path.endswith("/leave") for _m, path, _s in env.fake.requests)
        assert bot.status != "completed"
    finally:
        await listener.close()
    # The meeting still ends the proper way.
    assert (await env.http.delete(f"/api/meetings/{mid}")).json()["status"] == "ended"
    await wait_until(lambda: bot.status == "completed", 10, "bot left on DELETE")
