"""Fixtures shared by every test: real processes on free loopback ports, always stopped."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# No test reads the developer's own root .env: settings built in this process and every
# child (devstack) see PARLEY_ENV_FILE="" unless a test passes an env file of its own.
os.environ["PARLEY_ENV_FILE"] = ""

from parley_common.testing.devstack import LiveKitServer, Stack, start_livekit_server, start_stack

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def livekit_server(tmp_path: Path) -> Iterator[LiveKitServer]:
    server = start_livekit_server(tmp_path / "livekit")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def stack_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Stack]]:
    """Start a full stack (LiveKit + backend + worker) with extra environment; stop it after."""
    started: list[Stack] = []

    def factory(extra_env: dict[str, str] | None = None) -> Stack:
        log_dir = tmp_path_factory.mktemp("stack")
        env = {"PARLEY_DATA_DIR": str(log_dir / "data"), **(extra_env or {})}
        stack = start_stack(log_dir, extra_env=env)
        started.append(stack)
        return stack

    try:
        yield factory
    finally:
        for stack in started:
            stack.stop()


@pytest.fixture(scope="session")
def shared_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One stack for the tests that only need "a working Parley" and make their own rooms."""
    log_dir = tmp_path_factory.mktemp("shared-stack")
    stack = start_stack(log_dir, extra_env={"PARLEY_DATA_DIR": str(log_dir / "data")})
    try:
        yield stack
    finally:
        stack.stop()


def pytest_report_header(config: pytest.Config) -> str:
    return f"parley: CI={os.environ.get('CI', '')}"
