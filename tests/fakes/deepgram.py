"""A fake Deepgram live STT: the ``/v1/listen`` WebSocket as livekit-plugins-deepgram uses it.

Sources:
- the plugin: ``livekit/plugins/deepgram/stt.py`` 1.8.9 (``SpeechStream._connect_ws`` builds
  the query from ``model, punctuate, smart_format, no_delay, interim_results,
  encoding=linear16, vad_events, sample_rate, channels, endpointing, filler_words,
  profanity_filter, numerals, mip_opt_out[, language, utterance_end_ms, keyterm]``, sends
  ``Authorization: Token <key>``, binary audio in 50 ms chunks, ``{"type": "KeepAlive"}``
  every 5 s, ``{"type": "Finalize"}`` on flush, ``{"type": "CloseStream"}`` at the end;
  ``_process_stream_event`` reads ``SpeechStarted``, ``Results`` (``is_final``,
  ``speech_final``, ``metadata.request_id``, ``channel.alternatives[].transcript /
  confidence / words / languages``) and ``UtteranceEnd``);
- Deepgram's docs: "Live Audio" API reference (developers.deepgram.com/reference/
  speech-to-text/listen-streaming), "Endpointing and interim results"
  (docs/understand-endpointing-interim-results), "Utterance End" (docs/utterance-end),
  "KeepAlive", "Finalize", "CloseStream" control messages, "Multilingual codeswitching"
  (``language=multi``: each alternative carries ``languages``, each word ``language``), and
  the NET-0001 close when no audio or KeepAlive arrives for 10 s.

Where the protocol leaves room, this fake chooses (see ``docs`` in the report):
- It "hears" with an energy detector: speech is a 50 ms chunk above ``SPEECH_RMS``; an
  utterance ends after ``endpoint_silence_s`` of quiet (real Deepgram uses its own VAD and
  ``endpointing`` ms; espeak's gaps between words need a longer hangover than 25 ms).
- It cannot understand speech: each utterance gets the next transcript queued with
  ``queue_transcripts`` (else ``default_transcript``), the way a test knows what it played.
- Interim ``Results`` every ``interim_interval_s`` of speech with a growing prefix of the
  transcript; one final ``Results`` with ``is_final`` and ``speech_final`` both true,
  ``final_delay_s`` after the utterance ended (Deepgram reports ~250 ms); then
  ``UtteranceEnd`` when ``utterance_end_ms`` was asked for.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from aiohttp import WSMsgType, web

SPEECH_RMS = 300.0
IDLE_TIMEOUT_S = 10.0  # NET-0001: no audio and no KeepAlive for 10 s


@dataclass
class DeepgramSession:
    """What one WebSocket connection asked for and sent."""

    params: dict[str, str]
    audio_bytes: int = 0
    control: list[str] = field(default_factory=list)
    finals: list[str] = field(default_factory=list)
    interims: int = 0
    closed: str = ""


@dataclass
class FakeDeepgram:
    endpoint_silence_s: float = 0.25
    final_delay_s: float = 0.0
    interim_interval_s: float = 0.3
    default_transcript: str = "Hello there."
    # The language the fake "detects" when asked for language=multi.
    detected_language: str = "en"
    refuse_status: int | None = None  # answer the upgrade with this HTTP status
    sessions: list[DeepgramSession] = field(default_factory=list)
    _queue: deque[str] = field(default_factory=deque)
    _sockets: set[web.WebSocketResponse] = field(default_factory=set)

    def queue_transcripts(self, *texts: str) -> None:
        self._queue.extend(texts)

    def set_transcript(self, text: str) -> None:
        self._queue.clear()
        self.default_transcript = text

    def _next_transcript(self) -> str:
        return self._queue.popleft() if self._queue else self.default_transcript

    async def drop_connections(self) -> None:
        """Kill every live socket the way a crashed server or a cut network does (1011)."""
        for ws in list(self._sockets):
            await ws.close(code=1011, message=b"fake deepgram dropped the connection")

    def build_app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/v1/listen", self._listen)
        return app

    async def _listen(self, request: web.Request) -> web.StreamResponse:
        auth = request.headers.get("Authorization", "")
        if not (auth.startswith("Token ") and auth[6:].strip()):
            return web.json_response(
                {"err_code": "INVALID_AUTH", "err_msg": "Invalid credentials."}, status=401
            )
        if self.refuse_status is not None:
            return web.json_response(
                {"err_code": "UNAVAILABLE", "err_msg": "fake outage"}, status=self.refuse_status
            )
        params = dict(request.query)
        if params.get("encoding", "linear16") != "linear16":
            return web.json_response(
                {"err_code": "Bad Request", "err_msg": "this fake only decodes linear16"},
                status=400,
            )
        session = DeepgramSession(params)
        self.sessions.append(session)
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.add(ws)
        try:
            await _Stream(self, session, ws).run()
        finally:
            self._sockets.discard(ws)
        return ws


class _Stream:
    def __init__(self, fake: FakeDeepgram, session: DeepgramSession, ws: web.WebSocketResponse):
        self.fake, self.session, self.ws = fake, session, ws
        p = session.params
        self.rate = int(p.get("sample_rate", "16000"))
        self.channels = int(p.get("channels", "1"))
        self.interim = p.get("interim_results", "false") == "true"
        self.vad_events = p.get("vad_events", "false") == "true"
        self.utterance_end_ms = int(p["utterance_end_ms"]) if "utterance_end_ms" in p else None
        self.language = p.get("language", "en")
        self.request_id = str(uuid.uuid4())
        self.t = 0.0  # audio seconds received
        self.speaking = False
        self.start = self.last_voice = 0.0
        self.transcript = ""
        self.next_interim = 0.0
        self.tasks: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        while True:
            try:
                msg = await self.ws.receive(timeout=IDLE_TIMEOUT_S)
            except TimeoutError:
                self.session.closed = "NET-0001"
                await self.ws.close(code=1011, message=b"NET-0001")
                return
            if msg.type == WSMsgType.BINARY:
                await self._audio(msg.data)
            elif msg.type == WSMsgType.TEXT:
                kind = json.loads(msg.data).get("type", "")
                self.session.control.append(kind)
                if kind == "Finalize":
                    await self._final(from_finalize=True)
                elif kind == "CloseStream":
                    await self._final(from_finalize=True)
                    await self._send(self._metadata())
                    self.session.closed = "CloseStream"
                    await self.ws.close()
                    return
            else:  # closed by the client or dropped
                self.session.closed = self.session.closed or "client"
                return

    async def _audio(self, data: bytes) -> None:
        self.session.audio_bytes += len(data)
        samples = np.frombuffer(data[: len(data) // 2 * 2], dtype="<i2")
        self.t += samples.size / self.channels / self.rate
        rms = float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) if samples.size else 0.0
        if rms >= SPEECH_RMS:
            if not self.speaking:
                self.speaking = True
                self.start, self.transcript = self.t, self.fake._next_transcript()
                self.next_interim = self.t + self.fake.interim_interval_s
                if self.vad_events:
                    await self._send(
                        {"type": "SpeechStarted", "channel": [0], "timestamp": self.start}
                    )
            self.last_voice = self.t
        if not self.speaking:
            return
        if self.t - self.last_voice >= self.fake.endpoint_silence_s:
            await self._final(from_finalize=False)
        elif self.interim and self.t >= self.next_interim:
            self.next_interim = self.t + self.fake.interim_interval_s
            words = self.transcript.split()
            heard = max(1, int(len(words) * min(1.0, (self.t - self.start) / 2.0)))
            self.session.interims += 1
            await self._send(self._results(" ".join(words[:heard]), final=False))

    async def _final(self, *, from_finalize: bool) -> None:
        if not self.speaking:
            return
        self.speaking = False
        text, end = self.transcript, self.last_voice
        if self.fake.final_delay_s:
            await asyncio.sleep(self.fake.final_delay_s)
        self.session.finals.append(text)
        await self._send(self._results(text, final=True, end=end, from_finalize=from_finalize))
        if self.utterance_end_ms is not None:
            await self._send({"type": "UtteranceEnd", "channel": [0, 1], "last_word_end": end})

    def _results(
        self, text: str, *, final: bool, end: float | None = None, from_finalize: bool = False
    ) -> dict[str, Any]:
        end = self.t if end is None else end
        words = text.split()
        step = (end - self.start) / max(1, len(words))
        multi = self.language == "multi"
        lang = self.fake.detected_language if multi else self.language
        alt: dict[str, Any] = {
            "transcript": text,
            "confidence": 0.98,
            "words": [
                {
                    "word": w.strip(".,!?").lower(),
                    "start": round(self.start + i * step, 3),
                    "end": round(self.start + (i + 1) * step, 3),
                    "confidence": 0.98,
                    "punctuated_word": w,
                    **({"language": lang} if multi else {}),
                }
                for i, w in enumerate(words)
            ],
        }
        if multi:
            alt["languages"] = [lang]
        return {
            "type": "Results",
            "channel_index": [0, 1],
            "duration": round(end - self.start, 3),
            "start": round(self.start, 3),
            "is_final": final,
            "speech_final": final,
            "from_finalize": from_finalize,
            "channel": {"alternatives": [alt]},
            "metadata": {
                "request_id": self.request_id,
                "model_info": {"name": self.session.params.get("model", "nova-3"), "arch": "fake"},
                "model_uuid": "00000000-0000-0000-0000-000000000000",
            },
        }

    def _metadata(self) -> dict[str, Any]:
        return {
            "type": "Metadata",
            "transaction_key": "deprecated",
            "request_id": self.request_id,
            "sha256": "",
            "created": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
            "duration": round(self.t, 3),
            "channels": self.channels,
        }

    async def _send(self, message: dict[str, Any]) -> None:
        if not self.ws.closed:
            await self.ws.send_str(json.dumps(message))
