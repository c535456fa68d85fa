"""Start and stop the local stack's processes: LiveKit server, backend, worker.

Used by the run command (``scripts/dev``), the integration-test fixtures and the
benchmarks, so every one of them brings the stack up the same way: free loopback ports,
readiness checks instead of sleeps, and a process group per child so nothing is orphaned.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from parley_common.env_file import ENV_VAR

REPO_ROOT = Path(__file__).resolve().parents[2]


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_udp_tcp_port() -> int:
    """A port number free for both TCP and UDP (LiveKit's RTC port needs both)."""
    for _ in range(50):
        port = free_port()
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                sock.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
    raise RuntimeError("no free port for both TCP and UDP")


def livekit_server_binary() -> str:
    """Resolve the binary through the install script (PATH, cache, Go build, installer)."""
    script = REPO_ROOT / "scripts" / "install-livekit-server"
    out = subprocess.run(["bash", str(script)], check=True, capture_output=True, text=True)
    return out.stdout.strip().splitlines()[-1]


class ManagedProcess:
    """A child process in its own process group, its output copied to a log file."""

    def __init__(
        self, name: str, cmd: list[str], *, env: dict[str, str], log_path: Path, cwd: Path
    ) -> None:
        self.name = name
        self.log_path = log_path
        self._lines: list[str] = []
        self._lock = threading.Lock()
        self._log = open(log_path, "a", buffering=1)
        self.proc = subprocess.Popen(
            cmd,
            env=env,
            cwd=str(cwd),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            errors="replace",
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._pump, daemon=True)
        self._reader.start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._log.write(line)
            with self._lock:
                self._lines.append(line)
                if len(self._lines) > 20000:
                    del self._lines[:10000]

    def output(self) -> str:
        with self._lock:
            return "".join(self._lines)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def wait_for(self, check: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(
                    f"{self.name} exited with {self.proc.returncode} before {what}; "
                    f"last output:\n{self.output()[-3000:]}"
                )
            try:
                if check():
                    return
            except Exception:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"{self.name}: {what} not seen in {timeout:.0f} s (log {self.log_path})")

    def wait_for_output(self, pattern: str, timeout: float) -> None:
        regex = re.compile(pattern)
        self.wait_for(lambda: bool(regex.search(self.output())), timeout, f"output /{pattern}/")

    def kill(self) -> None:
        """SIGKILL to the whole group, as when its host dies: no goodbye to anyone."""
        if self.alive():
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGINT first (graceful), then SIGTERM, then SIGKILL, always the whole group."""
        if self.alive():
            for sig, wait in ((signal.SIGINT, timeout), (signal.SIGTERM, 5.0)):
                try:
                    os.killpg(self.proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    self.proc.wait(wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # stragglers in the group
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            pass
        self._reader.join(timeout=2)
        self._log.close()


def http_ok(url: str, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return bool(200 <= resp.status < 300)
    except (urllib.error.URLError, OSError):
        return False


@dataclass
class LiveKitServer:
    process: ManagedProcess
    port: int
    api_key: str
    api_secret: str

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.process.stop()


def start_livekit_server(
    log_dir: Path,
    *,
    api_key: str | None = None,
    api_secret: str | None = None,
    webhook_urls: list[str] | None = None,
    port: int | None = None,
    dev_keys: bool = False,
) -> LiveKitServer:
    """Start ``livekit-server`` on loopback with its own config file and wait until it serves."""
    binary = livekit_server_binary()
    api_key = "devkey" if dev_keys else (api_key or f"key{secrets.token_hex(4)}")
    api_secret = "secret" if dev_keys else (api_secret or secrets.token_hex(24))
    port = port or free_port()
    rtc_tcp = free_port()
    rtc_udp = free_udp_tcp_port()
    lines = [
        f"port: {port}",
        "bind_addresses: ['127.0.0.1']",
        "rtc:",
        f"  tcp_port: {rtc_tcp}",
        f"  udp_port: {rtc_udp}",
        "  use_external_ip: false",
        "  node_ip: 127.0.0.1",
        "keys:",
        f"  {api_key}: {api_secret}",
        "logging:",
        "  level: info",
    ]
    if webhook_urls:
        lines += ["webhook:", f"  api_key: {api_key}", "  urls:"]
        lines += [f"    - {url}" for url in webhook_urls]
    log_dir.mkdir(parents=True, exist_ok=True)
    config = log_dir / f"livekit-{port}.yaml"
    config.write_text("\n".join(lines) + "\n")
    proc = ManagedProcess(
        "livekit-server",
        [binary, "--config", str(config)],
        env=dict(os.environ),
        log_path=log_dir / f"livekit-{port}.log",
        cwd=log_dir,
    )
    server = LiveKitServer(proc, port, api_key, api_secret)
    try:
        proc.wait_for(lambda: http_ok(server.http_url), 30, "HTTP ready")
    except Exception:
        proc.stop()
        raise
    return server


def python_env(extra: dict[str, str]) -> dict[str, str]:
    """The child's environment. Without an explicit ``PARLEY_ENV_FILE`` in ``extra`` (or the
    caller's own environment) the child reads no ``.env``: a test or benchmark stack must
    never pick up the developer's root ``.env`` by accident."""
    env = dict(os.environ)
    env.setdefault("PYTHONUNBUFFERED", "1")
    env.setdefault(ENV_VAR, "")
    env.update(extra)
    return env


@dataclass
class Backend:
    process: ManagedProcess
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.process.stop()


# Seconds the backend keeps an idle connection open, as Dockerfile.backend's CMD says: above
# the idle timeout of the clients and proxies in front of it (httpx 5 s, nginx 60-75 s, cloud
# load balancers 60 s). At uvicorn's default of 5 s a client reusing a connection idle for
# exactly that long meets it closing: "Server disconnected without sending a response".
BACKEND_KEEP_ALIVE_S = 75


def start_backend(log_dir: Path, env: dict[str, str], *, port: int | None = None) -> Backend:
    port = port or free_port()
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "parley_backend.app:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--timeout-keep-alive",
        str(BACKEND_KEEP_ALIVE_S),
        "--log-level",
        "warning",
    ]
    log_dir.mkdir(parents=True, exist_ok=True)
    proc = ManagedProcess(
        "backend", cmd, env=python_env(env), log_path=log_dir / f"backend-{port}.log", cwd=REPO_ROOT
    )
    backend = Backend(proc, port)
    try:
        proc.wait_for(lambda: http_ok(f"{backend.url}/health"), 60, "GET /health")
    except Exception:
        proc.stop()
        raise
    return backend


