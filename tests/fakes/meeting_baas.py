"""A faithful fake of Meeting BaaS v2 for tests and benchmarks.

It is a real HTTP server on a free loopback port (the v2 API with its auth header, status
codes and error shapes) and, for every bot created with streaming, a real WebSocket client
that dials the ``input_url`` exactly as their bot does: a handshake text frame (v2 with
``sample_rate`` or v1 without), mixed meeting audio as raw s16le mono PCM in real time,
speaker arrays as JSON text frames, reconnects with a new handshake after a drop, and the
per-bot ``bot.completed`` / ``bot.failed`` callbacks with ``x-mb-secret``. Optional
Svix-signed ``bot.status_change`` account webhooks. Wire facts: docs/meeting-bridge.md.

Meeting chat (v2), from /work/shared/docs/MEETING-BAAS.md "Meeting chat (v2)" (Meeting BaaS
v2 API reference, ``POST /v2/bots/{bot_id}/send-chat-message``): body ``{"message": str}``
of 1-500 characters, not whitespace-only (else 400 ``FST_ERR_VALIDATION``); 200
``{"success": true, "data": {"message": ...}}``; 409 ``FST_ERR_BOT_STATUS`` unless the bot
is ``in_call_not_recording``, ``in_call_recording``, ``recording_paused`` or
``recording_resumed``; 422 ``FST_ERR_CHAT_DISABLED`` when the host disabled chat; 500
``FST_ERR_SEND_CHAT_MESSAGE_FAILED`` when delivery failed (injectable here). Incoming chat is
the Svix-signed account webhook ``bot.chat_message`` (the bot's own messages are not sent);
its payload is not pinned down by the public docs, so the fake sends
``data.message.{sender_id, sender_name, text, timestamp}`` and the backend also accepts a
flat ``data.{sender_name, text, ...}``. Sent messages also appear in the ``chat_messages``
artifact with ``sender_id: null`` and the bot's name as ``sender_name``.

Everything runs on the caller's event loop so tests can await the bot directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import json
import logging
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
import websockets
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from svix.webhooks import Webhook

logger = logging.getLogger("tests.fake_meeting_baas")

API_KEY_HEADER = "x-meeting-baas-api-key"
AUDIO_FREQUENCIES = (16000, 24000, 32000, 48000)
JOINING = ("queued", "joining_call", "in_waiting_room")
TERMINAL = ("completed", "failed")
CHAT_STATUSES = (
    "in_call_not_recording",
    "in_call_recording",
    "recording_paused",
    "recording_resumed",
)
MAX_CHAT_CHARS = 500


def _error(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    names = {
        400: "Bad Request",
        402: "Payment Required",
        403: "Forbidden",
        404: "Not Found",
        409: "Conflict",
        422: "Unprocessable Entity",
        429: "Too Many Requests",
        500: "Internal Server Error",
    }
    body = {
        "success": False,
        "error": names.get(status, "Error"),
        "code": code,
        "statusCode": status,
        "message": message,
        "details": extra.pop("details", None),
        **extra,
    }
    headers = {}
    if "retryAfter" in extra:
        headers["retry-after"] = str(extra["retryAfter"])
    return JSONResponse(body, status_code=status, headers=headers)


def _now_iso() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat()


def svix_headers(secret: str, msg_id: str, body: str) -> dict[str, str]:
    """The headers of a Svix delivery of ``body`` signed with ``secret`` (whsec_...), as
    Meeting BaaS's account webhooks send them (svix-id, -timestamp, -signature)."""
    now = datetime.datetime.now(datetime.UTC)
    return {
        "svix-id": msg_id,
        "svix-timestamp": str(int(now.timestamp())),
        "svix-signature": Webhook(secret).sign(msg_id, now, body),
        "content-type": "application/json",
    }


@dataclass
class ReceivedAudio:
    at: float  # time.monotonic() when the frame arrived
    pcm: bytes


