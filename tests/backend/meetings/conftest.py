"""A real backend (uvicorn, in this process) wired to a real LiveKit server and the fake
Meeting BaaS, plus LiveKit participants that stand in for the agent and for a listener."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import json
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from fastapi import FastAPI
from livekit import api, rtc

from parley_common.testing.devstack import LiveKitServer, free_port, start_livekit_server
from tests.backend.conftest import make_settings
from tests.fakes.meeting_baas import FakeMeetingBaas
from tests.serving import serve_asgi
from tests.waiting import wait_until

WEBHOOK_SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.fixture(scope="module")
def lk_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveKitServer]:
    server = start_livekit_server(tmp_path_factory.mktemp("livekit"))
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Env:
    url: str
    app: FastAPI
    fake: FakeMeetingBaas
    lk: LiveKitServer
    http: httpx.AsyncClient

    def token(
        self, room: str, identity: str, *, kind: str | None = None, hidden: bool = False
    ) -> str:
        grants = api.VideoGrants(
            room_join=True,
            room=room,
            can_publish=not hidden,
            can_subscribe=True,
            can_publish_data=True,
            hidden=hidden,
        )
        tok = (
            api.AccessToken(self.lk.api_key, self.lk.api_secret)
            .with_identity(identity)
            .with_grants(grants)
            .with_ttl(datetime.timedelta(minutes=10))
        )
        if kind:
            tok = tok.with_kind(kind)
        return tok.to_jwt()


@contextlib.asynccontextmanager
async def serve_backend(settings: Any) -> AsyncIterator[tuple[str, FastAPI]]:
    from parley_backend.app import create_app

    app = create_app(settings)
    port = int(settings.public_url.rsplit(":", 1)[1])
    async with serve_asgi(app, port) as url:
        yield url, app


@pytest.fixture
async def env(lk_server: LiveKitServer, tmp_path: Path) -> AsyncIterator[Env]:
    port = free_port()
    async with FakeMeetingBaas(
        join_step_s=0.1,
        callback_retry_delays=(0.2, 0.5),
        account_webhook_url=f"http://127.0.0.1:{port}/api/webhooks/meeting-baas",
        account_webhook_secret=WEBHOOK_SECRET,
    ) as fake:
        settings = make_settings(
            tmp_path,
            LIVEKIT_URL=lk_server.ws_url,
            LIVEKIT_API_KEY=lk_server.api_key,
            LIVEKIT_API_SECRET=lk_server.api_secret,
            MEETING_BAAS_API_KEY=fake.api_key,
            MEETING_BAAS_BASE_URL=fake.base_url,
            MEETING_BAAS_WEBHOOK_SECRET=WEBHOOK_SECRET,
            PARLEY_PUBLIC_URL=f"http://127.0.0.1:{port}",
        )
        async with serve_backend(settings) as (url, app):
            async with httpx.AsyncClient(base_url=url, timeout=30) as http:
                yield Env(url, app, fake, lk_server, http)


def rms(pcm: bytes | memoryview) -> float:
    samples = np.frombuffer(pcm, dtype=np.int16)
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) if samples.size else 0.0


@dataclass
class Listener:
    """A hidden participant that hears one participant's audio and watches its data."""

    room: rtc.Room = field(default_factory=rtc.Room)
    levels: list[tuple[float, float]] = field(default_factory=list)
    data: list[tuple[str, Any]] = field(default_factory=list)
    tasks: list[asyncio.Task] = field(default_factory=list)

    async def join(self, env: Env, room_name: str, target: str) -> None:
        def on_track(track: rtc.Track, _pub: Any, participant: rtc.RemoteParticipant) -> None:
            if participant.identity == target and track.kind == rtc.TrackKind.KIND_AUDIO:
                self.tasks.append(asyncio.create_task(self._read(track)))

        def on_data(packet: rtc.DataPacket) -> None:
            self.data.append((packet.topic, json.loads(packet.data)))

        self.room.on("track_subscribed", on_track)
        self.room.on("data_received", on_data)
        await self.room.connect(env.lk.ws_url, env.token(room_name, "listener", hidden=True))

    async def _read(self, track: rtc.Track) -> None:
        stream = rtc.AudioStream(track, sample_rate=48000, num_channels=1)
        try:
            async for ev in stream:
                self.levels.append((time.monotonic(), rms(ev.frame.data)))
        finally:
            await stream.aclose()

    def voiced_after(self, t: float, threshold: float = 300.0) -> int:
        return sum(1 for at, level in self.levels if at >= t and level >= threshold)

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.room.disconnect()


@dataclass
class StandInAgent:
    """A participant of kind agent: speaks a tone when asked and answers ``parley.ask``."""

    room: rtc.Room = field(default_factory=rtc.Room)
    asked: list[str] = field(default_factory=list)
    source: rtc.AudioSource | None = None
    task: asyncio.Task | None = None
    talking: bool = False

    async def join(self, env: Env, room_name: str, *, rpc: bool = True) -> None:
        await self.room.connect(env.lk.ws_url, env.token(room_name, "agent-standin", kind="agent"))
        if rpc:

            async def _ask(data: rtc.RpcInvocationData) -> str:
                self.asked.append(json.loads(data.payload)["question"])
                return json.dumps({"ok": True})

            self.room.local_participant.register_rpc_method("parley.ask", _ask)
        self.source = rtc.AudioSource(48000, 1)
        track = rtc.LocalAudioTrack.create_audio_track("agent", self.source)
        await self.room.local_participant.publish_track(
            track, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
        )
        self.task = asyncio.create_task(self._play())

    async def _play(self) -> None:
        n = 480  # 10 ms at 48 kHz
        t = np.arange(n)
        phase = 0
        while True:
            if self.talking:
                tone = (8000 * np.sin(2 * np.pi * 440 * (t + phase) / 48000)).astype(np.int16)
            else:
                tone = np.zeros(n, dtype=np.int16)
            phase += n
            assert self.source is not None
            await self.source.capture_frame(rtc.AudioFrame(tone.tobytes(), 48000, 1, n))

    async def close(self) -> None:
        if self.task:
            self.task.cancel()
            with contextlib.suppress(BaseException):
                await self.task
        await self.room.disconnect()


async def bridge_in_room(env: Env, meeting: dict) -> None:
    """The meeting's bot is connected and its bridge has joined the LiveKit room."""
    bot = env.fake.bot(meeting["bot_id"])
    await bot.wait_connected(timeout=15)
    await wait_until(
        lambda: (
            env.app.state.meetings.bridges.get(meeting["id"]) is not None
            and env.app.state.meetings.bridges[meeting["id"]].room is not None
        ),
        15,
        "bridge in room",
    )
