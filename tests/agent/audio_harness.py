"""Audio I/O for an AgentSession without a room: a scripted microphone and a virtual speaker.

The microphone yields 20 ms frames at real-time pace (silence unless a clip is playing), so
Silero, the end-of-turn model and the STT run exactly as they would on a live track. The
speaker plays captured frames at real-time pace, honours pause/resume/clear like the room
output does, and records when each frame "reached the ear" with its level.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import numpy as np
from livekit import rtc
from livekit.agents.voice import io

from parley_common.testing.speech_synth import espeak_pcm as _espeak_pcm

RATE = 16000
FRAME_MS = 20
FRAME_SAMPLES = RATE * FRAME_MS // 1000
SPEECH_RMS = 300.0


def espeak_pcm(text: str, *, rate: int = RATE, voice: str = "en-us", wpm: int = 160) -> np.ndarray:
    """int16 mono speech at the harness rate (the test's 'user')."""
    return _espeak_pcm(text, rate=rate, voice=voice, wpm=wpm)


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) if samples.size else 0.0


class ScriptedMicrophone(io.AudioInput):
    def __init__(self) -> None:
        super().__init__(label="scripted-mic")
        self._pending = np.zeros(0, dtype=np.int16)
        self._next_at: float | None = None
        self.clip_started_at: float | None = None
        self.clip_ended_at: float | None = None

    def play(self, clip: np.ndarray) -> float:
        """Queue a clip; returns the (monotonic) time its first frame will be delivered."""
        self._pending = np.concatenate([self._pending, clip.astype(np.int16)])
        self.clip_started_at = None
        self.clip_ended_at = None
        return time.monotonic()

    @property
    def busy(self) -> bool:
        return self._pending.size > 0

    async def __anext__(self) -> rtc.AudioFrame:
        now = time.monotonic()
        if self._next_at is None:
            self._next_at = now
        delay = self._next_at - now
        if delay > 0:
            await asyncio.sleep(delay)
        self._next_at += FRAME_MS / 1000
        if self._pending.size:
            if self.clip_started_at is None:
                self.clip_started_at = time.monotonic()
            chunk = self._pending[:FRAME_SAMPLES]
            self._pending = self._pending[FRAME_SAMPLES:]
            if chunk.size < FRAME_SAMPLES:
                chunk = np.concatenate([chunk, np.zeros(FRAME_SAMPLES - chunk.size, np.int16)])
            if not self._pending.size:
                self.clip_ended_at = time.monotonic()
        else:
            chunk = np.zeros(FRAME_SAMPLES, dtype=np.int16)
        return rtc.AudioFrame(chunk.tobytes(), RATE, 1, FRAME_SAMPLES)


@dataclass
class Heard:
    at: float
    rms: float


class VirtualSpeaker(io.AudioOutput):
    def __init__(self) -> None:
        super().__init__(
            label="virtual-speaker", capabilities=io.AudioOutputCapabilities(pause=True)
        )
        self.heard: list[Heard] = []
        self._queue: list[rtc.AudioFrame | None] = []  # None marks the end of a segment
        self._paused = False
        self._wake = asyncio.Event()
        self._segment_played = 0.0
        self._segment_started = False
        self.pauses = 0
        self.clears = 0
        self._task = asyncio.create_task(self._play())

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        await super().capture_frame(frame)
        self._queue.append(frame)
        self._wake.set()

    def flush(self) -> None:
        super().flush()
        self._queue.append(None)
        self._wake.set()

    def clear_buffer(self) -> None:
        self.clears += 1
        had_segment = bool(self._queue) or self._segment_started
        self._queue.clear()
        if had_segment:
            self._finish(interrupted=True)

    def pause(self) -> None:
        self.pauses += 1
        self._paused = True

    def resume(self) -> None:
        self._paused = False
        self._wake.set()

    def _finish(self, *, interrupted: bool) -> None:
        position, self._segment_played, self._segment_started = self._segment_played, 0.0, False
        self.on_playback_finished(playback_position=position, interrupted=interrupted)

    def voiced_after(self, t: float) -> list[Heard]:
        return [h for h in self.heard if h.at >= t and h.rms >= SPEECH_RMS]

    async def _play(self) -> None:
        while True:
            if self._paused or not self._queue:
                self._wake.clear()
                if self._paused:
                    # Paused output is silence at the listener, like the room's output.
                    self.heard.append(Heard(time.monotonic(), 0.0))
                    try:
                        await asyncio.wait_for(self._wake.wait(), FRAME_MS / 1000)
                    except TimeoutError:
                        pass
                else:
                    await self._wake.wait()
                continue
            item = self._queue.pop(0)
            if item is None:
                self._finish(interrupted=False)
                continue
            if not self._segment_started:
                self._segment_started = True
                self.on_playback_started(created_at=time.time())
            samples = np.frombuffer(item.data, dtype=np.int16)
            self.heard.append(Heard(time.monotonic(), rms(samples)))
            duration = item.samples_per_channel / item.sample_rate
            self._segment_played += duration
            await asyncio.sleep(duration)

    async def aclose(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
