"""The latest capability report of each live worker, and what the backend answers from them.

Several workers may serve one backend and any of them may take the next room, so the
backend offers the *intersection* of what the live ones report (a language one worker
cannot serve would fail on it). A report expires ``ttl`` seconds after it arrived (workers
re-post every PARLEY_CAPABILITIES_INTERVAL_SECONDS), so a worker that died stops narrowing
or widening the list. With no live report the configured defaults answer.

Kept in this process's memory: with several backend replicas each learns from the posts it
receives (every worker re-posts, so each replica converges within a few intervals).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from parley_common.capabilities import (
    Capabilities,
    CapabilityReport,
    default_capabilities,
    intersect,
)

Source = Literal["workers", "defaults"]
MAX_WORKERS = 256  # a bound on memory whatever the callers post


@dataclass(frozen=True)
class _Entry:
    report: CapabilityReport
    received: float


class CapabilityRegistry:
    def __init__(
        self,
        *,
        ttl: float,
        default_languages: list[str],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl
        self._defaults = default_capabilities(default_languages)
        self._clock = clock
        self._entries: dict[str, _Entry] = {}

    def record(self, report: CapabilityReport) -> None:
        self._expire()
        if report.worker_id not in self._entries and len(self._entries) >= MAX_WORKERS:
            oldest = min(self._entries, key=lambda k: self._entries[k].received)
            del self._entries[oldest]
        self._entries[report.worker_id] = _Entry(report, self._clock())

    def live(self) -> list[CapabilityReport]:
        self._expire()
        return [e.report for _, e in sorted(self._entries.items())]

    def current(self) -> tuple[Capabilities, Source, int]:
        """The capabilities to answer with, their source ("workers" or "defaults") and how
        many live workers they come from."""
        reports = self.live()
        if not reports:
            return self._defaults, "defaults", 0
        return intersect([r.capabilities for r in reports]), "workers", len(reports)

    def _expire(self) -> None:
        cutoff = self._clock() - self._ttl
        for key in [k for k, e in self._entries.items() if e.received < cutoff]:
            del self._entries[key]
