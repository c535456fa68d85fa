"""The meeting-mode agent: listens to everyone, speaks only when addressed or asked.

A :class:`ConversationAgent` with a different turn rule. It wires itself up on entry (the
worker only picks the class by ``config.mode``): the transcript records every turn under its
speaker, the bridge's speaker changes and the console's ``parley.ask`` RPC are attached to
the room, and at job shutdown the summary is posted to the backend.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import httpx
from livekit.agents import get_job_context, llm
from livekit.agents.llm import StopResponse

from parley_agent.conversation import ConversationAgent
from parley_agent.meeting.copilot import MeetingCopilot
from parley_agent.meeting.runtime import MeetingRuntime
from parley_agent.meeting.transcript import TranscriptStore
from parley_common.agent_config import AgentConfig

logger = logging.getLogger("parley.meeting.agent")

# The agent's own chat history stays short; the full record is the transcript store.
MAX_CHAT_ITEMS = 40


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
    ) -> None:
        rules = meeting_rules(config.agent_display_name)
        super().__init__(
            config,
            tools=tools,
            extra_instructions=f"{rules}\n\n{extra_instructions}" if extra_instructions else rules,
        )
        self.runtime = runtime or MeetingRuntime(config.agent_display_name)
        self._finished = False

    @property
    def transcript(self) -> TranscriptStore:
        return self.runtime.store

    @property
    def copilot(self) -> MeetingCopilot:
        return self.runtime.copilot

    async def on_enter(self) -> None:
        await super().on_enter()
        self.runtime.attach_session(self.session)
        try:
            job = get_job_context()
        except RuntimeError:
            return  # text harness: no room, no job
        self.runtime.attach_room(job.room)
        linked = next(iter(job.room.remote_participants.values()), None)
        if linked is not None and linked.name:
            self.copilot.fallback_speaker = linked.name
        job.add_shutdown_callback(self._post_summary)

    async def _post_summary(self) -> None:
        if self._finished:
            return
        self._finished = True
        from parley_agent.settings import get_settings

        settings = get_settings()
        job = get_job_context()
        async with httpx.AsyncClient() as http:
            await self.runtime.finish(
                http=http,
                backend_url=settings.backend_url,
                agent_token=settings.agent_token,
                room_name=job.room.name,
                job_id=job.job.id,
                model=self.session.llm if isinstance(self.session.llm, llm.LLM) else None,
            )

    async def on_user_turn_completed(
        self, turn_ctx: llm.ChatContext, new_message: llm.ChatMessage
    ) -> None:
        text = new_message.text_content or ""
        decision = self.copilot.on_turn(text)
        # The model sees who said each line, as the transcript does.
        new_message.content = [f"{decision.speaker}: {text}"]
        await self._bound_history()
        if decision.action == "ignore":
            raise StopResponse()
        kind = decision.answer.kind if decision.answer else "general"
        logger.info("addressed by %s (%s)", decision.speaker, kind)
        if decision.action == "say":
            self.session.say(decision.say)
            raise StopResponse()
        if decision.grounding:
            turn_ctx.add_message(role="system", content=decision.grounding)
        await super().on_user_turn_completed(turn_ctx, new_message)

    async def _bound_history(self) -> None:
        if len(self.chat_ctx.items) > MAX_CHAT_ITEMS * 2:
            trimmed = self.chat_ctx.copy()
            trimmed.truncate(max_items=MAX_CHAT_ITEMS)
            await self.update_chat_ctx(trimmed)
