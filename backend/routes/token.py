"""``POST /api/token``: the door for browsers and frontend teams."""

from __future__ import annotations

import datetime

from fastapi import APIRouter, Depends, Request

from parley_backend.auth import client_key, require_token_caller
from parley_backend.errors import ApiError
from parley_backend.observability import Metrics
from parley_backend.rate_limit import TokenBucketLimiter, retry_after_header
from parley_backend.schemas import ERROR_RESPONSES, TokenRequest, TokenResponse
from parley_backend.settings import BackendSettings
from parley_backend.tokens import TokenRequestParams, mint_participant_token
from parley_backend.validation import new_identity, new_room_name
from parley_common.agent_config import AgentConfig

router = APIRouter(tags=["token"])


async def _rate_limit(request: Request) -> None:
    limiter: TokenBucketLimiter = request.app.state.token_limiter
    wait = limiter.acquire(client_key(request))
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


@router.post(
    "/api/token",
    response_model=TokenResponse,
    # Auth before the limiter: unauthenticated floods must not drain a real caller's bucket.
    dependencies=[Depends(require_token_caller), Depends(_rate_limit)],
    responses=ERROR_RESPONSES,
    summary="Mint a participant token that joins a room and dispatches the agent",
)
async def create_token(request: Request, body: TokenRequest | None = None) -> TokenResponse:
    settings: BackendSettings = request.app.state.settings
    body = body or TokenRequest()
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
    return TokenResponse(
        server_url=settings.public_livekit_url,
        participant_token=jwt,
        room_name=room,
        participant_identity=identity,
    )
