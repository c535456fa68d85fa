"""What a worker tells LiveKit about its load, and when.

LiveKit picks the node for a job by the summed spare capacity (1 - load) of its available
workers, then a worker there weighted the same way (livekit-server
``pkg/service/agentservice.go``: ``JobRequestAffinity``, ``selectWorkerWeightedByLoad``). Two
things in the framework's defaults make that choice blind:

- The default load is the machine's CPU. Workers sharing a host all report the same number,
  so LiveKit cannot tell the one holding four conversations from the idle one.
  ``PARLEY_AGENT_MAX_JOBS`` makes the load the worker's own share of its seats
  (``JobSeatsLoad``): sized from ``scripts/bench_density.py``, it is what the operator
  actually knows about a worker's capacity, and LiveKit tells the workers apart by it.
- The worker reports its status every 2.5 s (``UPDATE_STATUS_INTERVAL``), so jobs dispatched
  in between are routed on the load from before the last one started. ``PromptLoadReports``
  sends the status as soon as a job starts or ends.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from livekit.agents import AgentServer

if TYPE_CHECKING:
    from livekit.agents.ipc.job_executor import JobExecutor


# LiveKit sends no job to a worker whose reported load is at or over its ``agents.target_load``
# (livekit-server ``pkg/agent/config.go``, ``DefaultTargetLoad``), whatever the worker's own
# threshold; the framework's own default threshold in ``start`` mode is the same 0.7.
LIVEKIT_TARGET_LOAD = 0.7


class JobSeatsLoad:
    """Load from the seats taken: below LiveKit's target load until all ``max_jobs`` are.

    With ``jobs`` of ``max_jobs`` taken it reports ``0.7 * jobs / max_jobs``, and 1.0 once
    every seat is, so LiveKit keeps sending jobs to a worker with a seat free, prefers the
    one with the most free, and sends none to a full one; the framework's own threshold
    (0.7) refuses at the same point.
    """

    def __init__(self, max_jobs: int) -> None:
        if max_jobs < 1:
            raise ValueError("max_jobs must be at least 1")
        self.max_jobs = max_jobs

    def __call__(self, server: AgentServer) -> float:
        jobs = len(server.active_jobs)
        if jobs >= self.max_jobs:
            return 1.0
        return LIVEKIT_TARGET_LOAD * jobs / self.max_jobs


class PromptLoadReports(AgentServer):
    """``AgentServer`` that reports its load to LiveKit as soon as a job starts or ends.

    Hooks the framework's own job-status callback (``_update_job_status``, called on every
    job launch and process exit) and then sends the worker status it would otherwise send
    on its next 2.5 s tick. ``tests/agent/test_worker_load.py`` pins the private names.
    """

    async def _update_job_status(self, proc: JobExecutor) -> None:
        await super()._update_job_status(proc)
        await self._report_load_now()

    async def _report_load_now(self) -> None:
        await self._refresh_worker_load()
        await self._update_worker_status()

    # The framework's private methods, named here so a framework upgrade that renames them
    # fails the pinning test instead of silently falling back to 2.5 s reports.
    PRIVATE_HOOKS: tuple[str, ...] = (
        "_update_job_status",
        "_refresh_worker_load",
        "_update_worker_status",
    )


def load_options(max_jobs: int | None, load_threshold: float | None) -> dict[str, Any]:
    """``AgentServer`` keyword arguments for the load: seats when ``max_jobs`` is set."""
    options: dict[str, Any] = {}
    if max_jobs is not None:
        options["load_fnc"] = JobSeatsLoad(max_jobs)
        if load_threshold is not None:
            options["load_threshold"] = load_threshold
        return options
    if load_threshold is not None:
        options["load_threshold"] = load_threshold
        if load_threshold >= 1:
            # "Never refuse for load" must also reach the server: LiveKit routes a job by
            # affinity 1 - reported load, so a worker reporting a busy machine's CPU (1.0)
            # gets no job at all ("no servers available"), whatever its own threshold says.
            options["load_fnc"] = _unlimited_load
    return options


def _unlimited_load() -> float:
    return 0.0
