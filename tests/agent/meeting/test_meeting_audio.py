"""Meeting mode with real speech: espeak-ng voices → Silero VAD → faster-whisper (tiny.en)
→ MeetingAgent → eSpeak TTS. The STT is built as the worker builds it in meeting mode (the
name as a hotword, and a second look at the start of a request that came back without the
name); the name is spotted in whatever it wrote for "Parley"."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
from livekit.agents import AgentSession, APIConnectOptions, llm
from livekit.agents.voice.agent_session import SessionConnectOptions

from parley_agent.meeting.agent import MeetingAgent
from parley_agent.providers.espeak_tts import EspeakTTS
from parley_agent.providers.factory import _build_stt
from parley_agent.providers.selection import WHISPER
from parley_agent.settings import AgentSettings
from parley_agent.turns import load_vad, turn_handling
from parley_common.agent_config import AgentConfig
from tests.agent.audio_harness import ScriptedMicrophone, VirtualSpeaker, espeak_pcm
from tests.fakes.rule_llm import Reply, RuleLLM
from tests.waiting import wait_until

pytestmark = pytest.mark.slow
logger = logging.getLogger("tests.meeting_audio")


def _grounded(chat_ctx: llm.ChatContext) -> Reply | None:
    for item in reversed(chat_ctx.items):
        if item.type == "message" and item.role == "system":
            text = item.text_content or ""
            if text.startswith("Answer the question using only these lines"):
                return Reply(text="Ben said we agreed to launch in March.")
    return None


async def test_agent_answers_only_when_addressed_by_spoken_name() -> None:
    settings = AgentSettings(_env_file=None)
    config = AgentConfig(mode="meeting", greeting="Hi all.", language="en")
    fake = RuleLLM([_grounded], default="I am not sure.")
    session = AgentSession(
        stt=_build_stt(WHISPER, settings, config),
        llm=fake,
        tts=EspeakTTS(voice="en-us"),
        vad=load_vad(),
        turn_handling=turn_handling(settings),
        conn_options=SessionConnectOptions(llm_conn_options=APIConnectOptions(max_retry=0)),
    )
    mic, speaker = ScriptedMicrophone(), VirtualSpeaker()
    session.input.audio, session.output.audio = mic, speaker
    finals: list[str] = []
    session.on("user_input_transcribed", lambda ev: ev.is_final and finals.append(ev.transcript))
    agent = MeetingAgent(config)
    await session.start(agent)
    try:
        await wait_until(lambda: speaker.voiced_after(0), 60, "the greeting")
        await wait_until(lambda: session.agent_state == "listening", 60, "the greeting to end")

        # People talking to each other: transcribed under their names, no reply.
        for name, line in [
            ("Ben Carter", "After the review we agreed to launch in March."),
            ("Ana Souza", "Good, then the budget stays as it is."),
        ]:
            agent.copilot.speakers.update(name, True)
            before = len(agent.transcript.evidence())
            mic.play(espeak_pcm(line))
            await wait_until(
                lambda b=before: len(agent.transcript.evidence()) > b, 90, "transcript"
            )
        said_at = time.monotonic()
        await asyncio.sleep(3.0)
        assert not speaker.voiced_after(said_at), "the agent spoke without being addressed"
        assert fake.requests == []
        speakers = [s.speaker for s in agent.transcript.evidence()]
        assert speakers[:2] == ["Ben Carter", "Ana Souza"], agent.transcript.render()

        # Addressed by name: Whisper's spelling of "Parley" is recognised; it answers aloud.
        agent.copilot.speakers.update("Chloe Diaz", True)
        mic.play(espeak_pcm("Parley, what was decided?"))
        await wait_until(lambda: not mic.busy, 15, "the question to be played")
        asked_at = mic.clip_ended_at or time.monotonic()
        await wait_until(
            lambda: speaker.voiced_after(asked_at),
            120,
            lambda: (
                f"the agent's answer (heard {finals!r}; transcript {agent.transcript.render()!r})"
            ),
        )
        heard = finals[-1]
        logger.info("whisper heard the question as %r", heard)
        asked = [s for s in agent.transcript.segments if s.to_agent]
        assert asked and asked[-1].speaker == "Chloe Diaz", agent.transcript.render()
        assert len(fake.requests) == 1
        grounding = _grounded(fake.requests[0])
        assert grounding is not None, "the decision was not retrieved for the model"

        # A console question while someone talks is put to the meeting once they stop.
        await wait_until(lambda: session.agent_state == "listening", 60, "the answer to end")
        agent.copilot.speakers.update("Ana Souza", True)
        mic.play(espeak_pcm("The budget review is on Thursday and the venue is booked already."))
        await asyncio.sleep(1.5)
        assert agent.runtime.asks is not None
        agent.runtime.asks.submit("Is the venue big enough?")
        await wait_until(lambda: not mic.busy, 15, "Ana to finish")
        talk_ended = mic.clip_ended_at or time.monotonic()
        await wait_until(
            lambda: speaker.voiced_after(talk_ended - 1.0),
            90,
            lambda: f"the console question (states {session.agent_state}/{session.user_state})",
        )
        first = speaker.voiced_after(talk_ended - 1.0)[0].at
        assert first >= talk_ended, f"spoke {talk_ended - first:.2f} s before Ana finished"
        asked = [s for s in agent.transcript.segments if s.role == "console"]
        assert [s.text for s in asked] == ["Is the venue big enough?"]
    finally:
        await session.aclose()
        await speaker.aclose()
