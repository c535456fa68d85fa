"""LiveKit server-API calls for meetings: the room, the agent dispatch, tokens, RPC."""

from __future__ import annotations

import datetime
import json
import logging
import secrets
from dataclasses import dataclass

import aiohttp
from livekit import api, rtc

from parley_common.agent_config import AgentConfig
from parley_common.wire import ASK_METHOD, WRAP_UP_METHOD, AskRequest

logger = logging.getLogger("parley.meetings.livekit")

# A meeting room waits this long for its first participant, then closes by itself.
ROOM_EMPTY_TIMEOUT_S = 600
ROOM_DEPARTURE_TIMEOUT_S = 20


@dataclass(frozen=True)
class LiveKitAccess:
    url: str
    api_key: str
    api_secret: str
    agent_name: str

    def api(self) -> api.LiveKitAPI:
        """A server-API client; the caller closes it (``aclose``)."""
        # A self-hosted server has one origin: region failover would only retry the same host.
        return api.LiveKitAPI(
            self.url,
            self.api_key,
            self.api_secret,
            timeout=aiohttp.ClientTimeout(total=10),
            failover=False,
        )


async def create_room_with_agent(
    lk: api.LiveKitAPI, access: LiveKitAccess, room_name: str, config: AgentConfig
) -> str:
    """Create the meeting's room and explicitly dispatch the agent; returns the dispatch id."""
    await lk.room.create_room(
        api.CreateRoomRequest(
            name=room_name,
            empty_timeout=ROOM_EMPTY_TIMEOUT_S,
            departure_timeout=ROOM_DEPARTURE_TIMEOUT_S,
        )
    )
    dispatch = await lk.agent_dispatch.create_dispatch(
        api.CreateAgentDispatchRequest(
            agent_name=access.agent_name, room=room_name, metadata=config.to_metadata()
        )
    )
    return dispatch.id


async def delete_room(lk: api.LiveKitAPI, room_name: str) -> None:
    """Close the room (disconnects the agent); a room that is already gone is fine."""
    try:
        await lk.room.delete_room(api.DeleteRoomRequest(room=room_name))
    except api.ServerError as exc:
        if exc.code != api.ServerErrorCode.NOT_FOUND:
            raise


def participant_token(
    access: LiveKitAccess,
    *,
    room_name: str,
    identity: str,
    name: str,
    attributes: dict[str, str] | None = None,
    hidden: bool = False,
    kind: str | None = None,
    ttl_s: int = 6 * 3600,
    publish_media: bool = True,
) -> str:
    # Microphone only (the bridge publishes the meeting's mixed audio as one); helpers that
    # only make RPC calls publish no media at all.
    publishes = not hidden and publish_media
    grants = api.VideoGrants(
        room_join=True,
        room=room_name,
        can_publish=publishes,
        can_publish_sources=["microphone"] if publishes else None,
        can_subscribe=True,
        can_publish_data=True,
        can_update_own_metadata=True,
        hidden=hidden,
    )
    token = (
        api.AccessToken(access.api_key, access.api_secret)
        .with_identity(identity)
        .with_name(name)
        .with_grants(grants)
        .with_ttl(datetime.timedelta(seconds=ttl_s))
    )
    if attributes:
        token = token.with_attributes(attributes)
    if kind:
        # "bridge" is a LiveKit participant kind that livekit-api 1.2.2's Literal lacks.
        token = token.with_kind(kind)  # type: ignore[arg-type]
    return token.to_jwt()


class AgentNotPresent(Exception):
    pass


def find_agent(room: rtc.Room) -> rtc.RemoteParticipant | None:
    for participant in room.remote_participants.values():
        if participant.kind == rtc.ParticipantKind.PARTICIPANT_KIND_AGENT:
            return participant
    return None


async def ask_agent(room: rtc.Room, question: str, timeout: float = 10.0) -> dict:
    """Call ``parley.ask`` on the agent in ``room``; returns its JSON reply.

    Raises ``AgentNotPresent`` when no agent is in the room and ``rtc.RpcError`` when the
    agent refuses or does not answer.
    """
    agent = find_agent(room)
    if agent is None:
        raise AgentNotPresent
    raw = await room.local_participant.perform_rpc(
        destination_identity=agent.identity,
        method=ASK_METHOD,
        payload=AskRequest(question=question).model_dump_json(),
        response_timeout=timeout,
    )
    try:
        reply = json.loads(raw) if raw else {}
    except json.JSONDecodeError:
        reply = {"raw": raw[:500]}
    return reply if isinstance(reply, dict) else {"reply": reply}


async def wrap_up_agent(room: rtc.Room, timeout: float) -> dict:
    """Call ``parley.wrap_up`` on the agent in ``room`` (it posts its summary to the chat)."""
    agent = find_agent(room)
    if agent is None:
        raise AgentNotPresent
    raw = await room.local_participant.perform_rpc(
        destination_identity=agent.identity,
        method=WRAP_UP_METHOD,
        payload="{}",
        response_timeout=timeout,
    )
    try:
        reply = json.loads(raw) if raw else {}
    except json.JSONDecodeError:
        reply = {"raw": raw[:500]}
    return reply if isinstance(reply, dict) else {"reply": reply}


async def ask_agent_transient(
    access: LiveKitAccess, room_name: str, question: str, *, kind: str = "bridge"
) -> dict:
    """Join briefly to make the call when the bridge is not in the room.

    Kind ``bridge`` keeps the agent from taking this helper for the user it should listen
    to (agents link to standard/SIP/connector participants); a hidden participant would
    not do: RPC acknowledgements never reach one.
    """
    room = rtc.Room()
    token = participant_token(
        access,
        room_name=room_name,
        identity=f"parley-ask-{secrets.token_hex(4)}",
        name="Parley console",
        kind=kind,
        ttl_s=300,
        publish_media=False,
    )
    await room.connect(access.url, token)
    try:
        return await ask_agent(room, question)
    finally:
        await room.disconnect()
