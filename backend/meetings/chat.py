"""The meeting chat, outbound: split long text into messages and deliver each exactly once.

Meeting BaaS takes 1-500 characters per ``send-chat-message`` and has no idempotency key of
its own, so ours lives here: every part of a post is claimed in the timeline under
``chat:<key>:<index>`` once it was delivered, and a retry of the same post (the agent's
uploader, the console resubmitting) sends only the parts not yet claimed. Their
``FST_ERR_SEND_CHAT_MESSAGE_FAILED`` (500) says the message was not delivered, so it is
resent; a reply lost after sending (a read timeout) is never resent, because the message
may be in the chat already: that part is reported "failed" rather than risked twice.
"""

from __future__ import annotations

import asyncio
import logging
import re
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from parley_backend.meetings import store
from parley_backend.meetings.baas_client import MeetingBaasClient, MeetingBaasError
from parley_common.wire import MAX_CHAT_MESSAGE_CHARS, ChatOutcome

logger = logging.getLogger("parley.meetings.chat")

# A sentence ends at . ! ? or … followed by space; a line break always ends a piece.
_BOUNDARY = re.compile(r"(?<=[.!?\u2026])([\"')\]]*)[ \t]+|\s*\n\s*")
RETRY_DELAYS_S = (0.5, 1.0, 2.0)


def _hard_split(piece: str, limit: int) -> list[str]:
    """A piece longer than ``limit`` with no sentence end: at word boundaries, else cut."""
    out: list[str] = []
    while len(piece) > limit:
        cut = piece.rfind(" ", 0, limit + 1)
        if cut <= 0:
            cut = limit
        out.append(piece[:cut].rstrip())
        piece = piece[cut:].lstrip()
    if piece:
        out.append(piece)
    return out


def split_message(text: str, limit: int = MAX_CHAT_MESSAGE_CHARS) -> list[str]:
    """``text`` as chat messages of at most ``limit`` characters, broken between sentences
    (or lines) wherever they fit; nothing is dropped but surrounding whitespace."""
    pieces: list[tuple[str, str]] = []  # (piece, separator before the next one)
    pos = 0
    for match in _BOUNDARY.finditer(text):
        # Closing quotes or brackets after the stop belong to the sentence.
        end = match.start() + len(match.group(1) or "")
        piece = text[pos:end].strip()
        if piece:
            pieces.append((piece, "\n" if "\n" in match.group(0) else " "))
        pos = match.end()
    tail = text[pos:].strip()
    if tail:
        pieces.append((tail, " "))
    messages: list[str] = []
    current = ""
    sep = ""
    for piece, next_sep in pieces:
        for part in _hard_split(piece, limit):
            if current and len(current) + len(sep) + len(part) <= limit:
                current += sep + part
            else:
                if current:
                    messages.append(current)
                current = part
            sep = next_sep
    if current:
        messages.append(current)
    return messages


@dataclass(frozen=True)
class ChatResult:
    status: ChatOutcome
    parts: int
    sent: int
    detail: str | None = None


class ChatSender:
    """One per backend process; ``send`` is safe to call again with the same key."""

    def __init__(
        self,
        client: MeetingBaasClient,
        engine: AsyncEngine,
        *,
        retry_delays: tuple[float, ...] = RETRY_DELAYS_S,
        on_sent: Callable[[str, str], Awaitable[None]] | None = None,
    ) -> None:
        self.client = client
        self.engine = engine
        self.retry_delays = retry_delays
        self._on_sent = on_sent
        # One lock per key while a send of it runs (weak: finished keys do not pile up).
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    async def send(self, meeting_id: str, bot_id: str, text: str, key: str) -> ChatResult:
        parts = split_message(text)
        lock = self._locks.get(f"{meeting_id}:{key}")
        if lock is None:
            lock = self._locks[f"{meeting_id}:{key}"] = asyncio.Lock()
        log = {"meeting_id": meeting_id, "chat_key": key}
        async with lock:
            sent = 0
            for index, part in enumerate(parts):
                dedupe = f"chat:{key}:{index}"[:128]
                if await store.has_event(self.engine, dedupe):
                    sent += 1
                    continue
                failure = await self._deliver(bot_id, part, log)
                if failure is not None:
                    status, detail = failure
                    await store.add_event(
                        self.engine,
                        meeting_id,
                        "chat.failed",
                        {"key": key[:200], "part": index, "status": status, "detail": detail},
                    )
                    return ChatResult(status, len(parts), sent, detail)
                await store.add_event(
                    self.engine,
                    meeting_id,
                    "chat.sent",
                    {"key": key[:200], "part": index, "parts": len(parts), "chars": len(part)},
                    dedupe_key=dedupe,
                )
                if self._on_sent is not None:
                    await self._on_sent(meeting_id, part)
                sent += 1
        return ChatResult("sent", len(parts), sent)

    async def _deliver(
        self, bot_id: str, part: str, log: dict[str, str]
    ) -> tuple[ChatOutcome, str] | None:
        """None when delivered, else (outcome, what they said)."""
        for attempt, delay in enumerate((*self.retry_delays, None)):
            try:
                await self.client.send_chat_message(bot_id, part)
                return None
            except MeetingBaasError as exc:
                detail = f"{exc.status} {exc.code}"
                if exc.code == "FST_ERR_CHAT_DISABLED" or exc.status == 422:
                    return "chat_disabled", detail
                if exc.code == "FST_ERR_BOT_STATUS" or exc.status == 409:
                    return "not_in_call", detail
                # Only a failure that says "not delivered" is safe to send again.
                transient = exc.status >= 500 or exc.status == 429
                if not transient or delay is None:
                    return "failed", detail
                logger.warning(
                    "chat message not delivered (%s), retry %d in %.1f s",
                    detail,
                    attempt + 1,
                    delay,
                    extra=log,
                )
                await asyncio.sleep(delay)
        return "failed", "retries exhausted"
