"""Cluster fixtures: one real cluster per module (``parley_common.testing.cluster``)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import asyncpg
import pytest
from livekit import api

from parley_common.testing.cluster import Cluster, start_cluster
from parley_common.testing.speaking_probe import SpeakingProbe, espeak_clip
from tests.waiting import wait_until


@pytest.fixture(scope="module")
def cluster(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    options = getattr(request.module, "CLUSTER_OPTIONS", {})
    started = time.monotonic()
    cluster = start_cluster(tmp_path_factory.mktemp("cluster"), **options)
    print(
        f"\ncluster up in {time.monotonic() - started:.1f} s ({cluster.network.kind}; "
        f"nodes {[n.host.address for n in cluster.nodes]}, {len(cluster.workers)} workers)"
    )
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
async def lkapi(cluster: Cluster) -> AsyncIterator[api.LiveKitAPI]:
    """The LiveKit server API through the proxy (either node answers)."""
    client = api.LiveKitAPI(cluster.livekit_url, cluster.api_key, cluster.api_secret)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
async def db(cluster: Cluster) -> AsyncIterator[asyncpg.Connection]:
    """The backends' Postgres, read directly: what was stored, whoever stored it."""
    conn = await asyncpg.connect(cluster.postgres.url)
    try:
        yield conn
    finally:
        await conn.close()


def room_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def mint_token(cluster: Cluster, room: str, identity: str) -> str:
    """A join-only token (no dispatch in it): the test dispatches the agent itself."""
    grants = api.VideoGrants(room_join=True, room=room)
    return (
        api.AccessToken(cluster.api_key, cluster.api_secret)
        .with_identity(identity)
        .with_grants(grants)
        .to_jwt()
    )


@dataclass
class JobSeen:
    job_id: str
    worker_id: str
    status: int


async def dispatched_job(lk: api.LiveKitAPI, room: str) -> JobSeen | None:
    """The room's agent job as LiveKit records it (None until a worker took it)."""
    for dispatch in await lk.agent_dispatch.list_dispatch(room_name=room):
        for job in dispatch.state.jobs:
            if job.state.worker_id:
                return JobSeen(job.id, job.state.worker_id, job.state.status)
    return None


async def dispatch_agent(lk: api.LiveKitAPI, cluster: Cluster, room: str) -> None:
    await lk.room.create_room(api.CreateRoomRequest(name=room, empty_timeout=60))
    await lk.agent_dispatch.create_dispatch(
        api.CreateAgentDispatchRequest(agent_name="parley", room=room)
    )


async def wait_job(lk: api.LiveKitAPI, room: str, timeout: float) -> JobSeen:
    seen: list[JobSeen] = []

    async def check() -> bool:
        job = await dispatched_job(lk, room)
        if job:
            seen.append(job)
        return job is not None

    await wait_until(check, timeout, f"a worker taking the job of {room}", interval=0.2)
    return seen[-1]


async def wait_warm(cluster: Cluster, timeout: float = 90) -> None:
    """Every running worker has a prewarmed process again (after a burst of jobs).

    A job arriving before that waits for a process to be spawned and prewarmed, which on a
    busy 2-core machine takes many seconds: the tests measure the cluster, not that.
    """
    live = [w for w in cluster.workers if w.process and w.process.alive()]
    await wait_until(
        lambda: all(w.warm() for w in live),
        timeout,
        lambda: f"warm workers; cold: {[w.name for w in live if not w.warm()]}",
        interval=0.2,
    )


async def wait_greeted(probe: SpeakingProbe, timeout: float) -> float:
    """Wait for the agent's greeting and its end (speech over it would be an interruption).

    Returns seconds from join to the greeting's first voiced frame.
    """
    voice = await probe.wait_for_agent_voice(timeout)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        quiet = probe.agent_silent_after(probe.watch.joined_at + voice, hold_s=0.6)
        if quiet is not None and time.monotonic() - quiet >= 0.6:
            return voice
        await asyncio.sleep(0.05)
    raise AssertionError(f"the agent's greeting did not end within {timeout:.0f} s")


async def wait_quiet(probe: SpeakingProbe, timeout: float, hold_s: float = 0.8) -> None:
    """Wait until the agent has been silent for ``hold_s`` (what it was saying is over)."""
    if not await probe.wait_quiet(hold_s, timeout):
        raise AssertionError(f"the agent did not fall silent within {timeout:.0f} s")


async def converse(probe: SpeakingProbe, cluster: Cluster, text: str, timeout: float) -> float:
    """Say ``text``; return seconds from the end of the clip to the agent's voiced reply.

    The stub STT "hears" what it is told; the reply must quote it, so it proves the user's
    audio reached the agent and the agent's answer reached the user.
    """
    cluster.stub.set_transcript(text)
    await probe.say(espeak_clip(text))
    ended = probe.clip_ended_at
    assert ended is not None
    want = f"you said: {text.lower()}"
    await wait_until(
        lambda: any(want in t["text"].lower() for t in probe.transcriptions),
        timeout,
        lambda: f"the agent's reply to {text!r}; heard {[t['text'] for t in probe.transcriptions]}",
    )
    await wait_until(lambda: probe.agent_voice_after(ended) is not None, timeout, "agent voice")
    voiced = probe.agent_voice_after(ended)
    assert voiced is not None
    return voiced - ended
