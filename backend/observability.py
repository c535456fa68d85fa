"""Request ids, access logs and Prometheus metrics, as one plain ASGI middleware.

A plain ASGI middleware (not ``BaseHTTPMiddleware``) because it sits on the token path,
whose throughput is a product target: it adds a header and two metric updates, no task.
"""

from __future__ import annotations

import itertools
import logging
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from parley_backend.logs import request_id_var

logger = logging.getLogger("parley.backend.http")

REQUEST_ID_HEADER = "x-request-id"
# Accept a caller's id only if it is short and harmless in logs and headers.
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


@dataclass
class Metrics:
    """Every metric the backend exports; one registry per app so tests can build many apps."""

    registry: CollectorRegistry
    requests: Counter
    latency: Histogram
    webhook_events: Counter
    turns: Counter
    rate_limited: Counter

    @classmethod
    def create(cls) -> Metrics:
        registry = CollectorRegistry()
        return cls(
            registry=registry,
            requests=Counter(
                "parley_http_requests",
                "HTTP requests by route template and status",
                ["method", "route", "status"],
                registry=registry,
            ),
            latency=Histogram(
                "parley_http_request_duration_seconds",
                "HTTP request duration by route template",
                ["method", "route"],
                buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
                registry=registry,
            ),
            webhook_events=Counter(
                "parley_webhook_events",
                "LiveKit webhook deliveries by event and outcome (stored, duplicate, rejected)",
                ["event", "outcome"],
                registry=registry,
            ),
            turns=Counter(
                "parley_turns",
                "Agent turns posted, by outcome (stored, duplicate)",
                ["outcome"],
                registry=registry,
            ),
            rate_limited=Counter(
                "parley_rate_limited_requests",
                "Requests refused with 429, by route",
                ["route"],
                registry=registry,
            ),
        )


def _route_template(scope: Scope) -> str:
    # FastAPI stores the matched route in the scope; templates keep label cardinality bounded.
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics, access_log: bool = False) -> None:
        self.app = app
        self.metrics = metrics
        self.access_log = access_log
        # Label children cached by key: `labels()` takes a lock and builds a tuple each time.
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        # Ids must be unique, not secret: a random per-process prefix and a counter cost
        # nothing, where uuid4 reads the kernel's random source on every request.
        self._prefix = uuid.uuid4().hex[:16]
        self._counter = itertools.count(1)

    def _new_id(self) -> str:
        return f"{self._prefix}{next(self._counter):016x}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                candidate = value.decode("latin-1")
                if _VALID_REQUEST_ID.match(candidate):
                    request_id = candidate
                break
        request_id = request_id or self._new_id()
        token = request_id_var.set(request_id)
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", ()))
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = _route_template(scope)
            method = scope["method"]
            key = (method, route, status)
            children = self._children.get(key)
            if children is None:
                children = (
                    self.metrics.requests.labels(method, route, str(status)),
                    self.metrics.latency.labels(method, route),
                )
                self._children[key] = children
            children[0].inc()
            children[1].observe(elapsed)
            self._log(method, scope["path"], route, status, elapsed)
            request_id_var.reset(token)

    def _log(self, method: str, path: str, route: str, status: int, elapsed: float) -> None:
        # Failures are always logged; successes only with PARLEY_ACCESS_LOG (a proxy's access
        # log usually has them, and on the token route the line costs a third of the work).
        if status >= 500:
            level = logging.WARNING
        elif status >= 400 or (self.access_log and route not in _QUIET_ROUTES):
            level = logging.INFO
        else:
            level = logging.DEBUG
        if logger.isEnabledFor(level):
            logger.log(
                level,
                "%s %s %d",
                method,
                path,
                status,
                extra={"route": route, "status": status, "duration_ms": round(elapsed * 1000, 2)},
            )


# Probes and scrapes run every few seconds; logging them would drown everything else.
_QUIET_ROUTES = frozenset({"/health", "/ready", "/metrics"})
