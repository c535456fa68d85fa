"""Credentials a caller presents: ``X-API-Key`` and/or ``Authorization: Bearer``.

Which credential makes which kind of caller, and what each kind may do, is decided in
``parley_backend.access_policy`` (docs/security.md). Keys are compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac

from fastapi import Request
from starlette.requests import HTTPConnection

from parley_backend.settings import BackendSettings


def presented_keys(request: HTTPConnection) -> list[str]:
    keys = []
    key = request.headers.get("x-api-key")
    if key:
        keys.append(key.strip())
    auth = request.headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        keys.append(value.strip())
    return keys


def matches_any(candidate: str, allowed: frozenset[str]) -> bool:
    # Check every key so timing does not reveal which one (or how many) matched.
    found = False
    for key in allowed:
        found |= hmac.compare_digest(candidate.encode(), key.encode())
    return found


def client_key(request: Request) -> str:
    """Who a token request counts against for rate limiting.

    Its (already verified) API key when the endpoint requires one, else its address: on an
    open endpoint keys are not checked, and counting by them would let a caller dodge the
    limit by inventing keys. Keys are hashed so the limiter never holds a secret.
    """
    settings: BackendSettings = request.app.state.settings
    keys = presented_keys(request)
    if keys and not settings.token_endpoint_open:
        return "key:" + hashlib.sha256(keys[0].encode()).hexdigest()[:24]
    if settings.trust_forwarded_for:
        forwarded = request.headers.get("x-forwarded-for", "")
        first = forwarded.split(",", 1)[0].strip()
        if first:
            return "ip:" + first[:64]
    host = request.client.host if request.client else "unknown"
    return "ip:" + host
