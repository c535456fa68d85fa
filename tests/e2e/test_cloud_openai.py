"""OpenAI STT + LLM + TTS, and OpenAI Realtime (protocol fakes), through the real LiveKit
server, each configured only by a root ``.env``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from parley_common.testing.speaking_probe import SpeakingProbe, espeak_clip
from tests.e2e.cloud_stack import EnvStack, join, start_env_stack
from tests.fakes.cloud import CloudFakes
from tests.waiting import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def fakes() -> Iterator[CloudFakes]:
    fakes = CloudFakes().start()
    try:
        yield fakes
    finally:
        fakes.stop()


async def _talk(stack: EnvStack, fakes: CloudFakes, said: str, expect: str) -> SpeakingProbe:
    probe = await join(stack)
    fakes.set_transcript(said)
    await probe.say(espeak_clip(said))
    spoke_at = probe.clip_ended_at or time.monotonic()

    def texts() -> list[str]:
        return [t["text"] for t in probe.transcriptions]

    await wait_until(
        lambda: any(expect.lower() in t.lower() for t in texts()),
        45,
        lambda: f"{expect!r} on lk.transcription; got {texts()}",
    )
    await wait_until(lambda: probe.agent_voice_after(spoke_at) is not None, 30, "reply audio")
    return probe


async def test_openai_stt_llm_tts(fakes: CloudFakes, tmp_path: Path) -> None:
    stack = start_env_stack(tmp_path, fakes.env(stack="openai"))
    try:
        line = stack.startup_line
        assert "stt=openai-stt>faster-whisper (auto: OPENAI_API_KEY is set)" in line, line
        assert "tts=openai-tts>piper>espeak-ng" in line and "llm=openai" in line, line
        probe = await _talk(stack, fakes, "Can you recommend a short book?", "You said: Can you")
        try:
            assert fakes.openai.stt_requests >= 1, "no audio reached the transcription endpoint"
            assert any("You said: Can you recommend" in t for t in fakes.openai.tts_requests)
            assert any(
                "recommend" in t["text"] and "You said" not in t["text"]
                for t in probe.transcriptions
            ), "no user transcript on lk.transcription"
        finally:
            await probe.close()
    finally:
        stack.stop()


async def test_openai_realtime(fakes: CloudFakes, tmp_path: Path) -> None:
    stack = start_env_stack(tmp_path, fakes.env(stack="realtime"))
    try:
        line = stack.startup_line
        assert "llm=openai-realtime (realtime requested); replaces STT, LLM and TTS" in line, line
        probe = await _talk(stack, fakes, "What should I cook for dinner?", "You said: What should")
        try:
            assert "session.update" in fakes.realtime.client_events
            assert fakes.realtime.audio_bytes > 24000, "no microphone audio reached the fake"
            assert "Hi there." in fakes.realtime.replies  # the greeting, by response.create
            # The fake records a reply once its last audio delta is out; the probe heard the
            # first words already, so the rest may still be streaming.
            await wait_until(
                lambda: any("cook for dinner" in r for r in fakes.realtime.replies),
                15,
                "the fake's whole reply",
            )
            assert any(
                "cook" in t["text"] and "You said" not in t["text"] for t in probe.transcriptions
            ), "no user transcript on lk.transcription"
            # The Realtime socket drops: the session reconnects and answers the next turn.
            connections = fakes.realtime.connections
            fakes.run(fakes.realtime.drop_connections())
            await wait_until(lambda: fakes.realtime.connections > connections, 30, "a reconnect")
            fakes.set_transcript("Why is the sky blue?")
            await probe.say(espeak_clip("Why is the sky blue?"))
            states: list[str] = []

            def answered() -> bool:
                states.append(_agent_state(probe))
                return any(
                    "you said: why is the sky blue" in t["text"].lower()
                    for t in probe.transcriptions
                )

            await wait_until(answered, 45, "the answer after the reconnect")
            # What the browser shows: the agent's state moved on, the user was not left
            # in silence with a frozen "listening".
            assert {"thinking", "speaking"} & set(states), states
        finally:
            await probe.close()
    finally:
        stack.stop()


def _agent_state(probe: SpeakingProbe) -> str:
    for participant in probe.room.remote_participants.values():
        if state := participant.attributes.get("lk.agent.state"):
            return state
    return ""
