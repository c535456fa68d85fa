"""A chat question the model answers: it is shown the transcript lines and who asked in the
chat; when the model fails, the answer comes from the transcript instead (never silence)."""

from __future__ import annotations

import httpx
from livekit.agents import llm

from parley_agent.meeting.chat import ChatBackend, MeetingChat
from parley_agent.meeting.copilot import MeetingCopilot
from parley_common.wire import MeetingChatMessage
from tests.fakes.scripted_llm import Fail, ScriptedLLM


def _packet(n: int, sender: str, text: str) -> bytes:
    return MeetingChatMessage(id=f"m{n}", sender=sender, text=text).model_dump_json().encode()


async def test_the_model_phrases_grounded_answers_and_the_transcript_backs_it_up() -> None:
    seen: list[str] = []

    def reply(chat: llm.ChatContext) -> str:
        seen.append("\n".join(m.text_content or "" for m in chat.messages()))
        return "Maria said the budget stays at forty thousand."

    model = ScriptedLLM([reply, Fail()])
    spoken: list[str] = []

    async def speak(text: str) -> None:
        spoken.append(text)

    copilot = MeetingCopilot("Parley", extractive=False)
    async with httpx.AsyncClient() as http:
        chat = MeetingChat(
            copilot,
            ChatBackend(http, "http://127.0.0.1:9", "t", "room"),
            speak,
            replies="voice",
            model=lambda: model,
            instructions="You are a meeting copilot.",
        )
        chat.on_packet(_packet(1, "Maria", "The budget stays at forty thousand euros."))
        chat.on_packet(_packet(2, "Tom", "Parley, what did Maria say about the budget?"))
        await chat.wait_idle(10)
        assert spoken == ["Maria said the budget stays at forty thousand."]
        assert "forty thousand euros" in seen[0]  # the transcript line it must stay within
        assert "Tom (in the meeting chat): what did Maria say about the budget" in seen[0]

        chat.on_packet(_packet(3, "Tom", "Parley, what did Maria say about the budget?"))
        await chat.wait_idle(10)
        assert 'Maria said: "The budget stays at forty thousand euros."' in spoken[-1]
        await chat.aclose()
