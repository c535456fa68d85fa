"""``POST /api/token``: the door for browsers and frontend teams."""

from __future__ import annotations

import datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from parley_backend.settings import BackendSettings
from parley_backend.tokens import TokenRequestParams, mint_participant_token
from parley_backend.validation import DisplayName, Identity, RoomName, new_identity, new_room_name
from parley_common.agent_config import AgentConfig

router = APIRouter(tags=["token"])


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    room_name: RoomName | None = None
    participant_identity: Identity | None = None
    participant_name: DisplayName | None = None
    agent_config: AgentConfig | None = None
    ttl_seconds: int | None = Field(default=None, ge=60, le=3600)


class TokenResponse(BaseModel):
    server_url: str
    participant_token: str
    room_name: str
    participant_identity: str


@router.post("/api/token", response_model=TokenResponse)
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
