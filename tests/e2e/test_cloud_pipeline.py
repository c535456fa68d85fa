"""Deepgram + OpenAI + Cartesia (protocol fakes) through the real LiveKit server, configured
only by a root ``.env``: a spoken turn, a tool call, and each provider failing.

One stack for the module (start-up costs ~20 s here); each test uses a room of its own.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from parley_agent.error_policy import APOLOGY
from parley_common.testing.speaking_probe import SpeakingProbe, espeak_clip
from tests.e2e.cloud_stack import EnvStack, join, start_env_stack
from tests.fakes.cloud import CloudFakes, weather_rule
from tests.fakes.open_meteo import FakeOpenMeteo
from tests.waiting import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def fakes() -> Iterator[CloudFakes]:
    fakes = CloudFakes().start()
    meteo = FakeOpenMeteo()
    fakes.run(meteo.start())
    fakes.meteo = meteo  # type: ignore[attr-defined]
    try:
        yield fakes
    finally:
        fakes.run(meteo.stop())
        fakes.stop()


@pytest.fixture(scope="module")
def stack(fakes: CloudFakes, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EnvStack]:
    meteo_url = fakes.meteo.url  # type: ignore[attr-defined]
    stack = start_env_stack(
        tmp_path_factory.mktemp("cloud"),
        {
            **fakes.env(),
            "PARLEY_OPEN_METEO_GEOCODING_URL": meteo_url,
            "PARLEY_OPEN_METEO_FORECAST_URL": meteo_url,
        },
    )
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture(autouse=True)
def _reset(fakes: CloudFakes) -> None:
    fakes.deepgram.refuse_status = None
    fakes.cartesia.fail_status = None
    fakes.cartesia.close_after_chunks = None
    fakes.openai.fail_llm = False
    fakes.openai.tool_rules = []
    fakes.deepgram.detected_language = "en"


def _texts(probe: SpeakingProbe) -> list[str]:
    return [t["text"] for t in probe.transcriptions]


async def _turn(probe: SpeakingProbe, fakes: CloudFakes, said: str, expect: str) -> float:
    """Speak, wait for ``expect`` in the agent's transcript and its voice; returns clip end."""
    fakes.set_transcript(said)
    await probe.say(espeak_clip(said))
    spoke_at = probe.clip_ended_at or time.monotonic()
    await wait_until(
        lambda: any(expect.lower() in t.lower() for t in _texts(probe)),
        45,
        lambda: f"{expect!r} on lk.transcription; got {_texts(probe)}",
    )
    await wait_until(lambda: probe.agent_voice_after(spoke_at) is not None, 30, "reply audio")
    return spoke_at


def test_startup_line_names_the_cloud_providers_from_the_root_env(stack: EnvStack) -> None:
    line = stack.startup_line
    assert "stt=deepgram>faster-whisper (auto: DEEPGRAM_API_KEY is set)" in line, line
    assert "llm=openai (auto: OPENAI_API_KEY is set)" in line, line
    assert "tts=cartesia>piper>espeak-ng (auto: CARTESIA_API_KEY is set)" in line, line
    assert f"config from {stack.root / '.env'}" in line, line


async def test_spoken_turn(stack: EnvStack, fakes: CloudFakes) -> None:
    probe = await join(stack)
    try:
        await _turn(probe, fakes, "What time does the museum open?", "You said: What time")
        assert any("museum" in t.lower() and "you said" not in t.lower() for t in _texts(probe))
        dg = fakes.deepgram.sessions[-1]
        assert dg.params["model"] == "nova-3" and dg.params["encoding"] == "linear16"
        assert dg.params["language"] == "en" and dg.audio_bytes > 16000  # > 0.5 s heard
        assert "What time does the museum open?" in dg.finals
        assert any("You said: What time does the museum open" in s for s in fakes.cartesia.spoken)
        assert any(
            m.get("role") == "user" and "museum" in str(m.get("content"))
            for r in fakes.openai.chat_requests
            for m in r["messages"]
        )
    finally:
        await probe.close()


def _tool_messages(request: dict) -> list[dict]:
    return [m for m in request["messages"] if m.get("role") == "tool"]


