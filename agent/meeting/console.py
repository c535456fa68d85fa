"""Questions from the meeting console: the ``parley.ask`` RPC and saying them aloud.

The backend calls RPC ``parley.ask`` on the agent participant with ``{"question": str}``
(``AskRequest`` in ``parley_common.wire``).
The handler validates, queues the question and answers ``{"ok": true}`` at once (speaking
can take longer than an RPC may wait). The queue speaks each question at the next pause, so
the agent never talks over people.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from livekit import rtc
from pydantic import ValidationError

from parley_common.wire import ASK_METHOD, MAX_QUESTION_CHARS, AskReply, AskRequest

logger = logging.getLogger("parley.meeting.console")

QUIET_BEFORE_SPEAKING_S = 0.8
MAX_QUEUED = 10
MAX_ATTEMPTS = 3


def parse_ask_payload(payload: str) -> str:
    """The question from an RPC payload, or ``rtc.RpcError`` with a clear message."""
    try:
        request = AskRequest.model_validate_json(payload)
    except ValidationError as exc:
        raise rtc.RpcError(1400, 'payload must be JSON {"question": str}') from exc
    question = " ".join(request.question.split())
    if not question:
        raise rtc.RpcError(1400, "question is empty")
    if len(question) > MAX_QUESTION_CHARS:
        raise rtc.RpcError(1413, f"question longer than {MAX_QUESTION_CHARS} characters")
    return question


def phrase_for_meeting(question: str) -> str:
    return f"A question from the meeting console: {question}"


class ConsoleAsks:
    """Queue of console questions, spoken one by one when the meeting is quiet.

    ``is_quiet`` reports whether nobody is speaking (and the agent is not speaking);
    ``speak`` says a sentence and returns when it has played, False if someone cut it off
    (then it is asked again at the next pause, up to ``MAX_ATTEMPTS`` times).
    """

    def __init__(
        self,
        speak: Callable[[str], Awaitable[bool | None]],
        is_quiet: Callable[[], bool],
        on_asked: Callable[[str], None] | None = None,
        quiet_s: float = QUIET_BEFORE_SPEAKING_S,
        why_not_quiet: Callable[[], str] | None = None,
    ) -> None:
        self._speak = speak
        self._is_quiet = is_quiet
        self._on_asked = on_asked
        self._quiet_s = quiet_s
        self._why = why_not_quiet
        self._queue: asyncio.Queue[str] = asyncio.Queue(maxsize=MAX_QUEUED)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    def submit(self, question: str) -> None:
        try:
            self._queue.put_nowait(question)
        except asyncio.QueueFull as exc:
            raise rtc.RpcError(1429, "too many questions waiting; try again shortly") from exc

    async def handle_rpc(self, data: rtc.RpcInvocationData) -> str:
        question = parse_ask_payload(data.payload)
        self.submit(question)
        logger.info(
            "console question queued (from %s, %d chars)", data.caller_identity, len(question)
        )
        return AskReply(ok=True).model_dump_json()

    async def _wait_for_quiet(self) -> float:
        """Wait for ``quiet_s`` of quiet; returns how long it took."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        quiet_since: float | None = None
        next_note = started + 30.0
        while True:
            now = loop.time()
            if self._is_quiet():
                quiet_since = quiet_since or now
                if now - quiet_since >= self._quiet_s:
                    return now - started
            else:
                quiet_since = None
            if now >= next_note:
                why = self._why() if self._why else "?"
                logger.info(
                    "console question still waiting for a pause (%.0f s; %s)", now - started, why
                )
                next_note = now + 30.0
            await asyncio.sleep(0.1)

    async def _run(self) -> None:
        while True:
            question = await self._queue.get()
            try:
                await self._ask(question)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("could not put a console question to the meeting")

    async def _ask(self, question: str) -> None:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            waited = await self._wait_for_quiet()
            logger.info(
                "putting a console question to the meeting (waited %.1f s, attempt %d)",
                waited,
                attempt,
            )
            if attempt == 1 and self._on_asked is not None:
                self._on_asked(question)
            if await self._speak(phrase_for_meeting(question)) is not False:
                return
            logger.info("console question was cut off; asking again at the next pause")
        logger.warning("console question cut off %d times; giving up", MAX_ATTEMPTS)


def register_ask_rpc(room: rtc.Room, asks: ConsoleAsks) -> None:
    room.local_participant.register_rpc_method(ASK_METHOD, asks.handle_rpc)
