"""Transcript questions: retrieval with and without an answer (no model involved)."""

from __future__ import annotations

import pytest

from parley_agent.meeting.questions import answer_question, classify
from parley_agent.meeting.retrieval import find_action_items
from parley_agent.meeting.transcript import TranscriptStore

LINES = [
    ("Ana Souza", "Thanks for joining. First topic is the Q3 budget."),
    ("Ben Carter", "Marketing wants forty thousand for the campaign."),
    ("Ana Souza", "The budget is tight; I think we should cap marketing at thirty thousand."),
    ("Chloe Diaz", "The launch date matters more to me than the spend."),
    ("Ben Carter", "Fine. We agreed to cap marketing at thirty thousand then."),
    ("Ana Souza", "I'll send the revised budget to finance by Friday."),
    ("Ben Carter", "Chloe, can you update the launch plan with the new date?"),
]


@pytest.fixture
def store() -> TranscriptStore:
    s = TranscriptStore()
    for speaker, text in LINES:
        s.add(speaker, text)
    return s


def test_classify() -> None:
    assert classify("what did Ana say about the budget?") == ("said", "Ana", "the budget")
    assert classify("What has Ben been saying") == ("said", "Ben", None)
    assert classify("did Chloe mention anything about the launch") == (
        "said",
        "Chloe",
        "the launch",
    )
    assert classify("what was decided?")[0] == "decisions"
    assert classify("what are the action items")[0] == "actions"
    assert classify("summarise so far")[0] == "summary"
    assert classify("can you catch me up")[0] == "summary"
    assert classify("what's the weather in Paris")[0] == "general"


def test_what_did_ana_say_about_the_budget(store: TranscriptStore) -> None:
    answer = answer_question(store, "what did Ana say about the budget?")
    assert answer.found
    assert [s.text for s in answer.excerpts] == [LINES[0][1], LINES[2][1], LINES[5][1]]
    assert "cap marketing at thirty thousand" in answer.grounding()
    assert all(s.speaker == "Ana Souza" for s in answer.excerpts)


def test_speaker_names_tolerate_stt_spelling(store: TranscriptStore) -> None:
    answer = answer_question(store, "what did Anna say about marketing")
    assert answer.found and answer.excerpts[0].speaker == "Ana Souza"


def test_topic_not_discussed_by_that_speaker(store: TranscriptStore) -> None:
    answer = answer_question(store, "what did Chloe say about the budget?")
    assert not answer.found
    assert answer.text == "The transcript has nothing from Chloe Diaz about the budget."
    assert "does not contain the answer" in answer.grounding()


def test_unknown_speaker(store: TranscriptStore) -> None:
    answer = answer_question(store, "what did Dmitri say about hiring?")
    assert not answer.found
    assert answer.text == "I haven't heard anyone called Dmitri in this meeting."


def test_decisions(store: TranscriptStore) -> None:
    answer = answer_question(store, "what was decided?")
    assert answer.found
    assert [s.text for s in answer.excerpts] == [LINES[4][1]]


def test_no_decisions_yet() -> None:
    s = TranscriptStore()
    s.add("Ana", "Let's look at the numbers first.")
    answer = answer_question(s, "what have we decided")
    assert not answer.found and "haven't heard any decision" in answer.text


def test_action_items_have_owners(store: TranscriptStore) -> None:
    items = [(a.owner, a.task) for a in find_action_items(store)]
    assert items == [
        ("Ana Souza", "send the revised budget to finance by Friday"),
        ("Chloe Diaz", "update the launch plan with the new date"),
    ]
    answer = answer_question(store, "what are the action items?")
    assert answer.found and "Chloe Diaz will update the launch plan" in answer.text


def test_summary_so_far(store: TranscriptStore) -> None:
    answer = answer_question(store, "summarise so far")
    assert answer.found
    assert answer.text.startswith("So far 3 people have spoken: Ana Souza, Ben Carter, Chloe Diaz.")
    assert "cap marketing at thirty thousand" in answer.text
    assert len(answer.excerpts) == len(LINES)


def test_empty_meeting_summary() -> None:
    answer = answer_question(TranscriptStore(), "recap please")
    assert not answer.found and answer.text == "Nothing has been said in this meeting yet."


def test_agent_lines_are_not_evidence() -> None:
    s = TranscriptStore()
    s.add("Parley", "We decided to cap marketing.", role="agent")
    assert not answer_question(s, "what was decided").found


@pytest.mark.parametrize(
    ("question", "speaker"),
    [
        # Misheard or unusual wording that the patterns above do not parse.
        ("what didn't Maria say", "Maria"),
        ("anything from Ana on the budget", "Ana Souza"),
        ("Ben's view on marketing?", "Ben Carter"),
        ("and chloe, what was her point", "Chloe Diaz"),
        ("Clo√© said what about the launch", "Chloe Diaz"),
    ],
)
def test_a_question_naming_a_participant_stays_on_the_transcript(
    store: TranscriptStore, question: str, speaker: str
) -> None:
    answer = answer_question(store, question)
    assert answer.kind == "said", answer
    if speaker == "Maria":  # nobody by that name spoke: said so, not invented
        assert not answer.found and "Maria" in answer.text
    else:
        assert answer.found and {s.speaker for s in answer.excerpts} == {speaker}


def test_anyone_questions_are_answered_from_the_transcript(store: TranscriptStore) -> None:
    found = answer_question(store, "did anyone bring up the launch date")
    assert found.found and all("launch" in s.text.lower() for s in found.excerpts)
    missing = answer_question(store, "was anything said about the office move")
    assert missing.kind == "said" and not missing.found
    assert "didn't hear" in missing.text


@pytest.mark.parametrize(
    "question",
    ["what is the capital of France", "tell us about the weather in Paris", "how are you"],
)
def test_general_questions_stay_general(store: TranscriptStore, question: str) -> None:
    assert answer_question(store, question).kind == "general"
