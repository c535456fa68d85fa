"""The app's shape: request ids, one error shape, OpenAPI, health, readiness, metrics."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from .conftest import make_settings


async def test_request_id_generated_and_echoed(client: httpx.AsyncClient) -> None:
    generated = await client.get("/health")
    assert generated.status_code == 200 and generated.json() == {"status": "ok"}
    assert len(generated.headers["x-request-id"]) == 32
    echoed = await client.get("/health", headers={"X-Request-ID": "caller-req-42"})
    assert echoed.headers["x-request-id"] == "caller-req-42"
    # A hostile id (spaces, newline-ish junk, too long) is replaced, not reflected.
    hostile = await client.get("/health", headers={"X-Request-ID": "a b<script>" + "x" * 200})
    assert hostile.headers["x-request-id"] != "a b<script>" + "x" * 200
    assert len(hostile.headers["x-request-id"]) == 32


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("GET", "/api/nope", None, 404, "not_found"),
        ("PUT", "/api/token", None, 405, "method_not_allowed"),
        ("POST", "/api/token", {"room_name": "bad room!"}, 422, "validation_error"),
        ("POST", "/api/agent/turns", {}, 401, "unauthorized"),
        ("GET", "/api/sessions/RM_missing", None, 404, "not_found"),
        ("POST", "/api/webhooks/livekit", {"event": "room_started"}, 401, "unauthorized"),
    ],
)
async def test_every_error_has_the_same_shape(
    client: httpx.AsyncClient, method: str, path: str, body: object, status: int, code: str
) -> None:
    resp = await client.request(method, path, json=body)
    assert resp.status_code == status, resp.text
    error = resp.json()["error"]
    assert set(error) == {"code", "message", "details"}
    assert error["code"] == code and error["message"]
    assert resp.headers["x-request-id"]


async def test_malformed_json_is_a_422_not_a_crash(client: httpx.AsyncClient) -> None:
    resp = await client.post(
        "/api/token", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert resp.status_code == 422
    assert resp.json()["error"]["code"] == "validation_error"


async def test_openapi_and_docs(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    paths = spec["paths"]
    for path in (
        "/api/token",
        "/api/rooms",
        "/api/rooms/{room_name}/dispatches",
        "/api/sessions/{session_id}/transcript",
        "/api/webhooks/livekit",
        "/api/agent/turns",
        "/api/agent/context",
        "/ready",
        "/metrics",
    ):
        assert path in paths, path
    docs = await client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


async def test_metrics_count_requests_by_route(client: httpx.AsyncClient) -> None:
    await client.post("/api/token", json={})
    await client.get("/api/sessions/RM_x")
    text = (await client.get("/metrics")).text
    assert 'parley_http_requests_total{method="POST",route="/api/token",status="200"} 1.0' in text
    assert (
        'parley_http_requests_total{method="GET",route="/api/sessions/{session_id}",status="404"}'
        in text
    )
    assert "parley_http_request_duration_seconds_bucket" in text


async def test_ready_reports_livekit_down(client: httpx.AsyncClient) -> None:
    resp = await client.get("/ready")
    assert resp.status_code == 503
    checks = resp.json()["error"]["details"]["checks"]
    assert checks["database"] == "ok"
    assert checks["livekit"].startswith("error")


def test_production_refuses_development_credentials(tmp_path: Path) -> None:
    from parley_backend.app import create_app

    with pytest.raises(RuntimeError, match="PARLEY_AGENT_TOKEN"):
        create_app(
            make_settings(tmp_path, PARLEY_ENV="production", PARLEY_AGENT_TOKEN="dev-agent-token")
        )
