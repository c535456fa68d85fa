#!/usr/bin/env python3
"""Benchmark the meeting bridge: added latency each way, CPU per bridge, bridges per process.

Runs a real livekit-server and the real backend (its own process, so its CPU can be
measured), the fake Meeting BaaS in this process, and per meeting a fake bot streaming
audio plus a stand-in agent participant (kind agent) publishing audio, so every bridge
carries full two-way traffic. One meeting is instrumented:

- bot → room: the bot sends a tone burst over the socket; at the same moment a direct
  participant publishes the same burst. A listener in the room times both onsets; the
  difference is what the bridge adds (socket hop, resampling, its own publish).
- room → bot: the stand-in agent publishes a burst; the listener and the bot both time its
  onset; the bot's extra delay is what the bridge adds (subscribe, resample, pace, socket).

Levels of concurrent meetings are added until the instrumented one-way latency doubles
(worse direction, p95) or the level list ends. The machine is shared with this harness,
so ``max_bridges`` is a lower bound for a dedicated backend.

    .venv/bin/python scripts/bench_bridge.py --quick   # ≤ 60 s
Last line: RESULT bot_to_room_ms=… room_to_bot_ms=… cpu_pct_per_bridge=… max_bridges=…
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import os
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import psutil
from livekit import api, rtc

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from parley_common.testing.devstack import free_port, start_backend, start_livekit_server  # noqa: E402
from tests.fakes.meeting_baas import FakeBot, FakeMeetingBaas  # noqa: E402

RATE = 16000
ONSET_RMS = 2000.0
BURST_S = 0.2
GAP_S = 0.8


def rms(pcm: bytes | memoryview) -> float:
    samples = np.frombuffer(pcm, dtype=np.int16)
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) if samples.size else 0.0


def tone(rate: int, seconds: float, freq: float = 880.0) -> bytes:
    t = np.arange(int(rate * seconds)) / rate
    return (10000 * np.sin(2 * np.pi * freq * t)).astype("<i2").tobytes()


LOAD_PCM = (4000 * np.sin(2 * np.pi * 220 * np.arange(RATE * 10) / RATE)).astype("<i2").tobytes()


def p95(values: list[float]) -> float:
    return float(np.percentile(values, 95)) if values else float("nan")


def p50(values: list[float]) -> float:
    return float(np.percentile(values, 50)) if values else float("nan")


class Publisher:
    """A participant that publishes 10 ms frames in real time: silence, or a queued burst."""

    def __init__(self, loud: bool = False) -> None:
        self.room = rtc.Room()
        self.loud = loud  # load meetings: the agent talks all the time
        self._burst: bytes = b""
        self.burst_started: float | None = None
        self._task: asyncio.Task | None = None

    async def join(self, url: str, token: str) -> None:
        await self.room.connect(url, token)
        self.source = rtc.AudioSource(48000, 1, queue_size_ms=30)
        track = rtc.LocalAudioTrack.create_audio_track("audio", self.source)
        opts = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
        await self.room.local_participant.publish_track(track, opts)
        self._task = asyncio.create_task(self._run())

    def burst(self) -> None:
        self._burst = tone(48000, BURST_S)
        self.burst_started = None

    async def _run(self) -> None:
        # 10 ms frames where timing is measured; 40 ms for load (4x fewer SDK calls here).
        n = 1920 if self.loud else 480
        loud = np.frombuffer(tone(48000, 1.0, 330.0), dtype=np.int16)
        quiet = np.zeros(n, dtype=np.int16)
        i = 0
        while True:
            if self._burst:
                chunk, self._burst = self._burst[: n * 2], self._burst[n * 2 :]
                if self.burst_started is None:
                    self.burst_started = time.monotonic()
                data = np.frombuffer(chunk, dtype=np.int16)
            elif self.loud:
                start = (i * n) % (48000 - n)
                data = loud[start : start + n] // 4
            else:
                data = quiet
            i += 1
            await self.source.capture_frame(rtc.AudioFrame(data.tobytes(), 48000, 1, n))

    async def close(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
        await self.room.disconnect()


class Listener:
    """Times the first loud frame of each participant after a mark."""

    def __init__(self) -> None:
        self.room = rtc.Room()
        self.frames: dict[str, list[tuple[float, float]]] = {}
        self._tasks: list[asyncio.Task] = []

    async def join(self, url: str, token: str) -> None:
        def on_track(track: rtc.Track, _pub: object, participant: rtc.RemoteParticipant) -> None:
            if track.kind == rtc.TrackKind.KIND_AUDIO:
                self._tasks.append(asyncio.create_task(self._read(participant.identity, track)))

        self.room.on("track_subscribed", on_track)
        await self.room.connect(url, token)

    async def _read(self, identity: str, track: rtc.Track) -> None:
        levels = self.frames.setdefault(identity, [])
        stream = rtc.AudioStream(track, sample_rate=48000, num_channels=1)
        try:
            async for ev in stream:
                levels.append((time.monotonic(), rms(ev.frame.data)))
                if len(levels) > 3000:
                    del levels[:1000]
        finally:
            await stream.aclose()

    def onset(self, identity: str, since: float) -> float | None:
        for at, level in self.frames.get(identity, []):
            if at >= since and level >= ONSET_RMS:
                return at
        return None

    async def close(self) -> None:
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.room.disconnect()


def main_thread_cpu(proc: psutil.Process) -> float:
    """CPU seconds of the process's main thread (the asyncio loop; the rest is native)."""
    for thread in proc.threads():
        if thread.id == proc.pid:
            return thread.user_time + thread.system_time
    return 0.0


