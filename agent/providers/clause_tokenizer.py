"""Split streamed LLM text for TTS at clause boundaries, not only at sentence ends.

A slow local LLM may take seconds to finish its first sentence; the framework's default
tokenizer hands text to a non-streaming TTS one sentence at a time, so the user waits for
the whole sentence. Breaking at commas, semicolons and colons too (once a piece is at
least ``min_len`` characters) lets Piper start on the first clause; a run of ``max_len``
characters without punctuation (small models write long run-on sentences) is cut at a
space, trading a little prosody for seconds of silence.
"""

from __future__ import annotations

import re

from livekit.agents import tokenize
from livekit.agents.tokenize import SentenceStream, token_stream

# Punctuation followed by whitespace: "3.5" and "1,000" are not boundaries.
_BOUNDARY = re.compile(r"(?<=[.!?;:,])\s+")


def _cap(text: str, start: int, end: int, max_len: int) -> list[tuple[int, int]]:
    """Cut a span with no punctuation for ``max_len`` characters at its last space."""
    spans = []
    while end - start > max_len:
        cut = text.rfind(" ", start + 1, start + max_len)
        if cut <= start:
            break
        spans.append((start, cut))
        start = cut + 1
    spans.append((start, end))
    return spans


def split_clauses(
    text: str, *, min_len: int, max_len: int | None = None
) -> list[tuple[str, int, int]]:
    """``(piece, start, end)`` tuples; pieces shorter than ``min_len`` merge forward, and
    with ``max_len`` a run without punctuation is cut at a space."""
    spans: list[tuple[int, int]] = []
    start = 0
    bounds = [(m.start(), m.end()) for m in _BOUNDARY.finditer(text)] + [(len(text), len(text))]
    for stop, resume in bounds:
        if stop > start:
            spans += _cap(text, start, stop, max_len) if max_len else [(start, stop)]
        start = resume
    merged: list[tuple[int, int]] = []
    current: tuple[int, int] | None = None
    for s, e in spans:
        current = (s, e) if current is None else (current[0], e)
        if current[1] - current[0] >= min_len:
            merged.append(current)
            current = None
    if current is not None:
        merged.append(current)
    return [(text[s:e], s, e) for s, e in merged if text[s:e].strip()]


class ClauseTokenizer(tokenize.SentenceTokenizer):
    def __init__(self, *, min_len: int = 20, max_len: int = 60, context_len: int = 10) -> None:
        self._min_len = min_len
        self._max_len = max_len
        self._context_len = context_len

    def _split(self, text: str) -> list[tuple[str, int, int]]:
        return split_clauses(text, min_len=self._min_len, max_len=self._max_len)

    def tokenize(self, text: str, *, language: str | None = None) -> list[str]:
        return [piece for piece, _, _ in self._split(text)]

    def stream(self, *, language: str | None = None) -> SentenceStream:
        return token_stream.BufferedSentenceStream(
            tokenizer=self._split,
            min_token_len=self._min_len,
            min_ctx_len=self._context_len,
        )
