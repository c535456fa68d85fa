"""Short goodbyes and stops are recognised; anything longer or different is not."""

from __future__ import annotations

import pytest

from parley_agent.closing_words import closing_kind


@pytest.mark.parametrize(
    "text",
    [
        "Goodbye.",
        "Okay, thank you, goodbye!",
        "Thanks, bye bye.",
        "That's all, thanks. Bye.",
        "See you later.",
        "Have a nice day.",
        "You can hang up.",
        "Thank you so much, goodbye Parley.",
    ],
)
def test_goodbyes(text: str) -> None:
    assert closing_kind(text) == "goodbye"


@pytest.mark.parametrize(
    "text",
    [
        "Stop.",
        "Stop, stop. That is enough, thank you.",
        "Okay stop talking.",
        "That's enough.",
        "Please stop.",
        "No, stop, stop!",
        "Okay, I get it, thanks.",
    ],
)
def test_stops(text: str) -> None:
    assert closing_kind(text) == "stop"


@pytest.mark.parametrize(
    "text",
    [
        "What is the weather in Paris?",
        "Stop the timer at five minutes.",
        "How do I say goodbye in French?",
        "Bye the way, what time is it?",
        "I said goodbye to my friend and then we went to the station together.",
        "Enough about me, tell me about you.",
        "",
    ],
)
def test_other_turns_go_to_the_model(text: str) -> None:
    assert closing_kind(text) is None
