#!/usr/bin/env python3
"""Backend throughput: the token endpoint vs. a bare JWT-signing route, and webhook ingest.

Both HTTP servers run as one uvicorn worker each (same flags), measured one after the other
by the same load generator, so ``token_vs_bare`` is the share of raw signing throughput the
real endpoint keeps after auth, validation, rate limiting, request ids, metrics and logs.
The token app runs in production mode (API key required) on SQLite; its rate limit is
raised because the load generator is a single client. Webhook ingest posts distinct,
correctly signed ``participant_joined`` events and checks every one was stored.

    .venv/bin/python scripts/bench_backend.py [--quick]

The last line is ``RESULT token_rps=… token_p99_ms=… token_vs_bare=… webhook_eps=…``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import datetime
import hashlib
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "scripts"))

from fastapi import FastAPI, Request  # noqa: E402
from livekit import api  # noqa: E402

from parley_backend.tokens import TokenRequestParams, mint_participant_token  # noqa: E402
from parley_common.agent_config import AgentConfig  # noqa: E402
from parley_common.testing.devstack import ManagedProcess, free_port, http_ok, python_env  # noqa: E402

API_KEY = "bench-api-key"
LK_KEY = "benchkey"
LK_SECRET = "bench-secret-long-enough-for-hs256-signing"
TOKEN_BODY = json.dumps(
    {"participant_name": "Bench", "agent_config": {"persona": "tester", "language": "en"}}
).encode()


# --------------------------------------------------------------------------- the bare app


METRICS_KEY = "bench-metrics-key"


def create_bare_app() -> FastAPI:
    """Only what signing costs: parse JSON, sign the same token, return JSON."""
    app = FastAPI()

    @app.post("/bare/token")
    async def bare(request: Request) -> dict[str, str]:
        body = await request.json()
        room = f"parley-{secrets.token_hex(6)}"
        identity = f"user-{secrets.token_hex(5)}"
        params = TokenRequestParams(
            room_name=room,
            identity=identity,
            display_name=body.get("participant_name"),
            agent_name="parley",
            agent_config=AgentConfig.model_validate(body.get("agent_config") or {}),
            ttl=datetime.timedelta(seconds=900),
        )
        token = mint_participant_token(params, api_key=LK_KEY, api_secret=LK_SECRET)
        return {
            "server_url": "ws://127.0.0.1:7880",
            "participant_token": token,
            "room_name": room,
            "participant_identity": identity,
        }

    return app


# --------------------------------------------------------------------------- load generator


@dataclass
class LoadResult:
    requests: int
    errors: int
    seconds: float
    latencies: list[float]
    server_cpu_s: float = 0.0  # CPU the server process used during the run

    @property
    def cpu_us(self) -> float:
        """Server CPU per request: robust when other processes share the machine."""
        return self.server_cpu_s / self.requests * 1e6

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    if length:
        await reader.readexactly(length)
    return status


def _request(path: str, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measure(
    server: ManagedProcess, port: int, requests: list[bytes], concurrency: int
) -> LoadResult:
    before = process_cpu_seconds(server.proc.pid)
    result = await run_load(port, requests, concurrency)
    result.server_cpu_s = process_cpu_seconds(server.proc.pid) - before
    return result


async def run_load(
    port: int, requests: list[bytes], concurrency: int, expect: int = 200
) -> LoadResult:
    """Keep-alive HTTP/1.1 connections sending prepared requests as fast as answered."""
    queue = list(reversed(requests))
    latencies: list[float] = []
    errors = 0

    async def connection() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while queue:
                raw = queue.pop()
                started = time.perf_counter()
                writer.write(raw)
                status = await _read_response(reader)
                latencies.append(time.perf_counter() - started)
                if status != expect:
                    errors += 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(concurrency)))
    return LoadResult(len(latencies), errors, time.perf_counter() - started, latencies)


# --------------------------------------------------------------------------- servers


def start_uvicorn(app_spec: str, env: dict[str, str], log_dir: Path) -> tuple[ManagedProcess, int]:
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        app_spec,
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--no-access-log",
        "--log-level",
        "warning",
        "--app-dir",
        str(REPO_ROOT / "scripts"),
    ]
    proc = ManagedProcess(
        app_spec, cmd, env=python_env(env), log_path=log_dir / f"{port}.log", cwd=REPO_ROOT
    )
    try:
        # /health on the real app (its /openapi.json is off in production), the schema on
        # the bare one.
        base = f"http://127.0.0.1:{port}"
        up = lambda: http_ok(f"{base}/health") or http_ok(f"{base}/openapi.json")  # noqa: E731
        proc.wait_for(up, 60, "HTTP up")
    except Exception:
        proc.stop()
        raise
    return proc, port


def signed_webhooks(count: int) -> list[bytes]:
    out = []
    for i in range(count):
        room = f"bench-room-{i % 50}"
        body = json.dumps(
            {
                "event": "participant_joined",
                "id": f"EV_{uuid.uuid4().hex}",
                "createdAt": str(int(time.time())),
                "room": {"sid": f"RM_bench{i % 50}", "name": room},
                "participant": {"sid": f"PA_{i}", "identity": f"user-{i}", "state": "ACTIVE"},
            }
        )
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        jwt = api.AccessToken(LK_KEY, LK_SECRET).with_sha256(digest).to_jwt()
        out.append(
            _request(
                "/api/webhooks/livekit",
                body.encode(),
                {"Content-Type": "application/webhook+json", "Authorization": jwt},
            )
        )
    return out


async def stored_webhooks(port: int) -> float:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Authorization: Bearer " + METRICS_KEY.encode() + b"\r\n\r\n"
    )
    head = await reader.readuntil(b"\r\n\r\n")
    length = int(
        next(
            line.split(b":")[1]
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        )
    )
    text = (await reader.readexactly(length)).decode()
    writer.close()
    total = 0.0
    for line in text.splitlines():
        if line.startswith("parley_webhook_events_total{") and 'outcome="stored"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="finish within 60 s")
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    n_token = 3000 if args.quick else 20000
    n_hooks = 1500 if args.quick else 10000
    rounds = 2 if args.quick else 3

    work = Path(tempfile.mkdtemp(prefix="parley-bench-backend-"))
    env = {
        "PARLEY_ENV": "production",
        "PARLEY_API_KEYS": API_KEY,
        "PARLEY_AGENT_TOKEN": "bench-agent-token",
        # /metrics is off in production without its key.
        "PARLEY_METRICS_KEY": METRICS_KEY,
        "LIVEKIT_URL": "ws://127.0.0.1:7880",
        "LIVEKIT_API_KEY": LK_KEY,
        "LIVEKIT_API_SECRET": LK_SECRET,
        "PARLEY_DATA_DIR": str(work / "data"),
        "DATABASE_URL": "",
        "PARLEY_TOKEN_RATE_PER_MINUTE": "1000000000",
        "PARLEY_TOKEN_RATE_BURST": "100000000",
    }
    token_req = _request(
        "/api/token", TOKEN_BODY, {"Content-Type": "application/json", "X-API-Key": API_KEY}
    )
    bare_req = _request("/bare/token", TOKEN_BODY, {"Content-Type": "application/json"})

    backend, backend_port = start_uvicorn("parley_backend.app:create_app", env, work)
    try:
        bare, bare_port = start_uvicorn("bench_backend:create_bare_app", env, work)
    except Exception:
        backend.stop()
        raise
    token_runs: list[LoadResult] = []
    bare_runs: list[LoadResult] = []
    try:
        # Warm both (imports, first-call caches), then alternate so drift hits both alike.
        await run_load(backend_port, [token_req] * 300, args.concurrency)
        await run_load(bare_port, [bare_req] * 300, args.concurrency)
        for _ in range(rounds):
            token_runs.append(
                await measure(backend, backend_port, [token_req] * n_token, args.concurrency)
            )
            bare_runs.append(await measure(bare, bare_port, [bare_req] * n_token, args.concurrency))
        bare.stop()
        hooks = signed_webhooks(n_hooks)
        hook_run = await measure(backend, backend_port, hooks, args.concurrency)
        stored = await stored_webhooks(backend_port)
    finally:
        bare.stop()
        backend.stop()

    token = max(token_runs, key=lambda r: r.rps)
    bare_best = max(bare_runs, key=lambda r: r.rps)
    for name, runs in (("token", token_runs), ("bare", bare_runs)):
        for r in runs:
            print(
                f"{name:6s} {r.requests} req in {r.seconds:.2f} s: {r.rps:7.0f} req/s, "
                f"p50 {r.pct(0.5):.2f} ms, p99 {r.pct(0.99):.2f} ms, "
                f"server CPU {r.cpu_us:.0f} us/req, errors {r.errors}"
            )
    print(
        f"webhook {hook_run.requests} events in {hook_run.seconds:.2f} s: "
        f"{hook_run.rps:.0f} ev/s, p99 {hook_run.pct(0.99):.2f} ms, "
        f"server CPU {hook_run.cpu_us:.0f} us/event, errors {hook_run.errors}, stored {stored:.0f}"
    )
    if token.errors or bare_best.errors or hook_run.errors or stored != n_hooks:
        print("benchmark saw errors or lost webhook events", file=sys.stderr)
        sys.exit(1)
    ratio = token.rps / bare_best.rps
    token_cpu = min(r.cpu_us for r in token_runs)
    bare_cpu = min(r.cpu_us for r in bare_runs)
    load = os.getloadavg()[0]
    print(f"load average during the run: {load:.1f} on {os.cpu_count()} CPUs")
    print(
        f"RESULT token_rps={token.rps:.0f} token_p99_ms={token.pct(0.99):.2f} "
        f"token_vs_bare={ratio:.2f} webhook_eps={hook_run.rps:.0f} "
        f"token_p50_ms={token.pct(0.5):.2f} bare_rps={bare_best.rps:.0f} "
        f"median_token_rps={statistics.median(r.rps for r in token_runs):.0f} "
        f"token_cpu_us={token_cpu:.0f} bare_cpu_us={bare_cpu:.0f} "
        f"token_vs_bare_cpu={bare_cpu / token_cpu:.2f} webhook_cpu_us={hook_run.cpu_us:.0f} "
        f"concurrency={args.concurrency} loadavg={load:.1f}"
    )


if __name__ == "__main__":
    asyncio.run(main())
