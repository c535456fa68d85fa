"""The backend's LiveKit server API client and how its failures map to our error shape."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
from fastapi import Request
from livekit import api

from parley_backend.errors import ApiError
from parley_backend.settings import BackendSettings

logger = logging.getLogger("parley.backend.livekit")

# Twirp error codes that are the caller's fault; everything else is LiveKit's (502).
_CLIENT_ERRORS = {
    api.ServerErrorCode.NOT_FOUND: (404, "not_found"),
    api.ServerErrorCode.ALREADY_EXISTS: (409, "conflict"),
    api.ServerErrorCode.INVALID_ARGUMENT: (422, "validation_error"),
    api.ServerErrorCode.MALFORMED: (422, "validation_error"),
    api.ServerErrorCode.OUT_OF_RANGE: (422, "validation_error"),
    api.ServerErrorCode.FAILED_PRECONDITION: (409, "conflict"),
    api.ServerErrorCode.RESOURCE_EXHAUSTED: (429, "rate_limited"),
}


def create_livekit_api(settings: BackendSettings) -> api.LiveKitAPI:
    # A self-hosted server has one origin: region failover would only retry the same host.
    return api.LiveKitAPI(
        settings.livekit_url,
        settings.livekit_api_key,
        settings.livekit_api_secret,
        timeout=aiohttp.ClientTimeout(total=10),
        failover=False,
    )


def get_livekit(request: Request) -> api.LiveKitAPI:
    """FastAPI dependency: the app's LiveKit API client."""
    client: api.LiveKitAPI = request.app.state.livekit
    return client


@asynccontextmanager
async def livekit_errors(action: str) -> AsyncIterator[None]:
    """Turn LiveKit API failures into ApiErrors: 4xx for the caller's mistakes, else 502."""
    try:
        yield
    except api.ServerError as exc:
        status, code = _CLIENT_ERRORS.get(exc.code, (502, "upstream_error"))
        if status == 502:
            logger.warning("LiveKit %s failed: %s", action, exc, extra={"twirp_code": exc.code})
        raise ApiError(status, code, f"LiveKit {action} failed: {exc.message or exc.code}") from exc
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        logger.warning("LiveKit %s unreachable: %s", action, exc)
        message = f"LiveKit {action} failed: server unreachable"
        raise ApiError(502, "upstream_error", message) from exc
