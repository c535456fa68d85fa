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
from parley_agent.worker_load import JobSeatsLoad, PromptLoadReports, load_options


def _server_with(jobs: int) -> Any:
    return SimpleNamespace(active_jobs=[object()] * jobs)


def test_seats_load_is_the_share_of_seats_taken_and_full_at_max_jobs() -> None:
    seats = JobSeatsLoad(4)
    loads = [seats(_server_with(n)) for n in range(6)]
    assert loads == [0.0, 0.25, 0.5, 0.75, 1.0, 1.0]
    threshold = seats.threshold()
    # The framework refuses at load >= threshold: three jobs leave a seat, four fill it.
    assert loads[3] < threshold <= loads[4] and threshold < 1


def test_one_seat_is_full_with_its_first_job() -> None:
    seats = JobSeatsLoad(1)
    assert seats(_server_with(0)) < seats.threshold() <= seats(_server_with(1))


def test_max_jobs_must_be_a_seat_at_least() -> None:
    with pytest.raises(ValueError):
        JobSeatsLoad(0)
    with pytest.raises(ValueError):
        AgentSettings(_env_file=None, PARLEY_AGENT_MAX_JOBS=0)


def test_max_jobs_from_the_settings_sets_the_load_and_its_threshold() -> None:
    options = server_options(AgentSettings(_env_file=None, PARLEY_AGENT_MAX_JOBS=3))
    assert isinstance(options["load_fnc"], JobSeatsLoad)
    assert options["load_fnc"].max_jobs == 3
    assert options["load_threshold"] == pytest.approx(2.5 / 3)
    # An explicit threshold wins (e.g. full a seat early).
    explicit = load_options(3, 0.5)
    assert explicit["load_threshold"] == 0.5 and isinstance(explicit["load_fnc"], JobSeatsLoad)


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
    server = ParleyServer(goodbye_window=30, load_fnc=JobSeatsLoad(2), load_threshold=0.75)

    async def refresh() -> None:
        calls.append("load refreshed")

    async def status() -> None:
        calls.append("worker status sent")

    monkeypatch.setattr(server, "_refresh_worker_load", refresh)
    monkeypatch.setattr(server, "_update_worker_status", status)
    await server._update_job_status(object())  # type: ignore[arg-type]
    assert calls == ["job status", "load refreshed", "worker status sent"]
