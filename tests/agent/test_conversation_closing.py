"""A clear goodbye ends the call and a "stop" is acknowledged, without asking the model
(which, locally, invented replies to both)."""

from __future__ import annotations

import asyncio

import httpx
from livekit.agents import AgentSession

from parley_agent.closing_words import ACKNOWLEDGE
from parley_agent.conversation import ConversationAgent
from parley_agent.tools import ToolEnv, build_tools
from parley_agent.tools.end_conversation import GOODBYE
from parley_common.agent_config import AgentConfig
from tests.fakes.rule_llm import RuleLLM


async def _session(config: AgentConfig, fake: RuleLLM, http: httpx.AsyncClient) -> AgentSession:
    session = AgentSession(llm=fake)
    tools = build_tools(config, ToolEnv(http=http))
    await session.start(ConversationAgent(config, tools=tools))
    return session


def _assistant_texts(session: AgentSession) -> list[str]:
    return [
        i.text_content or ""
        for i in session.history.items
        if i.type == "message" and i.role == "assistant"
    ]


async def test_goodbye_ends_the_call_with_the_fixed_goodbye() -> None:
    fake = RuleLLM(default="P.S. If you have any more questions, feel free to ask!")
    async with httpx.AsyncClient() as http:
        config = AgentConfig(greeting="Hi.", tools=["end_conversation"])
        session = await _session(config, fake, http)
        closed = asyncio.Event()
        session.on("close", lambda _ev: closed.set())
        await session.run(user_input="Okay, thank you, goodbye!")
        await asyncio.wait_for(closed.wait(), timeout=20)
        assert GOODBYE in _assistant_texts(session)
        assert fake.requests == []


async def test_goodbye_without_the_tool_is_an_ordinary_turn() -> None:
    fake = RuleLLM(default="Goodbye to you too.")
    async with httpx.AsyncClient() as http:
        session = await _session(AgentConfig(greeting="Hi.", tools=[]), fake, http)
        result = await session.run(user_input="Goodbye.")
        result.expect.next_event().is_message(role="assistant")
        assert len(fake.requests) == 1
        await session.aclose()


async def test_stop_is_acknowledged_and_nothing_else() -> None:
    fake = RuleLLM(default="No worries, I'm glad you liked it.")
    async with httpx.AsyncClient() as http:
        session = await _session(AgentConfig(greeting="Hi."), fake, http)
        await session.run(user_input="Stop, stop. That is enough, thank you.")
        await asyncio.sleep(0.2)
        assert _assistant_texts(session)[-1] == ACKNOWLEDGE
        assert fake.requests == []
        # The next real question goes to the model as usual.
        result = await session.run(user_input="What is the capital of Italy?")
        result.expect.next_event().is_message(role="assistant")
        assert len(fake.requests) == 1
        await session.aclose()
