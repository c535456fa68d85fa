"""The real LiveKit plugins against the protocol fakes, without a room: what each fake hears,
what the plugin gets back. Fast checks that the fakes speak the wire protocol the plugins use.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import aiohttp
import numpy as np
import pytest
from livekit import rtc
from livekit.agents import stt as lk_stt
from livekit.plugins import cartesia, deepgram

from parley_agent.providers.factory import deepgram_listen_url
from parley_common.testing.speech_synth import espeak_pcm
from tests.fakes.cloud import CloudFakes

pytestmark = [pytest.mark.integration]


@pytest.fixture(scope="module")
def fakes() -> Iterator[CloudFakes]:
    fakes = CloudFakes(deepgram_final_s=0.25, cartesia_ttfb_s=0.05).start()
    try:
        yield fakes
    finally:
        fakes.stop()


def _frames(pcm: np.ndarray, rate: int) -> list[rtc.AudioFrame]:
    step = rate // 100
    pcm = np.concatenate([pcm, np.zeros(rate, dtype=np.int16)])  # 1 s of silence after
    return [
        rtc.AudioFrame(pcm[i : i + step].tobytes(), rate, 1, len(pcm[i : i + step]))
        for i in range(0, len(pcm) - step + 1, step)
    ]


async def test_deepgram_plugin_gets_interim_and_final_results(fakes: CloudFakes) -> None:
    fakes.deepgram.set_transcript("What is the weather in Berlin?")
    async with aiohttp.ClientSession() as http:
        plugin = deepgram.STT(
            api_key="k",
            base_url=deepgram_listen_url(fakes.url("deepgram")),
            language="multi",
            http_session=http,
        )
        fakes.deepgram.detected_language = "fr"
        stream = plugin.stream()
        events: list[lk_stt.SpeechEvent] = []

        async def read() -> None:
            async for ev in stream:
                events.append(ev)
                if ev.type == lk_stt.SpeechEventType.END_OF_SPEECH:
                    return

        reader = asyncio.create_task(read())
        for frame in _frames(espeak_pcm("What is the weather in Berlin?", rate=16000), 16000):
            stream.push_frame(frame)
            await asyncio.sleep(0.002)
        await asyncio.wait_for(reader, 20)
        await stream.aclose()
    kinds = [e.type for e in events]
    assert lk_stt.SpeechEventType.START_OF_SPEECH in kinds
    assert lk_stt.SpeechEventType.INTERIM_TRANSCRIPT in kinds
    final = next(e for e in events if e.type == lk_stt.SpeechEventType.FINAL_TRANSCRIPT)
    assert final.alternatives[0].text == "What is the weather in Berlin?"
    assert final.alternatives[0].language == "fr"  # detected, with language=multi
    session = fakes.deepgram.sessions[-1]
    assert session.params["language"] == "multi" and session.params["encoding"] == "linear16"


async def test_cartesia_plugin_streams_espeak_audio_per_context(fakes: CloudFakes) -> None:
    async with aiohttp.ClientSession() as http:
        plugin = cartesia.TTS(
            api_key="k", base_url=fakes.url("cartesia"), voice="v", http_session=http
        )
        stream = plugin.stream()
        stream.push_text("Hello from the fake Cartesia. ")
        stream.end_input()
        pcm = b"".join([ev.frame.data.tobytes() async for ev in stream])
        await stream.aclose()
    samples = np.frombuffer(pcm, dtype=np.int16)
    assert samples.size > 24000 * 0.8  # about a second of speech at 24 kHz
    assert float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) > 300
    assert fakes.cartesia.spoken[-1] == "Hello from the fake Cartesia."
    assert fakes.cartesia.done, "no context was completed with done"
    assert fakes.cartesia.requests[-1]["output_format"]["encoding"] == "pcm_s16le"
