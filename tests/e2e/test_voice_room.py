"""A spoken turn through the real LiveKit server: speech in, transcripts and voice out.

The worker runs the real local stack (Silero, end-of-turn model, faster-whisper, Piper);
only the LLM is the deterministic OpenAI-compatible stub (a fake of a paid service), so
the reply can be checked word for word.
"""

from __future__ import annotations

import time

import pytest

from parley_common.testing.openai_stub import OpenAIStub, StubDelays
from parley_common.testing.room_probe import fetch_token
from parley_common.testing.speaking_probe import SpeakingProbe, espeak_clip
from tests.waiting import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]


async def test_spoken_turn_gives_transcripts_and_voice(stack_factory) -> None:
    stub = OpenAIStub(StubDelays(ttft_s=0.05)).start()
    try:
        stack = stack_factory(
            {
                **stub.local_stack_env(),
                # The operator opens the greeting to public callers (docs/security.md).
                "PARLEY_PUBLIC_AGENT_FIELDS": "preset,language,greeting",
            }
        )
        # Per-room config travels in the dispatch metadata: a greeting of this room's own.
        token = fetch_token(
            stack.backend.url,
            {"participant_name": "Speaker", "agent_config": {"greeting": "Ahoy, voice test."}},
        )
        probe = SpeakingProbe()
        await probe.connect(token["server_url"], token["participant_token"])
        try:
            await probe.wait_for_agent_voice(timeout=90)
            greeted = lambda: any("Ahoy, voice test." in t["text"] for t in probe.transcriptions)  # noqa: E731
            await wait_until(greeted, 30, "the room's greeting on lk.transcription")
            # Let the greeting finish before speaking.
            await wait_until(
                lambda: probe.agent_silent_after(time.monotonic() - 1.0, hold_s=0.8),
                60,
                "the greeting to end",
            )
            await probe.say(espeak_clip("What is the weather like in Paris today?"))
            spoke_at = probe.clip_ended_at
            assert spoke_at is not None

            def texts() -> list[str]:
                return [t["text"] for t in probe.transcriptions]

            await wait_until(
                lambda: any("paris" in t.lower() and "you said" not in t.lower() for t in texts()),
                60,
                "the user transcript",
            )
            await wait_until(
                lambda: any("you said" in t.lower() for t in texts()), 60, "the reply text"
            )
            reply = next(t for t in texts() if "you said" in t.lower())
            assert "paris" in reply.lower()  # the LLM answered what the user actually said
            await wait_until(
                lambda: probe.agent_voice_after(spoke_at) is not None, 60, "reply audio"
            )
            assert stub.state.chat_requests, "the worker never called the configured LLM URL"
        finally:
            await probe.close()
        # The user left: the session closes and the job ends (no agent idling in the room).
        await wait_until(
            lambda: "PARTICIPANT_DISCONNECTED" in stack.worker.process.output(),
            30,
            "the session to close after the user left",
        )
    finally:
        stub.stop()
