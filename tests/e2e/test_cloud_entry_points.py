"""Every entry point the README names, run as a user runs it, with only a root ``.env``.

``agent.py dev`` and ``start`` from ``agent/``, ``python -m parley_agent dev`` from the root,
``agent.py console`` (in a pseudo-terminal, typed text; and without a terminal: a clear
message), ``agent.py download-files``. The cloud keys point at the fakes so no local model
has to load (``PARLEY_LOCAL_FALLBACK=false``) and start-up stays quick.
"""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from parley_common.testing.devstack import (
    REPO_ROOT,
    LiveKitServer,
    ManagedProcess,
    start_livekit_server,
)
from tests.e2e.cloud_stack import clean_environ, write_root_env
from tests.fakes.cloud import CloudFakes

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CLOUD_LINE = (
    "stt=deepgram (auto: DEEPGRAM_API_KEY is set); llm=openai (auto: OPENAI_API_KEY is set); "
    "tts=cartesia (auto: CARTESIA_API_KEY is set)"
)


@pytest.fixture(scope="module")
def fakes() -> Iterator[CloudFakes]:
    fakes = CloudFakes().start()
    try:
        yield fakes
    finally:
        fakes.stop()


@pytest.fixture(scope="module")
def livekit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveKitServer]:
    server = start_livekit_server(tmp_path_factory.mktemp("lk"))
    try:
        yield server
    finally:
        server.stop()


def _root(tmp: Path, fakes: CloudFakes, livekit: LiveKitServer | None = None) -> Path:
    values = {**fakes.env(), "PARLEY_LOCAL_FALLBACK": "false", "PARLEY_DATA_DIR": str(tmp / "d")}
    if livekit is not None:
        values |= {
            "LIVEKIT_URL": livekit.ws_url,
            "LIVEKIT_API_KEY": livekit.api_key,
            "LIVEKIT_API_SECRET": livekit.api_secret,
            "PARLEY_AGENT_NUM_IDLE_PROCESSES": "1",
        }
    root = tmp / "checkout"
    write_root_env(root, values)
    return root


def _env(root: Path) -> dict[str, str]:
    names = {line.split("=", 1)[0] for line in (root / ".env").read_text().splitlines()}
    return clean_environ(names)


@pytest.mark.parametrize(
    ("argv", "where"),
    [
        (["agent.py", "dev"], "agent"),
        (["-m", "parley_agent", "dev"], "."),
    ],
    # `agent.py start` from agent/ is the stack of tests/e2e/test_cloud_pipeline.py.
    ids=["agent.py dev", "python -m parley_agent dev"],
)
def test_worker_registers_with_the_root_env(
    argv: list[str], where: str, fakes: CloudFakes, livekit: LiveKitServer, tmp_path: Path
) -> None:
    root = _root(tmp_path, fakes, livekit)
    worker = ManagedProcess(
        "worker",
        [sys.executable, *argv],
        env=_env(root),
        log_path=tmp_path / "worker.log",
        cwd=root / where,
    )
    try:
        worker.wait_for_output(r"registered worker", 90)
        out = worker.output()
        assert f"parley: providers: {CLOUD_LINE} [config from {root / '.env'}]" in out, out[:2000]
    finally:
        worker.stop(15)


def test_download_files_resolves_the_offline_packs(fakes: CloudFakes, tmp_path: Path) -> None:
    root = _root(tmp_path, fakes)
    out = subprocess.run(
        [sys.executable, "agent.py", "download-files"],
        cwd=root / "agent",
        env=_env(root),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    for what in ("stt faster-whisper", "tts piper", "llm llama.cpp"):
        assert f"parley: {what}: offline pack (verified)" in out.stderr, out.stderr[-2000:]


def test_console_without_a_terminal_says_why(fakes: CloudFakes, tmp_path: Path) -> None:
    root = _root(tmp_path, fakes)
    out = subprocess.run(
        [sys.executable, "agent.py", "console"],
        cwd=root / "agent",
        env=_env(root),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2
    assert "console needs an interactive terminal" in out.stderr, out.stderr[-2000:]
    assert "Plugins must be registered on the main thread" not in out.stderr


def test_console_text_mode_talks_to_the_llm(fakes: CloudFakes, tmp_path: Path) -> None:
    """The README's console, in a pseudo-terminal: prewarm no longer fails on plugin import,
    and typed text reaches the configured LLM."""
    root = _root(tmp_path, fakes)
    pid, fd = pty.fork()
    if pid == 0:  # the child: become the console
        os.chdir(root / "agent")
        os.execve(sys.executable, [sys.executable, "agent.py", "console", "--text"], _env(root))
    output = b""

    def read_for(seconds: float) -> None:
        nonlocal output
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                try:
                    output += os.read(fd, 65536)
                except OSError:
                    return

    try:
        deadline = time.monotonic() + 90
        while b"Type to talk" not in output and time.monotonic() < deadline:
            read_for(0.5)
        assert b"Type to talk" in output, output.decode(errors="replace")[-2000:]
        assert b"Plugins must be registered" not in output
        os.write(fd, b"hello console\r")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any(
            "hello console" in str(m.get("content"))
            for r in fakes.openai.chat_requests
            for m in r["messages"]
        ):
            read_for(0.5)
        said = [m for r in fakes.openai.chat_requests for m in r["messages"] if m["role"] == "user"]
        assert any("hello console" in str(m["content"]) for m in said), said
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        os.close(fd)


def _run_stack(env_file: Path, tmp: Path) -> ManagedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVEKIT_")}
    env["PARLEY_ENV_FILE"] = str(env_file)  # never the developer's own root .env
    return ManagedProcess(
        "run_stack",
        [sys.executable, "scripts/run_stack.py", "--port", "0", "--log-dir", str(tmp / "logs")],
        env=env,
        log_path=tmp / "run_stack.log",
        cwd=REPO_ROOT,
    )


def test_make_dev_uses_the_livekit_server_named_in_the_env(
    fakes: CloudFakes, livekit: LiveKitServer, tmp_path: Path
) -> None:
    root = _root(tmp_path, fakes, livekit)
    stack = _run_stack(root / ".env", tmp_path)
    try:
        stack.wait_for_output(r"Parley is running", 120)
        out = stack.output()
        assert f"using the LiveKit server at {livekit.ws_url} (LIVEKIT_URL)" in out, out
        assert f"parley: providers: {CLOUD_LINE}" in out, out
        assert "starting LiveKit server" not in out
    finally:
        stack.stop()


def test_make_dev_says_when_the_configured_livekit_is_unreachable(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("LIVEKIT_URL=ws://127.0.0.1:9\n")  # discard port: nothing listens
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVEKIT_")}
    env["PARLEY_ENV_FILE"] = str(env_file)
    out = subprocess.run(
        [sys.executable, "scripts/run_stack.py", "--port", "0", "--log-dir", str(tmp_path)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2
    assert "LIVEKIT_URL=ws://127.0.0.1:9 (from your configuration) is not reachable" in out.stderr
