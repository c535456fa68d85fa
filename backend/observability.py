"""Request ids, access logs and Prometheus metrics, as one plain ASGI middleware.

A plain ASGI middleware (not ``BaseHTTPMiddleware``) because it sits on the token path,
whose throughput is a product target: it adds a header and two metric updates, no task.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from dataclasses import dataclass

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
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

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
        request_id = request_id or uuid.uuid4().hex
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
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.latency.labels(method, route).observe(elapsed)
            if status >= 500:
                log = logger.warning
            else:
                log = logger.debug if route in _QUIET_ROUTES else logger.info
            log(
                "%s %s %d",
                method,
                scope["path"],
                status,
                extra={"route": route, "status": status, "duration_ms": round(elapsed * 1000, 2)},
            )
            request_id_var.reset(token)


# Probes and scrapes run every few seconds; logging them would drown everything else.
_QUIET_ROUTES = frozenset({"/health", "/ready", "/metrics"})
