from __future__ import annotations

import pytest

from parley_agent.meeting.addressing import AddressDetector

DETECTOR = AddressDetector("Parley")


@pytest.mark.parametrize(
    "heard",
    [
        "Parley, what was decided?",
        "parlay what did Ana say about the budget",
        "Hey Barley, can you summarise so far?",
        "Parly, are you there?",
        "Pearly what do you think",
        "okay par lay what's next",
        "so what was decided, Parley?",
        "PARLEY's view on this?",
        "Perly can you recap",
        "Partly what was decided",  # whisper tiny.en, heard in test_meeting_audio
        "what was decided, partly?",
    ],
)
def test_name_and_stt_spellings_are_addressing(heard: str) -> None:
    assert DETECTOR.is_addressed(heard)


@pytest.mark.parametrize(
    "heard",
    [
        "we barely have budget left",
        "Harley will send the notes",
        "early next week works",
        "the player count doubled",
        "let's talk about the budget",
        "Harley said the barley harvest was early",  # near matches mid-sentence
        "Partly cloudy today",  # near match first, but not a request
        "barely anyone came",
        "",
    ],
)
def test_ordinary_speech_is_not_addressing(heard: str) -> None:
    assert not DETECTOR.is_addressed(heard)


def test_strip_name_keeps_the_request() -> None:
    assert DETECTOR.strip_name("Hey Parlay, what did Ana say?") == "what did Ana say"
    assert DETECTOR.strip_name("what was decided, Parley?") == "what was decided"
    assert DETECTOR.strip_name("Parley") == ""


def test_configurable_name() -> None:
    nova = AddressDetector("Nova")
    assert nova.is_addressed("Nova, recap please") and nova.is_addressed("hey nova")
    assert not nova.is_addressed("Parley, recap please")
    short = AddressDetector("Al")
    assert short.is_addressed("Al, what's next") and not short.is_addressed("all of it")
    bot = AddressDetector("Parley Notetaker")
    assert bot.is_addressed("Parlay, recap please") and bot.is_addressed("parley notetaker?")
    with pytest.raises(ValueError):
        AddressDetector("  !! ")
