"""The participant token: minimal grants and a room configuration that dispatches the agent."""

from __future__ import annotations

import datetime
import json

from livekit import api

from parley_backend.tokens import TokenRequestParams, mint_participant_token
from parley_common.agent_config import AgentConfig


def test_token_grants_and_dispatch() -> None:
    params = TokenRequestParams(
        room_name="room-1",
        identity="alice",
        display_name="Alice",
        agent_name="parley",
        agent_config=AgentConfig(persona="pirate", language="fr"),
        ttl=datetime.timedelta(minutes=10),
    )
    jwt = mint_participant_token(params, api_key="k", api_secret="s" * 32)
    claims = api.TokenVerifier("k", "s" * 32).verify(jwt)
    assert claims.identity == "alice"
    assert claims.name == "Alice"
    video = claims.video
    assert video.room == "room-1" and video.room_join
    assert video.can_publish and video.can_subscribe and video.can_publish_data
    assert not video.room_admin and not video.room_create and not video.room_list
    dispatches = claims.room_config.agents
    assert [d.agent_name for d in dispatches] == ["parley"]
    assert json.loads(dispatches[0].metadata) == {"persona": "pirate", "language": "fr"}
