"""``bot.chat_message`` payloads: both shapes are read, unusable ones refused clearly."""

from __future__ import annotations

import pytest

from parley_backend.meetings.chat_events import ChatEventError, parse_chat_event


def test_nested_and_flat_shapes() -> None:
    nested = parse_chat_event(
        {
            "bot_id": "b",
            "message": {
                "sender_id": 7,
                "sender_name": "  Maria   Lopez ",
                "text": " The budget is final. ",
                "timestamp": "2026-12-01T10:00:00Z",
            },
        },
        "msg_1",
    )
    assert (nested.id, nested.sender, nested.text) == (
        "msg_1",
        "Maria Lopez",
        "The budget is final.",
    )
    assert nested.at is not None and nested.at.isoformat() == "2026-12-01T10:00:00+00:00"
    flat = parse_chat_event({"sender": {"name": "Tom"}, "text": "hi", "created_at": 0}, "m2")
    assert (flat.sender, flat.text, flat.at is not None) == ("Tom", "hi", True)
    plain = parse_chat_event({"sender": "Ada", "message": "hello", "timestamp": "nonsense"}, "m3")
    assert (plain.sender, plain.text, plain.at) == ("Ada", "hello", None)


def test_the_bots_own_message_is_marked() -> None:
    own = parse_chat_event(
        {"message": {"sender_id": None, "sender_name": "Parley", "text": "x"}}, "m"
    )
    assert own.id.startswith("self:")


@pytest.mark.parametrize(
    "data",
    [
        {"sender_name": "Ada"},
        {"sender_name": "Ada", "text": "   "},
        {"text": "hi"},
        {"message": {}},
    ],
)
def test_missing_text_or_sender_is_refused(data: dict) -> None:
    with pytest.raises(ChatEventError):
        parse_chat_event(data, "m")
