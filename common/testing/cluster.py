"""A Parley cluster on one machine: what a multi-host deployment runs, with real parts.

- Redis (Debian's ``redis-server``), shared by the LiveKit nodes (distributed mode);
- two ``livekit-server`` nodes, each on its own host (a network namespace, see
  ``netns.py``), so cutting a node off is a real partition;
- one PostgreSQL and two backends on it, behind nginx (WebSocket upgrade on), which also
  balances the LiveKit signal/API port over both nodes as a LiveKit deployment's load
  balancer does;
- two or three workers, each registered with one node (alternating), sharing the
  OpenAI-compatible stub for STT, LLM and TTS (``openai_stub.py``) so a conversation
  costs no model CPU.

Nothing here is cluster code Parley ships: it only starts the engines with the
configuration a deployment would give them. ``Cluster.stop`` (and a failed start) stops
every process group and removes the namespaces; a run killed outright leaves namespaces
that the next run deletes (``netns.clean_stale``).
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from parley_common.testing.devstack import (
    BACKEND_KEEP_ALIVE_S,
    REPO_ROOT,
    ManagedProcess,
    free_port,
    http_ok,
    livekit_server_binary,
    python_env,
)
from parley_common.testing.netns import Host, Network, make_network
from parley_common.testing.openai_stub import OpenAIStub, StubDelays
from parley_common.testing.postgres import Postgres, start_postgres

LIVEKIT_PORT = 7880  # every node is its own host, so each can use the standard ports


def _wait_ready(proc: ManagedProcess, url: str, timeout: float) -> None:
    proc.wait_for(lambda: http_ok(url), timeout, f"GET {url}")


# --------------------------------------------------------------------------- Redis


@dataclass
class Redis:
    process: ManagedProcess
    address: str
    port: int

    def cli(self, *args: str) -> str:
        out = subprocess.run(
            ["redis-cli", "-h", "127.0.0.1", "-p", str(self.port), *args],
            check=True,
            capture_output=True,
            text=True,
            timeout=10,
        )
        return out.stdout.strip()

    def stop(self) -> None:
        self.process.stop(timeout=5)


def start_redis(log_dir: Path, bind: str) -> Redis:
    port = free_port()
    binds = " ".join(dict.fromkeys([bind, "127.0.0.1"]))
    cmd = ["redis-server", "--port", str(port), "--bind", binds, "--save", ""]
    cmd += ["--appendonly", "no", "--protected-mode", "no", "--dir", str(log_dir)]
    proc = ManagedProcess(
        "redis", cmd, env=dict(os.environ), log_path=log_dir / "redis.log", cwd=log_dir
    )
    redis = Redis(proc, bind, port)
    try:
        proc.wait_for(lambda: redis.cli("PING") == "PONG", 20, "PING")
    except Exception:
        proc.stop()
        raise
    return redis


# --------------------------------------------------------------------------- LiveKit


@dataclass
class LiveKitNode:
    """One ``livekit-server`` on its own host; ``kill``/``start`` keep the same config."""

    name: str
    host: Host
    config: Path
    log_dir: Path
    process: ManagedProcess | None = None
    node_id: str = ""

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host.address}:{LIVEKIT_PORT}"

    @property
    def http_url(self) -> str:
        return f"http://{self.host.address}:{LIVEKIT_PORT}"

    def start(self, binary: str) -> None:
        proc = ManagedProcess(
            self.name,
            self.host.command([binary, "--config", str(self.config)]),
            env=dict(os.environ),
            log_path=self.log_dir / f"{self.name}.log",
            cwd=self.log_dir,
        )
        self.process = proc
        self.host.pgids.append(proc.proc.pid)
        try:
            _wait_ready(proc, self.http_url, 30)
            proc.wait_for(lambda: bool(re.search(r"ND_\w+", proc.output())), 10, "node id")
        except Exception:
            proc.stop()
            raise
        self.node_id = re.search(r"ND_\w+", proc.output()).group(0)  # type: ignore[union-attr]

    def kill(self) -> None:
        """SIGKILL, as when the host dies: no goodbye to Redis or the participants."""
        if self.process:
            self.process.kill()

    def stop(self) -> None:
        if self.process:
            self.process.stop(timeout=3)


def livekit_config(
    *, host: Host, redis: Redis, api_key: str, api_secret: str, webhook_url: str
) -> str:
    return "\n".join(
        [
            f"port: {LIVEKIT_PORT}",
            f"bind_addresses: ['{host.address}']",
            "rtc:",
            f"  tcp_port: {LIVEKIT_PORT + 1}",
            f"  udp_port: {LIVEKIT_PORT + 2}",
            "  use_external_ip: false",
            f"  node_ip: {host.address}",
            "redis:",
            f"  address: {redis.address}:{redis.port}",
            "keys:",
            f"  {api_key}: {api_secret}",
            "webhook:",
            f"  api_key: {api_key}",
            "  urls:",
            f"    - {webhook_url}",
            "logging:",
            "  level: info",
            "",
        ]
    )


# --------------------------------------------------------------------------- nginx

NGINX_CONF = """\
{user}worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log {dir}/access.log;
  client_body_temp_path {dir}/tmp/body;
  proxy_temp_path {dir}/tmp/proxy;
  fastcgi_temp_path {dir}/tmp/fastcgi;
  uwsgi_temp_path {dir}/tmp/uwsgi;
  scgi_temp_path {dir}/tmp/scgi;
  # WebSocket: pass the upgrade on (the bridge's /ws, LiveKit's /rtc signal).
  map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
  upstream parley_backend {{
{backend_servers}
  }}
  upstream livekit {{
{livekit_servers}
  }}
{servers}
}}
"""

NGINX_SERVER = """\
  server {{
{listens}
    location = /proxy-health {{ return 200 "ok"; }}
    location / {{
      proxy_pass http://{upstream};
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_read_timeout 3600s;
      proxy_send_timeout 3600s;
      # A dead or cut-off upstream: give up on it fast and try the other one. A request
      # already sent (POST) is not repeated, so nothing is applied twice.
      proxy_connect_timeout 1s;
      proxy_next_upstream error timeout;
      proxy_buffering off;
    }}
  }}
