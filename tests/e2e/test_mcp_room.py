"""An MCP tool in a real room: the operator's stdio MCP server, allowed by a preset.

Real LiveKit server, backend and worker (local Whisper/Piper); the LLM is the OpenAI stub,
which calls ``lookup_order`` when it is offered and the user says "order". The public caller
asks only for the operator's preset, which is what opens the MCP server to the room.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from parley_common.testing.openai_stub import OpenAIStub, StubDelays, ToolRule
from parley_common.testing.room_probe import fetch_token
from parley_common.testing.speaking_probe import SpeakingProbe, espeak_clip
from tests.fakes.mcp_server import ORDERS
from tests.waiting import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]


async def test_spoken_question_is_answered_through_an_mcp_tool(stack_factory) -> None:  # type: ignore[no-untyped-def]
    stub = OpenAIStub(StubDelays(ttft_s=0.05)).start()
    stub.state.tool_rules = [ToolRule("order", "lookup_order", {"order_id": "A-1001"})]
    try:
        shop = {"name": "shop", "command": [sys.executable, "-m", "tests.fakes.mcp_server"]}
        stack = stack_factory(
            {
                **stub.local_stack_env(),
                "PARLEY_MCP_SERVERS": json.dumps([{**shop, "cwd": str(REPO)}]),
                "PARLEY_AGENT_PRESETS": json.dumps({"orders": {"mcp": ["shop/lookup_order"]}}),
                # A Python MCP server imports for seconds on a busy 2-core machine.
                "PARLEY_MCP_CONNECT_TIMEOUT_SECONDS": "60",
            }
        )
        token = fetch_token(
            stack.backend.url, {"participant_name": "Buyer", "agent_config": {"preset": "orders"}}
        )
        probe = SpeakingProbe()
        await probe.connect(token["server_url"], token["participant_token"])
        try:
            await probe.wait_for_agent_voice(timeout=90)
            await wait_until(
                lambda: probe.agent_silent_after(time.monotonic() - 1.0, hold_s=0.8),
                60,
                "the greeting to end",
            )
            # "order" twice: one misheard word must not lose the keyword the stub reacts to.
            await probe.say(espeak_clip("Please look up my order. The order number is A 1001."))

            def answered() -> bool:
                return any("two blue mugs" in t["text"] for t in probe.transcriptions)

            await wait_until(
                answered, 90, lambda: f"the order's status; heard {probe.transcriptions}"
            )
        finally:
            await probe.close()
        # The model was offered only the allowed MCP tool, and got the server's answer back.
        offered = [
            {t["function"]["name"] for t in body.get("tools") or []}
            for body in stub.state.chat_requests
        ]
        assert any("lookup_order" in names for names in offered)
        assert not any("check_stock" in names for names in offered)
        results = [
            m["content"]
            for body in stub.state.chat_requests
            for m in body.get("messages", [])
            if m.get("role") == "tool"
        ]
        assert ORDERS["A-1001"] in results
    finally:
        stub.stop()
