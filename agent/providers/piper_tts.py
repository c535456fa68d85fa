"""Piper (neural, offline) as a livekit-agents TTS.

Synthesis runs sentence by sentence in a worker thread and each sentence is pushed as soon
as it exists, so the first audio leaves after the first sentence, not the whole reply.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from livekit.agents import APIConnectionError, APIConnectOptions, tts
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS

from parley_agent.providers.model_packs import ModelUnavailableError, ResolvedModel

if TYPE_CHECKING:
    from piper import PiperVoice

logger = logging.getLogger("parley.tts.piper")

_synth_lock = threading.Lock()


def load_piper(model: ResolvedModel, *, download_dir: Path) -> PiperVoice:
    try:
        from piper import PiperVoice
    except ImportError as exc:
        raise ModelUnavailableError(
            "Piper TTS needs the 'piper-tts' package (pip install piper-tts==1.8.0)"
        ) from exc
    path = model.path
    if model.source == "download":
        from parley_agent.providers.model_packs import download_piper_voice

        path = str(download_piper_voice(model.path, download_dir))
    try:
        return PiperVoice.load(path)
    except Exception as exc:
        raise ModelUnavailableError(f"Piper voice {path} could not be loaded ({exc})") from exc


class PiperTTS(tts.TTS):
    def __init__(
        self, voice: PiperVoice, *, voice_name: str, length_scale: float | None = None
    ) -> None:
        """``voice`` is a loaded ``piper.PiperVoice``."""
        super().__init__(
            capabilities=tts.TTSCapabilities(streaming=False),
            sample_rate=voice.config.sample_rate,
            num_channels=1,
        )
        self._voice = voice
        self._voice_name = voice_name
        self._length_scale = length_scale

    @property
    def model(self) -> str:
        return self._voice_name

    @property
    def provider(self) -> str:
        return "piper"

    def synthesize(
        self, text: str, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> tts.ChunkedStream:
        return _PiperStream(tts=self, input_text=text, conn_options=conn_options)


class _PiperStream(tts.ChunkedStream):
    def __init__(self, *, tts: PiperTTS, input_text: str, conn_options: APIConnectOptions) -> None:
        super().__init__(tts=tts, input_text=input_text, conn_options=conn_options)
        self._piper = tts

    async def _run(self, output_emitter: tts.AudioEmitter) -> None:
        from piper import SynthesisConfig

        output_emitter.initialize(
            request_id=uuid.uuid4().hex,
            sample_rate=self._piper.sample_rate,
            num_channels=1,
            mime_type="audio/pcm",
        )
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[bytes | BaseException | None] = asyncio.Queue()
        cancelled = threading.Event()
        config = SynthesisConfig(length_scale=self._piper._length_scale)

        def produce() -> None:
            try:
                with _synth_lock:
                    for chunk in self._piper._voice.synthesize(self.input_text, config):
                        if cancelled.is_set():
                            break
                        loop.call_soon_threadsafe(queue.put_nowait, chunk.audio_int16_bytes)
                loop.call_soon_threadsafe(queue.put_nowait, None)
            except BaseException as exc:  # handed to the event loop, raised there
                loop.call_soon_threadsafe(queue.put_nowait, exc)

        worker = loop.run_in_executor(None, produce)
        try:
            while (item := await queue.get()) is not None:
                if isinstance(item, BaseException):
                    raise APIConnectionError(f"piper failed: {item}") from item
                output_emitter.push(item)
            output_emitter.flush()
        finally:
            # An interrupted reply stops synthesising after the current sentence; the thread
            # reports nothing more to a loop that no longer listens.
            cancelled.set()
            worker.add_done_callback(lambda _f: None)