"""


@dataclass
class Proxy:
    process: ManagedProcess
    address: str
    backend_port: int
    livekit_port: int

    @property
    def backend_url(self) -> str:
        return f"http://127.0.0.1:{self.backend_port}"

    @property
    def livekit_url(self) -> str:
        return f"ws://{self.address}:{self.livekit_port}"

    def stop(self) -> None:
        self.process.stop(timeout=5)


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else "")
    if not found:
        raise RuntimeError("nginx missing (run `scripts/setup --test`)")
    return found


def start_proxy(
    log_dir: Path, address: str, backends: list[str], livekit_nodes: list[str]
) -> Proxy:
    """nginx in front of the backends and the LiveKit nodes (``host:port`` each)."""
    pdir = log_dir / "nginx"
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (pdir / "tmp" / sub).mkdir(parents=True, exist_ok=True)
    backend_port, livekit_port = free_port(), free_port()

    def servers(addrs: list[str], mark: str) -> str:
        return "\n".join(f"    server {a} {mark};" for a in addrs)

    def listens(port: int) -> str:
        binds = dict.fromkeys([address, "127.0.0.1"])
        return "\n".join(f"    listen {b}:{port};" for b in binds)

    conf = NGINX_CONF.format(
        user="user root;\n" if os.geteuid() == 0 else "",
        dir=pdir,
        # Backends refuse at once when down, so every request may try each one (max_fails=0:
        # never benched; a restarted backend serves its next request). A cut-off LiveKit
        # node costs a connect timeout, so it is benched for 3 s after one failure.
        backend_servers=servers(backends, "max_fails=0"),
        livekit_servers=servers(livekit_nodes, "max_fails=1 fail_timeout=3s"),
        servers=NGINX_SERVER.format(listens=listens(backend_port), upstream="parley_backend")
        + NGINX_SERVER.format(listens=listens(livekit_port), upstream="livekit"),
    )
    (pdir / "nginx.conf").write_text(conf)
    cmd = [nginx_binary(), "-p", str(pdir), "-c", str(pdir / "nginx.conf"), "-g", "daemon off;"]
    proc = ManagedProcess("nginx", cmd, env=dict(os.environ), log_path=pdir / "out.log", cwd=pdir)
    proxy = Proxy(proc, address, backend_port, livekit_port)
    try:
        _wait_ready(proc, f"{proxy.backend_url}/proxy-health", 20)
    except Exception:
        proc.stop()
        raise
    return proxy


# --------------------------------------------------------------------------- backends


@dataclass
class ClusterBackend:
    name: str
    port: int
    env: dict[str, str]
    log_dir: Path
    process: ManagedProcess | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        cmd = [sys.executable, "-m", "uvicorn", "parley_backend.app:create_app", "--factory"]
        cmd += ["--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning"]
        cmd += ["--timeout-keep-alive", str(BACKEND_KEEP_ALIVE_S)]
        proc = ManagedProcess(
            self.name,
            cmd,
            env=python_env(self.env),
            log_path=self.log_dir / f"{self.name}.log",
            cwd=REPO_ROOT,
        )
        self.process = proc
        try:
            _wait_ready(proc, f"{self.url}/health", 60)
        except Exception:
            proc.stop()
            raise

    def kill(self) -> None:
        if self.process:
            self.process.kill()

    def stop(self) -> None:
        if self.process:
            self.process.stop(timeout=5)


# --------------------------------------------------------------------------- workers


@dataclass
class ClusterWorker:
    name: str
    node: LiveKitNode
    env: dict[str, str]
    log_dir: Path
    process: ManagedProcess | None = None
    worker_id: str = ""

    def launch(self) -> None:
        cmd = [sys.executable, str(REPO_ROOT / "agent" / "agent.py"), "start"]
        self.process = ManagedProcess(
            self.name,
            cmd,
            env=python_env(self.env),
            log_path=self.log_dir / f"{self.name}.log",
            cwd=REPO_ROOT / "agent",
        )

    def wait_registered(self, timeout: float = 120) -> None:
        assert self.process is not None
        proc = self.process
        proc.wait_for(
            lambda: bool(re.search(r"registered worker.*?(AW_\w+)", proc.output())),
            timeout,
            "registered worker",
        )
        found = re.findall(r"registered worker.*?(AW_\w+)", proc.output())
        self.worker_id = found[-1]

    def start(self, timeout: float = 120) -> None:
        self.launch()
        try:
            self.wait_registered(timeout)
        except Exception:
            self.stop()
            raise

    def warm(self) -> bool:
        """Has a prewarmed job process waiting (each job takes one; the pool refills)?

        Counted from the framework's own log lines: processes initialised minus jobs taken.
        """
        if self.process is None or not self.process.alive():
            return False
        out = self.process.output()
        return out.count('"process initialized"') > out.count('"received job request"')

    def signal(self, sig: signal.Signals) -> None:
        """To the worker's main process only (as an orchestrator's SIGTERM is)."""
        assert self.process is not None
        os.kill(self.process.proc.pid, sig)

    def kill9(self) -> None:
        """SIGKILL to the whole process group: the main process and every job process."""
        if self.process:
            self.process.kill()

    def stop(self, timeout: float = 5) -> None:
        """Teardown: a short grace (SIGINT drains), then the whole group goes."""
        if self.process:
            self.process.stop(timeout=timeout)


def stub_provider_env(stub: OpenAIStub) -> dict[str, str]:
    """The stub's cloud-like providers, with silence-based turns: the end-of-turn model
    would otherwise load in every job process of every worker."""
    return {**stub.provider_env(), "PARLEY_TURN_DETECTOR": "vad"}


# --------------------------------------------------------------------------- the cluster


@dataclass
class Cluster:
    network: Network
    redis: Redis
    nodes: list[LiveKitNode]
    postgres: Postgres
    backends: list[ClusterBackend]
    proxy: Proxy
    workers: list[ClusterWorker]
    stub: OpenAIStub
    log_dir: Path
    api_key: str
    api_secret: str
    agent_token: str
    binary: str
    management_key: str
    _stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)

    @property
    def management_headers(self) -> dict[str, str]:
        """What a server-side caller sends (choosing room names and identities needs it)."""
        return {"X-API-Key": self.management_key}

    @property
    def backend_url(self) -> str:
        """The backends' public address: through the proxy."""
        return self.proxy.backend_url

    @property
    def livekit_url(self) -> str:
        """The LiveKit nodes behind the proxy (what clients and the backends are told)."""
        return self.proxy.livekit_url

    def node_of(self, node_id: str) -> LiveKitNode | None:
        return next((n for n in self.nodes if n.node_id == node_id), None)

    def room_node(self, room: str) -> LiveKitNode | None:
        """The node hosting ``room``, from LiveKit's own map in Redis."""
        return self.node_of(self.redis.cli("HGET", "room_node_map", room))

    def worker_of(self, worker_id: str) -> ClusterWorker | None:
        return next((w for w in self.workers if w.worker_id == worker_id), None)

    def stop(self) -> None:
        self._stack.close()


