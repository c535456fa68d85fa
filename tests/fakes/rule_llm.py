"""A rule-driven LLM: fakes a livekit-agents ``llm.LLM`` provider for text-harness tests.

It implements the framework's LLM interface (``livekit/agents/llm/llm.py`` in livekit-agents
1.8.9), not a wire protocol; ``tests.fakes.scripted_llm.ScriptedLLM`` is the one to use for
replies in a fixed order and provider failures.

Each call to ``chat`` consults a list of rules in order: the first rule whose predicate
matches the chat context decides the reply (text, or one tool call). Tests can therefore
script "when the user says X, call tool Y" or "answer with the retrieved excerpt" without a
real model, and every request is recorded for assertions on what the model was shown.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from livekit.agents import APIConnectOptions, llm
from livekit.agents.llm import ChatChunk, ChatContext, ChoiceDelta, FunctionToolCall
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, NOT_GIVEN, NotGivenOr
from livekit.agents.utils import shortuuid


@dataclass
class Reply:
    text: str | None = None
    tool: str | None = None
    arguments: dict[str, Any] = field(default_factory=dict)


Rule = Callable[[ChatContext], Reply | None]


def last_user_text(chat_ctx: ChatContext) -> str:
    for item in reversed(chat_ctx.items):
        if item.type == "message" and item.role == "user":
            return item.text_content or ""
    return ""


def last_is_tool_output(chat_ctx: ChatContext) -> bool:
    return bool(chat_ctx.items) and chat_ctx.items[-1].type == "function_call_output"


def last_tool_output(chat_ctx: ChatContext) -> str:
    for item in reversed(chat_ctx.items):
        if item.type == "function_call_output":
            return item.output
    return ""


def all_text(chat_ctx: ChatContext) -> str:
    parts = []
    for item in chat_ctx.items:
        if item.type == "message":
            parts.append(item.text_content or "")
    return "\n".join(parts)


class RuleLLM(llm.LLM):
    def __init__(self, rules: list[Rule] | None = None, default: str = "OK.") -> None:
        super().__init__()
        self.rules = list(rules or [])
        self.default = default
        self.requests: list[ChatContext] = []

    @property
    def model(self) -> str:
        return "fake-llm"

    @property
    def provider(self) -> str:
        return "test"

    def chat(
        self,
        *,
        chat_ctx: ChatContext,
        tools: list[llm.Tool] | None = None,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
        parallel_tool_calls: NotGivenOr[bool] = NOT_GIVEN,
        tool_choice: NotGivenOr[llm.ToolChoice] = NOT_GIVEN,
        extra_kwargs: NotGivenOr[dict[str, Any]] = NOT_GIVEN,
    ) -> llm.LLMStream:
        self.requests.append(chat_ctx.copy())
        reply = Reply(text=self.default)
        for rule in self.rules:
            found = rule(chat_ctx)
            if found is not None:
                reply = found
                break
        return _FakeStream(
            self, chat_ctx=chat_ctx, tools=tools or [], conn_options=conn_options, reply=reply
        )


class _FakeStream(llm.LLMStream):
    def __init__(self, llm_v: RuleLLM, *, reply: Reply, **kwargs: Any) -> None:
        super().__init__(llm_v, **kwargs)
        self._reply = reply

    async def _run(self) -> None:
        request_id = shortuuid("fake_")
        if self._reply.tool:
            call = FunctionToolCall(
                name=self._reply.tool,
                arguments=json.dumps(self._reply.arguments),
                call_id=shortuuid("call_"),
            )
            self._event_ch.send_nowait(
                ChatChunk(id=request_id, delta=ChoiceDelta(role="assistant", tool_calls=[call]))
            )
            return
        words = (self._reply.text or "").split(" ")
        for i, word in enumerate(words):
            piece = word if i == len(words) - 1 else word + " "
            self._event_ch.send_nowait(
                ChatChunk(id=request_id, delta=ChoiceDelta(role="assistant", content=piece))
            )
