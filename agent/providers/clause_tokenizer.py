"""Split streamed LLM text for TTS at clause boundaries, not only at sentence ends.

A slow local LLM may take seconds to finish its first sentence; the framework's default
tokenizer hands text to a non-streaming TTS one sentence at a time, so the user waits for
the whole sentence. Breaking at commas, semicolons and colons too (once a piece is at
least ``min_len`` characters) lets Piper start on the first clause.
"""

from __future__ import annotations

import re

from livekit.agents import tokenize
from livekit.agents.tokenize import token_stream

# Punctuation followed by whitespace: "3.5" and "1,000" are not boundaries.
_BOUNDARY = re.compile(r"(?<=[.!?;:,])\s+")


def split_clauses(text: str, *, min_len: int) -> list[tuple[str, int, int]]:
    """``(piece, start, end)`` tuples; pieces shorter than ``min_len`` merge forward."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        spans.append((start, match.start()))
        start = match.end()
    if start < len(text):
        spans.append((start, len(text)))
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
    def __init__(self, *, min_len: int = 20, context_len: int = 10) -> None:
        self._min_len = min_len
        self._context_len = context_len

    def tokenize(self, text: str, *, language: str | None = None) -> list[str]:
        return [piece for piece, _, _ in split_clauses(text, min_len=self._min_len)]

    def stream(self, *, language: str | None = None) -> tokenize.SentenceStream:
        return token_stream.BufferedSentenceStream(
            tokenizer=lambda text: split_clauses(text, min_len=self._min_len),
            min_token_len=self._min_len,
            min_ctx_len=self._context_len,
        )
