"""The worker's history uploader against a real backend process: outages, restarts, spool."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from livekit.agents import ConversationItemAddedEvent
from livekit.agents.llm import ChatMessage

from parley_agent.history import (
    HistoryOptions,
    HistoryRecorder,
    HistoryUploader,
    backoff_delay,
)
from parley_agent.meeting.runtime import MeetingRuntime
from parley_agent.meeting.transcript import TranscriptStore
from parley_common.testing.devstack import Backend, free_port, start_backend
from parley_common.wire import SUMMARIES_PATH, TURNS_PATH

TOKEN = "history-test-token"


def backend_env(data_dir: Path) -> dict[str, str]:
    return {
        "PARLEY_DATA_DIR": str(data_dir),
        "PARLEY_AGENT_TOKEN": TOKEN,
        "DATABASE_URL": "",
        "PARLEY_LOG_LEVEL": "WARNING",
    }


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    base = tmp_path_factory.mktemp("history-backend")
    proc = start_backend(base / "logs", backend_env(base / "data"))
    try:
        yield proc
    finally:
        proc.stop()


def options(url: str, tmp_path: Path, **kw: object) -> HistoryOptions:
    defaults: dict = {
        "initial_backoff": 0.2,
        "max_backoff": 1.0,
        "request_timeout": 5.0,
        "flush_timeout": 2.0,
        "spool_dir": tmp_path / "spool",
    }
    defaults.update(kw)
    return HistoryOptions(backend_url=url, agent_token=TOKEN, **defaults)


def recorder_for(uploader: HistoryUploader, room: str, job: str = "AJ_test") -> HistoryRecorder:
    return HistoryRecorder(
        uploader=uploader,
        room_name=room,
        job_id=job,
        language="en",
        agent_identity=lambda: "agent-AJ_test",
        user_identity=lambda: "alice",
    )


def say(recorder: HistoryRecorder, role: str, text: str, **metrics: float) -> ChatMessage:
    item = ChatMessage(role=role, content=[text], metrics=metrics)  # type: ignore[arg-type]
    recorder.on_item(ConversationItemAddedEvent(item=item))
    return item


async def room_context(backend_url: str, room: str) -> dict:
    async with httpx.AsyncClient(timeout=10) as http:
        resp = await http.get(
            f"{backend_url}/api/agent/context",
            params={"room_name": room, "limit": 500},
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
    resp.raise_for_status()
    return resp.json()


async def room_turns(backend_url: str, room: str) -> list[dict]:
    return (await room_context(backend_url, room))["turns"]


async def test_turns_survive_an_outage_and_a_restart(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    uploader = HistoryUploader(options(url, tmp_path))
    uploader.start()
    recorder = recorder_for(uploader, "outage-room")
    try:
        # The backend is down: turns are buffered and retried, the caller never waits.
        started = time.monotonic()
        for n in range(10):
            say(recorder, "user" if n % 2 else "assistant", f"line {n}", e2e_latency=0.5)
        assert time.monotonic() - started < 0.1
        await asyncio.sleep(2.5)
        assert uploader.stats.sent == 0 and uploader.stats.attempts >= 3
        assert uploader.pending == 10

        data = tmp_path / "data"
        backend = await asyncio.to_thread(
            start_backend, tmp_path / "logs", backend_env(data), port=port
        )
        try:
            assert await uploader.wait_idle(30), f"still pending: {uploader.pending}"
            turns = await room_turns(url, "outage-room")
            assert [t["text"] for t in turns] == [f"line {n}" for n in range(10)]
            assert turns[0]["role"] == "agent" and turns[0]["latency"] == {"e2e": 0.5}
        finally:
            await asyncio.to_thread(backend.stop)

        # Down again (a restart): five more turns wait, then arrive once it is back.
        for n in range(10, 15):
            say(recorder, "user", f"line {n}")
        await asyncio.sleep(1.0)
        backend = await asyncio.to_thread(
            start_backend, tmp_path / "logs", backend_env(data), port=port
        )
        try:
            assert await uploader.wait_idle(30)
            texts = [t["text"] for t in await room_turns(url, "outage-room")]
            assert texts == [f"line {n}" for n in range(15)], "nothing lost, nothing doubled"
        finally:
            await asyncio.to_thread(backend.stop)
        assert uploader.stats.sent == 15 and uploader.stats.dropped == 0
    finally:
        await uploader.aclose()


async def test_unsent_posts_are_spooled_and_sent_by_the_next_job(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    dead = HistoryUploader(options(url, tmp_path, flush_timeout=1.0))
    dead.start()
    recorder = recorder_for(dead, "spool-room", job="AJ_one")
    for n in range(3):
        say(recorder, "user", f"spooled {n}")
    await recorder.aclose()  # also queues the default summary
    assert dead.stats.spooled == 4 and dead.stats.dropped == 0
    files = list((tmp_path / "spool").glob("*/*.jsonl"))
    assert len(files) == 1 and len(files[0].read_text().splitlines()) == 4

    # Another backend's uploader leaves them alone: they are not for it.
    other = HistoryUploader(options(f"http://127.0.0.1:{free_port()}", tmp_path))
    other.start()
    assert other.pending == 0
    await other.aclose()

    # The backend comes back; the next job of this worker sends what was spooled.
    env = backend_env(tmp_path / "data")
    backend = await asyncio.to_thread(start_backend, tmp_path / "logs", env, port=port)
    try:
        live = HistoryUploader(options(url, tmp_path))
        live.start()
        try:
            assert await live.wait_idle(30)
        finally:
            await live.aclose()
        assert list(files[0].parent.iterdir()) == []
        assert [t["text"] for t in await room_turns(url, "spool-room")] == [
            "spooled 0",
            "spooled 1",
            "spooled 2",
        ]
        ctx = await room_context(url, "spool-room")
        assert ctx["summaries"][0]["text"].startswith("Conversation of")
    finally:
        await asyncio.to_thread(backend.stop)


async def test_permanent_rejection_is_not_retried_and_does_not_block(
    tmp_path: Path, backend: Backend
) -> None:
    uploader = HistoryUploader(options(backend.url, tmp_path))
    uploader.start()
    try:
        uploader.enqueue(TURNS_PATH, {"turn_id": "bad", "text": ""}, "bad")
        recorder = recorder_for(uploader, "reject-room")
        say(recorder, "assistant", "still delivered")
        assert await uploader.wait_idle(30)
        assert uploader.stats.rejected == 1 and uploader.stats.sent == 1
        assert uploader.stats.attempts == 2
    finally:
        await uploader.aclose()
    assert [t["text"] for t in await room_turns(backend.url, "reject-room")] == ["still delivered"]


async def test_resent_turn_is_recognised_as_duplicate(tmp_path: Path, backend: Backend) -> None:
    uploader = HistoryUploader(options(backend.url, tmp_path))
    uploader.start()
    try:
        recorder = recorder_for(uploader, "dup-room")
        item = say(recorder, "assistant", "only once")
        # As if the first ack had been lost and the post were sent again.
        recorder.seq -= 1
        recorder.on_item(ConversationItemAddedEvent(item=item))
        assert await uploader.wait_idle(30)
        assert uploader.stats.sent == 2 and uploader.stats.duplicates == 1
    finally:
        await uploader.aclose()
    assert [t["text"] for t in await room_turns(backend.url, "dup-room")] == ["only once"]


def test_recorder_maps_messages_to_turn_posts(tmp_path: Path) -> None:
    uploader = HistoryUploader(options("http://unused", tmp_path))  # not started: just queues
    recorder = recorder_for(uploader, "map-room")
    user = say(
        recorder,
        "user",
        " What's the weather? ",
        end_of_turn_delay=0.4,
        transcription_delay=0.1,
        started_speaking_at=1_700_000_000.0,
        stopped_speaking_at=1_700_000_002.5,
    )
    say(recorder, "assistant", "Sunny.", e2e_latency=0.9, llm_node_ttft=0.3, tts_node_ttfb=0.08)
    say(recorder, "assistant", "   ")  # nothing said: no turn
    say(recorder, "system", "You are Parley.")  # not a turn
    posts = list(uploader._queue)
    assert [p.path for p in posts] == [TURNS_PATH, TURNS_PATH]
    first, second = posts[0].body, posts[1].body
    assert first["turn_id"] == f"AJ_test:{user.id}" == posts[0].key
    assert first["role"] == "user" and first["speaker_identity"] == "alice"
    assert first["text"] == "What's the weather?"
    assert first["latency"] == {"end_of_turn_delay": 0.4, "transcription_delay": 0.1}
    assert first["started_at"].startswith("2023-11-14T22:13:20")
    assert first["ended_at"].startswith("2023-11-14T22:13:22.5")
    assert second["role"] == "agent" and second["speaker_identity"] == "agent-AJ_test"
    assert second["latency"] == {"e2e": 0.9, "llm_ttft": 0.3, "tts_ttfb": 0.08}
    assert [first["seq"], second["seq"]] == [0, 1]
    text, data = recorder.default_summary()
    assert "1 user turn(s) and 1 agent turn(s)" in text
    assert data["e2e_latency_avg"] == 0.9
    recorder.post_summary(text, data)
    assert uploader._queue[-1].path == SUMMARIES_PATH
    json.dumps([p.body for p in uploader._queue])  # every body is plain JSON


def test_buffer_is_bounded_and_keeps_the_newest(tmp_path: Path) -> None:
    uploader = HistoryUploader(options("http://unused", tmp_path, max_buffer=3))
    for n in range(5):
        uploader.enqueue(TURNS_PATH, {"n": n}, f"k{n}")
    assert uploader.pending == 3 and uploader.stats.dropped == 2
    assert [p.body["n"] for p in uploader._queue] == [2, 3, 4]


def test_backoff_is_exponential_and_capped() -> None:
    delays = [backoff_delay(n, 0.5, 10.0) for n in range(1, 12)]
    assert 0.25 <= delays[0] <= 0.5
    assert all(d <= 10.0 for d in delays)
    assert delays[-1] >= 5.0  # at the cap: a minute's outage costs at most ~10 s extra


async def test_wrong_token_holds_history_until_fixed(tmp_path: Path, backend: Backend) -> None:
    wrong = HistoryOptions(
        backend_url=backend.url,
        agent_token="not-the-token",
        initial_backoff=0.2,
        max_backoff=0.5,
        flush_timeout=1.0,
        spool_dir=tmp_path / "spool",
    )
    uploader = HistoryUploader(wrong)
    uploader.start()
    say(recorder_for(uploader, "token-room"), "assistant", "kept despite a bad token")
    await asyncio.sleep(1.0)
    assert uploader.stats.sent == 0 and uploader.stats.rejected == 0 and uploader.pending == 1
    await uploader.aclose()
    assert uploader.stats.spooled == 1

    fixed = HistoryUploader(options(backend.url, tmp_path))  # the right token, after a redeploy
    fixed.start()
    try:
        assert await fixed.wait_idle(30)
    finally:
        await fixed.aclose()
    assert [t["text"] for t in await room_turns(backend.url, "token-room")] == [
        "kept despite a bad token"
    ]


async def test_the_agents_summary_is_posted_once_through_the_uploader(
    tmp_path: Path, backend: Backend
) -> None:
    store = TranscriptStore()
    store.add("Ana Souza", "We agreed to launch on March 3rd.")
    runtime = MeetingRuntime("Parley", store=store)

    async def meeting_summary() -> tuple[str, dict]:
        summary = await runtime.finish()
        return summary.text(), summary.model_dump()

    uploader = HistoryUploader(options(backend.url, tmp_path))
    uploader.start()
    recorder = recorder_for(uploader, "summary-room", job="AJ_meeting")
    recorder.summary_source = meeting_summary
    await recorder.aclose()  # nothing was said to the agent: the meeting's summary still goes
    summaries = (await room_context(backend.url, "summary-room"))["summaries"]
    assert [s["id"] for s in summaries] == ["AJ_meeting:session-summary"]
    assert "Decisions:\n- Ana Souza: We agreed to launch on March 3rd." in summaries[0]["text"]
    assert uploader.stats.sent == 1


async def test_a_failing_agent_summary_falls_back_to_the_default(tmp_path: Path) -> None:
    async def broken() -> tuple[str, dict]:
        raise RuntimeError("the model went away")

    uploader = HistoryUploader(options("http://127.0.0.1:9", tmp_path))  # never started
    recorder = recorder_for(uploader, "fallback-room", job="AJ_fallback")
    recorder.summary_source = broken
    say(recorder, "user", "hello")
    await recorder.aclose()
    spooled = [
        json.loads(line)["body"]
        for path in (tmp_path / "spool").glob("*/*.jsonl")
        for line in path.read_text().splitlines()
    ]
    assert [b.get("summary_id") for b in spooled] == [None, "AJ_fallback:session-summary"]
    assert "1 user turn(s)" in spooled[-1]["text"]
