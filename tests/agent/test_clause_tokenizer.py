"""Clause splitting for the local TTS."""

from __future__ import annotations

import asyncio

from parley_agent.providers.clause_tokenizer import ClauseTokenizer, split_clauses


def test_splits_at_clause_punctuation_but_not_inside_numbers() -> None:
    text = "Well, the capital of France is Paris, with 2.1 million people; it is big. Ok."
    pieces = [p for p, _, _ in split_clauses(text, min_len=20)]
    assert pieces == [
        "Well, the capital of France is Paris,",
        "with 2.1 million people;",
        "it is big. Ok.",
    ]
    for piece, start, end in split_clauses(text, min_len=20):
        assert text[start:end] == piece


async def test_stream_emits_first_clause_before_the_sentence_ends() -> None:
    stream = ClauseTokenizer(min_len=20).stream()
    for word in "So, if you want a good cup of tea, boil fresh water and then".split(" "):
        stream.push_text(word + " ")
    # No sentence end yet and no end of input: the first clause is already out.
    first = await asyncio.wait_for(anext(stream), timeout=2.0)
    assert first.token == "So, if you want a good cup of tea,"
    stream.end_input()
    rest = [ev.token async for ev in stream]
    assert [t.strip() for t in rest] == ["boil fresh water and then"]


def test_long_run_without_punctuation_is_cut_at_a_space() -> None:
    text = "the ocean covers most of the planet and holds most of its water and life too"
    pieces = [p for p, _, _ in split_clauses(text, min_len=20, max_len=40)]
    assert all(len(p) <= 40 for p in pieces)
    assert " ".join(pieces) == text
