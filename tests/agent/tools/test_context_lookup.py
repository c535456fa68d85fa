"""lookup_context against the real backend app (its agent API, a real SQLite database)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from livekit.agents import Agent, AgentSession

from parley_agent.tools import ToolEnv, build_tools
from parley_agent.tools.context_lookup import render_context
from parley_common.agent_config import AgentConfig
from tests.backend.conftest import AGENT_AUTH, AGENT_TOKEN, make_settings, running_app
from tests.fakes.rule_llm import Reply, RuleLLM, last_is_tool_output, last_tool_output


def _llm() -> RuleLLM:
    def rule(chat_ctx):  # type: ignore[no-untyped-def]
        if last_is_tool_output(chat_ctx):
            return Reply(text=last_tool_output(chat_ctx).splitlines()[-1])
        return Reply(tool="lookup_context", arguments={"about": "room"})

    return RuleLLM([rule])


async def _run(env: ToolEnv):  # type: ignore[no-untyped-def]
    tools = build_tools(AgentConfig(tools=["lookup_context"]), env)
    fake = _llm()
    async with AgentSession(llm=fake) as session:
        await session.start(Agent(instructions="test", tools=tools))
        return await session.run(user_input="what did we talk about last time?"), fake


async def test_lookup_returns_earlier_turns_and_summary(tmp_path: Path) -> None:
    async with running_app(make_settings(tmp_path)) as client:
        turn = {
            "turn_id": "t-1",
            "room_name": "room-ctx",
            "speaker_identity": "ana",
            "role": "user",
            "text": "Remember that my flight lands at 6 pm on Friday.",
        }
        assert (
            await client.post("/api/agent/turns", json=turn, headers=AGENT_AUTH)
        ).status_code == 201
        summary = {"summary_id": "s-1", "room_name": "room-ctx", "text": "Ana is travelling."}
        assert (
            await client.post("/api/agent/summaries", json=summary, headers=AGENT_AUTH)
        ).status_code == 201
        env = ToolEnv(
            http=client,
            room_name="room-ctx",
            backend_url="http://testserver",
            agent_token=AGENT_TOKEN,
        )
        result, _ = await _run(env)
    result.expect.next_event().is_function_call(name="lookup_context")
    output = result.expect.next_event().is_function_call_output().event().item.output
    assert "Earlier summary: Ana is travelling." in output
    assert "ana: Remember that my flight lands at 6 pm on Friday." in output
    msg = result.expect.next_event().is_message(role="assistant").event().item.text_content
    assert "flight lands at 6 pm" in msg


async def test_empty_context_says_there_is_none(tmp_path: Path) -> None:
    async with running_app(make_settings(tmp_path)) as client:
        env = ToolEnv(
            http=client,
            room_name="room-new",
            backend_url="http://testserver",
            agent_token=AGENT_TOKEN,
        )
        result, _ = await _run(env)
    result.expect.next_event().is_function_call(name="lookup_context")
    output = result.expect.next_event().is_function_call_output().event().item.output
    assert output.startswith("There are no notes")


@pytest.mark.parametrize("token", ["wrong-token", None])
async def test_rejected_or_unconfigured_is_said(tmp_path: Path, token: str | None) -> None:
    async with running_app(make_settings(tmp_path)) as client:
        env = ToolEnv(
            http=client, room_name="room-x", backend_url="http://testserver", agent_token=token
        )
        result, fake = await _run(env)
    result.expect.next_event().is_function_call(name="lookup_context")
    out = result.expect.next_event().is_function_call_output().event().item.output
    assert ("HTTP 401" in out) if token else ("not configured" in out)
    msg = result.expect.next_event().is_message(role="assistant").event().item.text_content
    assert msg == "Sorry, I can't reach my notes from earlier conversations right now."
    result.expect.no_more_events()
    assert len(fake.requests) == 1


async def test_backend_down_is_said() -> None:
    async with httpx.AsyncClient() as http:
        env = ToolEnv(
            http=http, room_name="r", backend_url="http://127.0.0.1:9", agent_token="t", timeout_s=2
        )
        result, _ = await _run(env)
    result.expect.next_event().is_function_call(name="lookup_context")
    out = result.expect.next_event().is_function_call_output().event().item.output
    assert "ConnectError" in out


def test_render_context_skips_malformed_entries() -> None:
    body = {
        "summaries": [{"text": "S"}, "junk", {"text": 5}],
        "turns": [{"role": "agent", "text": "hi"}, {"text": None}],
    }
    assert render_context(body) == "Earlier summary: S\nAgent: hi"
