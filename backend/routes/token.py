"""``POST /api/token``: the door for browsers and frontend teams."""

from __future__ import annotations

import datetime

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from parley_backend.auth import require_token_caller
from parley_backend.errors import ApiError
from parley_backend.observability import Metrics
from parley_backend.rate_limit import Limiter, rate_limit_key, retry_after_header
from parley_backend.schemas import ERROR_RESPONSES, TokenRequest, TokenResponse
from parley_backend.settings import BackendSettings
from parley_backend.tokens import TokenRequestParams, mint_participant_token
from parley_backend.validation import new_identity, new_room_name
from parley_common.agent_config import AgentConfig

router = APIRouter(tags=["token"])

# The body is parsed by hand (see create_token); this documents it exactly as FastAPI would.
# AgentConfig's schema lives in the components (the rooms API references it too).
_BODY_SCHEMA = TokenRequest.model_json_schema(ref_template="#/components/schemas/{model}")
_BODY_SCHEMA.pop("$defs", None)


async def _rate_limit(request: Request) -> None:
    limiter: Limiter = request.app.state.token_limiter
    wait = await limiter.check(rate_limit_key(request))
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
    openapi_extra={
        "requestBody": {
            "required": False,
            "content": {"application/json": {"schema": _BODY_SCHEMA}},
        }
    },
)
async def create_token(request: Request) -> JSONResponse:
    # Called inline rather than as dependencies: this is the hottest route, and resolving
    # dependencies costs more than the checks. Auth first, so unauthenticated floods cannot
    # drain a real caller's bucket.
    await require_token_caller(request)
    await _rate_limit(request)
    settings: BackendSettings = request.app.state.settings
    body = await _parse_body(request)
    room = body.room_name or new_room_name()
    identity = body.participant_identity or new_identity()
    ttl = datetime.timedelta(seconds=body.ttl_seconds or settings.token_ttl_seconds)
    params = TokenRequestParams(
        room_name=room,
        identity=identity,
        display_name=body.participant_name,
        agent_name=settings.agent_name,
        agent_config=body.agent_config or AgentConfig(),
        ttl=ttl,
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
