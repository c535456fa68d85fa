"""Meeting mode through the framework's text harness with a deterministic model."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from livekit.agents import AgentSession, llm

from parley_agent.meeting.agent import MeetingAgent
from parley_agent.meeting.runtime import MeetingRuntime
from parley_agent.tools import ToolEnv, build_tools
from parley_common.agent_config import AgentConfig
from tests.fakes.rule_llm import (
    Reply,
    RuleLLM,
    last_is_tool_output,
    last_tool_output,
    last_user_text,
)

MEETING = [
    ("Ana Souza", "First topic is the Q3 budget."),
    ("Ben Carter", "Marketing wants forty thousand for the campaign."),
    ("Ana Souza", "The budget is tight, we should cap marketing at thirty thousand."),
    ("Ben Carter", "Fine. We agreed to cap marketing at thirty thousand."),
]


def _grounding(chat_ctx: llm.ChatContext) -> str | None:
    for item in reversed(chat_ctx.items):
        if item.type == "message" and item.role == "system":
            text = item.text_content or ""
            if text.startswith("Answer the question using only these lines"):
                return text
    return None


def _rules() -> list:
    def grounded(chat_ctx: llm.ChatContext) -> Reply | None:
        g = _grounding(chat_ctx)
        if g is None:
            return None
        # A faithful model: repeat the last transcript line it was given.
        return Reply(text="From the transcript: " + g.strip().splitlines()[-1])

    def after_tool(chat_ctx: llm.ChatContext) -> Reply | None:
        if last_is_tool_output(chat_ctx):
            return Reply(text="The transcript says " + last_tool_output(chat_ctx).splitlines()[-1])
        return None

    def remind(chat_ctx: llm.ChatContext) -> Reply | None:
        if "remind me" in last_user_text(chat_ctx):
            return Reply(tool="meeting_transcript", arguments={"question": "what did Ben say"})
        return None

    return [after_tool, grounded, remind]


@pytest.fixture
async def meeting() -> AsyncIterator[tuple[AgentSession, MeetingAgent, RuleLLM]]:
    config = AgentConfig(mode="meeting", tools=["meeting_transcript", "end_conversation"])
    # As the worker assembles it: the transcript tool reads the meeting's own transcript.
    meeting = MeetingRuntime(config.agent_display_name)
    async with httpx.AsyncClient() as http:
        tools = build_tools(config, ToolEnv(http=http, transcript=meeting.store))
        agent = MeetingAgent(config, tools=tools, runtime=meeting)
        fake = RuleLLM(_rules(), default="I am not sure.")
        async with AgentSession(llm=fake) as session:
            await session.start(agent)
            for speaker, text in MEETING:
                agent.copilot.speakers.update(speaker, True)
                result = await session.run(user_input=text)
                result.expect.no_more_events()  # people talking to each other: silence
            assert fake.requests == [], "the model must not even be asked when not addressed"
            yield session, agent, fake


async def test_not_addressed_stays_silent_but_transcribes(meeting) -> None:
    session, agent, fake = meeting
    heard = [(s.speaker, s.text) for s in agent.transcript.segments if s.role == "participant"]
    assert heard == MEETING
    agent_lines = [s.text for s in agent.transcript.segments if s.role == "agent"]
    assert agent_lines == ["Hello everyone, I'm Parley. Say my name if you need me."]
    agent.copilot.speakers.update("Chloe Diaz", True)
    result = await session.run(user_input="Harley said the barley harvest was early.")
    result.expect.no_more_events()
    assert fake.requests == []
    assert agent.transcript.segments[-1].speaker == "Chloe Diaz"


async def test_addressed_question_is_answered_from_the_transcript(meeting) -> None:
    session, agent, fake = meeting
    agent.copilot.speakers.update("Chloe Diaz", True)
    result = await session.run(user_input="Parlay, what did Ana say about the budget?")
    msg = result.expect.next_event().is_message(role="assistant").event().item.text_content
    assert msg == (
        "From the transcript: Ana Souza: The budget is tight, we should cap marketing at "
        "thirty thousand."
    )
    result.expect.no_more_events()
    assert len(fake.requests) == 1
    shown = _grounding(fake.requests[0]) or ""
    assert "Ana Souza: First topic is the Q3 budget." in shown
    assert "Ben Carter" not in shown  # only Ana's lines were retrieved
    # The model sees who asked.
    assert last_user_text(fake.requests[0]).startswith("Chloe Diaz: Parlay, what did Ana say")


async def test_question_without_answer_is_said_honestly(meeting) -> None:
    session, _, fake = meeting
    result = await session.run(user_input="Parley, what did Ben say about hiring?")
    msg = result.expect.next_event().is_message(role="assistant").event().item.text_content
    assert msg == "The transcript has nothing from Ben Carter about hiring."
    result.expect.no_more_events()
    assert fake.requests == []


async def test_decisions_and_follow_up_after_the_name_alone(meeting) -> None:
    session, _, fake = meeting
    result = await session.run(user_input="Barley?")
    assert (
        result.expect.next_event().is_message(role="assistant").event().item.text_content
        == "Yes? I'm listening."
    )
    result = await session.run(user_input="what was decided?")
    msg = result.expect.next_event().is_message(role="assistant").event().item.text_content
    assert "We agreed to cap marketing at thirty thousand." in msg
    # Without the name again, the next remark is not for the agent.
    result = await session.run(user_input="what was decided?")
    result.expect.no_more_events()
    assert len(fake.requests) == 1


async def test_general_request_can_use_the_transcript_tool(meeting) -> None:
    session, _, fake = meeting
    result = await session.run(user_input="Parley, remind me of the marketing point")
    result.expect.next_event().is_function_call(
        name="meeting_transcript", arguments={"question": "what did Ben say"}
    )
    out = result.expect.next_event().is_function_call_output().event().item.output
    assert "Ben Carter: Marketing wants forty thousand for the campaign." in out
    msg = result.expect.next_event().is_message(role="assistant").event().item.text_content
    assert msg.startswith("The transcript says")
    assert _grounding(fake.requests[0]) is None  # general request: no pre-retrieval


async def test_agent_words_are_recorded_as_agent(meeting) -> None:
    session, agent, _ = meeting
    await session.run(user_input="Parley, what did Ben say about hiring?")
    last = agent.transcript.segments[-1]
    assert (last.role, last.speaker) == ("agent", "Parley")


async def test_extractive_answers_quote_the_transcript_without_the_model() -> None:
    config = AgentConfig(mode="meeting")
    agent = MeetingAgent(config, answers="extractive")
    fake = RuleLLM(default="Ben said we should spend more.")  # would misquote
    async with AgentSession(llm=fake) as session:
        await session.start(agent)
        for speaker, text in MEETING:
            agent.copilot.speakers.update(speaker, True)
            await session.run(user_input=text)
        result = await session.run(user_input="Parley, what did Ana say about the budget?")
        msg = result.expect.next_event().is_message(role="assistant").event().item.text_content
        assert msg == (
            'Ana Souza said: "First topic is the Q3 budget." Ana Souza said: "The budget is '
            'tight, we should cap marketing at thirty thousand."'
        )
        assert fake.requests == []
        # Requests that are not about the transcript still go to the model.
        result = await session.run(user_input="Parley, tell us a joke")
        assert result.expect.next_event().is_message(role="assistant").event().item.text_content
        assert len(fake.requests) == 1


@pytest.mark.parametrize(
    ("question", "must", "never"),
    [
        # One misheard word ("didn't" for "did"), a name nobody has, a paraphrase, a
        # misspelt name: all stay on the transcript; the model that would invent is not asked.
        ("Parley, what didn't Maria say?", "Maria", "march"),
        ("Parley, anything from Anna on the budget?", "Ana Souza said", "march"),
        ("Parley, did anyone bring up the campaign?", "Ben Carter said", "march"),
        ("Parley, was anything said about the office move?", "didn't hear", "march"),
    ],
)
async def test_misheard_and_paraphrased_questions_never_reach_an_inventing_model(
    question: str, must: str, never: str
) -> None:
    agent = MeetingAgent(AgentConfig(mode="meeting"), answers="extractive")
    fake = RuleLLM(default="She said the budget is 50,000 and the date is March 3.")
    async with AgentSession(llm=fake) as session:
        await session.start(agent)
        for speaker, text in MEETING:
            agent.copilot.speakers.update(speaker, True)
            await session.run(user_input=text)
        result = await session.run(user_input=question)
        msg = result.expect.next_event().is_message(role="assistant").event().item.text_content
        assert must.lower() in (msg or "").lower() and never not in (msg or "").lower(), msg
        assert fake.requests == []


@pytest.mark.parametrize("embedded", [True, False])
async def test_auto_answers_quote_with_the_embedded_model(embedded: bool) -> None:
    agent = MeetingAgent(AgentConfig(mode="meeting"), answers="auto", embedded_llm=embedded)
    async with AgentSession(llm=RuleLLM()) as session:
        await session.start(agent)
        assert agent.copilot.extractive is embedded
