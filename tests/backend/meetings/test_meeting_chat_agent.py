"""The agent's side of the meeting chat (``agent/meeting/chat.py``) against the real backend
and the fake Meeting BaaS: every message joins the transcript under its sender; one that
names the agent is answered in the chat (once), aloud when the operator chose voice, and
aloud when the host disabled chat."""

from __future__ import annotations

import httpx
import pytest

from parley_agent.meeting.chat import ChatBackend, MeetingChat
from parley_agent.meeting.copilot import MeetingCopilot
from parley_common.wire import MeetingChatMessage
from tests.backend.conftest import AGENT_TOKEN
from tests.backend.meetings.conftest import Env, bridge_in_room

pytestmark = pytest.mark.integration


def _packet(n: int, sender: str, text: str) -> bytes:
    return MeetingChatMessage(id=f"msg_{n}", sender=sender, text=text).model_dump_json().encode()


async def test_addressed_chat_is_answered_in_chat_else_aloud(env: Env) -> None:
    resp = await env.http.post("/api/meetings", json={"meeting_url": "https://zoom.us/j/123456"})
    assert resp.status_code == 201, resp.text
    meeting = resp.json()
    bot = env.fake.bot(meeting["bot_id"])
    await bridge_in_room(env, meeting)
    spoken: list[str] = []

    async def speak(text: str) -> None:
        spoken.append(text)

    copilot = MeetingCopilot("Parley", extractive=True)
    async with httpx.AsyncClient() as http:
        backend = ChatBackend(http, env.url, AGENT_TOKEN, meeting["room_name"])
        chat = MeetingChat(copilot, backend, speak)
        chat.on_packet(_packet(1, "Maria", "The budget stays at forty thousand euros."))
        chat.on_packet(_packet(2, "Tom", "Parley, what did Maria say about the budget?"))
        chat.on_packet(b"not json")  # logged and skipped
        await chat.wait_idle(20)
        assert chat.answered == [("msg_2", "chat")]
        assert len(bot.chat_sent) == 1 and "forty thousand" in bot.chat_sent[0], bot.chat_sent
        assert spoken == []
        lines = [(s.speaker, s.role, s.to_agent) for s in copilot.store.segments]
        assert lines[:2] == [("Maria", "participant", False), ("Tom", "participant", True)]
        assert lines[2][:2] == ("Parley", "agent")

        # The host disables chat: the answer is spoken, not lost.
        bot.chat_enabled = False
        chat.on_packet(_packet(3, "Tom", "Parley, what did Maria say about the budget?"))
        await chat.wait_idle(20)
        assert chat.answered[-1] == ("msg_3", "voice") and len(bot.chat_sent) == 1
        assert "forty thousand" in spoken[-1]

        # The operator chose voice: spoken even though chat works.
        bot.chat_enabled = True
        chat.replies = "voice"
        chat.on_packet(_packet(4, "Tom", "Parley?"))
        await chat.wait_idle(20)
        assert chat.answered[-1] == ("msg_4", "voice") and len(bot.chat_sent) == 1
        await chat.aclose()
