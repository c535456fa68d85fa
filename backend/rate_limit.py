"""Per-client token buckets for the public token endpoint.

In-process on purpose: the check costs a dict lookup on the hottest route, and one backend
instance is the common deployment. Behind a load balancer with N instances each one
enforces its own bucket, so the effective limit is N times the configured one; put the
limit in the proxy (or share state in Redis) if that matters.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from dataclasses import dataclass


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


def retry_after_header(wait_seconds: float) -> str:
    """``Retry-After`` is whole seconds; never advertise 0 for a refused request."""
    return str(max(1, math.ceil(wait_seconds)))
