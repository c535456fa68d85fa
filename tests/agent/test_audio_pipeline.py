"""Audio without a room: espeak-ng speech → real Silero → real faster-whisper → fake LLM →
real Piper TTS, through the real AgentSession turn machinery (end-of-turn model included)."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest
from livekit.agents import AgentSession, APIConnectOptions, llm
from livekit.agents.voice.agent_session import SessionConnectOptions

from parley_agent.conversation import ConversationAgent
from parley_agent.providers.factory import piper_voice, whisper_model
from parley_agent.providers.piper_tts import PiperTTS
from parley_agent.providers.whisper_stt import WhisperSTT
from parley_agent.settings import AgentSettings
from parley_agent.turns import load_vad, session_turn_options
from parley_common.agent_config import AgentConfig
from tests.agent.audio_harness import ScriptedMicrophone, VirtualSpeaker, espeak_pcm
from tests.fakes.scripted_llm import ScriptedLLM

pytestmark = pytest.mark.slow

LONG_GREETING = (
    "Hello and welcome. I am going to tell you a rather long story about the sea, the "
    "wind, and the boats that sail on it every single day of the year, so please bear "
    "with me while I go on for a good while longer than usual about all of it."
)


@pytest.fixture(scope="module")
def settings() -> AgentSettings:
    return AgentSettings(_env_file=None)


@pytest.fixture(scope="module")
def models(settings: AgentSettings):
    whisper, whisper_src = whisper_model(settings)
    piper, piper_src = piper_voice(settings)
    return {"whisper": (whisper, whisper_src), "piper": (piper, piper_src), "vad": load_vad()}


def _echo(ctx: llm.ChatContext) -> str:
    users = [i for i in ctx.items if i.type == "message" and i.role == "user"]
    return f"You asked about {users[-1].text_content if users else 'nothing'}. Here is my answer."


async def _wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def _voiced_for(rig: Rig) -> float:
    voiced = rig.speaker.voiced_after(0)
    return voiced[-1].at - voiced[0].at if voiced else 0.0


class Rig:
    def __init__(self, session: AgentSession, mic: ScriptedMicrophone, speaker: VirtualSpeaker):
        self.session, self.mic, self.speaker = session, mic, speaker
        self.finals: list[str] = []
        self.states: list[tuple[float, str]] = []
        self.false_interruptions: list[bool] = []
        self.items: list[llm.ChatMessage] = []
        self.user_states: list = []
        session.on(
            "user_state_changed",
            lambda ev: self.user_states.append((time.monotonic(), ev.new_state)),
        )
        session.on(
            "user_input_transcribed", lambda ev: ev.is_final and self.finals.append(ev.transcript)
        )
        session.on(
            "agent_state_changed", lambda ev: self.states.append((time.monotonic(), ev.new_state))
        )
        session.on(
            "agent_false_interruption", lambda ev: self.false_interruptions.append(ev.resumed)
        )
        session.on(
            "conversation_item_added",
            lambda ev: ev.item.type == "message" and self.items.append(ev.item),
        )


async def _start(models, settings: AgentSettings, fake: ScriptedLLM, config: AgentConfig) -> Rig:
    whisper, src = models["whisper"]
    piper, psrc = models["piper"]
    session = AgentSession(
        stt=WhisperSTT(whisper, model_name=src.describe(), language="en"),
        llm=fake,
        tts=PiperTTS(piper, voice_name=psrc.describe()),
        vad=models["vad"],
        **session_turn_options(settings),
        conn_options=SessionConnectOptions(llm_conn_options=APIConnectOptions(max_retry=0)),
    )
    mic, speaker = ScriptedMicrophone(), VirtualSpeaker()
    session.input.audio = mic
    session.output.audio = speaker
    rig = Rig(session, mic, speaker)
    await session.start(ConversationAgent(config))
    return rig


async def _close(rig: Rig) -> None:
    await rig.session.aclose()
    await rig.speaker.aclose()


async def test_spoken_question_is_transcribed_and_answered_aloud(models, settings) -> None:
    fake = ScriptedLLM([_echo])
    rig = await _start(models, settings, fake, AgentConfig(greeting="Hi there."))
    try:
        await _wait_for(lambda: rig.speaker.voiced_after(0), 30, "the greeting audio")
        await _wait_for(lambda: rig.session.agent_state == "listening", 30, "greeting to finish")
        rig.mic.play(espeak_pcm("What is the weather like in Paris today?"))
        await _wait_for(lambda: not rig.mic.busy, 15, "the utterance to be played")
        spoke_at = rig.mic.clip_ended_at
        assert spoke_at is not None
        await _wait_for(lambda: rig.finals, 30, "a final transcript")
        heard = " ".join(rig.finals).lower()
        assert "weather" in heard and "paris" in heard, heard
        await _wait_for(lambda: rig.speaker.voiced_after(spoke_at), 30, "the agent's spoken reply")
        # The LLM got the transcript as the user's message, and the reply was synthesised.
        user_msgs = [i for i in fake.calls[-1].items if i.type == "message" and i.role == "user"]
        assert "paris" in (user_msgs[-1].text_content or "").lower()
        await _wait_for(
            lambda: any(
                i.role == "assistant" and "You asked about" in (i.text_content or "")
                for i in rig.items
            ),
            30,
            "the reply in the chat context",
        )
        reply = next(
            i for i in rig.items if i.role == "assistant" and "You asked" in (i.text_content or "")
        )
        assert reply.metrics.get("e2e_latency") is not None
    finally:
        await _close(rig)


async def test_user_speech_stops_the_agent(models, settings) -> None:
    fake = ScriptedLLM(["Okay, I stopped."])
    rig = await _start(models, settings, fake, AgentConfig(greeting=LONG_GREETING))
    try:
        # Past the echo-cancellation warm-up, during which the framework ignores user audio.
        await _wait_for(lambda: _voiced_for(rig) > 1.5, 30, "1.5 s of greeting audio")
        started = rig.mic.play(espeak_pcm("Stop, stop. Wait a moment please."))
        await _wait_for(lambda: not rig.mic.busy, 15, "the barge-in utterance")
        await asyncio.sleep(0.5)
        # The greeting's audio stopped while the user was still talking...
        after = [h.at for h in rig.speaker.voiced_after(started) if h.at < started + 3.0]
        greeting_voiced_until = max(after) if after else started
        assert greeting_voiced_until - started < 1.5, greeting_voiced_until - started
        # ...and the turn was handed to the user: the greeting is recorded as interrupted.
        await _wait_for(
            lambda: any(i.role == "assistant" and i.interrupted for i in rig.items),
            30,
            "the interrupted greeting",
        )
        greeting = next(i for i in rig.items if i.role == "assistant")
        assert greeting.interrupted
    finally:
        await _close(rig)


def _cough() -> np.ndarray:
    """A throat-clearing "ahem" (~0.5 s): Silero hears a voice, Whisper hears no words."""
    return espeak_pcm("ahem")


async def test_cough_does_not_stop_the_agent_for_good(models, settings) -> None:
    fake = ScriptedLLM(["This reply should never be needed."])
    rig = await _start(models, settings, fake, AgentConfig(greeting=LONG_GREETING))
    try:
        # Past the echo-cancellation warm-up, during which the framework ignores user audio.
        await _wait_for(lambda: _voiced_for(rig) > 1.5, 30, "1.5 s of greeting audio")
        coughed = rig.mic.play(_cough())
        await _wait_for(lambda: not rig.mic.busy, 10, "the cough")
        # The agent keeps (or resumes) talking after the noise: audio well after the cough.
        await _wait_for(
            lambda: rig.speaker.voiced_after(coughed + 2.5), 20, "speech after the cough"
        )
        greeting_done = lambda: any(i.role == "assistant" for i in rig.items)  # noqa: E731
        await _wait_for(greeting_done, 60, "the greeting to finish")
        greeting = next(i for i in rig.items if i.role == "assistant")
        assert not greeting.interrupted
        assert not fake.calls, "a cough must not start a user turn"
        # The noise did pause the agent (it sounded like a voice), and it resumed.
        assert rig.speaker.pauses >= 1
        assert rig.false_interruptions and rig.false_interruptions[-1] is True
    finally:
        await _close(rig)
