"""End-of-meeting summary: its shape, the model path with fallback, what the agent hands the
history (posting it is the history uploader's job: tests/agent/test_history.py)."""

from __future__ import annotations

import json

from livekit.agents import AgentSession

from parley_agent.meeting.agent import MeetingAgent
from parley_agent.meeting.runtime import MeetingRuntime
from parley_agent.meeting.summary import MeetingSummary, build_summary, llm_summary
from parley_agent.meeting.transcript import TranscriptStore
from parley_common.agent_config import AgentConfig
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


async def test_the_meeting_agents_session_summary_is_the_meeting_summary() -> None:
    agent = MeetingAgent(AgentConfig(mode="meeting"), runtime=MeetingRuntime("Parley", _store()))
    assert await agent.session_summary() is None  # never started: nothing to summarise
    async with AgentSession(llm=RuleLLM(default="unused")) as session:
        await session.start(agent)
        summary = await agent.session_summary()
    assert summary is not None
    text, data = summary
    expected = build_summary(_store())
    # The agent's own greeting is in the transcript too; the summary is the meeting's.
    assert text == build_summary(agent.transcript).text() and expected.decisions
    assert MeetingSummary.model_validate(data).decisions == expected.decisions
