"""Caller authentication: management API keys, token-endpoint keys and the agent's token.

Keys are compared in constant time. In development with no keys configured the management
API is open (so `make dev` works with no setup); in production it never is. A caller may
send ``X-API-Key`` and/or ``Authorization: Bearer``; either one matching is enough.
"""

from __future__ import annotations

import hmac

from fastapi import Request

from parley_backend.errors import ApiError
from parley_backend.settings import BackendSettings

_CHALLENGE = {"WWW-Authenticate": "Bearer"}


def presented_keys(request: Request) -> list[str]:
    keys = []
    key = request.headers.get("x-api-key")
    if key:
        keys.append(key.strip())
    auth = request.headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        keys.append(value.strip())
    return keys


def _matches(presented: list[str], allowed: frozenset[str]) -> bool:
    # Check every pair so timing does not reveal which key (or how many) matched.
    found = False
    for candidate in presented:
        for key in allowed:
            found |= hmac.compare_digest(candidate.encode(), key.encode())
    return found


async def require_api_key(request: Request) -> None:
    """FastAPI dependency for management routes (``X-API-Key`` or ``Authorization: Bearer``)."""
    settings: BackendSettings = request.app.state.settings
    allowed = settings.api_key_set
    if not allowed and settings.environment == "development":
        return
    if not allowed or not _matches(presented_keys(request), allowed):
        raise ApiError(401, "unauthorized", "a valid API key is required", headers=_CHALLENGE)


async def require_agent_token(request: Request) -> None:
    """FastAPI dependency for the agent API (``Authorization: Bearer <PARLEY_AGENT_TOKEN>``)."""
    settings: BackendSettings = request.app.state.settings
    if not _matches(presented_keys(request), frozenset({settings.agent_token})):
        raise ApiError(401, "unauthorized", "a valid agent token is required", headers=_CHALLENGE)


async def require_token_caller(request: Request) -> None:
    """FastAPI dependency for ``POST /api/token``: open when configured so, else an API key."""
    settings: BackendSettings = request.app.state.settings
    if settings.token_endpoint_open:
        return
    allowed = settings.token_key_set
    if not allowed or not _matches(presented_keys(request), allowed):
        raise ApiError(401, "unauthorized", "a valid API key is required", headers=_CHALLENGE)
