"""Putting back a name Whisper dropped: the text rules (``AddressDetector``) on their own,
then the real tiny.en on a voice whose leading "Parley," the whole decode loses."""

from __future__ import annotations

import numpy as np
import pytest
from livekit import rtc

from parley_agent.meeting.addressing import AddressDetector
from parley_agent.providers.factory import _build_stt
from parley_agent.providers.selection import WHISPER
from parley_agent.providers.whisper_stt import WhisperSTT
from parley_agent.settings import AgentSettings
from parley_common.agent_config import AgentConfig
from parley_common.testing.speech_synth import espeak_pcm

DETECTOR = AddressDetector("Parley")


@pytest.mark.parametrize(
    "heard", ["What was decided?", "can you recap the action items", "Hey, who owns the budget?"]
)
def test_a_request_without_the_name_may_have_lost_it(heard: str) -> None:
    assert DETECTOR.missing_name(heard)


@pytest.mark.parametrize(
    "heard",
    ["Parley, what was decided?", "We agreed to launch in March.", "", "Barely anyone came."],
)
def test_named_or_not_a_request_needs_no_second_look(heard: str) -> None:
    assert not DETECTOR.missing_name(heard)


@pytest.mark.parametrize(
    ("text", "lead"),
    [
        ("What was decided?", "Parley, what"),
        ("What was decided?", "Partly what's"),  # the lead ends inside a word
        ("Hey, who owns the budget?", "Hey Parley, who"),
        ("What was decided?", "Parley"),
    ],
)
def test_the_name_heard_before_the_same_first_word_is_put_back(text: str, lead: str) -> None:
    restored = DETECTOR.restore_name(text, lead)
    assert restored == f"Parley, {text}"
    assert DETECTOR.is_addressed(restored)
    assert DETECTOR.strip_name(restored).lower().startswith(("what", "who"))


@pytest.mark.parametrize(
    ("text", "lead"),
    [
        ("What was decided about the venue?", "What was"),  # no name in the lead
        ("Harley, what was decided?", "Parley, what"),  # another word in the name's place
        ("Harley what was decided", "Parley"),
        ("What was decided?", "Harley, what"),  # a near miss in the lead
        ("What was decided?", "So we said Parley"),  # the name, but not as a first word
        ("Who owns the budget?", "Parley, what"),  # the lead goes on differently
    ],
)
def test_anything_else_is_not_a_dropped_name(text: str, lead: str) -> None:
    assert DETECTOR.restore_name(text, lead) is None


@pytest.mark.parametrize(
    ("text", "unbiased"),
    [
        ("Parley, what was decided?", "Finally, what?"),  # tiny.en without the hotword
        ("Hey Parley, who owns the budget?", "Hey, Power League."),
        ("Partly can you recap", "Bali, can you?"),
        ("Parley, what was decided?", ""),  # no evidence against the name
        ("What was decided, Parley?", "Hardly wet"),  # not first: the start says nothing
    ],
)
def test_a_name_an_unbiased_decode_could_have_heard_stays(text: str, unbiased: str) -> None:
    assert DETECTOR.confirm_name(text, unbiased) == text


@pytest.mark.parametrize(
    ("text", "unbiased", "checked"),
    [
        ("Parley, what was decided?", "Hardly wet", "Hardly what was decided"),
        ("Hey Parley, can you share your screen?", "Hey, Hailey, can", "Hey Hailey can you"),
        ("Parley what was decided", "Our leading whatsoever.", "Our what was decided"),
    ],
)
def test_a_name_that_was_the_hotwords_guess_is_replaced(
    text: str, unbiased: str, checked: str
) -> None:
    result = DETECTOR.confirm_name(text, unbiased)
    assert result.startswith(checked) and not DETECTOR.is_addressed(result), result


def test_the_name_as_a_noun_is_not_addressing() -> None:
    # The hotword makes "the party" into "the Parley".
    assert not DETECTOR.is_addressed("The Parley is on Friday, who is coming")
    assert DETECTOR.is_addressed("I think Parley can answer that")


@pytest.fixture(scope="module")
def meeting_stt() -> WhisperSTT:
    config = AgentConfig(mode="meeting")
    stt = _build_stt(WHISPER, AgentSettings(_env_file=None), config)
    assert isinstance(stt, WhisperSTT)
    return stt


async def _hear(stt: WhisperSTT, text: str, voice: str) -> str:
    # Half a second of lead-in, as the VAD's prefix padding hands it over.
    pcm = np.concatenate([np.zeros(8000, np.int16), espeak_pcm(text, rate=16000, voice=voice)])
    event = await stt.recognize(rtc.AudioFrame(pcm.tobytes(), 16000, 1, pcm.size))
    return event.alternatives[0].text


async def test_the_meeting_stt_gives_back_a_dropped_leading_name(meeting_stt: WhisperSTT) -> None:
    # This voice's "Parley, what was decided?" decodes whole as "What was decided?": the
    # hotword, given to Whisper as previous text, reads as the name already said.
    heard = await _hear(meeting_stt, "Parley, what was decided?", "en-us+f3")
    assert DETECTOR.find(heard) is not None, heard
    assert "decided" in heard.lower()


async def test_a_question_between_people_stays_unaddressed(meeting_stt: WhisperSTT) -> None:
    said = "What was decided about the venue?"
    heard = await _hear(meeting_stt, said, "en-us+f3")
    assert heard and not DETECTOR.is_addressed(heard), heard
