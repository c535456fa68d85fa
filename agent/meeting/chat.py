"""Meeting chat, as the agent sees it: messages in, answers out through the backend.

The backend relays every chat message of the meeting into the room (``CHAT_TOPIC``). Each
one joins the transcript under its sender; one that addresses the agent by name (the same
``AddressDetector`` rules as speech, via the copilot) is answered: in the chat by default,
aloud when the operator chose ``voice``. The agent never calls Meeting BaaS: it posts to the
backend's agent API (``MEETING_CHAT_PATH``) with its token and an idempotency key per answer,
so its retries never send a part twice; when the backend says the chat is disabled (or the
bot cannot chat), the answer is spoken instead, so it is never lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

import httpx
from livekit.agents import llm
from pydantic import ValidationError

from parley_agent.meeting.copilot import MeetingCopilot, TurnDecision
from parley_common.wire import (
    IDEMPOTENCY_HEADER,
    MEETING_CHAT_PATH,
    MeetingChatMessage,
    MeetingChatPost,
    MeetingChatReply,
)

logger = logging.getLogger("parley.meeting.chat")

ReplyChannel = Literal["chat", "voice"]
ANSWER_TIMEOUT_S = 20.0
POST_ATTEMPTS = 3
SORRY = "Sorry, I could not answer that just now."


@dataclass
class ChatBackend:
    """Where the agent API is, and the worker's token."""

    http: httpx.AsyncClient
    backend_url: str
    agent_token: str
    room_name: str
    timeout: float = 30.0  # the backend retries Meeting BaaS within this


class MeetingChat:
    def __init__(
        self,
        copilot: MeetingCopilot,
        backend: ChatBackend,
        speak: Callable[[str], Awaitable[object]],
        *,
        replies: ReplyChannel = "chat",
        model: Callable[[], llm.LLM | None] = lambda: None,
        instructions: str = "",
        retry_delay: float = 0.5,
    ) -> None:
        self.copilot = copilot
        self.backend = backend
        self._speak = speak
        self.replies = replies
        self._model = model
        self._instructions = instructions
        self._retry_delay = retry_delay
        self._tasks: set[asyncio.Task[None]] = set()
        self.answered: list[tuple[str, str]] = []  # (question id, channel it went out on)

    def on_packet(self, data: bytes) -> None:
        """A relayed chat message (the room's data callback: must not block)."""
        try:
            message = MeetingChatMessage.model_validate_json(data)
        except ValidationError as exc:
            logger.warning("malformed chat message from the bridge: %s", exc.errors()[:1])
            return
        decision = self.copilot.decide(message.text)
        self.copilot.commit(message.text, decision, speaker=message.sender)
        if decision.action == "ignore":
            return
        logger.info("addressed in chat by %s (%s)", message.sender, decision.action)
        task = asyncio.get_running_loop().create_task(self._answer(message, decision))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def wait_idle(self, timeout: float) -> None:
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout)

    # ------------------------------------------------------------------ answering
    async def _answer(self, message: MeetingChatMessage, decision: TurnDecision) -> None:
        text = decision.say or await self._compose(message.sender, decision)
        self.copilot.record_agent(text)
        key = "chat-answer:" + "".join(c for c in message.id if c.isalnum() or c in "_.:-")[:180]
        channel = self.replies
        if channel == "chat":
            reply = await self.post(text, key)
            if reply is None or reply.status != "sent":
                why = reply.status if reply is not None else "backend unreachable"
                logger.info("chat answer not delivered (%s): speaking it", why)
                channel = "voice"
        if channel == "voice":
            await self._speak(text)
        self.answered.append((message.id, channel))

    async def _compose(self, sender: str, decision: TurnDecision) -> str:
        """The model's answer to the request (within the transcript lines when given); the
        transcript's own words when there is no model or it fails."""
        fallback = decision.answer.spoken() if decision.answer and decision.answer.found else SORRY
        model = self._model()
        if model is None:
            return fallback
        chat = llm.ChatContext()
        chat.add_message(role="system", content=self._instructions)
        if decision.grounding:
            chat.add_message(role="system", content=decision.grounding)
        chat.add_message(role="user", content=f"{sender} (in the meeting chat): {decision.request}")
        text = ""
        try:
            async with asyncio.timeout(ANSWER_TIMEOUT_S):
                async with model.chat(chat_ctx=chat) as stream:
                    async for chunk in stream:
                        if chunk.delta and chunk.delta.content:
                            text += chunk.delta.content
        except Exception as exc:  # any provider failure: answer from the transcript
            logger.warning("chat answer from the model failed: %s", exc)
            return fallback
        return text.strip() or fallback

    async def post(self, text: str, key: str, purpose: str = "answer") -> MeetingChatReply | None:
        """Post to the meeting chat through the backend; None when it could not be reached.
        Retried with the same key: the backend sends each part once."""
        body = MeetingChatPost.fitted(
            message_id=key, room_name=self.backend.room_name, text=text, purpose=purpose
        )
        url = f"{self.backend.backend_url.rstrip('/')}{MEETING_CHAT_PATH}"
        headers = {
            "Authorization": f"Bearer {self.backend.agent_token}",
            IDEMPOTENCY_HEADER: key,
        }
        for attempt in range(1, POST_ATTEMPTS + 1):
            try:
                resp = await self.backend.http.post(
                    url,
                    json=body.model_dump(mode="json"),
                    headers=headers,
                    timeout=self.backend.timeout,
                )
                if resp.status_code < 500:
                    resp.raise_for_status()
                    return MeetingChatReply.model_validate(resp.json())
                logger.warning("meeting chat post: backend %d", resp.status_code)
            except httpx.HTTPStatusError as exc:
                logger.warning("meeting chat post refused: %s", exc.response.text[:200])
                return None
            except (httpx.HTTPError, ValueError, ValidationError) as exc:
                logger.warning("meeting chat post failed (attempt %d): %s", attempt, exc)
            await asyncio.sleep(self._retry_delay * attempt)
        return None
