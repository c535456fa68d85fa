"""Management API: rooms and explicit agent dispatches on the LiveKit server."""

from __future__ import annotations

import datetime
import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from livekit import api
from pydantic import BaseModel, ConfigDict, Field

from parley_backend.access_policy import invite_ttl, management_caller
from parley_backend.errors import ApiError
from parley_backend.invites import encode_invite, invite_key, mint_invite
from parley_backend.livekit_service import get_livekit, livekit_errors
from parley_backend.schemas import (
    UPSTREAM_RESPONSES,
    DispatchCreate,
    DispatchList,
    DispatchOut,
    RoomCreate,
    RoomCreated,
    RoomList,
    RoomOut,
    ts_to_datetime,
)
from parley_backend.settings import BackendSettings
from parley_backend.validation import NAME_PATTERN, new_room_name
from parley_common.access import MEETING_ROOM_PREFIX, is_meeting_room
from parley_common.agent_config import AgentConfig

logger = logging.getLogger("parley.backend.rooms")
router = APIRouter(
    prefix="/api/rooms",
    tags=["rooms"],
    dependencies=[Depends(management_caller)],
    responses=UPSTREAM_RESPONSES,
)

RoomPath = Annotated[str, Path(pattern=NAME_PATTERN, description="Room name")]
DispatchIdPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="Dispatch id")]
LiveKit = Annotated[api.LiveKitAPI, Depends(get_livekit)]


def _room_out(room: api.Room) -> RoomOut:
    return RoomOut(
        sid=room.sid,
        name=room.name,
        metadata=room.metadata,
        empty_timeout=room.empty_timeout,
        max_participants=room.max_participants,
        num_participants=room.num_participants,
        created_at=ts_to_datetime(float(room.creation_time)) if room.creation_time else None,
    )


def _dispatch_out(dispatch: api.AgentDispatch) -> DispatchOut:
    created = dispatch.state.created_at  # nanoseconds
    return DispatchOut(
        id=dispatch.id,
        agent_name=dispatch.agent_name,
        room=dispatch.room,
        metadata=dispatch.metadata,
        created_at=ts_to_datetime(created / 1e9) if created else None,
        jobs=len(dispatch.state.jobs),
    )


async def _create_dispatch(
    lkapi: api.LiveKitAPI, room: str, agent_name: str, config: AgentConfig
) -> api.AgentDispatch:
    async with livekit_errors("create dispatch"):
        return await lkapi.agent_dispatch.create_dispatch(
            api.CreateAgentDispatchRequest(
                agent_name=agent_name, room=room, metadata=config.to_metadata()
            )
        )


async def _find_room(lkapi: api.LiveKitAPI, name: str) -> api.Room | None:
    async with livekit_errors("list rooms"):
        found = await lkapi.room.list_rooms(api.ListRoomsRequest(names=[name]))
    return found.rooms[0] if found.rooms else None


async def _require_room(lkapi: api.LiveKitAPI, name: str) -> api.Room:
    # Dispatch calls for a room that does not exist time out inside LiveKit (it looks for
    # the node hosting the room) and come back as "unavailable": answer 404 up front.
    room = await _find_room(lkapi, name)
    if room is None:
        raise ApiError(404, "not_found", f"room {name!r} not found")
    return room


@router.post("", response_model=RoomCreated, status_code=201, summary="Create a room")
async def create_room(request: Request, body: RoomCreate, lkapi: LiveKit) -> RoomCreated:
    """Create a room and (by default) explicitly dispatch the agent into it.

    If the dispatch fails the room is deleted again, so a failed call leaves nothing behind.
    An existing room of that name is refused (409) rather than silently reused.
    """
    settings: BackendSettings = request.app.state.settings
    name = body.name or new_room_name()
    if is_meeting_room(name):
        raise ApiError(
            403,
            "forbidden",
            f"room names starting {MEETING_ROOM_PREFIX!r} belong to the meetings API",
            {"field": "name"},
        )
    if body.name and await _find_room(lkapi, name) is not None:
        raise ApiError(409, "conflict", f"room {name!r} already exists")
    async with livekit_errors("create room"):
        room = await lkapi.room.create_room(
            api.CreateRoomRequest(
                name=name,
                metadata=body.metadata or "",
                empty_timeout=body.empty_timeout,
                max_participants=body.max_participants,
            )
        )
    dispatch = None
    if body.dispatch_agent:
        try:
            dispatch = await _create_dispatch(
                lkapi,
                name,
                body.agent_name or settings.agent_name,
                body.agent_config or AgentConfig(),
            )
        except ApiError:
            try:
                async with livekit_errors("delete room"):
                    await lkapi.room.delete_room(api.DeleteRoomRequest(room=name))
            except ApiError:
                logger.error("room left behind after a failed dispatch", extra={"room": name})
            raise
    logger.info(
        "room created",
        extra={"room": name, "dispatch_id": dispatch.id if dispatch else None},
    )
    return RoomCreated(room=_room_out(room), dispatch=_dispatch_out(dispatch) if dispatch else None)


