"""A deterministic OpenAI-compatible stub: chat completions, transcriptions, speech.

Tests and ``scripts/bench_voice.py`` use it in place of paid providers. It follows the
documented wire format (Chat Completions SSE chunks ending in ``data: [DONE]``;
``/audio/transcriptions`` multipart in, JSON out; ``/audio/speech`` raw 24 kHz 16-bit PCM
for ``response_format=pcm``) and adds configurable delays, so a benchmark can tell what
Parley itself adds on top of provider latency.

- The LLM answers ``"You said: <last user text>. <filler>"`` so tests can check that the
  reply really follows the user's words; ``fail_llm`` makes it return HTTP 500
  (``fail_status`` another status, e.g. 429 with ``retry-after``), with OpenAI's error body.
- Tool calls: when the request offers a tool named in ``tool_rules`` and the user's last
  words contain the rule's keyword, the first answer is a streamed ``tool_calls`` delta
  (``finish_reason: tool_calls``); once the request carries that tool's result, the answer
  is ``"Here is what I found: <result>"``. A model does this; the stub does it the same way
  every time.
- Language: when the last system note says "Reply in French", the reply is French
  (``"Vous avez dit : ..."``): what a model does when the worker passes the heard language.
- Requests without ``Authorization: Bearer <key>`` get 401, as from api.openai.com.
- The transcription result is whatever ``set_transcript`` (or ``POST /control``) last set:
  the stub cannot hear, the caller knows what it played.
- Speech is eSpeak NG's rendering of the text, resampled to 24 kHz.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from dataclasses import dataclass, field

from aiohttp import web

from parley_common.testing.speech_synth import espeak_pcm

FILLER = "That is all I have to say about it."


@dataclass
class StubDelays:
    stt_s: float = 0.25  # request → transcript
    ttft_s: float = 0.35  # request → first content token
    ttfb_s: float = 0.10  # request → first audio byte
    token_interval_s: float = 0.01


@dataclass
class ToolRule:
    """Call ``tool`` with ``arguments`` when the user's last message contains ``keyword``."""

    keyword: str
    tool: str
    arguments: dict


@dataclass
class StubState:
    delays: StubDelays = field(default_factory=StubDelays)
    transcript: str = ""
    fail_llm: bool = False
    fail_status: int = 500
    tool_rules: list[ToolRule] = field(default_factory=list)
    # Seconds the tool-call answer waits (a barge-in can land while the model "thinks").
    tool_result_delay_s: float = 0.0
    chat_requests: list[dict] = field(default_factory=list)
    stt_requests: int = 0
    tts_requests: list[str] = field(default_factory=list)


def _espeak_pcm24k(text: str) -> bytes:
    return espeak_pcm(text, rate=24000).astype("<i2").tobytes()


def _text(content: object) -> str:
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return str(content or "")


def _error(status: int) -> web.Response:
    kinds = {
        429: ("rate_limit_exceeded", "Rate limit reached (stub)"),
        401: ("invalid_api_key", ""),
    }
    code, message = kinds.get(status, ("server_error", "The server had an error (stub)"))
    headers = {"retry-after": "1"} if status == 429 else {}
    return web.json_response(
        {"error": {"message": message or "Incorrect API key provided", "type": code, "code": code}},
        status=status,
        headers=headers,
    )


def _authorised(request: web.Request) -> bool:
    auth = request.headers.get("Authorization", "")
    return auth.startswith("Bearer ") and bool(auth[7:].strip())


def plan_reply(state: StubState, body: dict) -> tuple[str, dict | None]:
    """(text, tool call) for a chat request: a tool call, a tool's answer, or an echo."""
    messages = body.get("messages", [])
    offered = {t.get("function", {}).get("name") for t in body.get("tools", []) or []}
    last = messages[-1] if messages else {}
    if last.get("role") == "tool":
        return f"Here is what I found: {_text(last.get('content')).strip()}", None
    users = [m for m in messages if m.get("role") == "user"]
    said = _text(users[-1].get("content")).strip() if users else ""
    for rule in state.tool_rules:
        if rule.tool in offered and rule.keyword.lower() in said.lower():
            return "", {"name": rule.tool, "arguments": json.dumps(rule.arguments)}
    notes = [_text(m.get("content")) for m in messages if m.get("role") == "system"]
    if notes and "reply in french" in notes[-1].lower():
        return f"Vous avez dit : {said.rstrip('.?!')}. Je vous réponds en français.", None
    return f"You said: {said.rstrip('.?!')}. {FILLER}", None


