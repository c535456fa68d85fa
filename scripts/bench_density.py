#!/usr/bin/env python
"""Session density: how many concurrent conversations one worker holds on this machine
before end-to-end latency p95 doubles, its memory and its CPU per session.

For each provider set (stub: the OpenAI-compatible stub for STT, LLM and TTS, i.e. what a
cloud deployment costs the worker; local: faster-whisper, embedded llama.cpp, Piper) one
real stack (LiveKit server, backend, one worker) runs, and the load rises in levels
(1, 2, 4, ... concurrent sessions, each its own room and speaking participant). Per level:

  e2e p95   end of the user's speech -> first voiced agent audio, at the participant
  cpu       CPU seconds of the worker's whole process tree / wall time / sessions
  rss       resident memory of the whole worker tree, and per job process

A level passes while its p95 stays within 2x the one-session p95 and every turn was
answered; ``sessions_per_worker_*`` is the last level that passed (a lower bound when the
time budget ended the run first, said in the output).

Last line: RESULT sessions_per_worker_stub=... sessions_per_worker_local=...
rss_mb_per_job=... cpu_pct_per_session=...   (memory and CPU from the stub run's top level)
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from parley_common.testing.cluster import stub_provider_env  # noqa: E402
from parley_common.testing.devstack import Stack, start_stack  # noqa: E402
from parley_common.testing.openai_stub import OpenAIStub, StubDelays  # noqa: E402
from parley_common.testing.room_probe import fetch_token  # noqa: E402
from parley_common.testing.speaking_probe import SpeakingProbe, espeak_clip  # noqa: E402

QUESTION = "What is the weather like in Paris today?"
LOCAL_ENV = {
    "PARLEY_STT": "local",
    "PARLEY_LLM": "local",
    "PARLEY_TTS": "local",
    "PARLEY_LLM_MAX_TOKENS": "40",
    "PARLEY_TURN_DETECTOR": "vad",
}


@dataclass
class Level:
    sessions: int
    latencies: list[float] = field(default_factory=list)
    unanswered: int = 0
    errors: list[str] = field(default_factory=list)
    cpu_pct_per_session: float = 0.0
    rss_total_mb: float = 0.0
    rss_per_job_mb: float = 0.0

    @property
    def p95(self) -> float:
        return float(np.percentile(self.latencies, 95)) if self.latencies else float("inf")


def tree(pid: int) -> list[psutil.Process]:
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def cpu_seconds(procs: list[psutil.Process]) -> float:
    total = 0.0
    for proc in procs:
        try:
            t = proc.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


def rss_mb(proc: psutil.Process) -> float:
    try:
        return proc.memory_info().rss / 1e6
    except psutil.NoSuchProcess:
        return 0.0


async def session(stack: Stack, turns: int, ready: asyncio.Barrier, level: Level) -> None:
    token = fetch_token(stack.backend.url, {"participant_name": "Bench"})
    probe = SpeakingProbe()
    await probe.connect(token["server_url"], token["participant_token"])
    try:
        try:
            await probe.wait_for_agent_voice(60)
            await probe.wait_quiet(0.6, 30)
        finally:
            await ready.wait()  # every session greeted (or given up): the level starts
        clip = espeak_clip(QUESTION)
        for _ in range(turns):
            await probe.say(clip)
            ended = probe.clip_ended_at or time.monotonic()
            deadline = ended + 20
            voiced = None
            while voiced is None and time.monotonic() < deadline:
                voiced = probe.agent_voice_after(ended)
                await asyncio.sleep(0.02)
            if voiced is None:
                level.unanswered += 1
            else:
                level.latencies.append(voiced - ended)
            await asyncio.sleep(0.3)
            await probe.wait_quiet(0.6, 15)
    finally:
        await probe.close()


async def run_level(stack: Stack, sessions: int, turns: int) -> Level:
    level = Level(sessions)
    ready = asyncio.Barrier(sessions + 1)
    tasks = [asyncio.create_task(session(stack, turns, ready, level)) for _ in range(sessions)]
    await ready.wait()
    pid = stack.worker.process.proc.pid
    procs = tree(pid)
    cpu0, t0 = cpu_seconds(procs), time.monotonic()
    samples: list[tuple[float, float]] = []
    while not all(t.done() for t in tasks):
        procs = tree(pid)
        children = procs[1:]
        samples.append(
            (sum(rss_mb(p) for p in procs), float(np.mean([rss_mb(p) for p in children] or [0])))
        )
        await asyncio.sleep(0.5)
    for outcome in await asyncio.gather(*tasks, return_exceptions=True):
        if isinstance(outcome, BaseException):
            level.unanswered += turns  # a session that failed answered none of its turns
            level.errors.append(f"{type(outcome).__name__}: {outcome}")
    wall = time.monotonic() - t0
    level.cpu_pct_per_session = (cpu_seconds(tree(pid)) - cpu0) / wall / sessions * 100
    if samples:
        level.rss_total_mb = max(s[0] for s in samples)
        level.rss_per_job_mb = max(s[1] for s in samples)
    return level


def measure(name: str, stack: Stack, levels: list[int], turns: int, budget: float) -> list[Level]:
    done: list[Level] = []
    started = time.monotonic()
    for sessions in levels:
        if done and time.monotonic() - started > budget:
            print(f"[{name}] time budget spent before {sessions} sessions")
            break
        level = asyncio.run(run_level(stack, sessions, turns))
        done.append(level)
        print(
            f"[{name}] {sessions:3d} sessions: e2e p95 {level.p95 * 1000:6.0f} ms "
            f"({len(level.latencies)} turns, {level.unanswered} unanswered), "
            f"cpu {level.cpu_pct_per_session:5.1f} %/session, worker rss "
            f"{level.rss_total_mb:6.0f} MB, {level.rss_per_job_mb:4.0f} MB/process"
        )
        for error in level.errors[:3]:
            print(f"[{name}]     session failed: {error}")
        if level.unanswered or level.p95 > 2 * done[0].p95:
            break
    return done


def held(name: str, levels: list[Level]) -> int:
    if not levels:
        return 0
    base = levels[0].p95
    passed = [lv.sessions for lv in levels if not lv.unanswered and lv.p95 <= 2 * base]
    best = max(passed) if passed else 0
    if best and levels[-1].sessions == best:
        print(f"[{name}] {best} is a lower bound: p95 had not doubled when the run stopped")
    return best


def run_mode(name: str, env: dict[str, str], levels: list[int], turns: int, budget: float):
    log_dir = Path(tempfile.mkdtemp(prefix=f"parley-bench-density-{name}-"))
    t0 = time.monotonic()
    extra = {
        "PARLEY_DATA_DIR": str(log_dir / "data"),
        # Enough prewarmed processes that a level's jobs do not wait for spawns.
        "PARLEY_AGENT_NUM_IDLE_PROCESSES": str(min(max(levels), 8)),
        **env,
    }
    stack = start_stack(log_dir, extra_env=extra)
    print(f"[{name}] stack up in {time.monotonic() - t0:.1f} s (logs: {log_dir})")
    try:
        return measure(name, stack, levels, turns, budget)
    finally:
        stack.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a few levels, within ~90 s")
    parser.add_argument("--turns", type=int, default=4)
    parser.add_argument("--max-sessions", type=int, default=64)
    args = parser.parse_args()
    if args.quick:
        stub_levels, local_levels, turns, budget = [1, 2, 4], [1, 2], 1, 30.0
    else:
        stub_levels = [n for n in (1, 2, 4, 8, 12, 16, 24, 32, 48, 64) if n <= args.max_sessions]
        local_levels = [n for n in (1, 2, 3, 4, 6, 8) if n <= args.max_sessions]
        turns, budget = args.turns, 900.0

    t0 = time.monotonic()
    stub = OpenAIStub(StubDelays()).start()
    try:
        env = {**stub_provider_env(stub), "PARLEY_LLM_MAX_TOKENS": "40"}
        stub.set_transcript(QUESTION)
        stub_run = run_mode("stub", env, stub_levels, turns, budget)
    finally:
        stub.stop()
    local_run = run_mode("local", LOCAL_ENV, local_levels, turns, budget)
    print(f"total {time.monotonic() - t0:.1f} s")

    top = max(stub_run, key=lambda lv: lv.sessions) if stub_run else Level(0)
    print(
        f"RESULT sessions_per_worker_stub={held('stub', stub_run)} "
        f"sessions_per_worker_local={held('local', local_run)} "
        f"rss_mb_per_job={top.rss_per_job_mb:.0f} "
        f"cpu_pct_per_session={top.cpu_pct_per_session:.1f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
