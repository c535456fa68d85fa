"""A fake Cartesia TTS: the ``/tts/websocket`` protocol (and ``/tts/bytes``) as the plugin uses it.

Sources:
- the plugin: ``livekit/plugins/cartesia/tts.py`` 1.8.9 (``_connect_ws``: ``GET
  /tts/websocket?cartesia_version=2025-04-16`` with header ``X-API-Key``; per generation a
  ``context_id``; ``_sentence_stream_task`` sends ``{model_id, voice{mode,id}, output_format
  {container: raw, encoding: pcm_s16le, sample_rate: 24000}, language, add_timestamps,
  transcript, continue: true, context_id}`` per sentence and ``transcript: " ", continue:
  false`` at the end; ``_recv_task`` takes ``data`` (base64 PCM), ``done``,
  ``word_timestamps {words, start, end}``, ``type: error``, ignores other contexts'
  messages; on interruption the stream is cancelled and the pool closes that socket);
  ``ChunkedStream`` posts the same options plus ``transcript`` to ``/tts/bytes``.
- Cartesia's docs: "TTS (WebSocket)" API reference (docs.cartesia.ai/api-reference/tts/
  tts-websocket): chunk ``{"type": "chunk", "data", "done": false, "status_code": 206,
  "step_time", "context_id"}``, ``{"type": "timestamps", "word_timestamps", ...}``, ``{"type":
  "done", "done": true, "status_code": 206, "context_id"}`` (206 as in the reference's
  example), errors ``{"type": "error", "done": true, "title", "message", "error_code",
  "status_code"}``; cancel a context with ``{"context_id", "cancel": true}``; the
  "Contexts" guide (docs.cartesia.ai/use-the-api/tts-websocket/contexts: ``continue``,
  inputs concatenated verbatim, a context expires 1 s after its last audio).

Choices where the protocol is loose: each ``transcript`` piece is spoken as it arrives (the
real service buffers up to ``max_buffer_delay_ms``; the plugin sends whole sentences with
0 ms anyway); the first audio of a context waits ``ttfb_s``; audio is espeak-ng's
rendering, 100 ms per chunk; word timestamps are spread evenly over the piece's audio. A
context counts as cancelled by a ``cancel`` message or by its socket closing before ``done``
(what the 1.8.9 plugin does on interruption).
"""

from __future__ import annotations

import asyncio
import base64
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from aiohttp import WSMsgType, web

from parley_common.testing.speech_synth import espeak_pcm


