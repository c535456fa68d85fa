"""Agent API (the worker's bearer token): finished turns, session summaries, context."""

from __future__ import annotations

import logging
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from livekit import api

from parley_backend import history_store
from parley_backend.access_policy import agent_caller
from parley_backend.errors import ApiError
from parley_backend.livekit_service import livekit_errors
from parley_backend.observability import Metrics
from parley_backend.routes.sessions import turn_out
from parley_backend.schemas import (
    ERROR_RESPONSES,
    ContextOut,
    ErrorBody,
    SummaryAck,
    SummaryIn,
    TurnAck,
    TurnIn,
    ts_to_datetime,
)
from parley_backend.validation import NAME_PATTERN
from parley_common.access import trusted_with_history
from parley_common.wire import SummaryOut

logger = logging.getLogger("parley.backend.agent_api")
router = APIRouter(
    prefix="/api/agent",
    tags=["agent"],
    dependencies=[Depends(agent_caller)],
    responses={
        **ERROR_RESPONSES,
        409: {"model": ErrorBody, "description": "Same idempotency key, different content"},
    },
)


def _epoch(value: Any) -> float | None:
    return None if value is None else value.timestamp()


def _summary_out(row: dict[str, Any]) -> SummaryOut:
    return SummaryOut(
        id=row["id"],
        session_id=row["session_id"],
        room_name=row["room_name"],
        job_id=row["job_id"],
        text=row["text"],
        received_at=ts_to_datetime(row["received_at"]),
    )


@router.post(
    "/turns",
    response_model=TurnAck,
    status_code=201,
    summary="Record a finished turn (idempotent by turn_id)",
    responses={200: {"model": TurnAck, "description": "Already stored (a retry)"}},
)
async def post_turn(request: Request, body: TurnIn, response: Response) -> TurnAck:
    metrics: Metrics = request.app.state.metrics
    turn = history_store.TurnWrite(
        id=body.turn_id,
        room_name=body.room_name,
        room_sid=body.room_sid,
        job_id=body.job_id,
        seq=body.seq,
        speaker_identity=body.speaker_identity,
        role=body.role,
        text=body.text,
        language=body.language,
        started_at=_epoch(body.started_at),
        ended_at=_epoch(body.ended_at),
        interrupted=body.interrupted,
        latency=(body.latency.model_dump(exclude_none=True) or None) if body.latency else None,
    )
    inserted, row = await history_store.store_turn(request.app.state.engine, turn)
    if not inserted and not history_store.same_turn(row, turn):
        raise ApiError(409, "conflict", f"turn {body.turn_id!r} exists with different content")
    metrics.turns.labels("stored" if inserted else "duplicate").inc()
    if not inserted:
        response.status_code = 200
    logger.info(
        "turn %s",
        "stored" if inserted else "duplicate",
        extra={"room": body.room_name, "job_id": body.job_id, "turn_id": body.turn_id},
    )
    return TurnAck(turn=turn_out(row), duplicate=not inserted)


@router.post(
    "/summaries",
    response_model=SummaryAck,
    status_code=201,
    summary="Record a session summary (idempotent by summary_id)",
    responses={200: {"model": SummaryAck, "description": "Already stored (a retry)"}},
)
async def post_summary(request: Request, body: SummaryIn, response: Response) -> SummaryAck:
    inserted, row = await history_store.store_summary(
        request.app.state.engine,
        summary_id=body.summary_id,
        room_name=body.room_name,
        room_sid=body.room_sid,
        job_id=body.job_id,
        text=body.text,
        data=body.data,
    )
    if not inserted and (row["text"] != body.text or row["room_name"] != body.room_name):
        raise ApiError(
            409, "conflict", f"summary {body.summary_id!r} exists with different content"
        )
    if not inserted:
        response.status_code = 200
    logger.info(
        "summary %s",
        "stored" if inserted else "duplicate",
        extra={"room": body.room_name, "job_id": body.job_id},
    )
    return SummaryAck(summary=_summary_out(row), duplicate=not inserted)


@router.get("/context", response_model=ContextOut, summary="Recent turns and summaries")
async def get_context(
    request: Request,
    room_name: str = Query(pattern=NAME_PATTERN, description="The room the agent runs in"),
    participant_identity: str | None = Query(
        None, pattern=r"^[^\x00-\x1f]{1,256}$", description="The participant the agent talks to"
    ),
    about: Literal["room", "participant"] = Query(
        "room", description="participant: what that identity said anywhere (if vouched for)"
    ),
    limit: int = Query(50, ge=1, le=500),
) -> ContextOut:
    """Context for the agent's room (its last turns, across sessions) or its participant.

    With ``participant_identity`` the backend asks LiveKit for that live participant of
    ``room_name``: one that is not there gets nothing at all, and a participant-wide
    look-up is answered only when its ``parley.caller`` attribute (signed into its token
    by this backend) says a management caller chose the identity. Anyone else sees that
    room's turns only, whatever the agent asks for, so a confused or prompt-injected agent
    cannot read another person's (or another room's) conversations back.
    """
    engine = request.app.state.engine
    scope = "room"
    if participant_identity is not None:
        attributes = await _live_participant(
            request.app.state.livekit, room_name, participant_identity
        )
        if attributes is None:
            scope = "none"
        elif about == "participant" and trusted_with_history(attributes):
            scope = "participant"
    rows: list[dict[str, Any]] = []
    summaries: list[dict[str, Any]] = []
    if scope == "participant":
        assert participant_identity is not None
        rows = await history_store.participant_turns(engine, participant_identity, limit=limit)
        session_ids = await history_store.sessions_of_participant(
            engine, participant_identity, limit=20
        )
        summaries = await history_store.recent_summaries(
            engine, room_name=None, session_ids=session_ids, limit=5
        )
    elif scope == "room":
        rows = await history_store.room_transcript(engine, room_name, limit=limit)
        summaries = await history_store.recent_summaries(
            engine, room_name=room_name, session_ids=None, limit=5
        )
    logger.info("context look-up", extra={"room": room_name, "scope": scope})
    return ContextOut(
        room_name=room_name,
        participant_identity=participant_identity if scope == "participant" else None,
        turns=[turn_out(r) for r in rows],
        summaries=[_summary_out(s) for s in summaries],
    )


async def _live_participant(
    lkapi: api.LiveKitAPI, room_name: str, identity: str
) -> dict[str, str] | None:
    """The attributes of ``identity`` in ``room_name`` right now, or None if not there."""
    try:
        async with livekit_errors("get participant"):
            info = await lkapi.room.get_participant(
                api.RoomParticipantIdentity(room=room_name, identity=identity)
            )
    except ApiError as exc:
        if exc.status == 404:
            return None
        raise
    return dict(info.attributes)
