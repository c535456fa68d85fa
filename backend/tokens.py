"""Participant tokens: minimal grants plus a room configuration that dispatches the agent."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from livekit import api

from parley_common.agent_config import AgentConfig


@dataclass(frozen=True)
class TokenRequestParams:
    room_name: str
    identity: str
    display_name: str | None
    agent_name: str
    agent_config: AgentConfig
    ttl: datetime.timedelta


def mint_participant_token(params: TokenRequestParams, *, api_key: str, api_secret: str) -> str:
    """Sign a join token that lets one person talk in one room and summons the agent.

    The grants are the least a voice client needs: join, publish audio, subscribe and
    publish data (typed chat). No room admin, no recording, no listing of rooms.
    """
    grants = api.VideoGrants(
        room_join=True,
        room=params.room_name,
        can_publish=True,
        can_subscribe=True,
        can_publish_data=True,
    )
    room_config = api.RoomConfiguration(
        agents=[
            api.RoomAgentDispatch(
                agent_name=params.agent_name, metadata=params.agent_config.to_metadata()
            )
        ]
    )
    token = (
        api.AccessToken(api_key, api_secret)
        .with_identity(params.identity)
        .with_grants(grants)
        .with_ttl(params.ttl)
        .with_room_config(room_config)
    )
    if params.display_name:
        token = token.with_name(params.display_name)
    return token.to_jwt()
