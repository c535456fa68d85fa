"""Participant tokens: minimal grants plus a room configuration that dispatches the agent."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

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
    # Signed into the token; the participant cannot change them (no canUpdateOwnMetadata).
    attributes: dict[str, str] = field(default_factory=dict)


# Only the microphone: no camera, no screen share (no feature needs them yet). Data
# publishing stays on for typed chat (``lk.chat``).
PUBLISH_SOURCES = ["microphone"]


def mint_participant_token(params: TokenRequestParams, *, api_key: str, api_secret: str) -> str:
    """Sign a join token that lets one person talk in one room and summons the agent.

    The grants are the least a voice client needs: join, publish its microphone,
    subscribe and publish data (typed chat). No room admin, no recording, no listing of
    rooms, no changing its own name or attributes.
    """
    grants = api.VideoGrants(
        room_join=True,
        room=params.room_name,
        can_publish=True,
        can_publish_sources=list(PUBLISH_SOURCES),
        can_subscribe=True,
        can_publish_data=True,
        can_update_own_metadata=False,
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
    if params.attributes:
        token = token.with_attributes(params.attributes)
    return token.to_jwt()
