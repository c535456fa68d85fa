"""Post every finished turn and the session summary to the backend's agent API.

The worker must not lose what was said when the backend restarts or is down for a while,
and must never stall the voice pipeline waiting for it. So turns go into a bounded local
buffer and one background task posts them in order, retrying with exponential backoff
(capped, so an outage of a minute delays delivery by seconds, not minutes). Every post
carries an idempotency key (``turn_id`` / ``summary_id``): a retry of a post the backend
stored but never acknowledged is recognised and stored once. What is still unsent when
the job ends is written to a spool directory and sent by the next job of this worker.

The session summary goes the same way, once, at job end: the agent's own
(``session_summary()``: the meeting's decisions and action items) or, when it has none, a
default one from the turn counts.

Interface::

    # in the entrypoint, before session.start
    attach_history(session, ctx, config, settings, summary=agent.session_summary)
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import math
import os
import random
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from livekit.agents import AgentSession, ConversationItemAddedEvent, JobContext
from livekit.agents.llm import ChatMessage
from pydantic import ValidationError

from parley_agent.latency import latency_parts
from parley_agent.settings import AgentSettings
from parley_common.agent_config import AgentConfig
from parley_common.wire import (
    IDEMPOTENCY_HEADER,
    SUMMARIES_PATH,
    TURNS_PATH,
    LatencyParts,
    SummaryPost,
    TurnPost,
    summary_id,
)

if TYPE_CHECKING:
    from parley_agent.conversation import SessionSummary

logger = logging.getLogger("parley.history")


@dataclass
class HistoryOptions:
    backend_url: str
    agent_token: str
    max_buffer: int = 1000  # posts held while the backend is unreachable
    initial_backoff: float = 0.5
    max_backoff: float = 10.0
    request_timeout: float = 5.0
    flush_timeout: float = 6.0  # at job end; the framework allows ~10 s for shutdown
    # Of that, the agent's own summary may take this long (a model writing it).
    summary_timeout: float = 5.0
    spool_dir: Path | None = None  # None: no spool (attach_history passes the settings')


@dataclass
class _Post:
    path: str
    body: dict[str, Any]
    key: str
    attempts: int = 0


@dataclass
class UploadStats:
    sent: int = 0
    duplicates: int = 0
    rejected: int = 0  # permanent 4xx: retrying cannot help
    dropped: int = 0  # buffer overflow
    spooled: int = 0
    attempts: int = 0


def backoff_delay(attempt: int, initial: float, cap: float) -> float:
    """Exponential backoff with full jitter in [delay/2, delay], capped at ``cap``."""
    delay = min(cap, initial * (2.0 ** max(0, attempt - 1)))
    return delay / 2 + random.random() * delay / 2


class HistoryUploader:
    """An ordered, bounded, retrying queue of agent-API posts with one sender task."""

    def __init__(self, options: HistoryOptions, *, log_extra: dict[str, Any] | None = None) -> None:
        self.options = options
        self.stats = UploadStats()
        # Filled in at send time for bodies that lack them (e.g. the room SID, known later).
        self.defaults: dict[str, Any] = {}
        self._log_extra = log_extra or {}
        self._queue: deque[_Post] = deque()
        self._inflight: _Post | None = None
        self._idle = asyncio.Event()
        self._idle.set()
        self._wake = asyncio.Event()
        self._closing = False
        self._deadline: float | None = None
        self._task: asyncio.Task[None] | None = None
        self._http: httpx.AsyncClient | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        if self._task is not None:
            return
        self._http = httpx.AsyncClient(
            base_url=self.options.backend_url.rstrip("/"),
            timeout=self.options.request_timeout,
            headers={"Authorization": f"Bearer {self.options.agent_token}"},
        )
        self._load_spool()
        self._task = asyncio.create_task(self._run(), name="parley-history-uploader")

    async def aclose(self, timeout: float | None = None) -> None:
        """Send what is buffered within ``timeout`` (default ``flush_timeout``), spool the
        rest, stop."""
        timeout = self.options.flush_timeout if timeout is None else timeout
        self._closing = True
        self._deadline = time.monotonic() + timeout
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), timeout + 1)
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
        self._spool_remaining()
        if self._http is not None:
            await self._http.aclose()
        logger.info("history uploader closed", extra={**self._log_extra, **vars(self.stats)})

    @property
    def pending(self) -> int:
        """Posts not yet acknowledged (buffered plus the one in flight)."""
        return len(self._queue) + (1 if self._inflight is not None else 0)

    async def wait_idle(self, timeout: float) -> bool:
        """Wait until every buffered post is sent (tests and benchmarks)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), timeout)
        return not self.pending

    # ------------------------------------------------------------------ queue

    def enqueue(self, path: str, body: dict[str, Any], key: str) -> None:
        """Never blocks and never raises: the voice pipeline calls this from event handlers."""
        if self._queue and self.pending >= self.options.max_buffer:
            # Keep the newest: it is what the agent will be asked about next.
            lost = self._queue.popleft()
            self.stats.dropped += 1
            logger.error(
                "history buffer full, dropped the oldest post",
                extra={**self._log_extra, "key": lost.key, "buffer": self.pending},
            )
        self._queue.append(_Post(path, body, key))
        self._idle.clear()
        self._wake.set()

    async def _run(self) -> None:
        while True:
            if not self._queue:
                self._idle.set()
                if self._closing:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            self._inflight = self._queue.popleft()
            done = await self._deliver(self._inflight)
            if not done:  # closing and out of time: back to the front, for the spool
                self._queue.appendleft(self._inflight)
                self._inflight = None
                return
            self._inflight = None

    def _out_of_time(self) -> bool:
        return self._deadline is not None and time.monotonic() >= self._deadline

    async def _deliver(self, post: _Post) -> bool:
        """Post until the backend answers for good. False only when closing ran out of time."""
        assert self._http is not None
        body = {**post.body}
        for key, value in self.defaults.items():
            if body.get(key) is None and value is not None:
                body[key] = value
        while True:
            if self._out_of_time():
                return False
            post.attempts += 1
            self.stats.attempts += 1
            retry_after: float | None = None
            try:
                resp = await self._http.post(
                    post.path, json=body, headers={IDEMPOTENCY_HEADER: post.key}
                )
                status = resp.status_code
                if status < 300:
                    if status == 200:
                        self.stats.duplicates += 1  # stored before; the ack had been lost
                    self.stats.sent += 1
                    return True
                # 401/403: a token mismatch is fixed by configuration, not by the turn, so
                # hold the queue (and spool at the end) rather than drop every turn.
                if status in (401, 403, 408, 425, 429) or status >= 500:
                    retry_after = _retry_after(resp)
                    reason = f"HTTP {status}"
                    if status in (401, 403) and post.attempts == 1:
                        logger.error(
                            "backend refused the agent token; holding history until it is fixed",
                            extra={**self._log_extra, "status": status},
                        )
                else:
                    self.stats.rejected += 1
                    logger.error(
                        "backend refused a history post; not retrying",
                        extra={
                            **self._log_extra,
                            "key": post.key,
                            "status": status,
                            "response": resp.text[:300],
                        },
                    )
                    return True
            except httpx.HTTPError as exc:
                reason = type(exc).__name__
            delay = backoff_delay(
                post.attempts, self.options.initial_backoff, self.options.max_backoff
            )
            if retry_after is not None:
                delay = max(delay, min(retry_after, self.options.max_backoff * 3))
            if post.attempts in (1, 5) or post.attempts % 20 == 0:
                logger.warning(
                    "history post failed (%s), retrying in %.1f s",
                    reason,
                    delay,
                    extra={**self._log_extra, "key": post.key, "attempt": post.attempts},
                )
            if self._deadline is not None:
                delay = min(delay, max(0.0, self._deadline - time.monotonic()))
            await asyncio.sleep(delay)

    # ------------------------------------------------------------------ spool

    def _spool_path(self) -> Path | None:
        # One subdirectory per backend: spooled posts only ever go to the backend they were
        # meant for (several stacks may share a machine, e.g. in tests).
        if self.options.spool_dir is None:
            return None
        url = self.options.backend_url.rstrip("/")
        return self.options.spool_dir / hashlib.sha256(url.encode()).hexdigest()[:16]

    def _spool_remaining(self) -> None:
        if not self._queue:
            return
        directory = self._spool_path()
        if directory is None:
            self.stats.dropped += len(self._queue)
            logger.error(
                "history posts lost at shutdown (no spool directory)",
                extra={**self._log_extra, "count": len(self._queue)},
            )
            self._queue.clear()
            return
        try:
            directory.mkdir(parents=True, exist_ok=True)
            name = f"{int(time.time() * 1000)}-{uuid.uuid4().hex[:8]}.jsonl"
            tmp = directory / (name + ".tmp")
            with tmp.open("w") as fh:
                for post in self._queue:
                    body = {
                        **self.defaults,
                        **{k: v for k, v in post.body.items() if v is not None},
                    }
                    fh.write(json.dumps({"path": post.path, "key": post.key, "body": body}) + "\n")
            tmp.rename(directory / name)  # atomic: a reader never sees half a file
            self.stats.spooled += len(self._queue)
            logger.warning(
                "backend unreachable at shutdown; history spooled to disk",
                extra={**self._log_extra, "count": len(self._queue), "file": str(directory / name)},
            )
            self._queue.clear()
        except OSError as exc:
            self.stats.dropped += len(self._queue)
            logger.error("history spool failed: %s", exc, extra=self._log_extra)
            self._queue.clear()

    def _load_spool(self) -> None:
        directory = self._spool_path()
        if directory is None or not directory.is_dir():
            return
        for path in sorted(directory.glob("*.jsonl")):
            claimed = path.with_suffix(f".claimed-{os.getpid()}")
            try:
                path.rename(claimed)  # atomic claim: two jobs never both resend one file
            except OSError:
                continue
            try:
                for line in claimed.read_text().splitlines():
                    entry = json.loads(line)
                    self.enqueue(entry["path"], entry["body"], entry["key"])
                claimed.unlink()
            except (OSError, ValueError, KeyError) as exc:
                logger.error("unreadable history spool %s: %s", claimed, exc)


