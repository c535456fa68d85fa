"""The meeting copilot's decisions, free of the framework so they are easy to test.

For every transcript turn: decide whether the agent speaks at all (only when addressed by
name), and if so whether it answers from the transcript (grounded, or an honest "the
transcript does not say") or hands the request to the model as an ordinary question; once
the turn is final, record it under its speaker.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

from parley_agent.meeting.addressing import AddressDetector
from parley_agent.meeting.questions import Answer, answer_question
from parley_agent.meeting.speakers import SpeakerTracker
from parley_agent.meeting.transcript import Segment, TranscriptStore

Action = Literal["ignore", "say", "reply"]

FOLLOW_UP_WINDOW_S = 15.0
ACK = "Yes? I'm listening."


@dataclass
class TurnDecision:
    action: Action
    speaker: str
    request: str = ""  # the utterance without the agent's name
    say: str = ""  # for "say": the exact sentence
    grounding: str | None = None  # for "reply": transcript lines the model must stay within
    answer: Answer | None = None


class MeetingCopilot:
    def __init__(
        self,
        agent_name: str,
        *,
        store: TranscriptStore | None = None,
        speakers: SpeakerTracker | None = None,
        fallback_speaker: str = "Unknown speaker",
        extractive: bool = False,
    ) -> None:
        self.agent_name = agent_name
        self.store = store if store is not None else TranscriptStore()
        self.speakers = speakers if speakers is not None else SpeakerTracker()
        self.detector = AddressDetector(agent_name)
        self.fallback_speaker = fallback_speaker
        # Speak transcript answers as quotes instead of letting the model phrase them.
        self.extractive = extractive
        # After "Yes? I'm listening." the next turn is for the agent even without its name.
        self._follow_up_until = 0.0

    def attribute(
        self, window: tuple[float, float] | None = None, fallback: str | None = None
    ) -> str:
        """The speaker of a turn: who spoke longest in its speech ``window`` (monotonic
        times, from the VAD), else whoever is speaking now, else the last speaker."""
        if window is not None:
            name = self.speakers.dominant(*window)
        else:
            name = self.speakers.current() or self.speakers.last()
        return name or fallback or self.fallback_speaker

    def decide(self, text: str) -> TurnDecision:
        """Whether and how the agent answers ``text``. Reads state, never changes it: the
        framework may ask twice for one turn (preemptive generation)."""
        text = " ".join((text or "").split())
        follow_up = time.monotonic() < self._follow_up_until
        if not text or (not follow_up and not self.detector.is_addressed(text)):
            return TurnDecision("ignore", "")
        request = text if follow_up else self.detector.strip_name(text)
        if not request:
            # Just the name: acknowledge so people know the agent is listening.
            return TurnDecision("say", "", request, say=ACK)
        answer = answer_question(self.store, request)
        if answer.kind == "general":
            return TurnDecision("reply", "", request)
        if not answer.found:
            return TurnDecision("say", "", request, say=answer.text, answer=answer)
        if self.extractive:
            return TurnDecision("say", "", request, say=answer.spoken(), answer=answer)
        return TurnDecision("reply", "", request, grounding=answer.grounding(), answer=answer)

    def commit(
        self,
        text: str,
        decision: TurnDecision,
        *,
        speaker: str | None = None,
        window: tuple[float, float] | None = None,
        fallback: str | None = None,
    ) -> Segment | None:
        """Record a finished turn under its speaker, with the decision taken for it."""
        segment = self.store.add(speaker or self.attribute(window, fallback), text)
        if segment is None:
            return None
        decision.speaker = segment.speaker
        segment.to_agent = decision.action != "ignore"
        # "Parley?" alone opens a short window in which the next turn is for the agent.
        if decision.say == ACK:
            self._follow_up_until = time.monotonic() + FOLLOW_UP_WINDOW_S
        elif segment.to_agent:
            self._follow_up_until = 0.0
        return segment

    def record_agent(self, text: str) -> None:
        self.store.add(self.agent_name, text, role="agent")

    def record_console(self, question: str) -> None:
        self.store.add(self.agent_name, question, role="console")