def bot_onset(bot: FakeBot, since: float) -> float | None:
    for chunk in bot.received:
        if chunk.at >= since and rms(chunk.pcm) >= ONSET_RMS:
            return chunk.at
    return None


class Bench:
    def __init__(self, quick: bool, levels: list[int] | None = None) -> None:
        self.quick = quick
        self.levels = levels
        self.log_dir = Path(tempfile.mkdtemp(prefix="parley-bench-bridge-"))
        self.meetings: list[dict] = []
        self.agents: list[Publisher] = []

    def token(self, room: str, identity: str, kind: str | None = None, hidden: bool = False):
        grants = api.VideoGrants(
            room_join=True, room=room, can_publish=not hidden, can_subscribe=True, hidden=hidden
        )
        tok = (
            api.AccessToken(self.lk.api_key, self.lk.api_secret)
            .with_identity(identity)
            .with_grants(grants)
            .with_ttl(datetime.timedelta(hours=1))
        )
        return (tok.with_kind(kind) if kind else tok).to_jwt()

    async def add_meeting(self, loud: bool) -> tuple[dict, FakeBot, Publisher]:
        resp = await self.http.post(
            "/api/meetings", json={"meeting_url": "https://zoom.us/j/1234567890"}
        )
        resp.raise_for_status()
        meeting = resp.json()
        bot = self.fake.bot(meeting["bot_id"])
        agent = Publisher(loud=loud)
        await agent.join(self.lk.ws_url, self.token(meeting["room_name"], "agent", kind="agent"))
        await bot.wait_connected(30)
        if loud:
            # The meeting talks all the time too (10 minutes of queued tone).
            for _ in range(60):
                bot.say(LOAD_PCM)
        self.meetings.append(meeting)
        self.agents.append(agent)
        return meeting, bot, agent

    async def quiet(self, mid: str, span: float = 0.3, limit: float = 5.0) -> None:
        """Wait until no burst is still in flight anywhere (else a late one is mistaken
        for the next), at most ``limit`` seconds."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            since = time.monotonic() - span
            heard = any(
                self.listener.onset(who, since) for who in (f"meeting-{mid}", "agent", "direct")
            )
            if not heard and bot_onset(self.probe_bot, since) is None:
                return
            await asyncio.sleep(0.05)

    async def measure(
        self, bursts: int
    ) -> tuple[list[float], list[float], list[float], list[float]]:
        """Per burst: (bridged bot→room, direct, bridged room→bot, direct) latencies in ms."""
        b2r, direct_in, r2b, direct_out = [], [], [], []
        mid = self.probe_meeting["id"]
        for _ in range(bursts):
            # bot → room, against a direct publisher sending the same burst at the same time.
            await self.quiet(mid)
            mark = time.monotonic()
            sent = asyncio.Event()
            sent_at: list[float] = []

            def on_sent(at: float, chunk: bytes, sent=sent, sent_at=sent_at) -> None:
                if not sent_at and rms(chunk) > ONSET_RMS:
                    sent_at.append(at)
                    sent.set()

            self.probe_bot.on_frame_sent = on_sent
            self.probe_bot.say(tone(RATE, BURST_S))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(sent.wait(), 1.0)
            self.direct.burst()
            await asyncio.sleep(GAP_S)
            got = self.listener.onset(f"meeting-{mid}", mark)
            ref = self.listener.onset("direct", mark)
            if sent_at and got and ref and self.direct.burst_started:
                b2r.append((got - sent_at[0]) * 1000)
                direct_in.append((ref - self.direct.burst_started) * 1000)
            # room → bot: one burst from the agent, timed at the listener and at the bot.
            await self.quiet(mid)
            mark = time.monotonic()
            self.probe_agent.burst()
            await asyncio.sleep(GAP_S)
            at_bot = bot_onset(self.probe_bot, mark)
            at_room = self.listener.onset("agent", mark)
            start = self.probe_agent.burst_started
            if at_bot and at_room and start:
                r2b.append((at_bot - start) * 1000)
                direct_out.append((at_room - start) * 1000)
        return b2r, direct_in, r2b, direct_out

    async def run(self) -> str:
        self.lk = start_livekit_server(self.log_dir)
        self.fake = await FakeMeetingBaas(join_step_s=0.05, callback_retry_delays=()).start()
        backend = start_backend(
            self.log_dir,
            {
                "LIVEKIT_URL": self.lk.ws_url,
                "LIVEKIT_API_KEY": self.lk.api_key,
                "LIVEKIT_API_SECRET": self.lk.api_secret,
                "PARLEY_DATA_DIR": str(self.log_dir),
                "MEETING_BAAS_API_KEY": self.fake.api_key,
                "MEETING_BAAS_BASE_URL": self.fake.base_url,
                "PARLEY_LOG_LEVEL": "WARNING",
            },
            port=free_port(),
        )
        proc = psutil.Process(backend.process.proc.pid)
        me = psutil.Process()
        self.http = httpx.AsyncClient(base_url=backend.url, timeout=60)
        listener = self.listener = Listener()
        try:
            self.probe_meeting, self.probe_bot, self.probe_agent = await self.add_meeting(False)
            room = self.probe_meeting["room_name"]
            await listener.join(self.lk.ws_url, self.token(room, "listener", hidden=True))
            self.direct = Publisher()
            # A standard participant: the bridge ignores it (it forwards only agents' audio).
            await self.direct.join(self.lk.ws_url, self.token(room, "direct"))
            await asyncio.sleep(1.5)  # let jitter buffers settle
            levels = self.levels or ([1, 4, 8] if self.quick else [1, 10, 20, 30, 40, 50, 60, 80])
            bursts = 5 if self.quick else 8
            base_total = None
            result_in = result_out = float("nan")
            cpu_per_bridge = float("nan")
            max_bridges = 0
            for level in levels:
                while len(self.meetings) < level:
                    await self.add_meeting(True)
                await asyncio.sleep(1.0)
                cpu0, main0, t0 = proc.cpu_times(), main_thread_cpu(proc), time.monotonic()
                harness0 = sum(me.cpu_times()[:2])
                b2r, d_in, r2b, d_out = await self.measure(bursts)
                cpu1, main1, t1 = proc.cpu_times(), main_thread_cpu(proc), time.monotonic()
                cpu_pct = 100 * ((cpu1.user + cpu1.system) - (cpu0.user + cpu0.system)) / (t1 - t0)
                py_pct = 100 * (main1 - main0) / (t1 - t0)
                harness_pct = 100 * (sum(me.cpu_times()[:2]) - harness0) / (t1 - t0)
                added_in = [a - b for a, b in zip(b2r, d_in, strict=True)]
                added_out = [a - b for a, b in zip(r2b, d_out, strict=True)]
                total = max(p95(b2r), p95(r2b))
                print(
                    f"bridges={level:3d} bot→room p95={p95(b2r):6.1f} ms (added "
                    f"p95 {p95(added_in):6.1f} p50 {p50(added_in):6.1f}) "
                    f"room→bot p95={p95(r2b):6.1f} ms (added p95 {p95(added_out):6.1f} "
                    f"p50 {p50(added_out):6.1f}) backend cpu={cpu_pct:5.1f}% "
                    f"({cpu_pct / level:4.2f}%/bridge, event loop {py_pct:4.1f}%) "
                    f"harness cpu={harness_pct:5.1f}% load={os.getloadavg()[0]:.1f} "
                    f"samples={len(b2r)}/{len(r2b)}",
                    flush=True,
                )
                if base_total is None:  # one bridge: the added latency we report
                    base_total = total
                    result_in, result_out = p95(added_in), p95(added_out)
                if np.isnan(total) or total > 2 * base_total:
                    print(f"latency doubled at {level} bridges", flush=True)
                    break
                max_bridges = level
                # Per bridge at the largest level that held (fixed costs amortised).
                cpu_per_bridge = cpu_pct / level
            return (
                f"RESULT bot_to_room_ms={result_in:.1f} room_to_bot_ms={result_out:.1f} "
                f"cpu_pct_per_bridge={cpu_per_bridge:.2f} max_bridges={max_bridges}"
            )
        finally:
            for m in list(self.meetings):
                with contextlib.suppress(Exception):
                    await self.http.delete(f"/api/meetings/{m['id']}")
            with contextlib.suppress(Exception):
                got = await self.http.get(f"/api/meetings/{self.meetings[0]['id']}")
                closed = [e["data"] for e in got.json()["timeline"] if e["kind"] == "bridge.closed"]
                print(f"probe bridge: {closed[0]}", flush=True)
            for agent in self.agents:
                await agent.close()
            with contextlib.suppress(Exception):
                await self.direct.close()
            await listener.close()
            await self.http.aclose()
            await self.fake.stop()
            backend.stop()
            self.lk.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="levels 1/4/8, within 60 s")
    parser.add_argument("--levels", help="comma-separated bridge counts, e.g. 1,10,20")
    args = parser.parse_args()
    started = time.monotonic()
    load, cores = os.getloadavg()[0], os.cpu_count() or 1
    if load > cores:
        print(
            f"warning: load average {load:.1f} on {cores} cores before starting; other "
            "work is competing, so latencies are inflated and max_bridges is a lower bound",
            flush=True,
        )
    levels = [int(x) for x in args.levels.split(",")] if args.levels else None
    result = asyncio.run(Bench(args.quick, levels).run())
    print(f"bench took {time.monotonic() - started:.0f} s", flush=True)
    print(result, flush=True)


if __name__ == "__main__":
    main()
