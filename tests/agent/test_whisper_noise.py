"""A throat noise never becomes words, however the VAD happens to cut it; a word still does.

Runs the real tiny.en model through WhisperSTT.recognize, the path the session uses.
"""

from __future__ import annotations

import numpy as np
import pytest
from livekit import rtc

from parley_agent.providers.factory import whisper_model
from parley_agent.providers.whisper_stt import WHISPER_RATE, WhisperSTT
from parley_agent.settings import AgentSettings
from tests.agent.audio_harness import espeak_pcm


@pytest.fixture(scope="module")
def stt() -> WhisperSTT:
    model, src = whisper_model(AgentSettings(_env_file=None))
    return WhisperSTT(model, model_name=src.describe(), language="en")


def _frame(pcm: np.ndarray) -> rtc.AudioFrame:
    return rtc.AudioFrame(pcm.tobytes(), WHISPER_RATE, 1, pcm.size)


async def _heard(stt: WhisperSTT, pcm: np.ndarray) -> str:
    event = await stt.recognize(_frame(pcm))
    return event.alternatives[0].text


async def test_a_cough_is_silent_on_every_cut(stt: WhisperSTT) -> None:
    cough = espeak_pcm("ahem", rate=WHISPER_RATE)
    rng = np.random.default_rng(7)
    heard = []
    for _ in range(10):
        # The VAD's lead-in and tail vary with frame timing; noise floor like a real mic.
        lead = int(rng.uniform(0.0, 0.6) * WHISPER_RATE)
        tail = int(rng.uniform(0.0, 0.4) * WHISPER_RATE)
        floor = (rng.standard_normal(lead + cough.size + tail) * 20).astype(np.int16)
        clip = floor.copy()
        clip[lead : lead + cough.size] += cough
        heard.append(await _heard(stt, clip))
    assert heard == [""] * len(heard), heard


async def test_a_short_word_is_still_heard(stt: WhisperSTT) -> None:
    text = await _heard(stt, espeak_pcm("Stop.", rate=WHISPER_RATE))
    assert "stop" in text.lower(), text


async def test_hesitation_alone_is_not_a_turn(stt: WhisperSTT) -> None:
    assert await _heard(stt, espeak_pcm("uh", rate=WHISPER_RATE)) == ""
    # ...but it stays in a sentence that has words.
    text = await _heard(stt, espeak_pcm("Uh, what time is it?", rate=WHISPER_RATE))
    assert "time" in text.lower(), text