def _retry_after(resp: httpx.Response) -> float | None:
    value = resp.headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


# ---------------------------------------------------------------------- turns → posts


def _when(ts: float | None) -> datetime | None:
    if ts is None or not math.isfinite(ts) or ts <= 0:
        return None
    return datetime.fromtimestamp(ts, UTC)


def _body(post: TurnPost | SummaryPost) -> dict[str, Any]:
    # Absent, not null: the uploader fills what is known later (room_sid) at send time.
    return post.model_dump(mode="json", exclude_none=True)


SummarySource = Callable[[], Awaitable["SessionSummary | None"]]


@dataclass
class HistoryRecorder:
    """Turns ``conversation_item_added`` events into turn posts; posts the summary at the end."""

    uploader: HistoryUploader
    room_name: str
    job_id: str
    language: str | None
    agent_identity: Callable[[], str | None]
    user_identity: Callable[[], str | None]
    # The agent's own summary at job end (None from it, or no source: the default one).
    summary_source: SummarySource | None = None
    seq: int = 0
    counts: dict[str, int] = field(default_factory=lambda: {"user": 0, "agent": 0})
    e2e: list[float] = field(default_factory=list)
    interrupted: int = 0
    started_at: float = field(default_factory=time.time)
    summary_posted: bool = False

    def on_item(self, event: ConversationItemAddedEvent) -> None:
        """``conversation_item_added`` handler. Never raises into the session."""
        try:
            self._record(event.item)
        except ValidationError as exc:  # e.g. a room name outside the contract's pattern
            logger.error("turn not recorded: %s", exc, extra=self._ids)
        except Exception:
            logger.exception("could not record a turn", extra=self._ids)

    @property
    def _ids(self) -> dict[str, Any]:
        return {"room": self.room_name, "job_id": self.job_id}

    def _record(self, item: object) -> None:
        if not isinstance(item, ChatMessage) or item.role not in ("user", "assistant"):
            return
        text = (item.text_content or "").strip()
        if not text:
            return
        role = "agent" if item.role == "assistant" else "user"
        speaker = (self.agent_identity() if role == "agent" else self.user_identity()) or role
        metrics: dict[str, Any] = dict(item.metrics or {})
        started = metrics.get("started_speaking_at") or item.created_at
        ended = metrics.get("stopped_speaking_at")
        if ended is not None and started is not None and ended < started:
            ended = None
        latency = latency_parts(metrics)
        turn = TurnPost.fitted(
            turn_id=f"{self.job_id}:{item.id}",
            room_name=self.room_name,
            job_id=self.job_id,
            seq=self.seq,
            speaker_identity=speaker,
            role=role,
            text=text,
            language=self.language,
            started_at=_when(started),
            ended_at=_when(ended),
            interrupted=bool(item.interrupted),
            latency=LatencyParts(**latency) if latency else None,
        )
        self.seq += 1
        self.counts[role] += 1
        self.interrupted += int(bool(item.interrupted))
        if latency and "e2e" in latency:
            self.e2e.append(latency["e2e"])
        self.uploader.enqueue(TURNS_PATH, _body(turn), turn.turn_id)

    def post_summary(self, text: str, data: dict[str, Any] | None = None) -> None:
        """Queue the session summary (one per job: the key is the job's)."""
        summary = SummaryPost.fitted(
            summary_id=summary_id(self.job_id),
            room_name=self.room_name,
            job_id=self.job_id,
            text=text,
            data=data,
        )
        self.summary_posted = True
        self.uploader.enqueue(SUMMARIES_PATH, _body(summary), summary.summary_id)

    def default_summary(self) -> SessionSummary:
        duration = time.time() - self.started_at
        text = (
            f"Conversation of {duration:.0f} s with {self.counts['user']} user turn(s) and "
            f"{self.counts['agent']} agent turn(s); {self.interrupted} interrupted."
        )
        data: dict[str, Any] = {
            "duration_seconds": round(duration, 1),
            "user_turns": self.counts["user"],
            "agent_turns": self.counts["agent"],
            "interrupted_turns": self.interrupted,
        }
        if self.e2e:
            data["e2e_latency_avg"] = round(sum(self.e2e) / len(self.e2e), 4)
            data["e2e_latency_max"] = round(max(self.e2e), 4)
        return text, data

    async def _agent_summary(self) -> SessionSummary | None:
        if self.summary_source is None:
            return None
        try:
            return await asyncio.wait_for(
                self.summary_source(), self.uploader.options.summary_timeout
            )
        except Exception:  # a failed summary must not cost the buffered turns
            logger.exception("the agent's session summary failed", extra=self._ids)
            return None

    async def aclose(self, *_reason: object) -> None:
        """Queue the summary (the agent's, else the default one after any turn), flush."""
        started = time.monotonic()
        if not self.summary_posted:
            summary = await self._agent_summary()
            if summary is None and self.seq:
                summary = self.default_summary()
            if summary is not None:
                self.post_summary(*summary)
        elapsed = time.monotonic() - started
        # The sender kept posting turns meanwhile; the summary still gets a second or more.
        await self.uploader.aclose(max(1.0, self.uploader.options.flush_timeout - elapsed))


