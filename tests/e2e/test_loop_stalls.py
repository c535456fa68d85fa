"""No stalls on the job's event loop: real jobs through the real LiveKit server.

The framework's loop monitor (``livekit.agents.telemetry.loop_monitor``) logs
``event loop blocked for <n>ms ... ; synchronous work on the agent loop ...`` from the
``livekit.agents`` logger when a job loop's heartbeat fires 100 ms late. It used to fire at
the start of every job (an ``ssl.SSLContext`` built per HTTP client) and at the first reply
(the transcript synchronizer's hyphenator, thousands of regular-expression calls).

Wall-clock lateness alone is not a sound assertion on a loaded 2-core machine: a job process
that gets half a core turns 60 ms of work into a 120 ms stall. The monitor also records the
loop thread's own CPU time for each stall (``cpu_time`` in the JSON log record), which load
does not inflate; and the stack it sampled during the stall. So a reported stall fails this
test when

- the loop thread itself burned at least the warn threshold of CPU in it (synchronous work
  that blocks the loop on any machine), or
- its sampled stack lands in a known offender (building a TLS context, compiling regular
  expressions) or the monitor saw a lazy import, however long it took: such work belongs in
  prewarm or at module level, never on the loop.

Stalls the monitor attributes to the host (``process_descheduled``) are never logged by it.
Only job processes are judged: the worker's own loop (the framework's, which builds its
HTTP session's TLS context at start-up) runs no session.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from livekit import api

from parley_common.agent_config import AgentConfig
from parley_common.testing.devstack import Stack
from parley_common.testing.openai_stub import OpenAIStub, StubDelays
from parley_common.testing.room_probe import fetch_token
from parley_common.testing.speaking_probe import SpeakingProbe, espeak_clip
from parley_common.wire import bridge_identity
from tests.waiting import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

STALL_MESSAGE = "event loop blocked for"
# Frames that mean work which belongs in prewarm or at module level, never on the loop.
KNOWN_OFFENDERS = (
    "create_ssl_context",
    "create_default_context",
    "default_ssl_context",
    "load_verify_locations",
    "re/_compiler.py",
    "re/_parser.py",
    "sre_compile",
    "sre_parse",
    "_get_hyphenator",  # the framework's hyphenator, built lazily (regular expressions)
)


def _record(line: str) -> dict[str, Any] | None:
    start = line.find("{")
    try:
        record = json.loads(line[start:]) if start >= 0 else None
    except json.JSONDecodeError:
        return None
    return record if isinstance(record, dict) else None


def stalls(output: str) -> list[dict[str, Any]]:
    """The loop monitor's reports from job processes in a worker's log (JSON lines in
    ``start`` mode; the worker's own process is the one that logged "starting worker")."""
    records = [(line, _record(line)) for line in output.splitlines()]
    worker_pids = {r.get("pid") for _, r in records if r and r.get("message") == "starting worker"}
    found = []
    for line, record in records:
        if STALL_MESSAGE not in line:
            continue
        if record is None:
            # A report without its fields cannot be judged: keep it, as an offender.
            found.append({"message": line})
        elif record.get("pid") not in worker_pids:
            found.append(record)
    return found


def offenders(reports: list[dict[str, Any]]) -> list[dict[str, Any]]:
    bad = []
    for report in reports:
        cpu = report.get("cpu_time")
        threshold = report.get("threshold", 0.1)
        stack = str(report.get("stack", "")) + str(report.get("message", ""))
        known = any(o in stack for o in KNOWN_OFFENDERS) or "import" in report
        if cpu is None or cpu >= threshold or known:
            bad.append(report)
    return bad


def test_offenders_are_recognised() -> None:
    """The judge itself: a CPU-bound stall, a sampled TLS build and a lazy import fail; host
    lateness and the worker's own loop do not."""
    worker = json.dumps({"message": "starting worker", "pid": 1})
    in_worker = json.dumps(
        {"message": "event loop blocked for 900ms", "cpu_time": 0.5, "threshold": 0.1, "pid": 1}
    )
    line = "2026 WARNING livekit.agents " + json.dumps(
        {"message": "event loop blocked for 150ms at x", "cpu_time": 0.14, "threshold": 0.1}
    )
    imported = json.dumps(
        {"message": "event loop blocked for 110ms importing a", "cpu_time": 0.01, "import": "a"}
    )
    tls = json.dumps(
        {
            "message": "event loop blocked for 120ms at y",
            "cpu_time": 0.04,
            "threshold": 0.1,
            "stack": 'File "/usr/lib/python3.11/ssl.py", line 770, in create_default_context',
        }
    )
    late = json.dumps({"message": "event loop blocked for 130ms", "cpu_time": 0.03})
    log = [worker, in_worker, line, tls, imported, late, "unrelated line"]
    reports = stalls("\n".join(log))
    assert len(reports) == 4
    assert offenders(reports) == reports[:3]


async def _greeted_then_answered(url: str, token: str, question: str) -> None:
    """Join, hear the greeting out, ask ``question`` aloud and hear a reply begin."""
    probe = SpeakingProbe()
    await probe.connect(url, token)
    try:
        await probe.wait_for_agent_voice(timeout=90)
        await wait_until(
            lambda: probe.agent_silent_after(time.monotonic() - 1.0, hold_s=0.8),
            60,
            "the greeting to end",
        )
        await probe.say(espeak_clip(question))
        spoke_at = probe.clip_ended_at
        assert spoke_at is not None
        await wait_until(lambda: probe.agent_voice_after(spoke_at) is not None, 60, "reply")
    finally:
        await probe.close()


async def _conversation_turn(stack: Stack) -> None:
    token = fetch_token(stack.backend.url, {"participant_name": "Speaker"})
    await _greeted_then_answered(
        token["server_url"], token["participant_token"], "What is the weather like in Paris today?"
    )


async def _meeting_turn(stack: Stack) -> None:
    """A meeting job, dispatched as the backend does, linked to its bridge participant."""
    meeting_id = uuid.uuid4().hex[:12]
    room = f"meeting-room-{meeting_id}"
    config = AgentConfig(mode="meeting", meeting_id=meeting_id)
    lk_url, key, secret = stack.livekit.http_url, stack.livekit.api_key, stack.livekit.api_secret
    async with api.LiveKitAPI(lk_url, key, secret) as lk:
        await lk.room.create_room(api.CreateRoomRequest(name=room))
        await lk.agent_dispatch.create_dispatch(
            api.CreateAgentDispatchRequest(
                agent_name="parley", room=room, metadata=config.to_metadata()
            )
        )
    token = (
        api.AccessToken(key, secret)
        .with_identity(bridge_identity(meeting_id))
        .with_grants(api.VideoGrants(room_join=True, room=room))
        .to_jwt()
    )
    await _greeted_then_answered(
        stack.livekit.ws_url, token, "Parley, what is the capital of France?"
    )


async def test_jobs_do_not_block_their_event_loop(stack_factory: Callable[..., Stack]) -> None:
    stub = OpenAIStub(StubDelays(ttft_s=0.05)).start()
    try:
        stack = stack_factory(
            {
                **stub.local_stack_env(),
            }
        )
        await _conversation_turn(stack)
        await _meeting_turn(stack)
        output = stack.worker.process.output()
        reports = stalls(output)
        for report in reports:
            print("stall:", json.dumps(report)[:2000])
        bad = offenders(reports)
        assert not bad, "synchronous work on a job's event loop:\n" + "\n".join(
            json.dumps(r, indent=1)[:3000] for r in bad
        )
    finally:
        stub.stop()
