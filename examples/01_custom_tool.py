"""Example 1: give the agent a tool of your own.

A tool is an async function the model may call, declared with livekit-agents'
``function_tool``: its name, docstring and typed arguments are what the model sees. Here it
is handed straight to Parley's ``ConversationAgent``; to offer a tool to every room through
dispatch metadata, add it to ``agent/tools/`` instead (CONTRIBUTING.md, "Add a tool").

Run it (one question typed to the agent in a text session: no room, no audio, no backend):

    .venv/bin/python examples/01_custom_tool.py "Where is order 1042?"

The LLM is the worker's: OpenAI with ``OPENAI_API_KEY``, any OpenAI-compatible server with
``PARLEY_LLM_URL``, else the embedded SmolLM2 (too small to call tools reliably: it may
answer without calling the tool).
"""

from __future__ import annotations

import asyncio
import sys

from livekit.agents import AgentSession, function_tool, llm
from livekit.plugins import openai

from parley_agent.conversation import ConversationAgent
from parley_agent.providers.local_llm import start_local_llm
from parley_agent.settings import get_settings
from parley_common.agent_config import AgentConfig

ORDERS = {"1042": "shipped on Monday and arrives on Thursday", "1043": "being packed"}


@function_tool
async def order_status(order_id: str) -> str:
    """Look up where a customer's order is.

    Args:
        order_id: the order number the customer gave, digits only.
    """
    status = ORDERS.get(order_id.strip().lstrip("#"))
    return f"Order {order_id} is {status}." if status else f"There is no order {order_id}."


def build_agent() -> ConversationAgent:
    config = AgentConfig(persona="bookshop assistant", greeting="Hi, how can I help?")
    return ConversationAgent(config, tools=[order_status])


async def ask(model: llm.LLM, question: str) -> str:
    """Type ``question`` to the agent and return what it answered."""
    async with AgentSession(llm=model) as session:
        await session.start(build_agent())
        result = await session.run(user_input=question)
    replies = [
        event.item.text_content or ""
        for event in result.events
        if event.type == "message" and event.item.role == "assistant"
    ]
    return " ".join(replies)


def worker_llm() -> llm.LLM:
    settings = get_settings()
    if settings.openai_api_key:
        return openai.LLM(model=settings.openai_llm_model, api_key=settings.openai_api_key)
    url = settings.llm_url
    if url is None:
        cache = settings.model_cache_dir / "llm"
        url, _ = start_local_llm(gguf=None, threads=None, ctx=4096, cache_dir=cache)
    return openai.LLM(model=settings.llm_model, base_url=url, api_key="not-needed")


if __name__ == "__main__":
    question = " ".join(sys.argv[1:]) or "Where is order 1042?"
    print(asyncio.run(ask(worker_llm(), question)))