def build_app(state: StubState) -> web.Application:
    async def chat(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        state.chat_requests.append(body)
        if not _authorised(request):
            return _error(401)
        if state.fail_llm:
            return _error(state.fail_status)
        reply, tool_call = plan_reply(state, body)
        if body.get("messages") and body["messages"][-1].get("role") == "tool":
            await asyncio.sleep(state.tool_result_delay_s)
        created = int(time.time())
        cid = f"chatcmpl-{uuid.uuid4().hex[:12]}"
        model = body.get("model", "stub")

        def chunk(delta: dict, finish: str | None = None) -> bytes:
            data = {
                "id": cid,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
            return f"data: {json.dumps(data)}\n\n".encode()

        if not body.get("stream"):
            await asyncio.sleep(state.delays.ttft_s)
            return web.json_response(
                {
                    "id": cid,
                    "object": "chat.completion",
                    "created": created,
                    "model": model,
                    "choices": [
                        {
                            "index": 0,
                            "finish_reason": "stop",
                            "message": {"role": "assistant", "content": reply},
                        }
                    ],
                }
            )
        resp = web.StreamResponse(headers={"content-type": "text/event-stream"})
        await resp.prepare(request)
        await asyncio.sleep(state.delays.ttft_s)
        if tool_call is not None:
            call = {"index": 0, "id": f"call_{uuid.uuid4().hex[:20]}", "type": "function"}
            await resp.write(
                chunk(
                    {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [
                            {**call, "function": {"name": tool_call["name"], "arguments": ""}}
                        ],
                    }
                )
            )
            await resp.write(
                chunk(
                    {
                        "tool_calls": [
                            {"index": 0, "function": {"arguments": tool_call["arguments"]}}
                        ]
                    }
                )
            )
            await resp.write(chunk({}, "tool_calls"))
            await resp.write(b"data: [DONE]\n\n")
            await resp.write_eof()
            return resp
        await resp.write(chunk({"role": "assistant", "content": ""}))
        for i, word in enumerate(reply.split(" ")):
            await resp.write(chunk({"content": word if i == 0 else " " + word}))
            await asyncio.sleep(state.delays.token_interval_s)
        await resp.write(chunk({}, "stop"))
        await resp.write(b"data: [DONE]\n\n")
        await resp.write_eof()
        return resp

    async def transcriptions(request: web.Request) -> web.Response:
        await request.read()
        if not _authorised(request):
            return _error(401)
        state.stt_requests += 1
        await asyncio.sleep(state.delays.stt_s)
        text = state.transcript
        return web.json_response({"text": text, "language": "english", "duration": 1.0})

    async def speech(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        if not _authorised(request):
            return _error(401)
        text = str(body.get("input", ""))
        state.tts_requests.append(text)
        started = time.monotonic()
        pcm = await asyncio.to_thread(_espeak_pcm24k, text)
        await asyncio.sleep(max(0.0, state.delays.ttfb_s - (time.monotonic() - started)))
        resp = web.StreamResponse(headers={"content-type": "audio/pcm"})
        await resp.prepare(request)
        step = 4800  # 100 ms at 24 kHz, 16-bit
        for offset in range(0, len(pcm), step):
            await resp.write(pcm[offset : offset + step])
        await resp.write_eof()
        return resp

    async def control(request: web.Request) -> web.Response:
        body = await request.json()
        if "transcript" in body:
            state.transcript = str(body["transcript"])
        if "fail_llm" in body:
            state.fail_llm = bool(body["fail_llm"])
        return web.json_response({"ok": True})

    async def models(_request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": "stub", "object": "model"}]})

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_post("/v1/audio/transcriptions", transcriptions)
    app.router.add_post("/v1/audio/speech", speech)
    app.router.add_post("/control", control)
    app.router.add_get("/v1/models", models)
    return app


class OpenAIStub:
    """Runs the stub on loopback in a background thread (usable from sync or async code)."""

    def __init__(self, delays: StubDelays | None = None) -> None:
        self.state = StubState(delays=delays or StubDelays())
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def local_stack_env(self) -> dict[str, str]:
        """Worker settings for the keyless stack (Whisper, Piper) with this stub as its LLM:
        real speech in and out, a scripted reply instead of the embedded model's."""
        return {
            "PARLEY_LLM": "local",
            "PARLEY_LLM_URL": self.base_url,
            "PARLEY_STT": "local",
            "PARLEY_TTS": "local",
        }

    def provider_env(self) -> dict[str, str]:
        """Worker settings that send STT, LLM and TTS to this stub as "the cloud" (OpenAI
        STT/LLM/TTS with a stub key): speech in, reply out, no model CPU."""
        return {
            "OPENAI_API_KEY": "stub-key",
            "PARLEY_OPENAI_BASE_URL": self.base_url,
            "PARLEY_STT": "cloud",
            "PARLEY_LLM": "cloud",
            "PARLEY_TTS": "cloud",
            "PARLEY_CLOUD_STT": "openai",
            "PARLEY_CLOUD_TTS": "openai",
            "PARLEY_OPENAI_STT_MODEL": "whisper-1",
            "PARLEY_OPENAI_TTS_MODEL": "tts-1",
            "PARLEY_LOCAL_FALLBACK": "false",
        }

    def start(self) -> OpenAIStub:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    async def _start(self) -> None:
        self._runner = web.AppRunner(build_app(self.state), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    def set_transcript(self, text: str) -> None:
        self.state.transcript = text

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