@dataclass
class Worker:
    process: ManagedProcess

    def stop(self) -> None:
        self.process.stop(timeout=15)


def start_worker(
    log_dir: Path,
    env: dict[str, str],
    *,
    mode: str = "start",
    timeout: float = 120,
    cwd: Path | None = None,
) -> Worker:
    """Run ``agent.py <mode>`` in ``cwd`` (``agent/``) and wait until LiveKit registered it."""
    workdir = cwd or REPO_ROOT / "agent"
    script = workdir / "agent.py"
    cmd = [
        sys.executable,
        str(script if script.is_file() else REPO_ROOT / "agent" / "agent.py"),
        mode,
    ]
    defaults = {
        "PARLEY_AGENT_HTTP_PORT": str(free_port()),
        "PARLEY_AGENT_NUM_IDLE_PROCESSES": "1",
        # The test machine is small and busy: never refuse jobs because of CPU load.
        "PARLEY_AGENT_LOAD_THRESHOLD": "1000",
    }
    log_dir.mkdir(parents=True, exist_ok=True)
    proc = ManagedProcess(
        "worker",
        cmd,
        env=python_env({**defaults, **env}),
        log_path=log_dir / f"worker-{int(time.time() * 1000)}.log",
        cwd=workdir,
    )
    try:
        proc.wait_for_output(r"registered worker", timeout)
    except Exception:
        proc.stop()
        raise
    return Worker(proc)


@dataclass
class Stack:
    livekit: LiveKitServer
    backend: Backend
    worker: Worker
    log_dir: Path
    env: dict[str, str] = field(default_factory=dict)

    def stop(self) -> None:
        for part in (self.worker, self.backend, self.livekit):
            try:
                part.stop()
            except Exception as exc:  # keep stopping the others
                print(f"devstack: stopping {part} failed: {exc}", file=sys.stderr)


def start_stack(
    log_dir: Path | None = None,
    *,
    extra_env: dict[str, str] | None = None,
    dev_keys: bool = False,
    livekit_port: int | None = None,
    backend_port: int | None = None,
    worker_mode: str = "start",
    env_file: Path | None = None,
) -> Stack:
    """LiveKit server + backend + worker, each ready before the next depends on it.

    ``env_file``: the ``.env`` the backend and worker read (``make dev``); None = none.
    """
    log_dir = log_dir or Path(tempfile.mkdtemp(prefix="parley-stack-"))
    backend_port = backend_port or free_port()
    webhook = f"http://127.0.0.1:{backend_port}/api/webhooks/livekit"
    livekit = start_livekit_server(
        log_dir, webhook_urls=[webhook], dev_keys=dev_keys, port=livekit_port
    )
    env = {
        "LIVEKIT_URL": livekit.ws_url,
        "LIVEKIT_API_KEY": livekit.api_key,
        "LIVEKIT_API_SECRET": livekit.api_secret,
        ENV_VAR: str(env_file) if env_file else "",
        **(extra_env or {}),
    }
    backend = worker = None
    try:
        backend = start_backend(log_dir, env, port=backend_port)
        env.setdefault("PARLEY_BACKEND_URL", backend.url)
        worker = start_worker(log_dir, env, mode=worker_mode)
    except Exception:
        for part in (worker, backend, livekit):
            if part is not None:
                part.stop()
        raise
    return Stack(livekit, backend, worker, log_dir, env)
