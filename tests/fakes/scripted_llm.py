"""A scripted LLM: fakes a livekit-agents ``llm.LLM`` provider with replies in sequence.

It implements the framework's LLM interface (``livekit/agents/llm/llm.py`` in livekit-agents
1.8.9: ``chat()`` returning an ``LLMStream`` that emits ``ChatChunk``s), not a wire protocol;
for the OpenAI HTTP protocol see ``parley_common.testing.openai_stub``. Use it when a test
needs replies in a fixed order, tool calls or provider failures (``Fail``); use
``tests.fakes.rule_llm.RuleLLM`` when the reply depends on what the model was shown.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from livekit.agents import APIConnectionError, APIConnectOptions, llm
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, NOT_GIVEN, NotGivenOr


@dataclass
class ToolCall:
    name: str
    arguments: str  # JSON


class Fail:
    """A scripted provider failure."""

    def __init__(self, message: str = "fake provider down") -> None:
        self.message = message


Step = str | ToolCall | Fail | Callable[[llm.ChatContext], str]


class ScriptedLLM(llm.LLM):
    """Replies from a script, one step per chat() call; the last step repeats.

    A ``str`` is streamed word by word; a ``ToolCall`` becomes an OpenAI-style tool call; a
    ``Fail`` raises ``APIConnectionError`` (non-retryable); a callable computes the reply
    from the chat context.
    """

    def __init__(self, script: list[Step], *, ttft: float = 0.0, label: str = "fake") -> None:
        super().__init__()
        self.script = list(script)
        self.calls: list[llm.ChatContext] = []
        self.ttft = ttft
        self._label_name = label

    @property
    def model(self) -> str:
        return self._label_name

    @property
    def provider(self) -> str:
        return "fake"

    def chat(
        self,
        *,
        chat_ctx: llm.ChatContext,
        tools: list[llm.Tool] | None = None,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
        parallel_tool_calls: NotGivenOr[bool] = NOT_GIVEN,
        tool_choice: NotGivenOr[llm.ToolChoice] = NOT_GIVEN,
        extra_kwargs: NotGivenOr[dict] = NOT_GIVEN,
    ) -> llm.LLMStream:
        index = min(len(self.calls), len(self.script) - 1)
        self.calls.append(chat_ctx.copy())
        return _FakeStream(
            self,
            self.script[index],
            chat_ctx=chat_ctx,
            tools=tools or [],
            conn_options=conn_options,
        )


class _FakeStream(llm.LLMStream):
    def __init__(self, owner: ScriptedLLM, step: Step, **kwargs) -> None:
        super().__init__(owner, **kwargs)
        self._owner = owner
        self._step = step

    async def _run(self) -> None:
        rid = uuid.uuid4().hex
        if self._owner.ttft:
            await asyncio.sleep(self._owner.ttft)
        step = self._step
        if isinstance(step, Fail):
            raise APIConnectionError(step.message, retryable=False)
        if isinstance(step, ToolCall):
            call = llm.FunctionToolCall(
                name=step.name, arguments=step.arguments, call_id=f"call_{rid[:8]}"
            )
            self._event_ch.send_nowait(
                llm.ChatChunk(id=rid, delta=llm.ChoiceDelta(role="assistant", tool_calls=[call]))
            )
            return
        text = step(self._chat_ctx) if callable(step) else step
        for i, word in enumerate(text.split(" ")):
            piece = word if i == 0 else " " + word
            self._event_ch.send_nowait(
                llm.ChatChunk(id=rid, delta=llm.ChoiceDelta(role="assistant", content=piece))
            )
            await asyncio.sleep(0)
