"""Per-turn latency records, kept on the session and offered to subscribers.

The framework attaches timings to the chat messages it adds (user: end-of-turn and
transcription delay; assistant: LLM TTFT, TTS TTFB, end-to-end). ``TurnLatencyTracker``
pairs each assistant reply with the user turn before it, logs one structured line per turn
and calls its subscribers (the history uploader, benchmarks) with a ``TurnRecord``.

Interface for other modules::

    tracker = turn_tracker(session)          # the session's tracker (None if not attached)
    tracker.subscribe(callback)              # callback(TurnRecord); sync or async
    tracker.records                          # every record so far, oldest first
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from livekit.agents import AgentSession, ConversationItemAddedEvent
from livekit.agents.llm import ChatMessage

logger = logging.getLogger("parley.latency")

TurnCallback = Callable[["TurnRecord"], Awaitable[None] | None]
_ATTR = "_parley_turn_tracker"


@dataclass(frozen=True)
class TurnRecord:
    """One agent reply and the timings that led to it (seconds; None = not measured)."""

    room: str
    job_id: str
    turn_index: int
    user_text: str | None
    agent_text: str
    interrupted: bool
    end_of_utterance_delay: float | None
    transcription_delay: float | None
    llm_ttft: float | None
    tts_ttfb: float | None
    e2e_latency: float | None
    user_stopped_at: float | None  # wall clock (time.time())
    agent_started_at: float | None
    # LLM start → first sentence/clause handed to TTS (shows a slow model's first clause).
    llm_ttfs: float | None = None
    created_at: float = field(default_factory=time.time)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _num(metrics: dict, key: str) -> float | None:
    value = metrics.get(key)
    return round(float(value), 4) if isinstance(value, int | float) else None


class TurnLatencyTracker:
    def __init__(self, *, room: str, job_id: str) -> None:
        self.room = room
        self.job_id = job_id
        self.records: list[TurnRecord] = []
        self._subscribers: list[TurnCallback] = []
        self._last_user: ChatMessage | None = None
        self._tasks: set[asyncio.Task] = set()

    def subscribe(self, callback: TurnCallback) -> None:
        self._subscribers.append(callback)

    def attach(self, session: AgentSession) -> TurnLatencyTracker:
        setattr(session, _ATTR, self)
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
        am: dict = dict(reply.metrics) if reply.metrics else {}
        # Only an LLM-generated reply answers the pending user turn. A fixed sentence (the
        # greeting, an apology) may be committed after the user spoke over it, and must not
        # take the user's turn from the reply that follows.
        user = self._last_user if "llm_node_ttft" in am else None
        if user is not None:
            self._last_user = None
        um: dict = dict(user.metrics) if user is not None and user.metrics else {}
        record = TurnRecord(
            room=self.room,
            job_id=self.job_id,
            turn_index=len(self.records),
            user_text=user.text_content if user is not None else None,
            agent_text=reply.text_content or "",
            interrupted=bool(reply.interrupted),
            end_of_utterance_delay=_num(um, "end_of_turn_delay"),
            transcription_delay=_num(um, "transcription_delay"),
            llm_ttft=_num(am, "llm_node_ttft"),
            tts_ttfb=_num(am, "tts_node_ttfb"),
            e2e_latency=_num(am, "e2e_latency"),
            user_stopped_at=_num(um, "stopped_speaking_at"),
            agent_started_at=_num(am, "started_speaking_at"),
            llm_ttfs=_num(am, "llm_node_ttfs"),
        )
        self.records.append(record)
        logger.info(
            "turn latency",
            extra={
                "room": record.room,
                "job_id": record.job_id,
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
        for callback in list(self._subscribers):
            self._notify(callback, record)
        return record

    def _notify(self, callback: TurnCallback, record: TurnRecord) -> None:
        try:
            result = callback(record)
        except Exception:
            logger.exception("turn record subscriber failed", extra={"room": self.room})
            return
        if inspect.isawaitable(result):
            task = asyncio.ensure_future(result)
            self._tasks.add(task)
            task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error(
                "turn record subscriber failed: %s", task.exception(), extra={"room": self.room}
            )


def turn_tracker(session: AgentSession) -> TurnLatencyTracker | None:
    return getattr(session, _ATTR, None)
