"""What each image would do, without Docker: its requirement set alone in a fresh
virtualenv, the package installed non-editable (as the Dockerfile does), then the process
its CMD names, started outside the checkout, answering its health check.

Running outside the repo matters: an installed package lives in site-packages, so any path
derived from ``__file__`` points there, and any missing dependency shows up as an import
error instead of being borrowed from the development virtualenv.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from parley_common.testing.devstack import (
    ManagedProcess,
    free_port,
    http_ok,
    start_livekit_server,
)
from tests.deploy.image_venvs import ImageVenvs

pytestmark = [pytest.mark.slow, pytest.mark.integration]

REPO = Path(__file__).resolve().parents[2]
SPEECH_STACK = ["livekit.agents", "faster_whisper", "piper", "xllamacpp", "onnxruntime"]


def dockerfile_cmd(name: str) -> list[str]:
    text = (REPO / name).read_text()
    match = re.search(r"^CMD \[(.*)\]$", text, re.M)
    assert match, f"{name} has no exec-form CMD"
    return [part.strip().strip('"') for part in match.group(1).split(",")]


def importable(python: Path, module: str, cwd: Path) -> bool:
    probe = (
        f"import importlib.util, sys; sys.exit(0 if importlib.util.find_spec({module!r}) else 1)"
    )
    return subprocess.run([str(python), "-c", probe], cwd=cwd).returncode == 0


def run_cmd(
    bin_dir: Path, cmd: list[str], env: dict[str, str], cwd: Path, log: Path
) -> ManagedProcess:
    argv = [str(bin_dir / cmd[0]), *cmd[1:]]
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PARLEY_", "LIVEKIT_"))}
    clean.update({"PATH": f"{bin_dir}:{os.environ['PATH']}", "HOME": str(cwd), **env})
    clean.pop("VIRTUAL_ENV", None)
    clean.pop("PYTHONPATH", None)
    return ManagedProcess(cmd[0], argv, env=clean, log_path=log, cwd=cwd)


# The venvs are built in the background from the session's start (image_venvs.py); a test
# run alone waits for the whole install (~1 min backend, ~2 min agent with the model packs,
# more on a busy machine): past the suite's 300 s default, so these two get their own budget.
@pytest.mark.timeout(900)
def test_backend_image_requirements_alone_serve_health(
    tmp_path: Path, image_venvs: ImageVenvs
) -> None:
    built = image_venvs.result("backend", timeout=840)
    bin_dir, installed = built.bin_dir, built.install_s
    started = time.monotonic()
    run_dir = tmp_path / "run"
    (run_dir / "data").mkdir(parents=True)
    python = bin_dir / "python"
    for module in SPEECH_STACK:
        assert not importable(python, module, run_dir), f"backend image carries {module}"
    located = subprocess.run(
        [str(python), "-c", "import parley_backend; print(parley_backend.__file__)"],
        cwd=run_dir,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "site-packages" in located, located

    cmd = dockerfile_cmd("Dockerfile.backend")
    port = free_port()
    cmd[cmd.index("--host") + 1] = "127.0.0.1"
    cmd[cmd.index("--port") + 1] = str(port)
    env = {
        # The image's ENV, with the volume path inside this test's directory.
        "PARLEY_ENV": "production",
        "PARLEY_DATA_DIR": str(run_dir / "data"),
        "PARLEY_WEB_DIST": str(run_dir / "no-web"),
        "PARLEY_API_KEYS": "image-test-key",
        "PARLEY_AGENT_TOKEN": "image-test-agent-token",
        "LIVEKIT_API_KEY": "imagekey",
        "LIVEKIT_API_SECRET": "image-test-secret-that-is-long-enough",
    }
    proc = run_cmd(bin_dir, cmd, env, run_dir, tmp_path / "backend.log")
    try:
        proc.wait_for(lambda: http_ok(f"http://127.0.0.1:{port}/health"), 60, "GET /health")
        health_s = time.monotonic() - started
    finally:
        proc.stop()
    assert (run_dir / "data" / "parley.db").exists(), "SQLite not under PARLEY_DATA_DIR"
    print(f"\nbackend image: install {installed:.0f} s, /health after {health_s:.1f} s")


@pytest.mark.timeout(900)
def test_agent_image_requirements_alone_serve_health(
    tmp_path: Path, image_venvs: ImageVenvs
) -> None:
    built = image_venvs.result("agent", timeout=840)
    bin_dir, installed = built.bin_dir, built.install_s
    started = time.monotonic()
    run_dir = tmp_path / "run"
    (run_dir / "data").mkdir(parents=True)
    for module in ("fastapi", "sqlalchemy", "asyncpg"):
        assert not importable(bin_dir / "python", module, run_dir), f"agent image carries {module}"

    livekit = start_livekit_server(tmp_path / "livekit")
    health_port = free_port()
    env = {
        "PARLEY_DATA_DIR": str(run_dir / "data"),
        "PARLEY_HISTORY_SPOOL_DIR": str(run_dir / "data" / "history-spool"),
        "LIVEKIT_URL": livekit.ws_url,
        "LIVEKIT_API_KEY": livekit.api_key,
        "LIVEKIT_API_SECRET": livekit.api_secret,
        "PARLEY_AGENT_HTTP_PORT": str(health_port),
        "PARLEY_AGENT_NUM_IDLE_PROCESSES": "1",
    }
    proc = run_cmd(bin_dir, dockerfile_cmd("Dockerfile.agent"), env, run_dir, tmp_path / "w.log")
    try:
        proc.wait_for_output(r"registered worker", 180)
        proc.wait_for(lambda: http_ok(f"http://127.0.0.1:{health_port}/"), 30, "health")
        health_s = time.monotonic() - started
    finally:
        proc.stop(timeout=15)
        livekit.stop()
    print(
        f"\nagent image: install {installed:.0f} s, registered and healthy after {health_s:.1f} s"
    )
