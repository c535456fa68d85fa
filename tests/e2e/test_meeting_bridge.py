"""A meeting end to end: fake Meeting BaaS bot ↔ backend bridge ↔ real LiveKit ↔ real worker.

The fake bot dials the bridge like their bot does, speaks espeak-ng speech addressed to the
agent, and keeps what it hears back. The agent (meeting mode, local stack) greets and
answers; a hidden listener confirms the meeting audio really reached the room.
"""

from __future__ import annotations

import asyncio
import datetime
import time
from collections.abc import Callable

import httpx
import pytest
from livekit import api

from parley_common.testing.devstack import Stack
from tests.backend.meetings.conftest import Env, Listener, rms
from tests.fakes.meeting_baas import FakeBot, FakeMeetingBaas
from tests.fakes.speech import speech_pcm
from tests.waiting import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

RATE = 16000
VOICE_RMS = 300.0


def _voiced_at(bot: FakeBot, since: float) -> float | None:
    for chunk in bot.received:
        if chunk.at >= since and rms(chunk.pcm) >= VOICE_RMS:
            return chunk.at
    return None


async def _quiet_for(bot: FakeBot, seconds: float, timeout: float) -> None:
    """Wait until the bot has heard nothing voiced for ``seconds`` (the agent stopped)."""

    def quiet() -> bool:
        now = time.monotonic()
        recent = [c for c in bot.received if c.at >= now - seconds]
        return not any(rms(c.pcm) >= VOICE_RMS for c in recent)

    await wait_until(quiet, timeout, f"{seconds} s of quiet from the agent")


async def test_meeting_bot_talks_with_the_agent(
    stack_factory: Callable[..., Stack],
) -> None:
    fake = await FakeMeetingBaas(join_step_s=0.2, callback_retry_delays=(0.5, 1.0)).start()
    try:
        stack = await asyncio.to_thread(
            stack_factory,
            {"MEETING_BAAS_API_KEY": fake.api_key, "MEETING_BAAS_BASE_URL": fake.base_url},
        )
        async with httpx.AsyncClient(base_url=stack.backend.url, timeout=30) as http:
            await _run_meeting(stack, fake, http)
    finally:
        await fake.stop()


async def _run_meeting(stack: Stack, fake: FakeMeetingBaas, http: httpx.AsyncClient) -> None:
    resp = await http.post(
        "/api/meetings", json={"meeting_url": "https://zoom.us/j/1234567890", "bot_name": "Parley"}
    )
    assert resp.status_code == 201, resp.text
    meeting = resp.json()
    mid = meeting["id"]
    bot = fake.bot(meeting["bot_id"])
    assert bot.body["streaming_config"]["input_url"].startswith(
        stack.backend.url.replace("http://", "ws://") + f"/ws/meetings/{mid}/"
    )
    await bot.wait_connected(timeout=30)

    env = Env(stack.backend.url, None, fake, stack.livekit, http)  # type: ignore[arg-type]
    listener = Listener()
    await listener.join(env, meeting["room_name"], target=f"meeting-{mid}")
    try:
        # Room → bot: the agent's greeting arrives as voiced PCM at the bot's own rate.
        joined = time.monotonic()
        await wait_until(lambda: _voiced_at(bot, joined) is not None, 120, "agent greeting")
        await _quiet_for(bot, 1.5, timeout=60)
        heard = [c for c in bot.received if c.at >= joined]
        span = heard[-1].at - heard[0].at
        samples = sum(len(c.pcm) for c in heard[1:]) // 2
        assert samples / span < 1.3 * RATE, "agent audio sent faster than real time"
        assert all(len(c.pcm) % 2 == 0 for c in heard)

        # Bot → room: a question addressed to the agent, in 100 ms and odd-sized chunks.
        bot.chunk_ms = [100.0, 37.3, 61.7]
        asked = time.monotonic()
        bot.send_speakers([{"name": "Ada", "id": 1, "timestamp": 1.0, "isSpeaking": True}])
        bot.say(speech_pcm("Parley, what is the capital of France?", RATE))
        await bot.wait_spoken(timeout=30)
        bot.send_speakers([{"name": "Ada", "id": 1, "timestamp": 4.0, "isSpeaking": False}])
        spoken = time.monotonic()
        assert listener.voiced_after(asked) >= 20, "the meeting audio never reached the room"

        # The agent answers: voiced PCM back at the bot within a bounded time.
        await wait_until(lambda: _voiced_at(bot, spoken) is not None, 120, "the agent's answer")
        answer_latency = _voiced_at(bot, spoken) - spoken  # type: ignore[operator]
        print(f"answer heard by the bot {answer_latency:.1f} s after the question ended")

        # Garbage frames leave the bridge running.
        bot.send_raw("binary", b"\x00\x01\x02")
        bot.send_raw("text", "{not json")
        bot.send_raw("text", '{"kind": "mystery"}')
        await asyncio.sleep(0.5)
        after = time.monotonic()
        bot.say(speech_pcm("Thank you.", RATE))
        await wait_until(lambda: listener.voiced_after(after) >= 10, 30, "audio after garbage")
        assert bot.connections == 1

        # What the bridge saw: the agent's words and the meeting's, with the speaker's name.
        # (Stored as the transcription streams close: the agent's when its answer has been
        # spoken to the end, which on a loaded machine is seconds after it began.)
        seen: list[dict] = []

        async def both_roles() -> bool:
            seen[:] = [(await http.get(f"/api/meetings/{mid}/transcript")).json()]
            return {"agent", "user"} <= {t["role"] for t in seen[0]["turns"]}

        await wait_until(both_roles, 60, lambda: f"the meeting's and the agent's turns: {seen}")
        transcript = seen[0]
        print("transcript:", transcript)
        assert any(t["speaker"] == "Ada" for t in transcript["turns"] if t["role"] == "user")

        # DELETE: the bot leaves, its completion callback lands, the room is closed.
        resp = await http.delete(f"/api/meetings/{mid}")
        assert resp.status_code == 200 and resp.json()["status"] == "ended"
        await wait_until(lambda: bot.status == "completed", 15, "the bot to leave")
        await wait_until(lambda: ("bot.completed", 200) in bot.callbacks_sent, 15, "callback")
        async with api.LiveKitAPI(
            stack.livekit.http_url, stack.livekit.api_key, stack.livekit.api_secret
        ) as lk:
            rooms = await lk.room.list_rooms(api.ListRoomsRequest())
        assert meeting["room_name"] not in [r.name for r in rooms.rooms]
        timeline = (await http.get(f"/api/meetings/{mid}")).json()["timeline"]
        kinds = [e["kind"] for e in timeline]
        assert "bridge.connected" in kinds and "bot.completed" in kinds
        print(f"meeting {mid} done at {datetime.datetime.now(datetime.UTC).isoformat()}")
    finally:
        await listener.close()
