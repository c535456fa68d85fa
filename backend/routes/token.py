"""``POST /api/token``: the door for browsers and frontend teams.

What a caller gets is the access policy's decision (parley_backend.access_policy): public
callers a fresh room (or an invited one) and an identity the backend picks; management
callers may name room and identity.
"""

from __future__ import annotations

import datetime

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from parley_backend.access_policy import (
    Caller,
    JoinRequest,
    TokenCaller,
    agent_config_for,
    grant_join,
)
from parley_backend.capability_registry import CapabilityRegistry
from parley_backend.errors import ApiError
from parley_backend.observability import Metrics
from parley_backend.rate_limit import Limiter, rate_limit_key, retry_after_header
from parley_backend.schemas import ERROR_RESPONSES, TokenRequest, TokenResponse
from parley_backend.settings import BackendSettings
from parley_backend.tokens import TokenRequestParams, mint_participant_token

router = APIRouter(tags=["token"])

# The body is parsed by hand (see create_token); this documents it exactly as FastAPI would.
# AgentConfig's schema lives in the components (the rooms API references it too).
_BODY_SCHEMA = TokenRequest.model_json_schema(ref_template="#/components/schemas/{model}")
_BODY_SCHEMA.pop("$defs", None)


async def _rate_limit(request: Request, caller: Caller) -> None:
    limiter: Limiter = request.app.state.token_limiter
    wait = await limiter.check(rate_limit_key(request, caller.key_id))
    if wait > 0:
        metrics: Metrics = request.app.state.metrics
        metrics.rate_limited.labels("/api/token").inc()
        raise ApiError(
            429,
            "rate_limited",
            "too many token requests; retry later",
            {"retry_after_seconds": round(wait, 3)},
            headers={"Retry-After": retry_after_header(wait)},
        )


def check_language(language: str, registry: CapabilityRegistry) -> None:
    """A 422 naming the supported languages when the running stack cannot serve this one."""
    caps, source, _ = registry.current()
    if caps.serves(language):
        return
    raise ApiError(
        422,
        "unsupported_language",
        f"language {language!r} is not served by this agent stack; "
        f"supported: {', '.join(caps.languages) or 'none'}",
        {"language": language, "supported": caps.languages, "source": source},
    )


async def _parse_body(request: Request) -> TokenRequest:
    # pydantic's own JSON parser, without FastAPI's body-parameter machinery: the same
    # validation and 422 shape at a fraction of the per-request cost on this hot route.
    raw = await request.body()
    if not raw.strip():
        return TokenRequest()
    try:
        return TokenRequest.model_validate_json(raw)
    except ValidationError as exc:
        errors = [{**err, "loc": ("body", *err["loc"])} for err in exc.errors()]
        raise RequestValidationError(errors) from exc


@router.post(
    "/api/token",
    response_model=TokenResponse,
    responses=ERROR_RESPONSES,
    summary="Mint a participant token that joins a room and dispatches the agent",
    description="Public callers (no key, or a token-endpoint key) get a new room, or the "
    "room of an `invite`, and a backend-assigned identity; `room_name` and "
    "`participant_identity` need a management key. See docs/security.md.",
    openapi_extra={
        "requestBody": {
            "required": False,
            "content": {"application/json": {"schema": _BODY_SCHEMA}},
        }
    },
)
async def create_token(request: Request, caller: TokenCaller) -> JSONResponse:
    # Auth (the dependency) first, so unauthenticated floods cannot drain a real caller's
    # bucket; then the rate limit, before any body is read.
    await _rate_limit(request, caller)
    settings: BackendSettings = request.app.state.settings
    body = await _parse_body(request)
    config = agent_config_for(caller, body.agent_config, settings)
    check_language(config.language, request.app.state.capabilities)
    grant = await grant_join(
        caller,
        JoinRequest(body.room_name, body.participant_identity, body.invite),
        settings,
        request.app.state.livekit,
    )
    room, identity = grant.room_name, grant.identity
    ttl = datetime.timedelta(seconds=body.ttl_seconds or settings.token_ttl_seconds)
    params = TokenRequestParams(
        room_name=room,
        identity=identity,
        display_name=body.participant_name,
        agent_name=settings.agent_name,
        agent_config=config,
        ttl=ttl,
        attributes=grant.attributes,
    )
    jwt = mint_participant_token(
        params, api_key=settings.livekit_api_key, api_secret=settings.livekit_api_secret
    )
    # A plain JSONResponse skips re-validating our own output against `response_model`
    # (which still documents the shape in OpenAPI); the fields are built right here.
    return JSONResponse(
        {
            "server_url": settings.public_livekit_url,
            "participant_token": jwt,
            "room_name": room,
            "participant_identity": identity,
        }
    )