def _stopping(stack: contextlib.ExitStack, part: object) -> None:
    def stop() -> None:
        try:
            part.stop()  # type: ignore[attr-defined]
        except Exception as exc:  # keep stopping the others
            print(f"cluster: stopping {part!r:.60} failed: {exc}", file=sys.stderr)

    stack.callback(stop)


def _start_all(workers: list[ClusterWorker]) -> None:
    """Launch every worker at once (their start-up is the slow part), then wait for each."""
    errors: list[BaseException] = []
    for worker in workers:
        worker.launch()

    def wait(worker: ClusterWorker) -> None:
        try:
            worker.wait_registered()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=wait, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def _stop_all(workers: list[ClusterWorker]) -> None:
    """Stop the workers together: each may spend seconds draining its jobs."""
    threads = [threading.Thread(target=w.stop) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def start_cluster(
    log_dir: Path,
    *,
    workers: int = 3,
    worker_env: dict[str, str] | None = None,
    per_worker_env: dict[int, dict[str, str]] | None = None,
    backend_env: dict[str, str] | None = None,
    stub_delays: StubDelays | None = None,
) -> Cluster:
    """Bring the whole cluster up, each part ready before the next depends on it."""
    log_dir.mkdir(parents=True, exist_ok=True)
    stack = contextlib.ExitStack()
    try:
        network = make_network()
        stack.callback(network.teardown)
        hosts = [network.add_host(f"lk{i}") for i in (1, 2)]
        binary = livekit_server_binary()
        redis = start_redis(log_dir, network.gateway)
        _stopping(stack, redis)
        api_key, api_secret = f"key{secrets.token_hex(4)}", secrets.token_hex(24)
        agent_token = secrets.token_hex(16)
        management_key = secrets.token_hex(16)
        postgres = start_postgres()
        _stopping(stack, postgres)

        backend_ports = [free_port(), free_port()]
        proxy = start_proxy(
            log_dir,
            network.gateway,
            [f"127.0.0.1:{p}" for p in backend_ports],
            [f"{h.address}:{LIVEKIT_PORT}" for h in hosts],
        )
        _stopping(stack, proxy)

        nodes: list[LiveKitNode] = []
        webhook = f"http://{network.gateway}:{proxy.backend_port}/api/webhooks/livekit"
        for i, host in enumerate(hosts, start=1):
            config = log_dir / f"livekit-{i}.yaml"
            config.write_text(
                livekit_config(
                    host=host,
                    redis=redis,
                    api_key=api_key,
                    api_secret=api_secret,
                    webhook_url=webhook,
                )
            )
            node = LiveKitNode(f"livekit-{i}", host, config, log_dir)
            node.start(binary)
            _stopping(stack, node)
            nodes.append(node)

        common = {
            "LIVEKIT_API_KEY": api_key,
            "LIVEKIT_API_SECRET": api_secret,
            "PARLEY_AGENT_TOKEN": agent_token,
        }
        backends: list[ClusterBackend] = []
        for i, port in enumerate(backend_ports, start=1):
            env = {
                **common,
                "LIVEKIT_URL": proxy.livekit_url,
                "DATABASE_URL": postgres.url,
                "PARLEY_DATA_DIR": str(log_dir / f"backend-{i}-data"),
                "PARLEY_TRUST_FORWARDED_FOR": "true",
                "PARLEY_API_KEYS": management_key,
                "PARLEY_LOG_FORMAT": "json",
                # Meeting BaaS bots dial the proxy, so a reconnect may reach either backend.
                "PARLEY_PUBLIC_URL": proxy.backend_url,
                # Rate-limit buckets shared by both backends, as in deploy/ (LiveKit uses db 0).
                "PARLEY_REDIS_URL": f"redis://127.0.0.1:{redis.port}/1",
                **(backend_env or {}),
            }
            backend = ClusterBackend(f"backend-{i}", port, env, log_dir)
            # One at a time: the first creates the schema, the second finds it.
            backend.start()
            _stopping(stack, backend)
            backends.append(backend)

        stub = OpenAIStub(stub_delays or StubDelays(stt_s=0.05, ttft_s=0.05, ttfb_s=0.05))
        stub.start()
        _stopping(stack, stub)
        cluster_workers: list[ClusterWorker] = []
        for i in range(workers):
            node = nodes[i % len(nodes)]
            env = {
                **common,
                **stub_provider_env(stub),
                "LIVEKIT_URL": node.ws_url,
                "PARLEY_BACKEND_URL": proxy.backend_url,
                "PARLEY_AGENT_HTTP_PORT": str(free_port()),
                "PARLEY_AGENT_NUM_IDLE_PROCESSES": "1",
                "PARLEY_AGENT_LOAD_THRESHOLD": "1000",
                "PARLEY_HISTORY_SPOOL_DIR": str(log_dir / f"worker-{i + 1}-spool"),
                "PARLEY_LOG_LEVEL": "INFO",
                **(worker_env or {}),
                **((per_worker_env or {}).get(i, {})),
            }
            cluster_workers.append(ClusterWorker(f"worker-{i + 1}", node, env, log_dir))
        stack.callback(_stop_all, cluster_workers)
        _start_all(cluster_workers)
    except BaseException:
        stack.close()
        raise
    return Cluster(
        network=network,
        redis=redis,
        nodes=nodes,
        postgres=postgres,
        backends=backends,
        proxy=proxy,
        workers=cluster_workers,
        stub=stub,
        log_dir=log_dir,
        api_key=api_key,
        api_secret=api_secret,
        agent_token=agent_token,
        binary=binary,
        management_key=management_key,
        _stack=stack,
    )


@contextlib.contextmanager
def running_cluster(log_dir: Path, **options: object) -> Iterator[Cluster]:
    cluster = start_cluster(log_dir, **options)  # type: ignore[arg-type]
    try:
        yield cluster
    finally:
        cluster.stop()


def wait_for(check: object, timeout: float, what: str, interval: float = 0.1) -> float:
    """Poll ``check()`` until truthy; return the seconds it took (blocking; for scripts)."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if check():  # type: ignore[operator]
            return time.monotonic() - start
        time.sleep(interval)
    raise TimeoutError(f"{what} not seen in {timeout:.0f} s")
