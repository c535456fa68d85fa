"""Credentials a caller presents: ``X-API-Key`` and/or ``Authorization: Bearer``.

Which credential makes which kind of caller, and what each kind may do, is decided in
``parley_backend.access_policy`` (docs/security.md). Keys are compared in constant time.
"""

from __future__ import annotations

import hmac

from starlette.requests import HTTPConnection


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
