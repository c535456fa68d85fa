"""A job's HTTP clients build no TLS context of their own, and the meeting summary's
transcript scans run off the event loop (both stalled every job's loop before)."""

from __future__ import annotations

import ssl
import threading
from typing import Any

import httpcore2
import pytest

from parley_agent import http_clients
from parley_agent.meeting import runtime as meeting_runtime
from parley_agent.meeting.runtime import MeetingRuntime
from parley_agent.meeting.transcript import TranscriptStore
from parley_agent.providers import selection as sel
from parley_agent.providers.factory import _build_llm
from parley_agent.settings import AgentSettings


def _forbid(*_args: Any, **_kwargs: Any) -> ssl.SSLContext:
    raise AssertionError("a TLS context was built after prewarm")


async def test_job_clients_reuse_the_prewarmed_tls_contexts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    http_clients.warm_tls()  # what prewarm does, once per job process
    # httpx builds its context with ssl.create_default_context, httpx2 (the OpenAI SDK's)
    # with httpcore2.default_ssl_context: neither may run again.
    monkeypatch.setattr(ssl, "create_default_context", _forbid)
    monkeypatch.setattr(httpcore2, "default_ssl_context", _forbid)
    monkeypatch.setenv("PARLEY_LLM_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    settings = AgentSettings(_env_file=None)

    tools = http_clients.async_http_client()
    await tools.aclose()
    for name in (sel.URL_LLM, sel.OPENAI_LLM):
        model = _build_llm(name, settings)
        await model.aclose()
    llm = _build_llm(sel.URL_LLM, settings)
    assert str(llm._client.base_url).startswith("http://127.0.0.1:9/v1")  # type: ignore[union-attr]
    assert llm._client.max_retries == 0  # type: ignore[union-attr]


async def test_the_transcript_summary_is_built_off_the_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = TranscriptStore()
    store.add("Ana", "We decided to launch on Friday. Ben will book the venue.")
    threads: list[threading.Thread] = []
    real = meeting_runtime.build_summary

    def spy(snapshot: TranscriptStore) -> Any:
        threads.append(threading.current_thread())
        assert snapshot is not store  # a snapshot: the live store keeps growing on the loop
        return real(snapshot)

    monkeypatch.setattr(meeting_runtime, "build_summary", spy)
    summary = await MeetingRuntime("Parley", store=store).summarise()
    assert threads and threads[0] is not threading.main_thread()
    assert summary == real(store) and summary.decisions


def test_a_transcript_copy_is_independent() -> None:
    store = TranscriptStore(max_segments=3)
    store.add("Ana", "one")
    snapshot = store.copy()
    store.add("Ben", "two")
    assert [s.text for s in snapshot.segments] == ["one"]
    assert len(store) == 2
