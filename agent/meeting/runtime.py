"""Attach meeting mode to a running session and room: speakers in, console asks, summary out.

``MeetingRuntime`` is the one object the worker creates per meeting job. It owns the
transcript store and the copilot, listens to the bridge's speaker changes, records what the
agent says, answers the ``parley.ask`` RPC, and at the end builds the summary (the history
uploader posts it, as it posts every turn).
"""

from __future__ import annotations

import asyncio
import logging
import time

from livekit import rtc
from livekit.agents import AgentSession, llm
from livekit.agents.voice.events import ConversationItemAddedEvent, UserStateChangedEvent

from parley_agent.meeting.chat import ChatBackend, MeetingChat, ReplyChannel
from parley_agent.meeting.console import ConsoleAsks, register_ask_rpc
from parley_agent.meeting.copilot import MeetingCopilot
from parley_agent.meeting.summary import MeetingSummary, build_summary, llm_summary
from parley_agent.meeting.transcript import TranscriptStore
from parley_common.wire import (
    CHAT_TOPIC,
    SPEAKER_ATTRIBUTE,
    SPEAKERS_TOPIC,
    WRAP_UP_METHOD,
    WrapUpReply,
)

logger = logging.getLogger("parley.meeting.runtime")

# How long a console question waits for the transcript of speech that just ended (some
# speech never yields one: a cough, noise).
PENDING_TURN_MAX_S = 10.0


class MeetingRuntime:
    def __init__(self, agent_name: str, store: TranscriptStore | None = None) -> None:
        self.copilot = MeetingCopilot(agent_name, store=store)
        self.session: AgentSession | None = None
        self.asks: ConsoleAsks | None = None
        self._speech_ended_at: float | None = None
        self._last_turn_at = 0.0
        self.chat: MeetingChat | None = None
        # The model that writes the summary (None: the transcript's); set by the agent.
        self.summary_model: llm.LLM | None = None

    def enable_chat(
        self, backend: ChatBackend, replies: ReplyChannel, instructions: str
    ) -> MeetingChat:
        """Read the meeting chat and answer what is addressed to the agent (see ``chat``)."""

        def model() -> llm.LLM | None:
            found = self.session.llm if self.session is not None else None
            return found if isinstance(found, llm.LLM) else None

        self.chat = MeetingChat(
            self.copilot,
            backend,
            self._speak_chat_answer,
            replies=replies,
            model=model,
            instructions=instructions,
        )
        return self.chat

    async def _speak_chat_answer(self, text: str) -> None:
        if self.session is None:
            logger.info("chat answer not spoken: no session yet")
            return
        await self._speak(text)

    @property
    def store(self) -> TranscriptStore:
        return self.copilot.store

    # ---------------------------------------------------------------- session
    def attach_session(self, session: AgentSession) -> None:
        """Record the agent's own words; start the console-question queue."""
        self.session = session
        session.on("conversation_item_added", self._on_item)
        session.on("user_state_changed", self._on_user_state)
        self.asks = ConsoleAsks(
            self._speak, self._is_quiet, self.copilot.record_console, why_not_quiet=self._states
        )
        self.asks.start()

    def _on_item(self, ev: ConversationItemAddedEvent) -> None:
        item = ev.item
        if not isinstance(item, llm.ChatMessage):
            return
        if item.role == "user":
            self._last_turn_at = time.monotonic()
        elif item.role == "assistant" and item.text_content:
            self.copilot.record_agent(item.text_content)

    def _on_user_state(self, ev: UserStateChangedEvent) -> None:
        if ev.old_state == "speaking":
            self._speech_ended_at = time.monotonic()

    def _turn_pending(self) -> bool:
        """Speech ended but its transcript has not arrived: when it does, the framework
        interrupts whatever the agent is saying, so a console question waits for it."""
        ended = self._speech_ended_at
        return (
            ended is not None
            and self._last_turn_at < ended
            and time.monotonic() - ended < PENDING_TURN_MAX_S
        )

    def _is_quiet(self) -> bool:
        session = self.session
        if session is None:
            return False
        return (
            session.user_state != "speaking"
            and session.agent_state not in ("speaking", "thinking")
            and not self._turn_pending()
        )

    def _states(self) -> str:
        session = self.session
        if session is None:
            return "no session"
        pending = ", transcript pending" if self._turn_pending() else ""
        return f"user {session.user_state}, agent {session.agent_state}{pending}"

    async def _speak(self, text: str) -> bool:
        """Say ``text``; False when someone cut it off. Interruptible: never talk over people."""
        assert self.session is not None
        try:
            handle = self.session.say(text, allow_interruptions=True)
        except RuntimeError as exc:  # the session is closing: nobody left to ask
            logger.info("console question not asked: %s", exc)
            return True
        await handle
        return not handle.interrupted

    # ---------------------------------------------------------------- room
    def attach_room(self, room: rtc.Room) -> None:
        """Speaker changes from the bridge (data topic or attribute) and the ask RPC."""
        room.on("data_received", self._on_data)
        room.on("participant_attributes_changed", self._on_attributes)
        if self.asks is not None:
            register_ask_rpc(room, self.asks)
        room.local_participant.register_rpc_method(WRAP_UP_METHOD, self._wrap_up)

    async def _wrap_up(self, _data: rtc.RpcInvocationData) -> str:
        """The operator ends the meeting: post the summary to the chat before the bot leaves
        (once per meeting: the key is the room's). The stored summary comes at job end."""
        if self.chat is None or not self.store.speakers():
            return WrapUpReply(ok=True).model_dump_json()
        summary = await self.summarise(self.summary_model)
        key = f"summary:{self.chat.backend.room_name}"
        reply = await self.chat.post(summary.text(), key, purpose="summary")
        status = reply.status if reply is not None else "failed"
        logger.info("summary to the meeting chat: %s", status)
        return WrapUpReply(ok=status == "sent", status=status).model_dump_json()

    def _on_data(self, packet: rtc.DataPacket) -> None:
        if packet.topic == SPEAKERS_TOPIC:
            self.copilot.speakers.update_from_payload(packet.data)
        elif packet.topic == CHAT_TOPIC and self.chat is not None:
            self.chat.on_packet(packet.data)

    def _on_attributes(self, changed: dict[str, str], participant: rtc.Participant) -> None:
        name = changed.get(SPEAKER_ATTRIBUTE)
        if name is not None:
            if name.strip():
                self.copilot.speakers.update(" ".join(name.split())[:100], True)
            else:
                current = self.copilot.speakers.current()
                if current:
                    self.copilot.speakers.update(current, False)

    # ---------------------------------------------------------------- end
    async def summarise(self, model: llm.LLM | None = None) -> MeetingSummary:
        """The model's summary when ``model`` writes a valid one in time, else the
        transcript's (deterministic)."""
        summary = None
        if model is not None:
            summary = await llm_summary(model, self.store)
        if summary is not None:
            return summary
        # The regular-expression scans of a long transcript take 100+ ms of CPU: in a
        # thread, on a snapshot, not on the job's event loop.
        return await asyncio.to_thread(build_summary, self.store.copy())

    async def finish(self, model: llm.LLM | None = None) -> MeetingSummary:
        """Stop the ask queue and build the summary (never raises for the model)."""
        if self.asks is not None:
            await self.asks.aclose()
        if self.chat is not None:
            await self.chat.aclose()
        return await self.summarise(model)
