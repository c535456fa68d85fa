"""Liveness, readiness and metrics."""

from __future__ import annotations

import asyncio
import hmac
import logging

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from livekit import api
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from parley_backend.access_policy import anonymous_caller
from parley_backend.auth import presented_keys
from parley_backend.errors import ApiError
from parley_backend.observability import Metrics
from parley_backend.settings import BackendSettings

logger = logging.getLogger("parley.backend.health")
router = APIRouter(tags=["health"], dependencies=[Depends(anonymous_caller)])


@router.get("/health", summary="Liveness: the process serves requests")
async def health() -> dict[str, str]:
    return {"status": "ok"}


async def _check_database(request: Request) -> None:
    async with request.app.state.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


async def _check_livekit(request: Request) -> None:
    lkapi: api.LiveKitAPI = request.app.state.livekit
    await lkapi.room.list_rooms(api.ListRoomsRequest(names=["parley-readiness-probe"]))


@router.get(
    "/ready",
    summary="Readiness: the database and the LiveKit API answer",
    responses={503: {"description": "A dependency is down; `checks` says which"}},
)
async def ready(request: Request) -> JSONResponse:
    settings: BackendSettings = request.app.state.settings
    checks: dict[str, str] = {}
    for name, check in (("database", _check_database), ("livekit", _check_livekit)):
        try:
            await asyncio.wait_for(check(request), settings.ready_timeout_seconds)
            checks[name] = "ok"
        except Exception as exc:  # any failure means "not ready", with the reason shown
            logger.warning("readiness check %s failed: %s", name, exc)
            checks[name] = f"error: {type(exc).__name__}"
    ok = all(v == "ok" for v in checks.values())
    if ok:
        return JSONResponse({"status": "ready", "checks": checks})
    body = {"error": {"code": "unavailable", "message": "not ready", "details": {"checks": checks}}}
    return JSONResponse(body, status_code=503)


@router.get("/metrics", summary="Prometheus metrics (text exposition format)")
async def metrics(request: Request) -> Response:
    settings: BackendSettings = request.app.state.settings
    if settings.metrics_key:
        # Prometheus sends it with `authorization: {credentials: ...}` in its scrape config.
        expected = settings.metrics_key.encode()
        if not any(hmac.compare_digest(k.encode(), expected) for k in presented_keys(request)):
            raise ApiError(
                401,
                "unauthorized",
                "a valid metrics key is required",
                headers={"WWW-Authenticate": "Bearer"},
            )
    elif settings.environment == "production":
        # No key in production: the metrics are not served at all (set PARLEY_METRICS_KEY).
        raise ApiError(404, "not_found", "metrics are off (set PARLEY_METRICS_KEY)")
    registry: Metrics = request.app.state.metrics
    return Response(generate_latest(registry.registry), media_type=CONTENT_TYPE_LATEST)