class FakeBot:
    """One bot: its status, its streaming socket and what it heard from the agent."""

    def __init__(self, fake: FakeMeetingBaas, bot_id: str, body: dict[str, Any]) -> None:
        self.fake = fake
        self.bot_id = bot_id
        self.body = body
        self.status = "queued"
        self.status_history: list[str] = ["queued"]
        self.updated_at = _now_iso()
        stream = body.get("streaming_config") or {}
        self.streaming = bool(body.get("streaming_enabled"))
        self.input_url: str | None = stream.get("input_url")
        self.output_url: str | None = stream.get("output_url")
        self.sample_rate: int = int(stream.get("audio_frequency") or 24000)
        self.callback: dict[str, Any] | None = (
            body.get("callback_config") if body.get("callback_enabled") else None
        )
        self.protocol_version = fake.protocol_version
        self.chunk_ms: list[float] = [100.0]  # cycled; odd sizes exercise the bridge
        self.received: list[ReceivedAudio] = []
        self.text_received: list[str] = []
        self.connections = 0
        self.handshakes_sent: list[dict[str, Any]] = []
        self.callbacks_sent: list[tuple[str, int]] = []
        self._speech: asyncio.Queue[bytes] = asyncio.Queue()
        self._ws: Any = None
        self._connected = asyncio.Event()
        self._left = asyncio.Event()
        self._drop = asyncio.Event()
        self._speaking_done = asyncio.Event()
        self._speaking_done.set()
        self._task: asyncio.Task | None = None
        self._pending: list[tuple[str, Any]] = []  # text/binary frames to inject
        self.on_frame_sent: Callable[[float, bytes], None] | None = None
        # Meeting chat: what the bot posted (in order), the whole chat as the artifact
        # lists it, whether the host allows chat, and delivery failures to inject.
        self.chat_sent: list[str] = []
        self.chat_log: list[dict[str, Any]] = []
        self.chat_enabled = True
        self.chat_failures = 0  # the next N sends answer 500 FST_ERR_SEND_CHAT_MESSAGE_FAILED
        # {messages delivered so far: failures}: inject failures once that many went through
        self.chat_fail_plan: dict[int, int] = {}

    # --- what tests drive ---------------------------------------------------------------

    def say(self, pcm: bytes) -> None:
        """Queue meeting audio; it is streamed in real time after what is already queued."""
        self._speaking_done.clear()
        self._speech.put_nowait(pcm)

    async def wait_spoken(self, timeout: float) -> None:
        await asyncio.wait_for(self._speaking_done.wait(), timeout)

    def send_speakers(self, speakers: list[dict[str, Any]]) -> None:
        self._pending.append(("text", json.dumps(speakers)))

    def send_raw(self, kind: str, payload: Any) -> None:
        """Inject an arbitrary frame ("text" str or "binary" bytes), e.g. garbage."""
        self._pending.append((kind, payload))

    async def post_chat(self, sender_name: str, text: str, sender_id: int | None = 1) -> None:
        """A participant writes in the meeting chat: the ``bot.chat_message`` account
        webhook (Svix-signed) is delivered, as their bot reports messages it can read."""
        message = {
            "sender_id": sender_id,
            "sender_name": sender_name,
            "text": text,
            "timestamp": _now_iso(),
        }
        self.chat_log.append(message)
        await self.fake._deliver_account_event(
            "bot.chat_message", {"bot_id": self.bot_id, "message": message}, self
        )

    async def wait_chat(self, count: int, timeout: float) -> list[str]:
        """Wait until the bot has posted ``count`` messages; returns them."""
        deadline = time.monotonic() + timeout
        while len(self.chat_sent) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{len(self.chat_sent)} of {count} chat messages: {self.chat_sent}"
                )
            await asyncio.sleep(0.05)
        return list(self.chat_sent)

    async def wait_connected(self, timeout: float) -> None:
        await asyncio.wait_for(self._connected.wait(), timeout)

    def drop(self) -> None:
        """Close the socket from the bot's side; it reconnects after ``reconnect_delay``."""
        self._drop.set()

    def received_pcm(self, since: float = 0.0) -> bytes:
        return b"".join(r.pcm for r in self.received if r.at >= since)

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self._life(), name=f"fake-bot-{self.bot_id}")

    def set_status(self, status: str) -> None:
        if status == self.status:
            return
        self.status = status
        self.status_history.append(status)
        self.updated_at = _now_iso()
        self.fake._spawn(self.fake._account_webhook(self, status))

    async def _life(self) -> None:
        try:
            for status in ("joining_call", "in_waiting_room"):
                await asyncio.sleep(self.fake.join_step_s)
                if self._left.is_set():
                    return
                self.set_status(status)
            await asyncio.sleep(self.fake.join_step_s)
            if self._left.is_set():
                return
            if self.fake.fail_join_with:
                await self._fail(self.fake.fail_join_with)
                return
            self.set_status("in_call_recording")
            if self.streaming:
                await self._stream_until_left()
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("fake bot %s crashed", self.bot_id)

    async def _fail(self, error_code: str) -> None:
        self.set_status("failed")
        await self._send_callback(
            "bot.failed",
            {
                "bot_id": self.bot_id,
                "event_id": str(uuid.uuid4()),
                "error_code": error_code,
                "error_message": f"fake failure {error_code}",
                "sent_at": _now_iso(),
            },
        )

    async def leave(self) -> None:
        self._left.set()
        self.set_status("call_ended")
        if self._task is not None:
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(self._task), 5)
        self.set_status("completed")
        await self._send_callback(
            "bot.completed",
            {
                "bot_id": self.bot_id,
                "event_id": str(uuid.uuid4()),
                "transcription": None,
                "mp4": None,
                "audio": None,
                "diarization": None,
                "chat_messages": list(self.chat_log),
                "duration_seconds": 1,
                "participants": [],
                "speakers": [],
            },
        )

    async def stop(self) -> None:
        self._left.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task

    async def _stream_until_left(self) -> None:
        assert self.input_url
        if self.output_url and self.output_url != self.input_url:
            raise NotImplementedError("the fake only dials one two-way socket")
        backoff = self.fake.reconnect_delay
        while not self._left.is_set():
            try:
                async with websockets.connect(
                    self.input_url, max_size=2**22, open_timeout=10
                ) as ws:
                    backoff = self.fake.reconnect_delay
                    self.connections += 1
                    self._ws = ws
                    handshake: dict[str, Any] = {
                        "protocol_version": self.protocol_version,
                        "bot_id": self.bot_id,
                        "offset": 0.0,
                    }
                    if self.protocol_version >= 2:
                        handshake["sample_rate"] = self.sample_rate
                    await ws.send(json.dumps(handshake))
                    self.handshakes_sent.append(handshake)
                    self._connected.set()
                    self._drop.clear()
                    await self._pump(ws)
            except (OSError, websockets.WebSocketException) as exc:
                logger.info("fake bot %s socket ended: %s", self.bot_id, exc)
            finally:
                self._ws = None
                self._connected.clear()
            if self._left.is_set():
                return
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 60.0)

    async def _pump(self, ws: Any) -> None:
        reader = asyncio.create_task(self._read(ws))
        try:
            await self._send_realtime(ws, reader)
        finally:
            reader.cancel()
            with contextlib.suppress(BaseException):
                await reader

    async def _read(self, ws: Any) -> None:
        async for message in ws:
            if isinstance(message, bytes):
                self.received.append(ReceivedAudio(time.monotonic(), message))
            else:
                self.text_received.append(message)

    async def _send_realtime(self, ws: Any, reader: asyncio.Task) -> None:
        """Send the mixed meeting audio on a real-time clock: speech when queued, else silence."""
        current = b""
        chunk_index = 0
        start = time.monotonic()
        sent_s = 0.0
        while not self._left.is_set() and not self._drop.is_set() and not reader.done():
            while self._pending:
                _kind, payload = self._pending.pop(0)
                await ws.send(payload)
            ms = self.chunk_ms[chunk_index % len(self.chunk_ms)]
            chunk_index += 1
            n_bytes = max(2, int(self.sample_rate * ms / 1000) * 2)
            if not current and not self._speech.empty():
                current = self._speech.get_nowait()
            if current:
                chunk, current = current[:n_bytes], current[n_bytes:]
                chunk += b"\x00" * (n_bytes - len(chunk))
                if not current and self._speech.empty():
                    self._speaking_done.set()
            else:
                chunk = b"\x00" * n_bytes
            await ws.send(chunk)
            if self.on_frame_sent is not None:
                self.on_frame_sent(time.monotonic(), chunk)
            sent_s += len(chunk) / 2 / self.sample_rate
            delay = start + sent_s - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        if self._drop.is_set() and not self._left.is_set():
            await ws.close()

    async def _send_callback(self, event: str, data: dict[str, Any]) -> None:
        if not self.callback:
            return
        body = {"event": event, "data": data}
        if self.body.get("extra") is not None:
            body["extra"] = self.body["extra"]
        method = self.callback.get("method", "POST")
        headers = {"x-mb-secret": self.callback.get("secret", "")}
        # Their documented retry schedule on network errors and 5xx: 1, 5 and 15 s.
        for delay in (0.0, *self.fake.callback_retry_delays):
            await asyncio.sleep(delay)
            try:
                async with httpx.AsyncClient(timeout=10) as client:
                    resp = await client.request(
                        method, self.callback["url"], json=body, headers=headers
                    )
                self.callbacks_sent.append((event, resp.status_code))
                if resp.status_code < 500:
                    return
            except httpx.HTTPError:
                self.callbacks_sent.append((event, 0))