@dataclass
class FakeCartesia:
    ttfb_s: float = 0.1
    voice: str = "en-us"  # espeak-ng voice used for every Cartesia voice id
    fail_status: int | None = None  # answer the upgrade (and /tts/bytes) with this status
    close_after_chunks: int | None = None  # drop the socket after this many audio chunks
    requests: list[dict[str, Any]] = field(default_factory=list)
    spoken: list[str] = field(default_factory=list)  # text pieces that produced audio
    cancelled: list[str] = field(default_factory=list)  # context ids
    done: list[str] = field(default_factory=list)
    connections: int = 0
    _sockets: set[web.WebSocketResponse] = field(default_factory=set)

    async def drop_connections(self) -> None:
        """Close every live socket (1011), as a crashed server or a cut network does."""
        for ws in list(self._sockets):
            await ws.close(code=1011, message=b"fake cartesia dropped the connection")

    def build_app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/tts/websocket", self._websocket)
        app.router.add_post("/tts/bytes", self._bytes)
        return app

    def _auth_error(self, request: web.Request) -> web.Response | None:
        key = request.headers.get("X-API-Key") or request.query.get("api_key")
        if not key:
            return web.json_response({"error": "missing API key"}, status=401)
        if self.fail_status is not None:
            return web.json_response({"error": "fake outage"}, status=self.fail_status)
        return None

    async def _bytes(self, request: web.Request) -> web.StreamResponse:
        if (error := self._auth_error(request)) is not None:
            return error
        body = await request.json()
        self.requests.append(body)
        pcm = await self._pcm(str(body.get("transcript", "")), body.get("output_format", {}))
        await asyncio.sleep(self.ttfb_s)
        return web.Response(body=pcm, content_type="application/octet-stream")

    async def _pcm(self, text: str, fmt: dict[str, Any]) -> bytes:
        rate = int(fmt.get("sample_rate", 24000))
        samples = await asyncio.to_thread(espeak_pcm, text, rate=rate, voice=self.voice)
        if fmt.get("encoding") == "pcm_f32le":
            return (samples.astype(np.float32) / 32768.0).astype("<f4").tobytes()
        return samples.astype("<i2").tobytes()

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        if (error := self._auth_error(request)) is not None:
            return error
        self.connections += 1
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.add(ws)
        contexts: dict[str, _Context] = {}
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                body = json.loads(msg.data)
                cid = str(body.get("context_id", ""))
                if body.get("cancel"):
                    if (ctx := contexts.pop(cid, None)) is not None:
                        ctx.cancel()
                        self.cancelled.append(cid)
                    continue
                self.requests.append(body)
                if "model_id" not in body or "transcript" not in body:
                    await ws.send_str(
                        json.dumps(
                            {
                                "type": "error",
                                "context_id": cid,
                                "status_code": 400,
                                "done": True,
                                "title": "Invalid request",
                                "message": "model_id and transcript are required",
                                "error_code": "invalid_request",
                            }
                        )
                    )
                    continue
                ctx = contexts.get(cid)
                if ctx is None:
                    ctx = contexts[cid] = _Context(self, ws, cid)
                ctx.push(body)
        finally:
            self._sockets.discard(ws)
            for cid, ctx in contexts.items():
                if not ctx.finished:
                    ctx.cancel()
                    self.cancelled.append(cid)
        return ws


class _Context:
    def __init__(self, fake: FakeCartesia, ws: web.WebSocketResponse, cid: str) -> None:
        self.fake, self.ws, self.cid = fake, ws, cid
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.finished = False
        self.task = asyncio.create_task(self._run())

    def push(self, body: dict[str, Any]) -> None:
        self.queue.put_nowait(body)

    def cancel(self) -> None:
        self.task.cancel()

    async def _run(self) -> None:
        first = True
        chunks = 0
        t0 = 0.0
        while True:
            body = await self.queue.get()
            text = str(body.get("transcript", ""))
            fmt = body.get("output_format", {})
            rate = int(fmt.get("sample_rate", 24000))
            width = 4 if fmt.get("encoding") == "pcm_f32le" else 2
            if text.strip():
                pcm = await self.fake._pcm(text, fmt)
                if first:
                    await asyncio.sleep(self.fake.ttfb_s)
                    first = False
                self.fake.spoken.append(text.strip())
                step = rate // 10 * width
                for offset in range(0, len(pcm), step):
                    await self._send(
                        {
                            "type": "chunk",
                            "data": base64.b64encode(pcm[offset : offset + step]).decode(),
                            "done": False,
                            "status_code": 206,
                            "step_time": 10.0,
                            "context_id": self.cid,
                        }
                    )
                    chunks += 1
                    if self.fake.close_after_chunks is not None:
                        if chunks >= self.fake.close_after_chunks:
                            await self.ws.close(code=1011, message=b"fake cartesia dropped")
                            return
                if body.get("add_timestamps"):
                    words = text.split()
                    seconds = len(pcm) / width / rate
                    step_s = seconds / max(1, len(words))
                    await self._send(
                        {
                            "type": "timestamps",
                            "context_id": self.cid,
                            "status_code": 206,
                            "done": False,
                            "word_timestamps": {
                                "words": words,
                                "start": [round(t0 + i * step_s, 3) for i in range(len(words))],
                                "end": [round(t0 + (i + 1) * step_s, 3) for i in range(len(words))],
                            },
                        }
                    )
                    t0 += seconds
            if not body.get("continue", False):
                self.finished = True
                self.fake.done.append(self.cid)
                await self._send(
                    {"type": "done", "done": True, "status_code": 206, "context_id": self.cid}
                )
                return

    async def _send(self, message: dict[str, Any]) -> None:
        if not self.ws.closed:
            await self.ws.send_str(json.dumps(message))
