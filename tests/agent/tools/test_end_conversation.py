"""end_conversation says goodbye, then the session closes."""

from __future__ import annotations

import asyncio

import httpx
from livekit.agents import Agent, AgentSession

from parley_agent.tools import ToolEnv, build_tools
from parley_agent.tools.end_conversation import GOODBYE
from parley_common.agent_config import AgentConfig
from tests.fakes.rule_llm import Reply, RuleLLM, last_user_text


async def test_goodbye_then_session_closes() -> None:
    def rule(chat_ctx):  # type: ignore[no-untyped-def]
        if "bye" in last_user_text(chat_ctx):
            return Reply(tool="end_conversation")
        return None

    async with httpx.AsyncClient() as http:
        tools = build_tools(AgentConfig(tools=["end_conversation"]), ToolEnv(http=http))
        fake = RuleLLM([rule], default="Sure.")
        session = AgentSession(llm=fake)
        closed = asyncio.Event()
        session.on("close", lambda _ev: closed.set())
        await session.start(Agent(instructions="test", tools=tools))
        first = await session.run(user_input="hello")
        first.expect.next_event().is_message(role="assistant")
        assert not closed.is_set()
        result = await session.run(user_input="thanks, bye")
        result.expect.next_event().is_function_call(name="end_conversation")
        result.expect.next_event().is_function_call_output()
        msg = result.expect.next_event().is_message(role="assistant").event().item.text_content
        assert msg == GOODBYE
        await asyncio.wait_for(closed.wait(), timeout=20)
        await session.aclose()
