"""A Parley stack configured only through a root ``.env``, the way the README says.

A temporary checkout-like directory holds the ``.env`` and ``agent/agent.py``; the worker
runs ``python agent.py start`` in ``agent/`` with no ``PARLEY_ENV_FILE`` and none of the
settings in its environment, so it must find the root ``.env`` itself. The backend (not
under test here) gets the same file explicitly.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from parley_common.env_file import ENV_VAR
from parley_common.testing.devstack import (
    REPO_ROOT,
    Backend,
    LiveKitServer,
    ManagedProcess,
    free_port,
    start_backend,
    start_livekit_server,
)
from parley_common.testing.room_probe import fetch_token
from parley_common.testing.speaking_probe import SpeakingProbe
from tests.waiting import wait_until


@dataclass
class EnvStack:
    livekit: LiveKitServer
    backend: Backend
    worker: ManagedProcess
    root: Path

    @property
    def startup_line(self) -> str:
        match = re.search(r"^parley: providers: .*$", self.worker.output(), re.MULTILINE)
        return match.group(0) if match else ""

    def stop(self) -> None:
        for stop in (lambda: self.worker.stop(15), self.backend.stop, self.livekit.stop):
            try:
                stop()
            except Exception as exc:
                print(f"cloud_stack: stop failed: {exc}", file=sys.stderr)


def write_root_env(root: Path, values: dict[str, str]) -> Path:
    """``root/.env`` and ``root/agent/agent.py`` (the README's entry point, unchanged)."""
    (root / "agent").mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO_ROOT / "agent" / "agent.py", root / "agent" / "agent.py")
    (root / "pyproject.toml").write_text("# marks the project root for parley_common.env_file\n")
    env_file = root / ".env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    return env_file


def clean_environ(names: set[str]) -> dict[str, str]:
    """This process's environment without the settings the ``.env`` is meant to provide."""
    env = {k: v for k, v in os.environ.items() if k not in names and k != ENV_VAR}
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def start_env_stack(
    tmp: Path, settings: dict[str, str], *, mode: str = "start", timeout: float = 120
) -> EnvStack:
    logs = tmp / "logs"
    livekit = start_livekit_server(logs)
    backend_port = free_port()
    values = {
        "LIVEKIT_URL": livekit.ws_url,
        "LIVEKIT_API_KEY": livekit.api_key,
        "LIVEKIT_API_SECRET": livekit.api_secret,
        "PARLEY_BACKEND_URL": f"http://127.0.0.1:{backend_port}",
        "PARLEY_DATA_DIR": str(tmp / "data"),
        "PARLEY_HISTORY_SPOOL_DIR": str(tmp / "spool"),
        "PARLEY_AGENT_HTTP_PORT": str(free_port()),
        "PARLEY_AGENT_NUM_IDLE_PROCESSES": "1",
        "PARLEY_AGENT_LOAD_THRESHOLD": "1000",
        # The operator opens these per-room fields to callers of POST /api/token.
        "PARLEY_PUBLIC_AGENT_FIELDS": "greeting,tools,language,preset",
        # Until the worker has posted its capabilities (Deepgram + Cartesia: these and more).
        "PARLEY_DEFAULT_LANGUAGES": "en,fr,multi",
        **settings,
    }
    root = tmp / "checkout"
    env_file = write_root_env(root, values)
    backend = worker = None
    try:
        backend = start_backend(logs, {ENV_VAR: str(env_file)}, port=backend_port)
        worker = ManagedProcess(
            "worker",
            [sys.executable, "agent.py", mode],
            env=clean_environ(set(values)),
            log_path=logs / "worker.log",
            cwd=root / "agent",
        )
        worker.wait_for_output(r"registered worker", timeout)
    except Exception:
        for part in (worker, backend, livekit):
            if part is not None:
                part.stop()
        raise
    return EnvStack(livekit, backend, worker, root)


async def join(stack: EnvStack, config: dict | None = None) -> SpeakingProbe:
    """A caller in a new room, once the greeting ("Hi there.") has been said.

    Waits for the greeting's text on ``lk.transcription`` rather than its sound: on a busy
    machine the caller's media path may still be connecting while the one-second greeting
    plays, and later turns (what the tests check by ear) are heard either way.
    """
    token = fetch_token(
        stack.backend.url,
        {"participant_name": "Caller", "agent_config": {"greeting": "Hi there.", **(config or {})}},
    )
    probe = SpeakingProbe()
    await probe.connect(token["server_url"], token["participant_token"])
    await wait_until(
        lambda: any("Hi there." in t["text"] for t in probe.transcriptions),
        60,
        "the greeting on lk.transcription",
    )
    await wait_until(lambda: probe.watch.frames > 0, 30, "the agent's audio track")
    await wait_until(
        lambda: probe.agent_silent_after(time.monotonic() - 1.0, hold_s=0.8), 30, "greeting end"
    )
    return probe
