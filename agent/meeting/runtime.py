"""Attach meeting mode to a running session and room: speakers in, console asks, summary out.

``MeetingRuntime`` is the one object the worker creates per meeting job. It owns the
transcript store and the copilot, listens to the bridge's speaker changes, records what the
agent says, answers the ``parley.ask`` RPC, and at shutdown posts the summary.
"""

from __future__ import annotations

import asyncio
import logging

import httpx
from livekit import rtc
from livekit.agents import AgentSession, llm
from livekit.agents.voice.events import ConversationItemAddedEvent

from parley_agent.meeting.console import ConsoleAsks, register_ask_rpc
from parley_agent.meeting.copilot import MeetingCopilot
from parley_agent.meeting.speakers import SPEAKER_ATTRIBUTE, SPEAKERS_TOPIC
from parley_agent.meeting.summary import MeetingSummary, build_summary, llm_summary, post_summary
from parley_agent.meeting.transcript import TranscriptStore

logger = logging.getLogger("parley.meeting.runtime")


class MeetingRuntime:
    def __init__(self, agent_name: str, store: TranscriptStore | None = None) -> None:
        self.copilot = MeetingCopilot(agent_name, store=store)
        self.session: AgentSession | None = None
        self.asks: ConsoleAsks | None = None

    @property
    def store(self) -> TranscriptStore:
        return self.copilot.store

    # ---------------------------------------------------------------- session
    def attach_session(self, session: AgentSession) -> None:
        """Record the agent's own words; start the console-question queue."""
        self.session = session
        session.on("conversation_item_added", self._on_item)
        self.asks = ConsoleAsks(self._speak, self._is_quiet, self.copilot.record_console)
        self.asks.start()

    def _on_item(self, ev: ConversationItemAddedEvent) -> None:
        item = ev.item
        if isinstance(item, llm.ChatMessage) and item.role == "assistant" and item.text_content:
            self.copilot.record_agent(item.text_content)

    def _is_quiet(self) -> bool:
        session = self.session
        if session is None:
            return False
        return session.user_state != "speaking" and session.agent_state not in (
            "speaking",
            "thinking",
        )

    async def _speak(self, text: str) -> None:
        assert self.session is not None
        # Recorded by _on_item as the agent's words; add_to_chat_ctx keeps it in the history.
        await self.session.say(text, allow_interruptions=True)

    # ---------------------------------------------------------------- room
    def attach_room(self, room: rtc.Room) -> None:
        """Speaker changes from the bridge (data topic or attribute) and the ask RPC."""
        room.on("data_received", self._on_data)
        room.on("participant_attributes_changed", self._on_attributes)
        if self.asks is not None:
            register_ask_rpc(room, self.asks)

    def _on_data(self, packet: rtc.DataPacket) -> None:
        if packet.topic == SPEAKERS_TOPIC:
            self.copilot.speakers.update_from_payload(packet.data)

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
        summary = None
        if model is not None:
            summary = await llm_summary(model, self.store)
        return summary or build_summary(self.store)

    async def finish(
        self,
        *,
        http: httpx.AsyncClient,
        backend_url: str | None,
        agent_token: str | None,
        room_name: str,
        job_id: str | None,
        model: llm.LLM | None = None,
    ) -> MeetingSummary:
        """Stop the ask queue, build the summary and post it (never raises)."""
        if self.asks is not None:
            await self.asks.aclose()
        summary = await self.summarise(model)
        if backend_url and agent_token:
            try:
                await post_summary(http, backend_url, agent_token, summary,
                                   room_name=room_name, job_id=job_id)  # fmt: skip
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("could not post the meeting summary")
        else:
            logger.warning("no backend configured; meeting summary not posted")
        return summary
