"""Run the whole stack on loopback until Ctrl-C: LiveKit server, backend, worker, web.

Started by ``make dev`` after ``scripts/setup``. No API keys needed: the worker picks the
local speech stack when no cloud keys are set. The root ``.env`` (found as every Parley
process finds it, ``parley_common.env_file``) configures the backend and the worker; when
it (or the real environment) sets ``LIVEKIT_URL``, that server is used and none is started.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
import tempfile
import threading
import urllib.parse
from pathlib import Path

from dotenv import dotenv_values

from parley_common.env_file import ENV_VAR, EnvFileError, describe_env_file, find_env_file
from parley_common.testing.devstack import (
    REPO_ROOT,
    Backend,
    ManagedProcess,
    Worker,
    free_port,
    start_backend,
    start_stack,
    start_worker,
)


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def configured_livekit_url(env_file: Path | None) -> str | None:
    """``LIVEKIT_URL`` as the worker will see it: real environment > ``.env``; None if unset."""
    value = os.environ.get("LIVEKIT_URL")
    if not value and env_file is not None:
        value = dotenv_values(env_file).get("LIVEKIT_URL")
    return value.strip() if value and value.strip() else None


def _reachable(url: str, timeout: float = 3.0) -> bool:
    parsed = urllib.parse.urlparse(url)
    port = parsed.port or (443 if parsed.scheme in ("wss", "https") else 80)
    try:
        with socket.create_connection((parsed.hostname or "", port), timeout=timeout):
            return True
    except OSError:
        return False


def _start_against(
    url: str, env_file: Path | None, log_dir: Path, backend_port: int, worker_mode: str
) -> tuple[Backend, Worker]:
    """Backend and worker only, against the LiveKit server the configuration names."""
    env = {ENV_VAR: str(env_file) if env_file else ""}
    backend = start_backend(log_dir, env, port=backend_port)
    env.setdefault("PARLEY_BACKEND_URL", backend.url)
    try:
        worker = start_worker(log_dir, env, mode=worker_mode)
    except Exception:
        backend.stop()
        raise
    return backend, worker


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--livekit-port", type=int, default=7880)
    parser.add_argument(
        "--port", type=int, default=8000, help="backend and web port (0: any free port)"
    )
    parser.add_argument("--worker-mode", default="dev", choices=["dev", "start"])
    parser.add_argument("--log-dir", type=Path, default=None, help="default: data/logs")
    args = parser.parse_args()

    try:
        env_file = find_env_file()
    except EnvFileError as exc:
        print(f"run_stack: {exc}", file=sys.stderr)
        return 2
    print(f"run_stack: {describe_env_file(env_file)}", flush=True)
    backend_port = args.port if args.port and _port_free(args.port) else free_port()
    log_dir = args.log_dir or REPO_ROOT / "data" / "logs"
    if not os.access(REPO_ROOT, os.W_OK):
        log_dir = Path(tempfile.mkdtemp(prefix="parley-logs-"))
    log_dir.mkdir(parents=True, exist_ok=True)

    livekit_url = configured_livekit_url(env_file)
    processes: list[ManagedProcess]
    if livekit_url:
        if not _reachable(livekit_url):
            print(
                f"run_stack: LIVEKIT_URL={livekit_url} (from your configuration) is not "
                "reachable. Start that server, or leave LIVEKIT_URL empty in .env and "
                "make dev starts its own.",
                file=sys.stderr,
            )
            return 2
        print(
            f"using the LiveKit server at {livekit_url} (LIVEKIT_URL); not starting one", flush=True
        )
        print(f"starting backend and worker (logs in {log_dir}) ...", flush=True)
        backend, worker = _start_against(
            livekit_url, env_file, log_dir, backend_port, args.worker_mode
        )
        stoppers = [worker.stop, backend.stop]
        processes = [backend.process, worker.process]
    else:
        livekit_port = (
            args.livekit_port
            if args.livekit_port and _port_free(args.livekit_port)
            else free_port()
        )
        print(
            f"starting LiveKit server (dev keys, port {livekit_port}), backend and worker "
            f"(logs in {log_dir}) ...",
            flush=True,
        )
        stack = start_stack(
            log_dir,
            dev_keys=True,
            livekit_port=livekit_port,
            backend_port=backend_port,
            worker_mode=args.worker_mode,
            env_file=env_file,
        )
        backend = stack.backend
        stoppers = [stack.stop]
        processes = [stack.livekit.process, backend.process, stack.worker.process]

    worker_line = next(
        (ln for ln in processes[-1].output().splitlines() if "parley: providers" in ln), None
    )
    if worker_line:
        print(f"worker: {worker_line.strip()}", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    print(f"\n  Parley is running. Open {backend.url}/\n  (Ctrl-C stops everything)\n", flush=True)
    try:
        while not stop.wait(1.0):
            for part in processes:
                if not part.alive():
                    print(
                        f"{part.name} exited ({part.proc.returncode}); see {part.log_path}",
                        file=sys.stderr,
                    )
                    stop.set()
    finally:
        print("stopping ...", flush=True)
        for stopper in stoppers:
            stopper()
    return 0


if __name__ == "__main__":
    sys.exit(main())
