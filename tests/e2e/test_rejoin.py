"""A user who rejoins with the same identity (a full reconnect) keeps talking to the agent.

LiveKit replaces the old participant when the same identity joins again; the new one can
arrive before the old one's disconnect, and the agent must link to the newcomer.
"""

from __future__ import annotations

import asyncio

import pytest

from parley_common.testing.openai_stub import OpenAIStub, StubDelays
from parley_common.testing.room_probe import RoomProbe, fetch_token
from tests.waiting import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]


async def test_agent_answers_after_the_user_rejoins_with_the_same_identity(stack_factory) -> None:
    stub = OpenAIStub(StubDelays(ttft_s=0.05)).start()
    try:
        stack = stack_factory({"PARLEY_LLM": "local", "PARLEY_LLM_URL": stub.base_url})
        token = fetch_token(stack.backend.url, {"participant_name": "Rejoiner"})
        first = RoomProbe()
        await first.connect(token["server_url"], token["participant_token"])
        await first.wait_for_agent_voice(timeout=90)

        # Same identity, same token: the server replaces the first connection.
        second = RoomProbe()
        await second.connect(token["server_url"], token["participant_token"])
        try:
            await wait_until(lambda: bool(second.room.remote_participants), 30, "the agent")
            await asyncio.sleep(2.0)  # let the server drop the first connection
            await second.room.local_participant.send_text("Are you still there", topic="lk.chat")
            await wait_until(
                lambda: any(
                    "still there" in t["text"].lower() and "you said" in t["text"].lower()
                    for t in second.transcriptions
                ),
                60,
                "the agent's answer to the rejoined user",
            )
        finally:
            await second.close()
            await first.close()
    finally:
        stub.stop()
