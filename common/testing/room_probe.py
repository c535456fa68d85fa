"""A Python participant that joins a room and watches the agent: tests and benchmarks use it.

It measures from the caller's side of the SFU, the way a user hears the agent, rather than
trusting the worker's own account of when it spoke.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from dataclasses import dataclass, field

import numpy as np
from livekit import rtc

# int16 RMS; eSpeak/Piper speech sits in the thousands, WebRTC comfort noise below 50.
SPEECH_RMS = 300.0


def fetch_token(backend_url: str, body: dict | None = None, headers: dict | None = None) -> dict:
    req = urllib.request.Request(
        f"{backend_url}/api/token",
        data=json.dumps(body or {}).encode(),
        headers={"content-type": "application/json", **(headers or {})},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        answer: dict = json.loads(resp.read())
    return answer


def frame_rms(frame: rtc.AudioFrame) -> float:
    samples = np.frombuffer(frame.data, dtype=np.int16)
    if samples.size == 0:
        return 0.0
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))


@dataclass
class AgentAudioWatch:
    """Timestamps (monotonic) of what the participant observed."""

    joined_at: float = 0.0
    agent_joined_at: float | None = None
    track_at: float | None = None
    first_voice_at: float | None = None
    frames: int = 0
    voiced_frames: int = 0
    peak_rms: float = 0.0
    levels: list[tuple[float, float]] = field(default_factory=list)


class RoomProbe:
    """Join with a token, subscribe to the agent's audio, record levels as they arrive."""

    def __init__(self, *, keep_levels: bool = False) -> None:
        self.room = rtc.Room()
        self.watch = AgentAudioWatch()
        self._voice = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self._keep_levels = keep_levels
        self.transcriptions: list[dict] = []
        self.room.on("track_subscribed", self._on_track)
        self.room.on("participant_connected", self._on_participant)
        self.room.register_text_stream_handler("lk.transcription", self._on_transcription)

    def _on_participant(self, participant: rtc.RemoteParticipant) -> None:
        if participant.kind == rtc.ParticipantKind.PARTICIPANT_KIND_AGENT:
            self.watch.agent_joined_at = self.watch.agent_joined_at or time.monotonic()

    def _on_transcription(self, reader: rtc.TextStreamReader, participant_identity: str) -> None:
        async def read() -> None:
            text = await reader.read_all()
            attrs = reader.info.attributes or {}
            self.transcriptions.append(
                {
                    "from": participant_identity,
                    "text": text,
                    "attributes": dict(attrs),
                    "at": time.monotonic(),
                }
            )

        self._tasks.append(asyncio.create_task(read()))

    def _on_track(
        self,
        track: rtc.Track,
        _pub: rtc.RemoteTrackPublication,
        participant: rtc.RemoteParticipant,
    ) -> None:
        if track.kind != rtc.TrackKind.KIND_AUDIO:
            return
        if participant.kind != rtc.ParticipantKind.PARTICIPANT_KIND_AGENT:
            return
        self.watch.track_at = self.watch.track_at or time.monotonic()
        self._tasks.append(asyncio.create_task(self._read(track)))

    async def _read(self, track: rtc.Track) -> None:
        stream = rtc.AudioStream(track, sample_rate=48000, num_channels=1)
        async for event in stream:
            now = time.monotonic()
            rms = frame_rms(event.frame)
            self.watch.frames += 1
            self.watch.peak_rms = max(self.watch.peak_rms, rms)
            if self._keep_levels:
                self.watch.levels.append((now, rms))
            if rms >= SPEECH_RMS:
                self.watch.voiced_frames += 1
                if self.watch.first_voice_at is None:
                    self.watch.first_voice_at = now
                    self._voice.set()

    async def connect(self, url: str, token: str) -> None:
        self.watch.joined_at = time.monotonic()
        await self.room.connect(url, token)
        for participant in self.room.remote_participants.values():
            self._on_participant(participant)

    async def wait_for_agent_voice(self, timeout: float) -> float:
        """Seconds from join to the first voiced frame of the agent's audio."""
        await asyncio.wait_for(self._voice.wait(), timeout)
        assert self.watch.first_voice_at is not None
        return self.watch.first_voice_at - self.watch.joined_at

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.room.disconnect()
