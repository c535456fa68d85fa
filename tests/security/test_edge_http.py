"""The HTTP edge as an attacker meets it: bodies, content types, docs, metrics, CORS.

In-process through the real app and its middleware (and once through real uvicorn for a
chunked body on a raw socket, where "read to the end" would show as no answer at all).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from parley_backend.app import create_app
from parley_backend.http_edges import LARGE_BODY_LIMIT, TOKEN_BODY_LIMIT
from parley_common.testing.devstack import free_port
from tests.backend.conftest import make_settings, running_app, sign_webhook, webhook_body
from tests.serving import serve_asgi

pytestmark = pytest.mark.security

PROD = {
    "PARLEY_ENV": "production",
    "PARLEY_API_KEYS": "mgmt-key-1",
    "PARLEY_AGENT_TOKEN": "a-real-agent-token",
}


def _error_code(resp: httpx.Response) -> str:
    return resp.json()["error"]["code"]


class _CountingBody:
    """A chunked request body (no Content-Length) that counts what the server pulled."""

    def __init__(self, total: int, chunk: int = 64 * 1024) -> None:
        self.total, self.chunk, self.sent = total, chunk, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self.sent < self.total:
            self.sent += self.chunk
            yield b"x" * self.chunk


@pytest.mark.parametrize(
    ("path", "limit"),
    [
        ("/api/webhooks/livekit", LARGE_BODY_LIMIT),
        ("/api/token", TOKEN_BODY_LIMIT),
        ("/api/agent/turns", LARGE_BODY_LIMIT),
        ("/api/rooms", 256 * 1024),
    ],
)
async def test_chunked_bodies_are_cut_at_the_route_limit(
    tmp_path: Path, path: str, limit: int
) -> None:
    async with running_app(make_settings(tmp_path)) as c:
        body = _CountingBody(40 * 1024 * 1024)
        headers = {
            "content-type": "application/json",
            "authorization": sign_webhook("{}"),
        }
        resp = await c.post(path, content=body, headers=headers)
        assert resp.status_code == 413, resp.text
        assert _error_code(resp) == "payload_too_large"
        # Cut within one chunk of the limit, not read to the end (40 MiB).
        assert body.sent <= limit + body.chunk


async def test_declared_oversized_bodies_are_refused_before_reading(tmp_path: Path) -> None:
    async with running_app(make_settings(tmp_path)) as c:
        resp = await c.post(
            "/api/token",
            content=b"{" + b" " * (TOKEN_BODY_LIMIT + 10) + b"}",
            headers={"content-type": "application/json"},
        )
        assert resp.status_code == 413 and _error_code(resp) == "payload_too_large"
        # Just under the limit is parsed normally.
        ok = await c.post(
            "/api/token",
            content=b"{" + b" " * (TOKEN_BODY_LIMIT - 10) + b"}",
            headers={"content-type": "application/json"},
        )
        assert ok.status_code == 200, ok.text


@contextlib.asynccontextmanager
async def _uvicorn(tmp_path: Path) -> AsyncIterator[int]:
    port = free_port()
    app = create_app(make_settings(tmp_path))
    async with serve_asgi(app, port):
        yield port


async def test_real_server_answers_413_while_a_chunked_webhook_is_still_arriving(
    tmp_path: Path,
) -> None:
    """The body never ends: a server that read to the end before the 413 would never answer."""
    async with _uvicorn(tmp_path) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            b"POST /api/webhooks/livekit HTTP/1.1\r\nhost: x\r\n"
            b"content-type: application/webhook+json\r\n"
            b"authorization: " + sign_webhook("{}").encode() + b"\r\n"
            b"transfer-encoding: chunked\r\n\r\n"
        )
        chunk = b"x" * 65536
        framed = b"%x\r\n" % len(chunk) + chunk + b"\r\n"

        async def feed() -> None:
            with contextlib.suppress(ConnectionError):
                for _ in range(16 * 1024 * 1024 // len(chunk)):
                    writer.write(framed)
                    await writer.drain()
                await asyncio.sleep(3600)  # never send the final chunk

        feeder = asyncio.create_task(feed())
        try:
            status_line = await asyncio.wait_for(reader.readline(), 20)
        finally:
            feeder.cancel()
            with contextlib.suppress(BaseException):
                await feeder
            writer.close()
        assert status_line.startswith(b"HTTP/1.1 413"), status_line


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "text/plain;charset=UTF-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/jsonp",
        "text/json",
    ],
)
async def test_cross_site_form_types_are_415(tmp_path: Path, content_type: str) -> None:
    async with running_app(make_settings(tmp_path)) as c:
        for path in ("/api/token", "/api/rooms", "/api/agent/turns"):
            resp = await c.post(path, content=b"{}", headers={"content-type": content_type})
            assert resp.status_code == 415, (path, resp.text)
            assert _error_code(resp) == "unsupported_media_type"


async def test_json_types_and_empty_bodies_pass(tmp_path: Path) -> None:
    async with running_app(make_settings(tmp_path)) as c:
        assert (await c.post("/api/token")).status_code == 200  # no body, no type needed
        for ct in ("application/json", "application/json; charset=utf-8", "Application/JSON"):
            resp = await c.post("/api/token", content=b"{}", headers={"content-type": ct})
            assert resp.status_code == 200, (ct, resp.text)
        # A body without any type is refused too (it could be anything).
        untyped = await c.post("/api/token", content=b"{}", headers={"content-type": ""})
        assert untyped.status_code == 415
        # LiveKit's own type reaches the webhook route (401: this one is not signed).
        body = webhook_body("room_started")
        resp = await c.post(
            "/api/webhooks/livekit",
            content=body,
            headers={"content-type": "application/webhook+json", "authorization": "x"},
        )
        assert resp.status_code == 401


async def test_production_hides_docs_and_metrics(tmp_path: Path) -> None:
    async with running_app(make_settings(tmp_path, **PROD)) as c:
        for path in ("/docs", "/redoc", "/openapi.json", "/metrics"):
            resp = await c.get(path)
            assert resp.status_code == 404, (path, resp.status_code)
        assert (await c.get("/health")).status_code == 200
    async with running_app(make_settings(tmp_path, **PROD, PARLEY_API_DOCS="true")) as c:
        assert (await c.get("/openapi.json")).status_code == 200


async def test_metrics_behind_their_key(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, **PROD, PARLEY_METRICS_KEY="scrape-key-123")
    async with running_app(settings) as c:
        assert (await c.get("/metrics")).status_code == 401
        wrong = await c.get("/metrics", headers={"authorization": "Bearer mgmt-key-1"})
        assert wrong.status_code == 401  # a management key is not the metrics key
        resp = await c.get("/metrics", headers={"authorization": "Bearer scrape-key-123"})
        assert resp.status_code == 200 and "parley_http_requests_total" in resp.text


async def test_cors_allowlist(tmp_path: Path) -> None:
    allowed = "https://app.example.com"
    settings = make_settings(tmp_path, PARLEY_CORS_ORIGINS=f"{allowed}, https://b.example.com/")
    async with running_app(settings) as c:
        preflight = {
            "access-control-request-method": "POST",
            "access-control-request-headers": "content-type,x-api-key",
        }
        ok = await c.options("/api/token", headers={"origin": allowed, **preflight})
        assert ok.status_code == 200
        assert ok.headers["access-control-allow-origin"] == allowed
        evil_origin = {"origin": "https://evil.example", **preflight}
        evil = await c.options("/api/token", headers=evil_origin)
        assert "access-control-allow-origin" not in evil.headers
        resp = await c.post("/api/token", json={}, headers={"origin": allowed})
        assert resp.headers["access-control-allow-origin"] == allowed
        # Refusals carry the header too, so the frontend can read the error.
        plain = await c.post(
            "/api/token", content=b"x", headers={"origin": allowed, "content-type": "text/plain"}
        )
        assert plain.status_code == 415
        assert plain.headers["access-control-allow-origin"] == allowed
    async with running_app(make_settings(tmp_path)) as c:  # empty: same origin only
        resp = await c.post("/api/token", json={}, headers={"origin": allowed})
        assert "access-control-allow-origin" not in resp.headers
