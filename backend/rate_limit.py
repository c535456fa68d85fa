"""Per-client token buckets for the public token endpoint, in-process or shared in Redis.

In-process by default: the check costs a dict lookup on the hottest route, and one backend
instance is the common deployment. With ``PARLEY_REDIS_URL`` set the buckets live in Redis
(one small Lua script per request, atomic on the server and timed by the server's clock),
so N backend processes behind a load balancer enforce one limit instead of N. If Redis
stops answering, each process falls back to its own buckets (logged) rather than failing
the token route or letting everything through.

What a request counts against (``rate_limit_key``) is only ever something that was
verified: the API key that matched, or the client address. An unverified key never
chooses the bucket, so inventing keys cannot escape the limit.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Protocol

from fastapi import Request

from parley_backend.auth import presented_keys
from parley_backend.settings import BackendSettings

logger = logging.getLogger("parley.backend.rate_limit")

# After a failed call to Redis, the next attempt waits this long (per-process meanwhile).
RETRY_STORE_AFTER_S = 1.0


class Limiter(Protocol):
    async def check(self, client: str) -> float:
        """Take one token for ``client``: 0 when allowed, else seconds until one is free."""
        ...

    async def aclose(self) -> None: ...


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TokenBucketLimiter:
    """``rate_per_second`` sustained, ``burst`` at once; memory bounded by ``max_clients``."""

    def __init__(self, rate_per_second: float, burst: int, max_clients: int = 50_000) -> None:
        if rate_per_second <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self.rate = rate_per_second
        self.burst = float(burst)
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def acquire(self, client: str, now: float | None = None) -> float:
        """Take one token. Returns 0 when allowed, else the seconds until one is available."""
        now = time.monotonic() if now is None else now
        bucket = self._buckets.get(client)
        if bucket is None:
            bucket = _Bucket(self.burst, now)
            self._buckets[client] = bucket
            if len(self._buckets) > self.max_clients:
                # The least recently seen client loses its (probably full) bucket.
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(client)
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate

    async def check(self, client: str) -> float:
        return self.acquire(client)

    async def aclose(self) -> None:
        return None


# KEYS[1] = bucket; ARGV = rate per second, burst. Returns the wait as a string (Lua
# numbers become integers in a Redis reply). TIME is the server's clock, so processes on
# hosts with skewed clocks still agree; the key expires once it would be full again.
_BUCKET_SCRIPT = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'updated')
local tokens = tonumber(state[1])
local updated = tonumber(state[2])
if tokens == nil or updated == nil then
  tokens = burst
  updated = now
end
tokens = math.min(burst, tokens + math.max(0, now - updated) * rate)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'updated', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst / rate) * 1000) + 1000)
return tostring(wait)
"""


class RedisTokenBucketLimiter:
    """The same bucket, held in Redis so every backend process shares it."""

    def __init__(
        self,
        url: str,
        rate_per_second: float,
        burst: int,
        *,
        prefix: str = "parley:ratelimit:token:",
        timeout_s: float = 0.25,
    ) -> None:
        import redis.asyncio as redis_asyncio

        if rate_per_second <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self.rate = rate_per_second
        self.burst = burst
        self.prefix = prefix
        self._client: Any = redis_asyncio.from_url(
            url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s
        )
        self._script = self._client.register_script(_BUCKET_SCRIPT)
        self._args = (repr(rate_per_second), str(burst))
        # Used only while Redis is unreachable: a limit per process beats none at all.
        self._fallback = TokenBucketLimiter(rate_per_second, burst)
        self._failing = False
        self._retry_at = 0.0

    async def check(self, client: str) -> float:
        if self._failing and time.monotonic() < self._retry_at:
            return self._fallback.acquire(client)  # do not pay a timeout on every request
        try:
            wait = float(await self._script(keys=[self.prefix + client], args=self._args))
        except Exception as exc:  # redis errors, timeouts, OSError: degrade, never 500
            if not self._failing:
                logger.warning("rate limit store unavailable, limiting per process: %s", exc)
                self._failing = True
            self._retry_at = time.monotonic() + RETRY_STORE_AFTER_S
            return self._fallback.acquire(client)
        if self._failing:
            logger.info("rate limit store reachable again")
            self._failing = False
        return wait

    async def aclose(self) -> None:
        await self._client.aclose()


def create_token_limiter(settings: BackendSettings) -> Limiter:
    rate = settings.token_rate_per_minute / 60.0
    if settings.redis_url:
        return RedisTokenBucketLimiter(settings.redis_url, rate, settings.token_rate_burst)
    return TokenBucketLimiter(rate, settings.token_rate_burst)


def _verified_key(presented: list[str], allowed: frozenset[str]) -> str | None:
    # Every pair is compared so timing does not reveal which key matched.
    match = None
    for candidate in presented:
        for key in allowed:
            if hmac.compare_digest(candidate.encode(), key.encode()) and match is None:
                match = candidate
    return match


def rate_limit_key(request: Request) -> str:
    """Who a token request counts against: a key that matched, else the client address.

    On an open endpoint keys are not checked, and an unchecked key must never choose the
    bucket (a caller would dodge the limit by inventing keys); on a keyed endpoint only the
    key that actually matched counts, not merely the first one sent. Keys are hashed so
    the limiter (and Redis) never holds a secret.
    """
    settings: BackendSettings = request.app.state.settings
    if not settings.token_endpoint_open:
        key = _verified_key(presented_keys(request), settings.token_key_set)
        if key is not None:
            return "key:" + hashlib.sha256(key.encode()).hexdigest()[:24]
    if settings.trust_forwarded_for:
        # The last hop is the one our own proxy appended; earlier entries are whatever
        # the client sent and would let it pick its own bucket.
        forwarded = request.headers.get("x-forwarded-for", "")
        last = forwarded.rsplit(",", 1)[-1].strip()
        if last:
            return "ip:" + last[:64]
    host = request.client.host if request.client else "unknown"
    return "ip:" + host


def retry_after_header(wait_seconds: float) -> str:
    """``Retry-After`` is whole seconds; never advertise 0 for a refused request."""
    return str(max(1, math.ceil(wait_seconds)))