def attach_history(
    session: AgentSession,
    ctx: JobContext,
    config: AgentConfig,
    settings: AgentSettings,
    *,
    summary: SummarySource | None = None,
) -> HistoryRecorder:
    """Record ``session``'s turns for ``ctx``'s room; summarise and flush at job shutdown.

    Call before ``session.start``. ``summary`` is the agent's own summary at job end
    (``agent.session_summary``); without one (or when it returns None) the default summary
    from the turn counts is posted, if anything was said.
    """
    ids = {"room": ctx.room.name, "job_id": ctx.job.id}
    uploader = HistoryUploader(
        HistoryOptions(
            backend_url=settings.backend_url,
            agent_token=settings.agent_token,
            spool_dir=settings.spool_dir,
        ),
        log_extra=ids,
    )

    def agent_identity() -> str | None:
        try:
            return ctx.room.local_participant.identity or None
        except Exception:  # not connected yet
            return None

    def user_identity() -> str | None:
        try:
            linked = session.room_io.linked_participant
        except Exception:  # no room I/O (console, tests)
            return None
        return linked.identity if linked is not None else None

    language = config.language if config.language != "multi" else None
    recorder = HistoryRecorder(
        uploader=uploader,
        room_name=ctx.room.name,
        job_id=ctx.job.id,
        language=language,
        agent_identity=agent_identity,
        user_identity=user_identity,
        summary_source=summary,
    )
    uploader.start()
    session.on("conversation_item_added", recorder.on_item)

    async def learn_room_sid() -> None:
        # The SID exists once the room is connected; turns queued before get it at send time.
        with contextlib.suppress(Exception):
            uploader.defaults["room_sid"] = await ctx.room.sid

    sid_task = asyncio.create_task(learn_room_sid(), name="parley-history-room-sid")

    async def on_shutdown(_reason: str) -> None:
        sid_task.cancel()
        await recorder.aclose()

    ctx.add_shutdown_callback(on_shutdown)
    return recorder
