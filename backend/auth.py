"""Caller authentication: management API keys and the agent's bearer token.

Keys are compared in constant time. In development with no keys configured the management
API is open (so `make dev` works with no setup); in production it never is.
"""

from __future__ import annotations

import hmac

from fastapi import Request

from parley_backend.errors import ApiError
from parley_backend.settings import BackendSettings


def _presented_key(request: Request) -> str | None:
    key = request.headers.get("x-api-key")
    if key:
        return key
    auth = request.headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "bearer" and value:
        return value.strip()
    return None


def _matches(presented: str, allowed: frozenset[str]) -> bool:
    # Check every key so timing does not reveal which one (or how many) matched.
    found = False
    for key in allowed:
        found |= hmac.compare_digest(presented.encode(), key.encode())
    return found


async def require_api_key(request: Request) -> None:
    """FastAPI dependency for management routes (``X-API-Key`` or ``Authorization: Bearer``)."""
    settings: BackendSettings = request.app.state.settings
    allowed = settings.api_key_set
    if not allowed and settings.environment == "development":
        return
    presented = _presented_key(request)
    if not presented or not allowed or not _matches(presented, allowed):
        raise ApiError(401, "unauthorized", "a valid API key is required",
                       headers={"WWW-Authenticate": "Bearer"})  # fmt: skip


async def require_agent_token(request: Request) -> None:
    """FastAPI dependency for the agent API (``Authorization: Bearer <PARLEY_AGENT_TOKEN>``)."""
    settings: BackendSettings = request.app.state.settings
    presented = _presented_key(request)
    if not presented or not _matches(presented, frozenset({settings.agent_token})):
        raise ApiError(401, "unauthorized", "a valid agent token is required",
                       headers={"WWW-Authenticate": "Bearer"})  # fmt: skip