@dataclass
class FakeMeetingBaas:
    """The fake service. ``async with FakeMeetingBaas() as fake: fake.base_url``."""

    api_key: str = "fake-mb-key"
    join_step_s: float = 0.2
    reconnect_delay: float = 1.0
    protocol_version: int = 2
    callback_retry_delays: tuple[float, ...] = (1.0, 5.0, 15.0)
    account_webhook_url: str | None = None
    account_webhook_secret: str | None = None  # "whsec_..." (Svix)
    fail_join_with: str | None = None
    bots: dict[str, FakeBot] = field(default_factory=dict)
    requests: list[tuple[str, str, int]] = field(default_factory=list)
    _queued_errors: list[JSONResponse] = field(default_factory=list)
    _server: uvicorn.Server | None = None
    _serve_task: asyncio.Task | None = None
    _tasks: set[asyncio.Task] = field(default_factory=set)
    port: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def fail_next(self, status: int, code: str, message: str = "injected", **extra: Any) -> None:
        """The next API request (after auth) answers with this error instead."""
        self._queued_errors.append(_error(status, code, message, **extra))

    def bot(self, bot_id: str | None = None) -> FakeBot:
        if bot_id is None:
            return list(self.bots.values())[-1]
        return self.bots[bot_id]

    async def wait_for_bot(self, timeout: float) -> FakeBot:
        deadline = time.monotonic() + timeout
        while not self.bots:
            if time.monotonic() > deadline:
                raise TimeoutError("no bot was created")
            await asyncio.sleep(0.05)
        return self.bot()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _account_webhook(self, bot: FakeBot, status: str) -> None:
        await self._deliver_account_event(
            "bot.status_change",
            {"bot_id": bot.bot_id, "status": {"code": status, "created_at": _now_iso()}},
            bot,
        )

    async def _deliver_account_event(self, event: str, data: dict[str, Any], bot: FakeBot) -> None:
        if not (self.account_webhook_url and self.account_webhook_secret):
            return
        payload = json.dumps({"event": event, "data": data, "extra": bot.body.get("extra")})
        headers = svix_headers(self.account_webhook_secret, f"msg_{uuid.uuid4().hex}", payload)
        with contextlib.suppress(httpx.HTTPError):
            async with httpx.AsyncClient(timeout=10) as client:
                await client.post(self.account_webhook_url, content=payload, headers=headers)

    # --- HTTP API -----------------------------------------------------------------------

    async def _guard(self, request: Request) -> JSONResponse | None:
        key = request.headers.get(API_KEY_HEADER)
        if key != self.api_key:
            return _error(403, "FST_ERR_FORBIDDEN", "invalid or missing API key")
        if self._queued_errors:
            return self._queued_errors.pop(0)
        return None

    def _log(self, request: Request, status: int) -> None:
        self.requests.append((request.method, request.url.path, status))

    async def _create_bot(self, request: Request) -> JSONResponse:
        response = await self._guard(request) or await self._validate_create(request)
        if isinstance(response, JSONResponse):
            self._log(request, response.status_code)
            return response
        body = response
        bot_id = str(uuid.uuid4())
        bot = FakeBot(self, bot_id, body)
        self.bots[bot_id] = bot
        bot.start()
        self._log(request, 201)
        return JSONResponse({"success": True, "data": {"bot_id": bot_id}}, status_code=201)

    async def _validate_create(self, request: Request) -> dict[str, Any] | JSONResponse:
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "FST_ERR_CTP_INVALID_JSON_BODY", "body is not valid JSON")
        problems: list[str] = []
        if not isinstance(body, dict):
            return _error(400, "FST_ERR_VALIDATION", "body must be an object")
        name = body.get("bot_name")
        if not isinstance(name, str) or not 1 <= len(name) <= 255:
            problems.append("body/bot_name must be 1-255 characters")
        if not isinstance(body.get("meeting_url"), str) or not body["meeting_url"]:
            problems.append("body must have required property 'meeting_url'")
        if "entry_message" in body and len(str(body["entry_message"])) > 500:
            problems.append("body/entry_message must be at most 500 characters")
        if body.get("recording_mode", "speaker_view") not in (
            "speaker_view",
            "audio_only",
            "gallery_view",
        ):
            problems.append("body/recording_mode must be equal to one of the allowed values")
        if body.get("streaming_enabled"):
            stream = body.get("streaming_config")
            if not isinstance(stream, dict):
                problems.append("body/streaming_config is required when streaming_enabled")
            elif stream.get("audio_frequency", 24000) not in AUDIO_FREQUENCIES:
                problems.append("body/streaming_config/audio_frequency must be 16000-48000")
        if body.get("callback_enabled"):
            cb = body.get("callback_config")
            if not isinstance(cb, dict) or not isinstance(cb.get("url"), str):
                problems.append("body/callback_config/url is required when callback_enabled")
            elif cb.get("method", "POST") not in ("POST", "PUT"):
                problems.append("body/callback_config/method must be POST or PUT")
        if problems:
            return _error(400, "FST_ERR_VALIDATION", problems[0], details=problems)
        return body

    def _find(self, request: Request) -> FakeBot | JSONResponse:
        bot_id = request.path_params["bot_id"]
        bot = self.bots.get(bot_id)
        if bot is None:
            return _error(404, "FST_ERR_BOT_NOT_FOUND_BY_ID", f"bot {bot_id} not found")
        return bot

    async def _leave(self, request: Request) -> JSONResponse:
        found = await self._guard(request) or self._find(request)
        if isinstance(found, JSONResponse):
            self._log(request, found.status_code)
            return found
        if found.status in TERMINAL or found._left.is_set():
            self._log(request, 409)
            return _error(409, "FST_ERR_BOT_ALREADY_COMPLETED", "bot already left the call")
        self._spawn(found.leave())
        self._log(request, 200)
        return JSONResponse({"success": True, "data": {"message": "bot is leaving"}})

    async def _status(self, request: Request) -> JSONResponse:
        found = await self._guard(request) or self._find(request)
        if isinstance(found, JSONResponse):
            self._log(request, found.status_code)
            return found
        self._log(request, 200)
        return JSONResponse(
            {
                "success": True,
                "data": {
                    "bot_id": found.bot_id,
                    "status": found.status,
                    "updated_at": found.updated_at,
                },
            }
        )

    async def _details(self, request: Request) -> JSONResponse:
        found = await self._guard(request) or self._find(request)
        if isinstance(found, JSONResponse):
            self._log(request, found.status_code)
            return found
        self._log(request, 200)
        return JSONResponse(
            {
                "success": True,
                "data": {
                    "bot_id": found.bot_id,
                    "bot_name": found.body.get("bot_name"),
                    "meeting_url": found.body.get("meeting_url"),
                    "status": found.status,
                    "extra": found.body.get("extra"),
                },
            }
        )

    async def _send_chat(self, request: Request) -> JSONResponse:
        found = await self._guard(request) or self._find(request)
        if isinstance(found, JSONResponse):
            self._log(request, found.status_code)
            return found
        try:
            body = await request.json()
        except ValueError:
            self._log(request, 400)
            return _error(400, "FST_ERR_CTP_INVALID_JSON_BODY", "body is not valid JSON")
        message = body.get("message") if isinstance(body, dict) else None
        problem = None
        if not isinstance(message, str):
            problem = "body must have required property 'message'"
        elif not 1 <= len(message) <= MAX_CHAT_CHARS:
            problem = f"body/message must be 1-{MAX_CHAT_CHARS} characters"
        elif not message.strip():
            problem = "body/message must not be whitespace only"
        if problem is not None:
            self._log(request, 400)
            return _error(400, "FST_ERR_VALIDATION", problem, details=[problem])
        if found.status not in CHAT_STATUSES:
            self._log(request, 409)
            return _error(409, "FST_ERR_BOT_STATUS", f"bot is {found.status}, not in the call")
        if not found.chat_enabled:
            self._log(request, 422)
            return _error(422, "FST_ERR_CHAT_DISABLED", "chat is disabled in this meeting")
        found.chat_failures += found.chat_fail_plan.pop(len(found.chat_sent), 0)
        if found.chat_failures > 0:
            found.chat_failures -= 1
            self._log(request, 500)
            return _error(
                500, "FST_ERR_SEND_CHAT_MESSAGE_FAILED", "the message could not be delivered"
            )
        found.chat_sent.append(message)
        found.chat_log.append(
            {
                "sender_id": None,
                "sender_name": found.body.get("bot_name"),
                "text": message,
                "timestamp": _now_iso(),
            }
        )
        self._log(request, 200)
        return JSONResponse({"success": True, "data": {"message": "chat message sent"}})

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v2/bots", self._create_bot, methods=["POST"]),
                Route("/v2/bots/{bot_id}/leave", self._leave, methods=["POST"]),
                Route("/v2/bots/{bot_id}/status", self._status, methods=["GET"]),
                Route("/v2/bots/{bot_id}/send-chat-message", self._send_chat, methods=["POST"]),
                Route("/v2/bots/{bot_id}", self._details, methods=["GET"]),
            ]
        )

    async def start(self) -> FakeMeetingBaas:
        if not self.port:  # a port chosen in advance: a backend configured before we start
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app(), host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._serve_task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._serve_task.done():
                self._serve_task.result()
            await asyncio.sleep(0.02)
        return self

    async def stop(self) -> None:
        for bot in list(self.bots.values()):
            await bot.stop()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            self._server.should_exit = True
        if self._serve_task is not None:
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(self._serve_task, 10)

    async def __aenter__(self) -> FakeMeetingBaas:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
