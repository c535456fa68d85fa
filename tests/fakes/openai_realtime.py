"""A fake OpenAI Realtime API: the WebSocket session as livekit-agents' engine drives it.

Sources:
- the plugin's protocol engine: ``livekit/agents/llm/_realtime/openai.py`` 1.8.9
  (``_create_ws_url_and_headers``: ``GET /v1/realtime?model=...`` with ``Authorization:
  Bearer``; client events ``session.update``, ``input_audio_buffer.append / commit /
  clear``, ``conversation.item.create / delete / truncate``, ``response.create`` (with
  ``response.metadata.client_event_id``), ``response.cancel``; ``_recv_task`` handles
  ``input_audio_buffer.speech_started / speech_stopped``, ``response.created``,
  ``response.output_item.added``, ``response.content_part.added``,
  ``conversation.item.added / deleted``,
  ``conversation.item.input_audio_transcription.completed``,
  ``response.output_audio_transcript.delta``, ``response.output_audio.delta / done``,
  ``response.output_item.done``, ``response.done``, ``error``);
- OpenAI's docs: "Realtime API" guide and the "Realtime server events" / "client events"
  reference (platform.openai.com/docs/api-reference/realtime-server-events): 24 kHz mono
  pcm16 base64 audio, ``server_vad`` turn detection with ``create_response`` and
  ``interrupt_response`` (on by default), ``session.created`` on connect, ``session.updated``
  after each update.

Choices where the docs leave room: the server VAD is an energy detector (speech above
``SPEECH_RMS`` per appended chunk, ``silence_s`` of quiet ends it); the user's words are
the queued transcript (the fake cannot understand audio); a reply is "You said: <transcript>"
or, for ``response.create`` instructions ``Say exactly this greeting: X``, X; its audio is
espeak-ng at 24 kHz, sent faster than real time in 100 ms deltas after ``ttft_s``; speech
that starts during a response cancels it (``response.done`` with ``status: cancelled``), as
``interrupt_response`` does.
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from aiohttp import WSMsgType, web

from parley_common.testing.speech_synth import espeak_pcm

RATE = 24000
SPEECH_RMS = 300.0


def _id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:20]}"


@dataclass
class FakeRealtime:
    ttft_s: float = 0.3
    silence_s: float = 0.5
    transcript: str = "Hello there."
    client_events: list[str] = field(default_factory=list)  # types, audio appends excluded
    audio_bytes: int = 0
    replies: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    sessions: list[dict[str, Any]] = field(default_factory=list)  # session.update bodies
    connections: int = 0
    _sockets: set[web.WebSocketResponse] = field(default_factory=set)

    def build_app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/v1/realtime", self._realtime)
        return app

    async def drop_connections(self) -> None:
        for ws in list(self._sockets):
            await ws.close(code=1011, message=b"fake realtime dropped the connection")

    async def _realtime(self, request: web.Request) -> web.StreamResponse:
        auth = request.headers.get("Authorization", "")
        if not (auth.startswith("Bearer ") and auth[7:].strip()):
            return web.json_response(
                {"error": {"type": "invalid_request_error", "code": "invalid_api_key"}},
                status=401,
            )
        self.connections += 1
        ws = web.WebSocketResponse(max_msg_size=16 * 1024 * 1024)
        await ws.prepare(request)
        self._sockets.add(ws)
        try:
            await _Session(self, ws, request.query.get("model", "gpt-realtime")).run()
        finally:
            self._sockets.discard(ws)
        return ws


class _Session:
    def __init__(self, fake: FakeRealtime, ws: web.WebSocketResponse, model: str) -> None:
        self.fake, self.ws, self.model = fake, ws, model
        self.speaking = False
        self.quiet_s = 0.0
        self.audio_ms = 0.0
        self.user_item = ""
        self.last_item: str | None = None
        self.last_transcript = ""
        self.response: asyncio.Task[None] | None = None
        self.response_id = ""

    async def send(self, event: dict[str, Any]) -> None:
        if not self.ws.closed:
            await self.ws.send_str(json.dumps({"event_id": _id("event"), **event}))

    async def run(self) -> None:
        await self.send(
            {"type": "session.created", "session": {"id": _id("sess"), "model": self.model}}
        )
        async for msg in self.ws:
            if msg.type != WSMsgType.TEXT:
                continue
            event = json.loads(msg.data)
            kind = event.get("type", "")
            if kind != "input_audio_buffer.append":
                self.fake.client_events.append(kind)
            await self._handle(kind, event)
        if self.response:
            self.response.cancel()

    async def _handle(self, kind: str, event: dict[str, Any]) -> None:
        if kind == "session.update":
            self.fake.sessions.append(event.get("session", {}))
            await self.send({"type": "session.updated", "session": event.get("session", {})})
        elif kind == "input_audio_buffer.append":
            await self._audio(base64.b64decode(event.get("audio", "")))
        elif kind == "input_audio_buffer.clear":
            self.speaking = False
            await self.send({"type": "input_audio_buffer.cleared"})
        elif kind == "conversation.item.create":
            item = {"id": _id("item"), **event.get("item", {})}
            await self._item_added(item)
        elif kind == "conversation.item.delete":
            await self.send({"type": "conversation.item.deleted", "item_id": event.get("item_id")})
        elif kind == "conversation.item.truncate":
            await self.send(
                {
                    "type": "conversation.item.truncated",
                    "item_id": event.get("item_id"),
                    "content_index": event.get("content_index", 0),
                    "audio_end_ms": event.get("audio_end_ms", 0),
                }
            )
        elif kind == "response.create":
            body = event.get("response") or {}
            instructions = str(body.get("instructions") or "")
            marker = "Say exactly this greeting:"
            if marker in instructions:
                text = instructions.split(marker, 1)[1].strip()
            else:
                text = self._echo()
            self._start_response(text, body.get("metadata"))
        elif kind == "response.cancel":
            await self._cancel()

    def _echo(self) -> str:
        said = self.last_transcript.strip().rstrip(".?!")
        return f"You said: {said}. That is all I have to say about it."

    async def _item_added(self, item: dict[str, Any]) -> None:
        await self.send(
            {"type": "conversation.item.added", "previous_item_id": self.last_item, "item": item}
        )
        self.last_item = item["id"]

    async def _audio(self, pcm: bytes) -> None:
        self.fake.audio_bytes += len(pcm)
        samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2")
        seconds = samples.size / RATE
        self.audio_ms += seconds * 1000
        loud = samples.size and np.sqrt(np.mean(samples.astype(np.float64) ** 2)) >= SPEECH_RMS
        if loud:
            self.quiet_s = 0.0
            if not self.speaking:
                self.speaking = True
                self.user_item = _id("item")
                if self.response is not None and not self.response.done():
                    await self._cancel()  # interrupt_response
                await self.send(
                    {
                        "type": "input_audio_buffer.speech_started",
                        "audio_start_ms": int(self.audio_ms),
                        "item_id": self.user_item,
                    }
                )
            return
        if not self.speaking:
            return
        self.quiet_s += seconds
        if self.quiet_s < self.fake.silence_s:
            return
        self.speaking = False
        item = self.user_item
        await self.send(
            {
                "type": "input_audio_buffer.speech_stopped",
                "audio_end_ms": int(self.audio_ms),
                "item_id": item,
            }
        )
        await self.send(
            {
                "type": "input_audio_buffer.committed",
                "previous_item_id": self.last_item,
                "item_id": item,
            }
        )
        await self._item_added(
            {
                "id": item,
                "object": "realtime.item",
                "type": "message",
                "status": "completed",
                "role": "user",
                "content": [{"type": "input_audio", "transcript": None}],
            }
        )
        self.last_transcript = self.fake.transcript
        await self.send(
            {
                "type": "conversation.item.input_audio_transcription.completed",
                "item_id": item,
                "content_index": 0,
                "transcript": self.last_transcript,
            }
        )
        self._start_response(self._echo(), None)  # server_vad create_response

    def _start_response(self, text: str, metadata: dict[str, Any] | None) -> None:
        self.response_id = _id("resp")
        self.response = asyncio.create_task(self._respond(self.response_id, text, metadata))

    async def _cancel(self) -> None:
        task, self.response = self.response, None
        if task is None or task.done():
            return
        task.cancel()
        self.fake.cancelled.append(self.response_id)
        await self.send(
            {
                "type": "response.done",
                "response": {
                    "id": self.response_id,
                    "object": "realtime.response",
                    "status": "cancelled",
                    "status_details": {"type": "cancelled", "reason": "turn_detected"},
                    "output": [],
                },
            }
        )

    async def _respond(self, rid: str, text: str, metadata: dict[str, Any] | None) -> None:
        base = {"id": rid, "object": "realtime.response", "metadata": metadata}
        await self.send(
            {
                "type": "response.created",
                "response": {**base, "status": "in_progress", "output": []},
            }
        )
        item_id = _id("item")
        item = {
            "id": item_id,
            "object": "realtime.item",
            "type": "message",
            "status": "in_progress",
            "role": "assistant",
            "content": [],
        }
        where = {"response_id": rid, "item_id": item_id, "output_index": 0, "content_index": 0}
        await self.send(
            {
                "type": "response.output_item.added",
                "response_id": rid,
                "output_index": 0,
                "item": item,
            }
        )
        await self._item_added(item)
        await self.send(
            {
                "type": "response.content_part.added",
                **where,
                "part": {"type": "audio", "transcript": ""},
            }
        )
        pcm = (await asyncio.to_thread(espeak_pcm, text, rate=RATE)).astype("<i2").tobytes()
        await asyncio.sleep(self.fake.ttft_s)
        words = text.split(" ")
        step = RATE // 10 * 2
        chunks = [pcm[i : i + step] for i in range(0, len(pcm), step)]
        per_chunk = max(1, len(words) // max(1, len(chunks)) + 1)
        for n, chunk in enumerate(chunks):
            said = words[n * per_chunk : (n + 1) * per_chunk]
            if said:
                delta = " ".join(said) + ("" if (n + 1) * per_chunk >= len(words) else " ")
                await self.send(
                    {"type": "response.output_audio_transcript.delta", **where, "delta": delta}
                )
            await self.send(
                {
                    "type": "response.output_audio.delta",
                    **where,
                    "delta": base64.b64encode(chunk).decode(),
                }
            )
            await asyncio.sleep(0.02)  # faster than real time, like the service
        self.fake.replies.append(text)
        await self.send({"type": "response.output_audio.done", **where})
        await self.send(
            {"type": "response.output_audio_transcript.done", **where, "transcript": text}
        )
        done_item = {
            **item,
            "status": "completed",
            "content": [{"type": "output_audio", "transcript": text}],
        }
        await self.send(
            {
                "type": "response.output_item.done",
                "response_id": rid,
                "output_index": 0,
                "item": done_item,
            }
        )
        self.response = None
        await self.send(
            {
                "type": "response.done",
                "response": {
                    **base,
                    "status": "completed",
                    "output": [done_item],
                    "usage": {"total_tokens": 10, "input_tokens": 5, "output_tokens": 5},
                },
            }
        )
