"""The meeting copilot end to end: fake Meeting BaaS bot ↔ backend bridge ↔ real LiveKit ↔
real worker (meeting mode, local models).

A console question (``POST /api/meetings/{id}/ask``) reaches the agent over LiveKit RPC and
is put to the meeting aloud: the bot hears it (checked by transcribing what the bot
received), and only after the participant who was talking has finished. When the meeting
ends, the agent's summary, with the speaker named by the bridge, is in the backend.
"""

from __future__ import annotations

import asyncio
import time
import wave
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np
import pytest

from parley_agent.providers.factory import whisper_model
from parley_agent.settings import AgentSettings
from parley_common.testing.devstack import Stack
from tests.backend.meetings.conftest import rms
from tests.fakes.meeting_baas import FakeBot, FakeMeetingBaas
from tests.fakes.speech import speech_pcm
from tests.waiting import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

VOICE_RMS = 300.0
AGENT_TOKEN = "copilot-e2e-agent-token"
QUESTION = "Is the product launch still planned for March?"
TALK = (
    "We agreed to move the product launch to March. The design review is done, and the "
    "marketing plan will follow next week once the budget is final."
)


def _voiced_at(bot: FakeBot, since: float) -> float | None:
    for chunk in bot.received:
        if chunk.at >= since and rms(chunk.pcm) >= VOICE_RMS:
            return chunk.at
    return None


async def _quiet_for(bot: FakeBot, seconds: float, timeout: float) -> None:
    def quiet() -> bool:
        now = time.monotonic()
        return not any(rms(c.pcm) >= VOICE_RMS for c in bot.received if c.at >= now - seconds)

    await wait_until(quiet, timeout, f"{seconds} s of quiet from the agent")


ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def _save_wav(path: Path, pcm: bytes, rate: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm)


def _transcribe(pcm: bytes, rate: int) -> str:
    import soxr

    model, _ = whisper_model(AgentSettings(_env_file=None))
    samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2").astype(np.float32) / 32768
    if rate != 16000:
        samples = soxr.resample(samples, rate, 16000)
    # The recording is mostly silence before the question: undecoded, Whisper hallucinated
    # on it (" I  You" once, for audio that reads back exactly). Its own VAD skips it.
    segments, _info = model.transcribe(samples, language="en", beam_size=1, vad_filter=True)
    return " ".join(s.text for s in segments)


async def test_console_question_is_heard_by_the_bot(stack_factory: Callable[..., Stack]) -> None:
    fake = await FakeMeetingBaas(join_step_s=0.2, callback_retry_delays=(0.5, 1.0)).start()
    try:
        stack = await asyncio.to_thread(
            stack_factory,
            {
                "MEETING_BAAS_API_KEY": fake.api_key,
                "MEETING_BAAS_BASE_URL": fake.base_url,
                "PARLEY_AGENT_TOKEN": AGENT_TOKEN,
            },
        )
        async with httpx.AsyncClient(base_url=stack.backend.url, timeout=30) as http:
            await _run(fake, http)
    finally:
        await fake.stop()


async def _run(fake: FakeMeetingBaas, http: httpx.AsyncClient) -> None:
    resp = await http.post(
        "/api/meetings", json={"meeting_url": "https://zoom.us/j/1234567890", "bot_name": "Parley"}
    )
    assert resp.status_code == 201, resp.text
    meeting = resp.json()
    mid, room = meeting["id"], meeting["room_name"]
    bot = fake.bot(meeting["bot_id"])
    await bot.wait_connected(timeout=30)

    joined = time.monotonic()
    await wait_until(lambda: _voiced_at(bot, joined) is not None, 120, "the agent's greeting")
    await _quiet_for(bot, 1.5, timeout=60)

    # Ada talks; the console asks meanwhile. The agent must wait for her to finish.
    bot.send_speakers([{"name": "Ada Lovelace", "id": 1, "timestamp": 1.0, "isSpeaking": True}])
    bot.say(speech_pcm(TALK, bot.sample_rate))
    await asyncio.sleep(2.0)
    asked = time.monotonic()
    resp = await http.post(f"/api/meetings/{mid}/ask", json={"question": QUESTION})
    assert resp.status_code == 200, resp.text
    assert resp.json().get("ok") is True, resp.text
    await bot.wait_spoken(timeout=60)
    talk_ended = time.monotonic()
    bot.send_speakers([{"name": "Ada Lovelace", "id": 1, "timestamp": 9.0, "isSpeaking": False}])

    await wait_until(lambda: _voiced_at(bot, asked) is not None, 90, "the question, aloud")
    first = _voiced_at(bot, asked)
    assert first is not None
    assert first >= talk_ended - 0.25, (
        f"the agent talked over Ada ({talk_ended - first:.1f} s before she finished)"
    )
    # Generous: on a loaded machine the TTS may pause between sentences.
    await _quiet_for(bot, 4.0, timeout=90)
    received = bot.received_pcm(since=asked)
    _save_wav(ARTIFACTS / "copilot-ask-heard-by-bot.wav", received, bot.sample_rate)
    voiced = [
        (round(c.at - asked, 2), round(rms(c.pcm)))
        for c in bot.received
        if c.at >= asked and rms(c.pcm) >= VOICE_RMS
    ]
    print(f"voiced chunks after the ask: {len(voiced)}; first/last {voiced[:1]} {voiced[-1:]}")
    heard = await asyncio.to_thread(_transcribe, received, bot.sample_rate)
    print(f"the bot heard: {heard!r} ({first - talk_ended:.1f} s after the talk ended)")
    words = heard.lower()
    assert "question" in words and "launch" in words and "march" in words, heard

    # End of meeting: the summary names Ada (the bridge's speaker info reached the agent).
    resp = await http.delete(f"/api/meetings/{mid}")
    assert resp.status_code == 200, resp.text
    auth = {"Authorization": f"Bearer {AGENT_TOKEN}"}
    summaries: list[dict] = []

    async def summary_posted() -> bool:
        nonlocal summaries
        ctx = await http.get("/api/agent/context", params={"room_name": room}, headers=auth)
        summaries = [s for s in ctx.json().get("summaries", []) if "Ada Lovelace" in s["text"]]
        return bool(summaries)

    deadline = time.monotonic() + 60
    while not await summary_posted():
        assert time.monotonic() < deadline, "no meeting summary naming Ada reached the backend"
        await asyncio.sleep(0.5)
    print("summary:", summaries[0]["text"])
