"""Join N rooms one after another through the real stack; time join → first agent audio.

Starts its own LiveKit server, backend and worker on loopback (or uses --backend-url),
then for each room: fetch a token from the backend (which dispatches the agent), join as
a Python participant, and wait for the first non-silent frame of the agent's audio.
While each room's agent speaks, the memory of every job process of the worker is sampled:
``rss_mb_per_job`` is the mean over job processes of each one's peak resident set (RSS);
``pss_mb_per_job`` the same for PSS, which divides pages shared with the forkserver among
the processes sharing them (so it shows what a job really adds, where RSS counts them all).

    .venv/bin/python scripts/bench_dispatch.py --quick
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from parley_common.testing.devstack import start_stack
from parley_common.testing.room_probe import RoomProbe, fetch_token


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = (len(ordered) - 1) * pct / 100
    low, high = int(rank), min(int(rank) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass
class JobMemory:
    """Peak resident memory per job process of one worker, in MB."""

    worker_pid: int | None
    rss: dict[int, float] = field(default_factory=dict)
    pss: dict[int, float] = field(default_factory=dict)

    def job_processes(self) -> list[psutil.Process]:
        """The framework forks job processes from its forkserver (a child of the worker
        running ``multiprocessing.forkserver``): they are the forkserver's children."""
        if self.worker_pid is None:
            return []
        try:
            children = psutil.Process(self.worker_pid).children()
            servers = [c for c in children if "multiprocessing.forkserver" in " ".join(c.cmdline())]
            return [job for server in servers for job in server.children()]
        except psutil.Error:
            return []

    def sample(self) -> None:
        for proc in self.job_processes():
            try:
                info = proc.memory_full_info()
            except psutil.Error:
                continue  # it exited meanwhile
            mb = 1024 * 1024
            self.rss[proc.pid] = max(self.rss.get(proc.pid, 0.0), info.rss / mb)
            self.pss[proc.pid] = max(self.pss.get(proc.pid, 0.0), info.pss / mb)

    def fields(self) -> str:
        if not self.rss:
            return "rss_mb_per_job=nan pss_mb_per_job=nan"
        return (
            f"rss_mb_per_job={statistics.mean(self.rss.values()):.0f}"
            f" pss_mb_per_job={statistics.mean(self.pss.values()):.0f}"
        )


async def one_room(
    backend_url: str, index: int, timeout: float, memory: JobMemory
) -> tuple[float, float]:
    token = fetch_token(backend_url, {"participant_name": f"bench-{index}"})
    probe = RoomProbe()
    try:
        await probe.connect(token["server_url"], token["participant_token"])
        to_audio = await probe.wait_for_agent_voice(timeout)
        memory.sample()  # the job is live: its session, providers and models are loaded
        w = probe.watch
        to_agent = (w.agent_joined_at or w.joined_at) - w.joined_at
        return to_audio, to_agent
    finally:
        await probe.close()


async def run(
    backend_url: str, rooms: int, deadline: float, timeout: float, memory: JobMemory
) -> list[float]:
    results: list[float] = []
    for i in range(rooms):
        if time.monotonic() > deadline:
            print(f"time budget reached after {i} rooms", file=sys.stderr)
            break
        try:
            to_audio, to_agent = await one_room(backend_url, i, timeout, memory)
        except TimeoutError:
            print(f"room {i}: no agent audio within {timeout:.0f} s", file=sys.stderr)
            continue
        results.append(to_audio * 1000)
        print(
            f"room {i}: agent joined +{to_agent * 1000:.0f} ms,"
            f" first audio +{to_audio * 1000:.0f} ms"
        )
    return results


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--rooms", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="8 rooms, finishes within 60 s")
    parser.add_argument("--backend-url", help="use a running stack instead of starting one")
    parser.add_argument(
        "--idle-processes",
        type=int,
        default=None,
        help="prewarmed job processes (default: the framework's `start` default, one per CPU)",
    )
    args = parser.parse_args()
    rooms = 8 if args.quick else args.rooms
    started = time.monotonic()
    budget = 60.0 if args.quick else 600.0

    stack = None
    backend_url = args.backend_url
    if backend_url is None:
        idle = "" if args.idle_processes is None else str(args.idle_processes)
        stack = start_stack(
            Path(tempfile.mkdtemp(prefix="parley-bench-")),
            # Empty means "the framework's default" (the dev/test stacks pin it to 1).
            extra_env={"PARLEY_AGENT_NUM_IDLE_PROCESSES": idle},
        )
        backend_url = stack.backend.url
        print(f"stack ready in {time.monotonic() - started:.1f} s")
    try:
        # Leave room in the budget for stopping the stack.
        deadline = started + budget - 15
        memory = JobMemory(stack.worker.process.proc.pid if stack is not None else None)
        results = asyncio.run(run(backend_url, rooms, deadline, timeout=30, memory=memory))
    finally:
        if stack is not None:
            stack.stop()
    if not results:
        print(
            "RESULT dispatch_to_audio_p50_ms=nan dispatch_to_audio_p95_ms=nan"
            " rss_mb_per_job=nan pss_mb_per_job=nan"
        )
        return 1
    print(
        f"rooms={len(results)} mean={statistics.mean(results):.0f} ms "
        f"min={min(results):.0f} ms max={max(results):.0f} ms"
    )
    p50, p95 = percentile(results, 50), percentile(results, 95)
    print(f"job processes: peak RSS MB {sorted(round(v) for v in memory.rss.values())}")
    print(
        f"RESULT dispatch_to_audio_p50_ms={p50:.0f} dispatch_to_audio_p95_ms={p95:.0f}"
        f" {memory.fields()}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
