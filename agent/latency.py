"""Per-turn latency: the one reader of the framework's timings, and one log line per reply.

The framework attaches timings to the chat messages it adds (user: end-of-turn and
transcription delay; assistant: LLM TTFT, TTS TTFB, end-to-end). ``latency_parts`` is the
only place that reads them and names them as the wire does (``LatencyParts`` in
``parley_common.wire``); the history recorder posts those parts with every turn.
``TurnLatencyTracker`` pairs each assistant reply with the user turn before it and logs one
structured ``turn latency`` line per reply, with room and job ids; that line is what
``scripts/bench_voice.py`` reads. Nothing else subscribes to it.

Interface::

    TurnLatencyTracker(room=..., job_id=...).attach(session)
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass

from livekit.agents import AgentSession, ConversationItemAddedEvent
from livekit.agents.llm import ChatMessage

logger = logging.getLogger("parley.latency")

# ChatMessage.metrics key -> the wire's latency part name (LatencyParts fields).
LATENCY_KEYS: dict[str, str] = {
    "e2e_latency": "e2e",
    "end_of_turn_delay": "end_of_turn_delay",
    "transcription_delay": "transcription_delay",
    "llm_node_ttft": "llm_ttft",
    "tts_node_ttfb": "tts_ttfb",
    "on_user_turn_completed_delay": "on_user_turn_completed_delay",
    "playback_latency": "playback_latency",
}
MAX_PART_S = 3600.0  # the wire's bound; anything larger is a clock error


def _seconds(value: object) -> float | None:
    if isinstance(value, int | float) and math.isfinite(value):
        return round(float(value), 4)
    return None


def latency_parts(metrics: Mapping[str, object]) -> dict[str, float]:
    """The message's measured latency parts under their wire names (seconds)."""
    parts: dict[str, float] = {}
    for source, name in LATENCY_KEYS.items():
        value = _seconds(metrics.get(source))
        if value is not None and 0 <= value <= MAX_PART_S:
            parts[name] = value
    return parts


@dataclass(frozen=True)
class TurnRecord:
    """One agent reply and the timings that led to it (seconds; None = not measured)."""

    turn_index: int
    interrupted: bool
    end_of_utterance_delay: float | None
    transcription_delay: float | None
    llm_ttft: float | None
    tts_ttfb: float | None
    e2e_latency: float | None
    user_stopped_at: float | None  # wall clock (time.time()), to pair with a listener's clock
    # LLM start → first sentence/clause handed to TTS (shows a slow model's first clause).
    llm_ttfs: float | None = None


class TurnLatencyTracker:
    """Logs one ``turn latency`` line per assistant reply (see the module docstring)."""

    def __init__(self, *, room: str, job_id: str) -> None:
        self.room = room
        self.job_id = job_id
        self._replies = 0
        self._last_user: ChatMessage | None = None

    def attach(self, session: AgentSession) -> TurnLatencyTracker:
        session.on("conversation_item_added", self._on_item)
        return self

    def _on_item(self, event: ConversationItemAddedEvent) -> None:
        item = event.item
        if not isinstance(item, ChatMessage):
            return
        if item.role == "user":
            self._last_user = item
        elif item.role == "assistant":
            self.record(item)

    def record(self, reply: ChatMessage) -> TurnRecord:
        am = dict(reply.metrics or {})
        # Only an LLM-generated reply answers the pending user turn. A fixed sentence (the
        # greeting, an apology) may be committed after the user spoke over it, and must not
        # take the user's turn from the reply that follows.
        user = self._last_user if "llm_node_ttft" in am else None
        if user is not None:
            self._last_user = None
        um = dict(user.metrics or {}) if user is not None else {}
        heard, said = latency_parts(um), latency_parts(am)
        record = TurnRecord(
            turn_index=self._replies,
            interrupted=bool(reply.interrupted),
            end_of_utterance_delay=heard.get("end_of_turn_delay"),
            transcription_delay=heard.get("transcription_delay"),
            llm_ttft=said.get("llm_ttft"),
            tts_ttfb=said.get("tts_ttfb"),
            e2e_latency=said.get("e2e"),
            user_stopped_at=_seconds(um.get("stopped_speaking_at")),
            llm_ttfs=_seconds(am.get("llm_node_ttfs")),
        )
        self._replies += 1
        logger.info(
            "turn latency",
            extra={
                "room": self.room,
                "job_id": self.job_id,
                "turn": record.turn_index,
                "eou_delay": record.end_of_utterance_delay,
                "transcription_delay": record.transcription_delay,
                "llm_ttft": record.llm_ttft,
                "llm_ttfs": record.llm_ttfs,
                "tts_ttfb": record.tts_ttfb,
                "e2e": record.e2e_latency,
                "interrupted": record.interrupted,
                "user_stopped_at": record.user_stopped_at,
            },
        )
        return record
