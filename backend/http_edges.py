"""What every HTTP request meets before a route: body limits, JSON-only bodies, CORS.

One plain ASGI middleware (not ``BaseHTTPMiddleware``, which costs a task per request on
the token route) does two jobs:

- **Body limits, enforced while streaming.** A declared ``Content-Length`` over the
  route's limit is refused before anything is read; a chunked body (no length) is counted
  as it arrives and cut at the limit, so no route ever buffers more than its limit. Limits
  differ per route (``body_limit_for``); the answer is 413 in the error shape.
- **JSON-only bodies** on ``/api/`` writes (POST, PUT, PATCH): ``application/json`` or an
  ``application/*+json`` type (LiveKit sends ``application/webhook+json``), else 415. A
  cross-site HTML form can only send ``text/plain``, form-encoded or multipart bodies
  without a CORS preflight, so none of them reaches a route. An empty body needs no type.

CORS is Starlette's own middleware with the ``PARLEY_CORS_ORIGINS`` allowlist; with an
empty list it is not installed at all, so browsers keep the same-origin rule.
"""

from __future__ import annotations

import re

from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from parley_backend.errors import error_response
from parley_backend.settings import BackendSettings

KIB = 1024
MIB = 1024 * KIB
# The default covers the management API's largest bodies (16 KiB room metadata and a
# 4,000-character instruction, even with every character JSON-escaped).
DEFAULT_BODY_LIMIT = 256 * KIB
# Token requests are a few hundred bytes; the largest valid one (agent_config with long
# instructions) stays far below this.
TOKEN_BODY_LIMIT = 64 * KIB
# Signed webhooks, the bot's callbacks (participant lists) and agent summaries (50,000
# characters of text plus 64 KB of data).
LARGE_BODY_LIMIT = 1 * MIB

_CALLBACK = re.compile(r"^/api/meetings/[^/]+/callback$")
_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH"})


def body_limit_for(path: str) -> int:
    """The largest body (bytes) a route may receive."""
    if path == "/api/token":
        return TOKEN_BODY_LIMIT
    if path.startswith(("/api/webhooks/", "/api/agent/")) or _CALLBACK.match(path):
        return LARGE_BODY_LIMIT
    return DEFAULT_BODY_LIMIT


def is_json_media_type(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when a streamed body passes its limit; an HTTPException so
    FastAPI's body parsing re-raises it and the error handlers answer 413 in our shape."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body over {limit} bytes")
        self.limit = limit


class EdgeMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        limit = body_limit_for(path)
        content_length = content_type = None
        chunked = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                content_length = value
            elif name == b"content-type":
                content_type = value
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
        declared = -1
        if content_length is not None:
            try:
                declared = int(content_length)
            except ValueError:
                declared = -1
        if declared > limit:
            await self._refuse(scope, receive, send, 413, "payload_too_large", limit)
            return
        if scope["method"] in _WRITE_METHODS and path.startswith("/api/"):
            has_body = declared > 0 or chunked
            if content_type is not None:
                if not is_json_media_type(content_type.decode("latin-1")):
                    await self._refuse(scope, receive, send, 415, "unsupported_media_type", limit)
                    return
            elif has_body:
                await self._refuse(scope, receive, send, 415, "unsupported_media_type", limit)
                return

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            # A route that read the body outside FastAPI's handlers; answer if we still can.
            if started:
                raise
            await self._refuse(scope, receive, send, 413, "payload_too_large", limit)

    @staticmethod
    async def _refuse(
        scope: Scope, receive: Receive, send: Send, status: int, code: str, limit: int
    ) -> None:
        if status == 413:
            message = f"request body over {limit} bytes"
        else:
            message = "request body must be JSON (Content-Type: application/json)"
        # Close the connection: the rest of an oversized body is never read.
        headers = {"Connection": "close"} if status == 413 else None
        response = error_response(status, code, message, None, headers)
        await response(scope, receive, send)


def install_edges(app: FastAPI, settings: BackendSettings) -> None:
    """Edges inside, CORS around them (so refusals carry CORS headers for allowed origins).

    Call before the request-context middleware is added, which then wraps both.
    """
    app.add_middleware(EdgeMiddleware)
    origins = settings.cors_origin_list
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-API-Key", "X-Request-Id"],
            expose_headers=["X-Request-Id", "Retry-After"],
            allow_credentials=False,
            max_age=600,
        )
