"""The meeting-mode agent: listens to everyone, speaks only when addressed or asked.

A :class:`ConversationAgent` with a different turn rule, applied in ``llm_node`` so it holds
for every way a turn arrives (speech, typed chat, the text harness): a turn not addressed to
the agent produces no reply and no model call; a transcript question with no answer gets a
fixed honest sentence; one with an answer goes to the model with the matching transcript
lines. Every user turn is recorded under its speaker. The worker passes in what the agent
needs (its meeting runtime, the room, the answer style); on entry the agent attaches the
bridge's speaker changes and the console's ``parley.ask`` RPC to the room, and at job end
``session_summary`` gives the history the meeting's summary (decisions, action items).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterable, Sequence
from typing import Any, Literal

from livekit import rtc
from livekit.agents import Agent, FlushSentinel, ModelSettings, llm
from livekit.agents.voice.events import ConversationItemAddedEvent, UserStateChangedEvent

from parley_agent.conversation import ConversationAgent, SessionSummary
from parley_agent.meeting.copilot import MeetingCopilot, TurnDecision
from parley_agent.meeting.runtime import MeetingRuntime
from parley_agent.meeting.transcript import Segment, TranscriptStore
from parley_common.agent_config import AgentConfig
from parley_common.wire import bridge_identity, is_bridge_identity

logger = logging.getLogger("parley.meeting.agent")

# The agent's own chat history stays short; the full record is the transcript store.
MAX_CHAT_ITEMS = 40
_REMEMBERED_TURNS = 200

# How transcript answers are phrased (PARLEY_MEETING_ANSWERS): "model" lets the LLM phrase
# the quoted lines, "extractive" speaks the quotes, "auto" picks by the model (see below).
AnswerStyle = Literal["auto", "model", "extractive"]


def meeting_link(config: AgentConfig) -> dict[str, Any]:
    """Room options that link a meeting session to the bridge participant ``meeting-<id>``
    (so a console viewer joining first is never mistaken for the meeting)."""
    if config.mode == "meeting" and config.meeting_id:
        return {"participant_identity": bridge_identity(config.meeting_id)}
    return {}


def meeting_rules(name: str) -> str:
    return (
        f"You are in a meeting as a quiet copilot. People talk to each other; you are only "
        f"asked when someone says your name ({name}). Each user message starts with the "
        f"speaker's name. When you are given lines from the meeting transcript, answer only "
        f"from them and say who said what; if they do not contain the answer, say the "
        f"transcript does not say. Never invent what anyone said."
    )


class MeetingAgent(ConversationAgent):
    def __init__(
        self,
        config: AgentConfig,
        *,
        tools: Sequence[llm.Tool | llm.Toolset] = (),
        extra_instructions: str | None = None,
        runtime: MeetingRuntime | None = None,
        room: rtc.Room | None = None,
        answers: AnswerStyle = "auto",
        embedded_llm: bool = False,
    ) -> None:
        """``runtime`` holds the transcript (shared with the transcript tool); ``room`` is
        where the bridge's speaker changes and the ``parley.ask`` RPC arrive (None: text
        harness); ``embedded_llm`` says the session's primary LLM is the small embedded
        model, for ``answers="auto"``."""
        rules = meeting_rules(config.agent_display_name)
        super().__init__(
            config,
            tools=tools,
            extra_instructions=f"{rules}\n\n{extra_instructions}" if extra_instructions else rules,
        )
        self.runtime = runtime or MeetingRuntime(config.agent_display_name)
        self._room = room
        self._answers = answers
        self._embedded_llm = embedded_llm
        # user message id -> its transcript segment, and -> decision (llm_node can run twice
        # for one turn)
        self._segment_of: OrderedDict[str, Segment | None] = OrderedDict()
        self._decided: OrderedDict[str, TurnDecision] = OrderedDict()
        # A decision taken before its turn was final (preemptive generation): (text, decision)
        self._pending: tuple[str, TurnDecision] | None = None
        self._summary_llm: llm.LLM | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        # Speech window of the turn in progress (monotonic), from the VAD's user state.
        self._speech_started: float | None = None
        self._speech_ended: float | None = None

    @property
    def transcript(self) -> TranscriptStore:
        return self.runtime.store

    @property
    def copilot(self) -> MeetingCopilot:
        return self.runtime.copilot

    # ------------------------------------------------------------------ lifecycle
    async def on_enter(self) -> None:
        await super().on_enter()
        self.copilot.extractive = self._extractive_answers()
        # Kept now: at job shutdown the agent is no longer running and has no session.
        # The small embedded model cannot write a usable summary; the transcript one is used.
        if isinstance(self.session.llm, llm.LLM) and not self.copilot.extractive:
            self._summary_llm = self.session.llm
        self.runtime.summary_model = self._summary_llm
        self.session.on("conversation_item_added", self._on_item)
        self.session.on("user_state_changed", self._on_user_state)
        self.runtime.attach_session(self.session)
        if self._room is not None:
            self.runtime.attach_room(self._room)

    def _linked_name(self) -> str | None:
        """Who a turn is from when the bridge names nobody: the linked participant, unless it
        is the bridge itself (its name is the meeting's, not a speaker's)."""
        try:
            linked = self.session.room_io.linked_participant
        except RuntimeError:  # no room
            return None
        if linked is None or is_bridge_identity(linked.identity):
            return None
        return linked.name or linked.identity

    def _extractive_answers(self) -> bool:
        if self._answers != "auto":
            return self._answers == "extractive"
        # auto: the small embedded model garbles and misattributes quotes; a capable model
        # (cloud, or a configured endpoint) phrases them. No LLM at all: quote.
        if not isinstance(self.session.llm, llm.LLM):
            return self.session.llm is None
        return self._embedded_llm

    async def on_exit(self) -> None:
        self.session.off("conversation_item_added", self._on_item)
        self.session.off("user_state_changed", self._on_user_state)
        await super().on_exit()

    async def session_summary(self) -> SessionSummary | None:
        """The meeting's summary for the history at job end (the ask queue stops first);
        None when the agent never joined the session (the job failed before it started)."""
        if self.runtime.session is None:
            return None
        summary = await self.runtime.finish(self._summary_llm)
        return summary.text(), summary.model_dump()

    # ------------------------------------------------------------------ turns
    def _on_user_state(self, ev: UserStateChangedEvent) -> None:
        if ev.new_state == "speaking":
            if self._speech_started is None:
                self._speech_started = time.monotonic()
            self._speech_ended = None
        elif ev.old_state == "speaking":
            self._speech_ended = time.monotonic()

    def _take_speech_window(self) -> tuple[float, float] | None:
        if self._speech_started is None:
            return None
        window = (self._speech_started, self._speech_ended or time.monotonic())
        self._speech_started = self._speech_ended = None
        return window

    def _decision(self, message: llm.ChatMessage) -> TurnDecision:
        """One decision per turn, whichever comes first: the commit or the reply."""
        decision = self._decided.get(message.id)
        if decision is not None:
            return decision
        text = message.text_content or ""
        if self._pending is not None and self._pending[0] == text:
            return self._pending[1]
        decision = self.copilot.decide(text)
        self._pending = (text, decision)
        return decision

    def _on_item(self, ev: ConversationItemAddedEvent) -> None:
        item = ev.item
        if not (isinstance(item, llm.ChatMessage) and item.role == "user" and item.text_content):
            return
        # The turn is final now (a preemptive reply may have decided on it already).
        decision = self._decision(item)
        self._pending = None
        segment = self.copilot.commit(
            item.text_content,
            decision,
            window=self._take_speech_window(),
            fallback=self._linked_name(),
        )
        self._decided[item.id] = decision
        self._segment_of[item.id] = segment
        for cache in (self._decided, self._segment_of):
            while len(cache) > _REMEMBERED_TURNS:
                cache.popitem(last=False)
        if decision.action != "ignore":
            kind = decision.answer.kind if decision.answer else "general"
            logger.info("addressed by %s (%s, %s)", decision.speaker, kind, decision.action)
        if len(self.chat_ctx.items) > MAX_CHAT_ITEMS * 2:
            task = asyncio.get_running_loop().create_task(self._bound_history())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _bound_history(self) -> None:
        trimmed = self.chat_ctx.copy()
        trimmed.truncate(max_items=MAX_CHAT_ITEMS)
        await self.update_chat_ctx(trimmed)

    # The SDK types the node as a union of coroutines, one per kind of result; an async def
    # that may return any of them is one coroutine of the union, which mypy cannot match.
    async def llm_node(  # type: ignore[override]
        self,
        chat_ctx: llm.ChatContext,
        tools: list[llm.Tool],
        model_settings: ModelSettings,
    ) -> AsyncIterable[llm.ChatChunk | str | FlushSentinel] | str | None:
        last = chat_ctx.items[-1] if chat_ctx.items else None
        if isinstance(last, llm.ChatMessage) and last.role == "user":
            decision = self._decision(last)
            if decision.action == "ignore":
                return None
            if decision.action == "say":
                return decision.say
            if decision.grounding:
                chat_ctx.add_message(role="system", content=decision.grounding)
        self._label_speakers(chat_ctx)
        return Agent.default.llm_node(self, chat_ctx, tools, model_settings)

    def _label_speakers(self, chat_ctx: llm.ChatContext) -> None:
        """Show the model who said each line. Items are replaced, not edited: the context
        the node gets is a copy, but its messages are shared with the session's history."""
        last_user = max(
            (i for i, item in enumerate(chat_ctx.items) if _is_user(item)), default=None
        )
        for index, item in enumerate(chat_ctx.items):
            if not _is_user(item):
                continue
            segment = self._segment_of.get(item.id)
            if segment is not None:
                speaker = segment.speaker
            elif index == last_user:
                speaker = self.copilot.attribute()  # not final yet: who speaks now
            else:
                continue
            assert isinstance(item, llm.ChatMessage)  # _is_user checked it
            text = item.text_content or ""
            if not text.startswith(f"{speaker}: "):
                chat_ctx.items[index] = item.model_copy(update={"content": [f"{speaker}: {text}"]})


def _is_user(item: object) -> bool:
    return isinstance(item, llm.ChatMessage) and item.role == "user"
