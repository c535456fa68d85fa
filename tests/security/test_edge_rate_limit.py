"""Rate-limit evasion on POST /api/token, and buckets shared through a real redis-server."""

from __future__ import annotations

import secrets
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import redis

from parley_common.testing.devstack import free_port
from tests.backend.conftest import make_settings, running_app

pytestmark = pytest.mark.security

PROD = {
    "PARLEY_ENV": "production",
    "PARLEY_API_KEYS": "mgmt-key-1",
    "PARLEY_TOKEN_API_KEYS": "frontend-key-1",
    "PARLEY_AGENT_TOKEN": "a-real-agent-token",
}
SLOW = {"PARLEY_TOKEN_RATE_PER_MINUTE": "1", "PARLEY_TOKEN_RATE_BURST": "2"}


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A real redis-server on a free loopback port, no persistence, stopped afterwards."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server missing (apt-get install redis-server)", pytrace=False)
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 15
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise
            time.sleep(0.05)
    try:
        yield url
    finally:
        client.close()
        proc.terminate()
        proc.wait(10)


async def _codes(
    c: httpx.AsyncClient, n: int, headers_for: Callable[[int], dict[str, str]]
) -> list[int]:
    return [
        (await c.post("/api/token", json={}, headers=headers_for(i))).status_code for i in range(n)
    ]


async def test_invented_keys_do_not_buy_buckets_on_an_open_endpoint(tmp_path: Path) -> None:
    async with running_app(make_settings(tmp_path, **SLOW)) as c:
        # An invented key is refused outright (access_policy: a presented key must match),
        # before the limiter: it neither buys a fresh bucket nor drains the address's one.
        invented = await _codes(
            c,
            4,
            lambda i: {
                "X-API-Key": secrets.token_hex(8),
                "Authorization": f"Bearer {secrets.token_hex(8)}",
            },
        )
        assert invented == [401, 401, 401, 401]
        assert await _codes(c, 3, lambda i: {}) == [200, 200, 429]


async def test_only_the_verified_key_chooses_the_bucket(tmp_path: Path) -> None:
    async with running_app(make_settings(tmp_path, **PROD, **SLOW)) as c:
        # A random X-API-Key in front of the real bearer key is refused, not counted
        # against some bucket of its own choosing.
        mixed = await _codes(
            c,
            2,
            lambda i: {
                "X-API-Key": secrets.token_hex(8),
                "Authorization": "Bearer frontend-key-1",
            },
        )
        assert mixed == [401, 401]
        codes = await _codes(c, 3, lambda i: {"Authorization": "Bearer frontend-key-1"})
        assert codes == [200, 200, 429]
        # The same key sent the other way round is the same bucket.
        swapped = await c.post("/api/token", json={}, headers={"X-API-Key": "frontend-key-1"})
        assert swapped.status_code == 429
        # Another verified key has its own bucket.
        other = await c.post("/api/token", json={}, headers={"X-API-Key": "mgmt-key-1"})
        assert other.status_code == 200


async def test_spoofed_forwarded_for_does_not_buy_buckets(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, **SLOW, PARLEY_TRUST_FORWARDED_FOR="true")
    async with running_app(settings) as c:
        # Our proxy appends the address it saw (10.0.0.9); what the client wrote before it
        # is the client's invention.
        codes = await _codes(
            c, 5, lambda i: {"X-Forwarded-For": f"198.51.100.{i}, 203.0.113.{i}, 10.0.0.9"}
        )
        assert codes == [200, 200, 429, 429, 429]


async def test_two_backends_share_one_limit_through_redis(tmp_path: Path, redis_url: str) -> None:
    shared = {**SLOW, "PARLEY_REDIS_URL": redis_url}
    async with (
        running_app(make_settings(tmp_path / "a", **shared)) as a,
        running_app(make_settings(tmp_path / "b", **shared)) as b,
    ):
        results = []
        for c in (a, b, a, b):
            resp = await c.post("/api/token", json={})
            results.append(resp.status_code)
            if resp.status_code == 429:
                assert int(resp.headers["retry-after"]) >= 1
        assert results == [200, 200, 429, 429]
    keys = redis.Redis.from_url(redis_url).keys("parley:ratelimit:*")
    assert len(keys) == 1  # one bucket, and it names no secret (an address here)


async def test_without_redis_each_process_limits_alone(tmp_path: Path) -> None:
    async with (
        running_app(make_settings(tmp_path / "a", **SLOW)) as a,
        running_app(make_settings(tmp_path / "b", **SLOW)) as b,
    ):
        results = [(await c.post("/api/token", json={})).status_code for c in (a, b, a, b)]
        assert results == [200, 200, 200, 200]


async def test_redis_outage_degrades_to_per_process_limits(tmp_path: Path) -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens
    async with running_app(make_settings(tmp_path, **SLOW, PARLEY_REDIS_URL=dead)) as c:
        codes = await _codes(c, 4, lambda i: {})
        assert codes == [200, 200, 429, 429]  # still limited, never a 500
