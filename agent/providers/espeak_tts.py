"""eSpeak NG as a livekit-agents TTS: instant, offline, always available.

It is the last-resort voice of the local stack: a formant synthesiser with no model files,
so the agent can speak on any machine that has the Debian ``espeak-ng`` package.
"""

from __future__ import annotations

import asyncio
import shutil
import uuid

from livekit.agents import APIConnectionError, APIConnectOptions, tts
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS

SAMPLE_RATE = 22050


def espeak_binary() -> str | None:
    return shutil.which("espeak-ng") or shutil.which("espeak")


class EspeakTTS(tts.TTS):
    def __init__(self, *, voice: str = "en-us", speed_wpm: int = 175) -> None:
        super().__init__(
            capabilities=tts.TTSCapabilities(streaming=False),
            sample_rate=SAMPLE_RATE,
            num_channels=1,
        )
        binary = espeak_binary()
        if binary is None:
            raise RuntimeError(
                "eSpeak NG TTS needs the 'espeak-ng' program (apt-get install espeak-ng)"
            )
        self._binary = binary
        self._voice = voice
        self._speed = speed_wpm

    @property
    def model(self) -> str:
        return "espeak-ng"

    @property
    def provider(self) -> str:
        return "espeak-ng"

    def synthesize(
        self, text: str, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> tts.ChunkedStream:
        return _EspeakStream(tts=self, input_text=text, conn_options=conn_options)


class _EspeakStream(tts.ChunkedStream):
    def __init__(self, *, tts: EspeakTTS, input_text: str, conn_options: APIConnectOptions) -> None:
        super().__init__(tts=tts, input_text=input_text, conn_options=conn_options)
        self._espeak = tts

    async def _run(self, output_emitter: tts.AudioEmitter) -> None:
        output_emitter.initialize(
            request_id=uuid.uuid4().hex,
            sample_rate=SAMPLE_RATE,
            num_channels=1,
            mime_type="audio/pcm",
        )
        # --stdin keeps arbitrary user/LLM text out of the argument list.
        proc = await asyncio.create_subprocess_exec(
            self._espeak._binary,
            "-v",
            self._espeak._voice,
            "-s",
            str(self._espeak._speed),
            "--stdout",
            "--stdin",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            assert proc.stdin and proc.stdout
            proc.stdin.write(self.input_text.encode())
            await proc.stdin.drain()
            proc.stdin.close()
            header = await proc.stdout.readexactly(44)  # canonical WAV header from espeak-ng
            if header[:4] != b"RIFF":
                raise APIConnectionError("espeak-ng produced no WAV output")
            pending = b""
            while chunk := await proc.stdout.read(4096):
                pending += chunk
                usable = len(pending) - len(pending) % 2
                if usable:
                    output_emitter.push(pending[:usable])
                    pending = pending[usable:]
            if await proc.wait() != 0:
                err = (await proc.stderr.read()).decode(errors="replace") if proc.stderr else ""
                raise APIConnectionError(f"espeak-ng failed: {err.strip()[:200]}")
            output_emitter.flush()
        except asyncio.IncompleteReadError as exc:
            raise APIConnectionError("espeak-ng produced no audio") from exc
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