@router.get("", response_model=RoomList, summary="List active rooms")
async def list_rooms(lkapi: LiveKit) -> RoomList:
    async with livekit_errors("list rooms"):
        found = await lkapi.room.list_rooms(api.ListRoomsRequest())
    return RoomList(rooms=[_room_out(r) for r in found.rooms])


@router.get("/{room_name}", response_model=RoomOut, summary="Get one room")
async def get_room(room_name: RoomPath, lkapi: LiveKit) -> RoomOut:
    return _room_out(await _require_room(lkapi, room_name))


@router.delete("/{room_name}", status_code=204, summary="Delete a room (disconnects everyone)")
async def delete_room(room_name: RoomPath, lkapi: LiveKit) -> Response:
    await _require_room(lkapi, room_name)
    async with livekit_errors("delete room"):
        await lkapi.room.delete_room(api.DeleteRoomRequest(room=room_name))
    logger.info("room deleted", extra={"room": room_name})
    return Response(status_code=204)


@router.post(
    "/{room_name}/dispatches",
    response_model=DispatchOut,
    status_code=201,
    summary="Dispatch an agent into a room",
)
async def create_dispatch(
    request: Request,
    body: DispatchCreate,
    room_name: RoomPath,
    lkapi: LiveKit,
) -> DispatchOut:
    settings: BackendSettings = request.app.state.settings
    await _require_room(lkapi, room_name)
    dispatch = await _create_dispatch(
        lkapi, room_name, body.agent_name or settings.agent_name, body.agent_config or AgentConfig()
    )
    logger.info("dispatch created", extra={"room": room_name, "dispatch_id": dispatch.id})
    return _dispatch_out(dispatch)


@router.get(
    "/{room_name}/dispatches", response_model=DispatchList, summary="List a room's dispatches"
)
async def list_dispatches(room_name: RoomPath, lkapi: LiveKit) -> DispatchList:
    await _require_room(lkapi, room_name)
    async with livekit_errors("list dispatches"):
        found = await lkapi.agent_dispatch.list_dispatch(room_name)
    return DispatchList(dispatches=[_dispatch_out(d) for d in found])


@router.delete(
    "/{room_name}/dispatches/{dispatch_id}", status_code=204, summary="Delete a dispatch"
)
async def delete_dispatch(
    room_name: RoomPath,
    dispatch_id: DispatchIdPath,
    lkapi: LiveKit,
) -> Response:
    await _require_room(lkapi, room_name)
    async with livekit_errors("list dispatches"):
        existing = await lkapi.agent_dispatch.list_dispatch(room_name)
    if not any(d.id == dispatch_id for d in existing):
        raise ApiError(404, "not_found", f"dispatch {dispatch_id!r} not found in {room_name!r}")
    async with livekit_errors("delete dispatch"):
        await lkapi.agent_dispatch.delete_dispatch(dispatch_id, room_name)
    logger.info("dispatch deleted", extra={"room": room_name, "dispatch_id": dispatch_id})
    return Response(status_code=204)


class InviteCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ttl_seconds: int | None = Field(
        default=None, ge=60, le=86_400, description="Lifetime; PARLEY_INVITE_TTL_SECONDS if absent"
    )


class InviteOut(BaseModel):
    invite: str = Field(description="Opaque; give it to POST /api/token as `invite`")
    room_name: str
    expires_at: datetime.datetime


@router.post(
    "/{room_name}/invites",
    response_model=InviteOut,
    status_code=201,
    summary="Mint a short-lived invite that lets a public caller join this room",
)
async def create_invite(
    request: Request,
    room_name: RoomPath,
    lkapi: LiveKit,
    body: InviteCreate | None = None,
) -> InviteOut:
    """The invitee joins under an identity the backend assigns. Meeting rooms never take
    invites: their audio and speakers are management-only."""
    settings: BackendSettings = request.app.state.settings
    if is_meeting_room(room_name):
        raise ApiError(403, "forbidden", "meeting rooms do not accept invites")
    await _require_room(lkapi, room_name)
    ttl = invite_ttl(settings, body.ttl_seconds if body else None)
    invite = mint_invite(room_name, int(ttl.total_seconds()))
    text = encode_invite(invite_key(settings.invite_secret, settings.livekit_api_secret), invite)
    logger.info("invite minted", extra={"room": room_name, "invite_nonce": invite.nonce})
    return InviteOut(
        invite=text,
        room_name=room_name,
        expires_at=datetime.datetime.fromtimestamp(invite.expires_at, datetime.UTC),
    )
