"""A room participant that talks: publishes a microphone track and plays speech clips into it.

Built on ``RoomProbe`` (which listens to the agent), it lets tests and ``bench_voice.py``
hold spoken turns with the agent over a real LiveKit server and time them from the
user's side: when the clip ended, when the agent's audio started or went silent.
"""

from __future__ import annotations

import asyncio
import time

import numpy as np
from livekit import rtc

from parley_common.testing.room_probe import SPEECH_RMS, RoomProbe
from parley_common.testing.speech_synth import espeak_pcm

RATE = 48000
FRAME_MS = 10
FRAME_SAMPLES = RATE * FRAME_MS // 1000


def espeak_clip(text: str, *, voice: str = "en-us", wpm: int = 165, rate: int = RATE) -> np.ndarray:
    """int16 mono speech for ``text`` at the probe's rate."""
    return espeak_pcm(text, rate=rate, voice=voice, wpm=wpm)


class SpeakingProbe(RoomProbe):
    def __init__(self) -> None:
        super().__init__(keep_levels=True)
        self.source = rtc.AudioSource(RATE, 1)
        self._pending = np.zeros(0, dtype=np.int16)
        self._clip_done: asyncio.Event | None = None
        self.clip_started_at: float | None = None
        self.clip_ended_at: float | None = None
        self._mic_task: asyncio.Task | None = None

    async def connect(self, url: str, token: str) -> None:
        await super().connect(url, token)
        track = rtc.LocalAudioTrack.create_audio_track("microphone", self.source)
        options = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
        await self.room.local_participant.publish_track(track, options)
        self._mic_task = asyncio.create_task(self._pump())

    async def _pump(self) -> None:
        # Real-time pace: the SFU, the agent's VAD and its jitter handling see a live mic.
        next_at = time.monotonic()
        silence = np.zeros(FRAME_SAMPLES, dtype=np.int16)
        while True:
            if self._pending.size:
                if self.clip_started_at is None:
                    self.clip_started_at = time.monotonic()
                chunk = self._pending[:FRAME_SAMPLES]
                self._pending = self._pending[FRAME_SAMPLES:]
                if chunk.size < FRAME_SAMPLES:
                    chunk = np.concatenate([chunk, silence[: FRAME_SAMPLES - chunk.size]])
                if not self._pending.size:
                    self.clip_ended_at = time.monotonic()
                    if self._clip_done:
                        self._clip_done.set()
            else:
                chunk = silence
            await self.source.capture_frame(rtc.AudioFrame(chunk.tobytes(), RATE, 1, FRAME_SAMPLES))
            next_at += FRAME_MS / 1000
            delay = next_at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -0.2:
                next_at = time.monotonic()  # fell behind (busy machine): do not burst

    async def say(self, clip: np.ndarray, *, wait: bool = True) -> None:
        """Play a clip into the microphone; with ``wait``, return when its last frame went out."""
        self.clip_started_at = None
        self.clip_ended_at = None
        self._clip_done = asyncio.Event()
        self._pending = np.concatenate([self._pending, clip.astype(np.int16)])
        if wait:
            await self._clip_done.wait()

    def agent_voice_after(self, t: float) -> float | None:
        """When the agent's audio was first voiced at or after ``t`` (monotonic)."""
        for at, level in self.watch.levels:
            if at >= t and level >= SPEECH_RMS:
                return at
        return None

    def agent_silent_after(self, t: float, *, hold_s: float = 0.25) -> float | None:
        """First time at/after ``t`` from which the agent stayed below speech level ``hold_s``."""
        quiet_since: float | None = None
        for at, level in self.watch.levels:
            if at < t:
                continue
            if level < SPEECH_RMS:
                quiet_since = quiet_since or at
                if at - quiet_since >= hold_s:
                    return quiet_since
            else:
                quiet_since = None
        return None

    async def wait_quiet(self, hold_s: float, timeout: float) -> bool:
        """Wait until the agent has been silent for ``hold_s`` (what it was saying is over);
        False if it was still talking after ``timeout`` seconds."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            quiet = self.agent_silent_after(start, hold_s=hold_s)
            if quiet is not None and time.monotonic() - quiet >= hold_s:
                return True
            await asyncio.sleep(0.05)
        return False

    async def close(self) -> None:
        if self._mic_task:
            self._mic_task.cancel()
            await asyncio.gather(self._mic_task, return_exceptions=True)
        await super().close()
