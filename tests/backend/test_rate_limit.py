"""The token bucket itself, with an explicit clock."""

from __future__ import annotations

import pytest

from parley_backend.rate_limit import TokenBucketLimiter, retry_after_header


def test_burst_then_sustained_rate() -> None:
    limiter = TokenBucketLimiter(rate_per_second=2.0, burst=3)
    assert [limiter.acquire("a", now=0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = limiter.acquire("a", now=0.0)
    assert wait == pytest.approx(0.5)
    assert limiter.acquire("a", now=0.5) == 0.0  # refilled one token
    assert limiter.acquire("a", now=0.5) > 0
    assert limiter.acquire("b", now=0.5) == 0.0  # other clients are unaffected


def test_refill_caps_at_burst() -> None:
    limiter = TokenBucketLimiter(rate_per_second=1.0, burst=2)
    limiter.acquire("a", now=0.0)
    results = [limiter.acquire("a", now=1000.0) for _ in range(3)]
    assert results[:2] == [0.0, 0.0] and results[2] > 0


def test_memory_is_bounded() -> None:
    limiter = TokenBucketLimiter(rate_per_second=1.0, burst=1, max_clients=100)
    for i in range(1000):
        limiter.acquire(f"c{i}", now=0.0)
    assert len(limiter._buckets) == 100


def test_retry_after_is_whole_positive_seconds() -> None:
    assert retry_after_header(0.01) == "1"
    assert retry_after_header(2.2) == "3"


def test_rejects_nonsense_configuration() -> None:
    with pytest.raises(ValueError):
        TokenBucketLimiter(rate_per_second=0, burst=1)
