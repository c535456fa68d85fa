"""End-of-meeting summary: its shape, the model path with fallback, posting to the backend."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from parley_agent.meeting.runtime import MeetingRuntime
from parley_agent.meeting.summary import MeetingSummary, build_summary, llm_summary, post_summary
from parley_agent.meeting.transcript import TranscriptStore
from tests.backend.conftest import AGENT_AUTH, AGENT_TOKEN, make_settings, running_app
from tests.fakes.rule_llm import Reply, RuleLLM

LINES = [
    ("Ana Souza", "Let's settle the launch date."),
    ("Ben Carter", "We agreed to launch on March 3rd."),
    ("Ana Souza", "I'll tell the support team by Monday."),
    ("Ben Carter", "Chloe, can you book the venue?"),
    ("Chloe Diaz", "Sure."),
]


def _store() -> TranscriptStore:
    store = TranscriptStore()
    for speaker, text in LINES:
        store.add(speaker, text)
    store.add("Parley", "Hello everyone.", role="agent")
    return store


def test_summary_shape() -> None:
    summary = build_summary(_store())
    assert summary.decisions == ["Ben Carter: We agreed to launch on March 3rd."]
    assert [(a.owner, a.task) for a in summary.action_items] == [
        ("Ana Souza", "tell the support team by Monday"),
        ("Chloe Diaz", "book the venue"),
    ]
    assert summary.participants == ["Ana Souza", "Ben Carter", "Chloe Diaz"]
    assert summary.source == "transcript"
    text = summary.text()
    assert "Decisions:\n- Ben Carter: We agreed to launch on March 3rd." in text
    assert "Action items:\n- Ana Souza: tell the support team by Monday\n- Chloe Diaz: book" in text


def test_empty_meeting_summary() -> None:
    summary = build_summary(TranscriptStore())
    assert summary.decisions == [] and summary.action_items == []
    assert "Nothing was said" in summary.overview


async def test_llm_summary_is_validated_and_falls_back() -> None:
    good = {
        "overview": "Launch planning.",
        "decisions": ["Launch on March 3rd"],
        "action_items": [{"owner": "Chloe Diaz", "task": "book the venue"}],
    }
    summary = await llm_summary(RuleLLM([lambda _c: Reply(text=json.dumps(good))]), _store())
    assert summary is not None and summary.source == "llm"
    assert summary.action_items[0].owner == "Chloe Diaz"
    assert summary.participants == ["Ana Souza", "Ben Carter", "Chloe Diaz"]
    for bad in ("Sure! The meeting was great.", '{"overview": 3}', '{"decisions": []}'):
        assert await llm_summary(RuleLLM([lambda _c, b=bad: Reply(text=b)]), _store()) is None
    runtime = MeetingRuntime("Parley", store=_store())
    fallback = await runtime.summarise(RuleLLM(default="no json here"))
    assert fallback.source == "transcript" and fallback.decisions


async def test_summary_is_posted_to_the_backend(tmp_path: Path) -> None:
    summary = build_summary(_store())
    async with running_app(make_settings(tmp_path)) as client:
        ok = await post_summary(
            client,
            "http://testserver",
            AGENT_TOKEN,
            summary,
            room_name="meeting-room",
            job_id="AJ_1",
        )
        assert ok
        # A retry of the same summary is recognised, not stored twice.
        assert await post_summary(
            client,
            "http://testserver",
            AGENT_TOKEN,
            summary,
            room_name="meeting-room",
            job_id="AJ_1",
        )
        ctx = await client.get(
            "/api/agent/context", params={"room_name": "meeting-room"}, headers=AGENT_AUTH
        )
        stored = ctx.json()["summaries"]
        assert len(stored) == 1 and stored[0]["text"] == summary.text()
        # A wrong token is a permanent refusal: no retries, reported as failure.
        assert not await post_summary(
            client, "http://testserver", "nope", summary, room_name="meeting-room", job_id="AJ_2"
        )


async def test_posting_retries_server_errors() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        body = json.loads(request.content)
        assert body["summary_id"] == "room-1:AJ_9:meeting-summary"
        MeetingSummary.model_validate(body["data"])
        return httpx.Response(503 if len(calls) < 3 else 201, json={})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        ok = await post_summary(
            http, "http://backend", "t", build_summary(_store()), room_name="room-1", job_id="AJ_9"
        )
    assert ok and len(calls) == 3
