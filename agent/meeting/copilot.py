"""The meeting copilot's decisions, free of the framework so they are easy to test.

For every finished transcript turn: record it under its speaker, then decide whether the
agent speaks at all (only when addressed by name), and if so whether it answers from the
transcript (grounded, or an honest "the transcript does not say") or hands the request to
the model as an ordinary question.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

from parley_agent.meeting.addressing import AddressDetector
from parley_agent.meeting.questions import Answer, answer_question
from parley_agent.meeting.speakers import SpeakerTracker
from parley_agent.meeting.transcript import TranscriptStore

Action = Literal["ignore", "say", "reply"]

FOLLOW_UP_WINDOW_S = 15.0


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
    ) -> None:
        self.agent_name = agent_name
        self.store = store if store is not None else TranscriptStore()
        self.speakers = speakers if speakers is not None else SpeakerTracker()
        self.detector = AddressDetector(agent_name)
        self.fallback_speaker = fallback_speaker
        self._last_turn_at = time.monotonic()
        # After "Yes? I'm listening." the next turn is for the agent even without its name.
        self._follow_up_until = 0.0

    def attribute(self) -> str:
        now = time.monotonic()
        name = self.speakers.dominant(self._last_turn_at, now)
        self._last_turn_at = now
        return name or self.fallback_speaker

    def on_turn(self, text: str, speaker: str | None = None) -> TurnDecision:
        speaker = speaker or self.attribute()
        text = " ".join((text or "").split())
        if not text:
            return TurnDecision("ignore", speaker)
        self.store.add(speaker, text)
        follow_up = time.monotonic() < self._follow_up_until
        self._follow_up_until = 0.0
        if not follow_up and not self.detector.is_addressed(text):
            return TurnDecision("ignore", speaker)
        request = self.detector.strip_name(text) if not follow_up else text
        if not request:
            # Just the name: acknowledge so people know the agent is listening.
            self._follow_up_until = time.monotonic() + FOLLOW_UP_WINDOW_S
            return TurnDecision("say", speaker, request, say="Yes? I'm listening.")
        answer = answer_question(self.store, request)
        if answer.kind == "general":
            return TurnDecision("reply", speaker, request)
        if not answer.found:
            return TurnDecision("say", speaker, request, say=answer.text, answer=answer)
        return TurnDecision("reply", speaker, request, grounding=answer.grounding(), answer=answer)

    def record_agent(self, text: str) -> None:
        self.store.add(self.agent_name, text, role="agent")

    def record_console(self, question: str) -> None:
        self.store.add(self.agent_name, question, role="console")
