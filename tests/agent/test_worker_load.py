"""The load a worker reports to LiveKit: seats instead of CPU, reported the moment it changes.

The cluster test (`tests/cluster/test_cluster.py`) shows LiveKit spreading jobs by it.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from livekit.agents import AgentServer

from parley_agent.settings import AgentSettings
from parley_agent.worker import ParleyServer, server_options
from parley_agent.worker_load import (
    LIVEKIT_TARGET_LOAD,
    JobSeatsLoad,
    PromptLoadReports,
    load_options,
)


def _server_with(jobs: int) -> Any:
    return SimpleNamespace(active_jobs=[object()] * jobs)


def test_seats_load_stays_under_livekits_target_until_every_seat_is_taken() -> None:
    seats = JobSeatsLoad(4)
    loads = [seats(_server_with(n)) for n in range(6)]
    assert loads[:4] == pytest.approx([0.0, 0.175, 0.35, 0.525])
    assert loads[4:] == [1.0, 1.0]
    # LiveKit skips a worker at its target load, and so does the framework's threshold.
    assert all(load < LIVEKIT_TARGET_LOAD for load in loads[:4])
    assert all(load >= LIVEKIT_TARGET_LOAD for load in loads[4:])


def test_one_seat_is_full_with_its_first_job() -> None:
    seats = JobSeatsLoad(1)
    assert seats(_server_with(0)) == 0.0 and seats(_server_with(1)) == 1.0


def test_max_jobs_must_be_a_seat_at_least() -> None:
    with pytest.raises(ValueError):
        JobSeatsLoad(0)
    with pytest.raises(ValueError):
        AgentSettings(_env_file=None, PARLEY_AGENT_MAX_JOBS=0)


def test_max_jobs_from_the_settings_sets_the_load() -> None:
    options = server_options(AgentSettings(_env_file=None, PARLEY_AGENT_MAX_JOBS=3))
    assert isinstance(options["load_fnc"], JobSeatsLoad)
    assert options["load_fnc"].max_jobs == 3
    # The framework's own threshold stays (0.7 in start mode): full at the same point.
    assert "load_threshold" not in options
    # An explicit threshold is passed on (under 0.7 it fills the worker a seat early).
    explicit = load_options(3, 0.4)
    assert explicit["load_threshold"] == 0.4 and isinstance(explicit["load_fnc"], JobSeatsLoad)


def test_without_max_jobs_the_framework_cpu_load_stays() -> None:
    assert load_options(None, None) == {}
    assert load_options(None, 0.8) == {"load_threshold": 0.8}


def test_the_framework_still_has_the_hooks_prompt_reports_override() -> None:
    for name in PromptLoadReports.PRIVATE_HOOKS:
        assert callable(getattr(AgentServer, name, None)), f"AgentServer.{name} is gone"


async def test_a_job_status_change_sends_the_worker_status_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []

    async def job_status(self: AgentServer, proc: object) -> None:
        calls.append("job status")

    monkeypatch.setattr(AgentServer, "_update_job_status", job_status)
    server = ParleyServer(goodbye_window=30, load_fnc=JobSeatsLoad(2))

    async def refresh() -> None:
        calls.append("load refreshed")

    async def status() -> None:
        calls.append("worker status sent")

    monkeypatch.setattr(server, "_refresh_worker_load", refresh)
    monkeypatch.setattr(server, "_update_worker_status", status)
    await server._update_job_status(object())  # type: ignore[arg-type]
    assert calls == ["job status", "load refreshed", "worker status sent"]
