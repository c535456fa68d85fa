"""Management API: sessions (derived from LiveKit webhooks), their events and transcripts."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request

from parley_backend import history_store
from parley_backend.access_policy import management_caller
from parley_backend.errors import ApiError
from parley_backend.schemas import (
    ERROR_RESPONSES,
    ErrorBody,
    EventList,
    EventOut,
    ParticipantOut,
    SessionDetail,
    SessionList,
    SessionOut,
    Transcript,
    ts_to_datetime,
)
from parley_backend.validation import NAME_PATTERN
from parley_common.wire import TurnOut

router = APIRouter(
    prefix="/api/sessions",
    tags=["sessions"],
    dependencies=[Depends(management_caller)],
    responses={**ERROR_RESPONSES, 404: {"model": ErrorBody, "description": "No such session"}},
)

SessionPath = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="Session id (the room SID)")
]
Limit = Query(100, ge=1, le=1000)
Offset = Query(0, ge=0, le=1_000_000)


def session_out(row: dict[str, Any]) -> SessionOut:
    return SessionOut(
        id=row["id"],
        room_name=row["room_name"],
        status=row["status"],
        started_at=ts_to_datetime(row["started_at"]),
        ended_at=ts_to_datetime(row["ended_at"]),
        end_reason=row["end_reason"],
        room_metadata=row["room_metadata"],
    )


def turn_out(row: dict[str, Any]) -> TurnOut:
    return TurnOut(
        id=row["id"],
        session_id=row["session_id"],
        room_name=row["room_name"],
        job_id=row["job_id"],
        speaker_identity=row["speaker_identity"],
        role=row["role"],
        text=row["text"],
        language=row["language"],
        started_at=ts_to_datetime(row["started_at"]),
        ended_at=ts_to_datetime(row["ended_at"]),
        interrupted=bool(row["interrupted"]),
        latency=row["latency"],
    )


async def _require_session(request: Request, session_id: str) -> dict[str, Any]:
    row = await history_store.get_session(request.app.state.engine, session_id)
    if row is None:
        raise ApiError(404, "not_found", f"session {session_id!r} not found")
    return row


@router.get("", response_model=SessionList, summary="List sessions, newest first")
async def list_sessions(
    request: Request,
    room_name: str | None = Query(None, pattern=NAME_PATTERN),
    status: Literal["active", "ended"] | None = None,
    limit: int = Limit,
    offset: int = Offset,
) -> SessionList:
    rows = await history_store.list_sessions(
        request.app.state.engine, room_name=room_name, status=status, limit=limit, offset=offset
    )
    return SessionList(sessions=[session_out(r) for r in rows])


@router.get("/{session_id}", response_model=SessionDetail, summary="One session")
async def get_session(request: Request, session_id: SessionPath) -> SessionDetail:
    row = await _require_session(request, session_id)
    participants = [
        ParticipantOut(
            identity=p["identity"],
            participant_sid=p["participant_sid"],
            name=p["name"],
            kind=p["kind"],
            joined_at=ts_to_datetime(p["joined_at"]),
            left_at=ts_to_datetime(p["left_at"]),
        )
        for p in row["participants"]
    ]
    return SessionDetail(
        **session_out(row).model_dump(), participants=participants, turn_count=row["turn_count"]
    )


@router.get("/{session_id}/events", response_model=EventList, summary="A session's LiveKit events")
async def get_events(
    request: Request, session_id: SessionPath, limit: int = Limit, offset: int = Offset
) -> EventList:
    await _require_session(request, session_id)
    rows = await history_store.session_events(
        request.app.state.engine, session_id, limit=limit, offset=offset
    )
    return EventList(
        events=[
            EventOut(
                id=r["id"],
                event=r["event"],
                room_name=r["room_name"],
                participant_identity=r["participant_identity"],
                track_sid=r["track_sid"],
                occurred_at=ts_to_datetime(r["occurred_at"]),
                received_at=ts_to_datetime(r["received_at"]),
                payload=r["payload"],
            )
            for r in rows
        ]
    )


@router.get(
    "/{session_id}/transcript", response_model=Transcript, summary="A session's turns, in order"
)
async def get_transcript(
    request: Request, session_id: SessionPath, limit: int = Limit, offset: int = Offset
) -> Transcript:
    rows = await history_store.session_transcript(
        request.app.state.engine, session_id, limit=limit, offset=offset
    )
    if not rows:
        # Turns can arrive before the webhooks that create their session; only an
        # unknown session with no turns is "not found".
        await _require_session(request, session_id)
    return Transcript(session_id=session_id, turns=[turn_out(r) for r in rows])