async def test_tool_call_comes_back_spoken_and_survives_a_barge_in(
    stack: EnvStack, fakes: CloudFakes
) -> None:
    fakes.openai.tool_rules = [weather_rule("Berlin")]
    meteo = fakes.meteo  # type: ignore[attr-defined]
    probe = await join(stack, {"tools": ["weather"]})
    try:
        # 1. The fake LLM asks for `weather`, the Open-Meteo fake answers, the answer is spoken.
        await _turn(probe, fakes, "What is the weather in Berlin?", "Here is what I found")
        answer = next(t for t in _texts(probe) if "here is what i found" in t.lower())
        assert "4.3" in answer or "4 degrees" in answer, answer  # Berlin's 4.3 °C, the fake's
        assert any("Here is what I found" in s for s in fakes.cartesia.spoken)

        # 2. Again, but the user barges in while the model works on the tool's result.
        fakes.openai.tool_result_delay_s = 2.0
        forecasts = len([r for r in meteo.requests if r[0] == "forecast"])
        fakes.set_transcript("What is the weather in Berlin now?")
        await probe.say(espeak_clip("What is the weather in Berlin now?"))
        await wait_until(
            lambda: len(_tool_messages(fakes.openai.chat_requests[-1])) == 2,
            45,
            "the second tool result to reach the LLM",
        )
        fakes.openai.tool_result_delay_s = 0.0
        await _turn(probe, fakes, "Sorry, go on.", "You said: Sorry, go on")
        assert len([r for r in meteo.requests if r[0] == "forecast"]) == forecasts + 1
        # The request after the barge-in still holds each tool result exactly once.
        results = [m["content"] for m in _tool_messages(fakes.openai.chat_requests[-1])]
        assert len(results) == 2, f"tool results lost or duplicated: {results}"
        calls = [
            c["id"]
            for m in fakes.openai.chat_requests[-1]["messages"]
            for c in m.get("tool_calls") or []
        ]
        assert len(calls) == len(set(calls)) == 2, calls
    finally:
        fakes.openai.tool_result_delay_s = 0.0
        await probe.close()


async def test_deepgram_dies_whisper_takes_the_next_turn(
    stack: EnvStack, fakes: CloudFakes
) -> None:
    probe = await join(stack)
    try:
        fakes.deepgram.refuse_status = 503
        fakes.run(fakes.deepgram.drop_connections())
        # Whisper hears the real audio: the transcript is its own, not the fake's.
        fakes.deepgram.set_transcript("deepgram should not be heard")
        fakes.openai.transcript = ""
        await probe.say(espeak_clip("Tell me a fun fact about the ocean."))
        await wait_until(
            lambda: any("ocean" in t.lower() and "you said" in t.lower() for t in _texts(probe)),
            60,
            lambda: f"a reply to Whisper's transcript; got {_texts(probe)}",
        )
        assert not any("deepgram should not" in t for t in _texts(probe))
    finally:
        await probe.close()


async def test_cartesia_500_piper_speaks(stack: EnvStack, fakes: CloudFakes) -> None:
    probe = await join(stack)
    try:
        fakes.cartesia.fail_status = 500
        fakes.run(fakes.cartesia.drop_connections())  # the plugin pools its socket
        spoken_before = len(fakes.cartesia.spoken)
        await _turn(probe, fakes, "Why is the sky blue?", "You said: Why is the sky blue")
        assert len(fakes.cartesia.spoken) == spoken_before, "Cartesia spoke although failing"
    finally:
        await probe.close()


async def test_llm_429_gives_the_fixed_apology(stack: EnvStack, fakes: CloudFakes) -> None:
    probe = await join(stack)
    try:
        fakes.openai.fail_llm = True
        fakes.openai.fail_status = 429
        fakes.set_transcript("How far away is the moon?")
        await probe.say(espeak_clip("How far away is the moon?"))
        await wait_until(
            lambda: any(APOLOGY in t for t in _texts(probe)),
            60,
            lambda: f"the apology; got {_texts(probe)}",
        )
        assert not any("you said" in t.lower() for t in _texts(probe))
    finally:
        fakes.openai.fail_status = 500
        await probe.close()


async def test_multi_reaches_deepgram_and_french_is_answered_in_french(
    stack: EnvStack, fakes: CloudFakes
) -> None:
    fakes.deepgram.detected_language = "fr"
    probe = await join(stack, {"language": "multi"})
    try:
        await _turn(probe, fakes, "Quelle heure est-il ?", "Vous avez dit")
        assert fakes.deepgram.sessions[-1].params["language"] == "multi"
    finally:
        await probe.close()
