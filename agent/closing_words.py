"""Turns whose answer is fixed: a clear goodbye, and "stop, that's enough".

A small local model cannot call ``end_conversation`` (it wrote a goodbye and stayed), and
after "Stop, stop. That is enough, thank you." it answered "No worries, I'm glad you liked
it.". Such turns are short and unambiguous, so they are recognised here, before any model:
a goodbye ends the call (when the room enabled ``end_conversation``), a stop gets a short
acknowledgement and nothing else. Anything longer or mixed ("bye the way...", "stop the
timer at five") is left to the model.
"""

from __future__ import annotations

import re
from typing import Literal

# At most this many words: "okay thank you so much goodbye" is a goodbye, a paragraph
# that ends with "bye" is not.
MAX_WORDS = 8

_GOODBYE = re.compile(
    r"^(?:(?:ok(?:ay)?|well|alright|right|thanks?|thank you(?: so much| very much)?|"
    r"that's all|that is all|that's it|that is it|great|perfect|cool)[,.! ]*)*"
    r"(?:good ?bye|bye(?: bye)?|bye now|see you(?: later| soon)?|talk (?:to you )?later|"
    r"have a (?:good|nice|great) (?:day|one|evening|night)|hang up(?: now)?|"
    r"end the call|you can hang up|we're done|i'm done|that's all for (?:now|today))"
    r"(?:[,.! ]+(?:thanks?|thank you|parley|for now|then))*[.!]*$",
    re.IGNORECASE,
)
_STOP = re.compile(
    r"^(?:(?:ok(?:ay)?|no|wait|hey|please|thanks?|thank you)[,.! ]*)*"
    r"(?:stop(?:[,.! ]+stop)*(?: talking| it| there| please| now)?|"
    r"(?:that's|that is) enough|enough|be quiet|quiet|shush|hush|shut up|"
    r"(?:ok(?:ay)?,? )?i get it)"
    r"(?:[,.! ]+(?:(?:that's|that is) enough|enough|thanks?|thank you|please|now|"
    r"stop|i get it))*[.!]*$",
    re.IGNORECASE,
)

ACKNOWLEDGE = "Okay."


def closing_kind(text: str) -> Literal["goodbye", "stop"] | None:
    """Which fixed answer a short, unambiguous turn gets ("goodbye", "stop"), else None."""
    words = " ".join(text.replace("\u2019", "'").split())
    if not words or len(words.split()) > MAX_WORDS:
        return None
    if _STOP.match(words):
        return "stop"
    if _GOODBYE.match(words):
        return "goodbye"
    return None
