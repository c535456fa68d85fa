"""Text frames of the streaming socket: both handshakes, speaker arrays, and garbage."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parley_backend.meetings.protocol import (
    MAX_SPEAKERS,
    Handshake,
    MalformedFrame,
    parse_text_frame,
)


def test_v2_handshake() -> None:
    hs = parse_text_frame(
        '{"protocol_version": 2, "bot_id": "b1", "offset": 0.0, "sample_rate": 24000}'
    )
    assert hs == Handshake(2, "b1", 0.0, 24000)


def test_v1_handshake_without_sample_rate() -> None:
    hs = parse_text_frame('{"protocol_version": 1, "bot_id": "b1", "offset": 1.5}')
    assert hs == Handshake(1, "b1", 1.5, None)


def test_speaker_array_keeps_valid_entries() -> None:
    speakers = parse_text_frame(
        json.dumps(
            [
                {"name": "Ada", "id": 1, "timestamp": 12.5, "isSpeaking": True},
                {"name": "Bob", "id": None, "timestamp": 1700000000000, "isSpeaking": False},
                {"name": "", "isSpeaking": True},
                {"name": "NoFlag"},
                "junk",
            ]
        )
    )
    assert isinstance(speakers, list)
    assert [(s.name, s.speaking) for s in speakers] == [("Ada", True), ("Bob", False)]
    assert speakers[0].as_json() == {"name": "Ada", "id": 1, "timestamp": 12.5, "isSpeaking": True}


def test_empty_speaker_array_is_valid() -> None:
    assert parse_text_frame("[]") == []


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "{",
        "42",
        '"hello"',
        "null",
        '{"type": "unknown"}',
        '{"protocol_version": "2"}',
        '{"protocol_version": 2, "sample_rate": 12.5}',
        '{"protocol_version": 2, "sample_rate": 5}',
        '[{"bad": 1}]',
        "[" * 100000,
    ],
)
def test_malformed_frames(text: str) -> None:
    with pytest.raises(MalformedFrame):
        parse_text_frame(text)


@given(st.text(max_size=300))
def test_never_raises_anything_but_malformed(text: str) -> None:
    try:
        parse_text_frame(text)
    except MalformedFrame:
        pass


def test_large_speaker_arrays_are_truncated_keeping_who_speaks() -> None:
    crowd = [
        {"name": f"P{i}", "id": i, "timestamp": float(i), "isSpeaking": i in (3, 450, 999)}
        for i in range(1000)
    ]
    speakers = parse_text_frame(json.dumps(crowd))
    assert isinstance(speakers, list) and len(speakers) == MAX_SPEAKERS
    names = [s.name for s in speakers]
    assert {"P3", "P450", "P999"} <= set(names)
    # The quiet ones kept are the first in the bot's order, and the order is preserved.
    assert names[:3] == ["P0", "P1", "P2"]
    assert names == sorted(names, key=lambda n: int(n[1:]))
