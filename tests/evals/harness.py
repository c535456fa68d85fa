"""Run the meeting agent over the eval transcripts in the framework's text harness."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from livekit.agents import AgentSession, APIConnectOptions, llm
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, NOT_GIVEN, NotGivenOr
from livekit.agents.voice.agent_session import SessionConnectOptions

from parley_agent.meeting.agent import MeetingAgent
from parley_common.agent_config import AgentConfig

MEETINGS: list[dict[str, Any]] = json.loads(
    (Path(__file__).parent / "meetings.json").read_text(encoding="utf-8")
)
GROUNDING_PREFIX = "Answer the question using only these lines"


class RecordingLLM(llm.LLM):
    """Passes every request to ``inner`` and keeps a copy of what the model was shown."""

    def __init__(self, inner: llm.LLM) -> None:
        super().__init__()
        self.inner = inner
        self.requests: list[llm.ChatContext] = []

    @property
    def model(self) -> str:
        return self.inner.model

    @property
    def provider(self) -> str:
        return self.inner.provider

    def chat(
        self,
        *,
        chat_ctx: llm.ChatContext,
        tools: list[llm.Tool] | None = None,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
        parallel_tool_calls: NotGivenOr[bool] = NOT_GIVEN,
        tool_choice: NotGivenOr[llm.ToolChoice] = NOT_GIVEN,
        extra_kwargs: NotGivenOr[dict[str, Any]] = NOT_GIVEN,
    ) -> llm.LLMStream:
        self.requests.append(chat_ctx.copy())
        return self.inner.chat(
            chat_ctx=chat_ctx,
            tools=tools,
            conn_options=conn_options,
            parallel_tool_calls=parallel_tool_calls,
            tool_choice=tool_choice,
            extra_kwargs=extra_kwargs,
        )


def grounding_of(chat_ctx: llm.ChatContext) -> str | None:
    for item in reversed(chat_ctx.items):
        if item.type == "message" and item.role == "system":
            text = item.text_content or ""
            if text.startswith(GROUNDING_PREFIX):
                return text
    return None


@dataclass
class Asked:
    question: dict[str, Any]
    reply: str | None
    grounding: str | None
    model_calls: int
    result: Any = field(repr=False)


async def run_meeting(meeting: dict[str, Any], model: llm.LLM, answers: str) -> list[Asked]:
    """Play the meeting's lines (each under its speaker), then ask each question.

    ``answers`` is the meeting answer style ("model" or "extractive", PARLEY_MEETING_ANSWERS).
    """
    recorder = RecordingLLM(model)
    agent = MeetingAgent(AgentConfig(mode="meeting", greeting="Hi all."), answers=answers)
    asked: list[Asked] = []
    conn = SessionConnectOptions(llm_conn_options=APIConnectOptions(max_retry=0, timeout=60))
    async with AgentSession(llm=recorder, conn_options=conn) as session:
        await session.start(agent)
        for speaker, line in meeting["lines"]:
            agent.copilot.speakers.update(speaker, True)
            result = await session.run(user_input=line)
            result.expect.no_more_events()
        assert recorder.requests == [], "the model was called although nobody addressed it"
        for question in meeting["questions"]:
            agent.copilot.speakers.update("Host", True)
            before = len(recorder.requests)
            result = await session.run(user_input=question["ask"])
            replies = [
                ev.item.text_content
                for ev in result.events
                if ev.type == "message" and ev.item.role == "assistant"
            ]
            new = recorder.requests[before:]
            asked.append(
                Asked(
                    question=question,
                    reply=replies[-1] if replies else None,
                    grounding=grounding_of(new[0]) if new else None,
                    model_calls=len(new),
                    result=result,
                )
            )
    return asked


def check_deterministic(asked: Asked) -> None:
    """What Parley's own code guarantees, whatever the model: the right transcript lines
    reach the model, and a question the transcript cannot answer is said so, unprompted."""
    q = asked.question
    if not q["answerable"]:
        assert asked.model_calls == 0, f"{q['ask']}: the model was asked to improvise"
        assert asked.reply == q["says"], f"{q['ask']}: {asked.reply!r}"
        return
    if asked.model_calls == 0:  # extractive answers: quoted by Parley itself
        assert facts_in_reply(asked), f"{q['ask']}: {asked.reply!r} lacks {q['facts']}"
        quoted = re.findall(r"([A-Z][\w]*(?: [A-Z][\w]*)*) said:", asked.reply or "")
        if q.get("speakers"):
            assert quoted and set(quoted) <= set(q["speakers"]), f"{q['ask']}: {asked.reply!r}"
        return
    assert asked.grounding is not None, f"{q['ask']}: no transcript lines were retrieved"
    lowered = asked.grounding.lower()
    for fact in q["facts"]:
        assert fact.lower() in lowered, f"{q['ask']}: {fact!r} not in {asked.grounding!r}"
    for line in asked.grounding.splitlines()[1:]:
        if q.get("speakers") and not line.startswith("ACTION ITEM"):
            assert line.split(":")[0] in q["speakers"], f"{q['ask']}: unrelated line {line!r}"
    assert asked.reply and asked.reply.strip(), f"{q['ask']}: no spoken answer"


def facts_in_reply(asked: Asked) -> bool:
    reply = (asked.reply or "").lower()
    return all(fact.lower() in reply for fact in asked.question.get("facts", []))
