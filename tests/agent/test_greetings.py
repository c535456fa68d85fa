"""The greeting is said in the room's language, from fixed translations."""

from __future__ import annotations

import pytest
from livekit.agents import AgentSession, APIConnectOptions, llm
from livekit.agents.voice.agent_session import SessionConnectOptions

from parley_agent.conversation import ConversationAgent
from parley_agent.greetings import CONVERSATION, MEETING, greeting_for, greeting_language
from parley_common.agent_config import AgentConfig
from tests.fakes.scripted_llm import ScriptedLLM


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "Hello! I'm Parley. How can I help you today?"),
        ("es", "¡Hola! Soy Parley. ¿En qué puedo ayudarte hoy?"),
        ("fr", "Bonjour ! Je suis Parley. Comment puis-je vous aider aujourd'hui ?"),
        ("de", "Hallo! Ich bin Parley. Wie kann ich Ihnen heute helfen?"),
        ("fr-CA", "Bonjour ! Je suis Parley. Comment puis-je vous aider aujourd'hui ?"),
    ],
)
def test_conversation_greeting_per_language(language: str, expected: str) -> None:
    assert greeting_for(AgentConfig(language=language)) == expected


def test_meeting_greeting_per_language_names_the_agent() -> None:
    config = AgentConfig(language="de", mode="meeting", agent_display_name="Nova")
    assert (
        greeting_for(config)
        == "Hallo zusammen, ich bin Nova. Sagt meinen Namen, wenn ihr mich braucht."
    )


def test_english_is_the_fallback_and_the_operator_greeting_wins() -> None:
    assert greeting_language("multi") == "en" and greeting_language("ja") == "en"
    assert greeting_for(AgentConfig(language="ja")) == AgentConfig().default_greeting()
    assert greeting_for(AgentConfig(language="fr", greeting="Ahoy!")) == "Ahoy!"


def test_every_language_has_both_greetings_and_the_english_ones_match_the_config() -> None:
    assert set(CONVERSATION) == set(MEETING) >= {"en", "es", "fr", "de"}
    for table in (CONVERSATION, MEETING):
        assert all("{name}" in text for text in table.values())
    assert (
        greeting_for(AgentConfig(mode="meeting")) == AgentConfig(mode="meeting").default_greeting()
    )


async def test_a_french_room_is_greeted_in_french_by_the_agent() -> None:
    session = AgentSession(
        llm=ScriptedLLM(["unused"]),
        conn_options=SessionConnectOptions(
            llm_conn_options=APIConnectOptions(max_retry=0, retry_interval=0.0, timeout=5.0)
        ),
    )
    async with session:
        items: list[llm.ChatMessage] = []
        session.on("conversation_item_added", lambda ev: items.append(ev.item))
        await session.start(ConversationAgent(AgentConfig(language="fr")))
        if session.current_speech:
            await session.current_speech.wait_for_playout()
        said = [i.text_content for i in items if i.type == "message" and i.role == "assistant"]
        assert said[:1] == [CONVERSATION["fr"].format(name="Parley")]
