from __future__ import annotations

from parley_agent.meeting.copilot import MeetingCopilot
from parley_agent.meeting.speakers import SpeakerTracker, parse_speaker_payload


def test_parse_meeting_baas_speaker_frames() -> None:
    frame = '[{"name": "Ana Souza", "id": 2, "timestamp": 1731.2, "isSpeaking": true}]'
    assert parse_speaker_payload(frame) == [("Ana Souza", True)]
    assert parse_speaker_payload(b'{"name": "Ben", "isSpeaking": false}') == [("Ben", False)]
    for junk in (b"\xff\xfe", "not json", "42", '[{"id": 3}]', '[{"name": ""}]', "[1, 2]"):
        assert parse_speaker_payload(junk) == []


def test_dominant_speaker_in_window() -> None:
    t = SpeakerTracker()
    t.update("Ana", True, at=0.0)
    t.update("Ana", False, at=1.0)
    t.update("Ben", True, at=1.0)
    t.update("Ben", False, at=4.0)
    assert t.dominant(0.0, 5.0) == "Ben"
    assert t.dominant(0.0, 1.5) == "Ana"
    assert t.dominant(4.5, 5.0) == "Ben"  # nobody since: the last speaker
    assert t.current() is None
    t.update("Chloe", True, at=5.0)
    assert t.current() == "Chloe" and t.dominant(4.5, 9.0) == "Chloe"
    # A new speaker ends the previous one even without its "stopped" frame.
    t.update("Ana", True, at=10.0)
    assert t.dominant(9.5, 12.0) == "Ana" and t.dominant(5.0, 10.5) == "Chloe"
    assert t.last() == "Ana"


def test_copilot_attributes_turns_to_speakers() -> None:
    copilot = MeetingCopilot("Parley", fallback_speaker="meeting")
    copilot.commit("hello all", copilot.decide("hello all"))
    assert copilot.store.segments[-1].speaker == "meeting"
    copilot.speakers.update("Ana Souza", True, at=100.0)
    copilot.speakers.update("Ben Carter", True, at=103.0)
    # No speech window: whoever speaks now.
    copilot.commit("the budget is tight", copilot.decide("the budget is tight"))
    assert copilot.store.segments[-1].speaker == "Ben Carter"
    copilot.commit("it really is", copilot.decide("it really is"), window=(100.5, 102.8))
    assert copilot.store.segments[-1].speaker == "Ana Souza"
