"""Agent API (the worker's bearer token): finished turns, session summaries, context."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response

from parley_backend import history_store
from parley_backend.auth import require_agent_token
from parley_backend.errors import ApiError
from parley_backend.observability import Metrics
from parley_backend.routes.sessions import turn_out
from parley_backend.schemas import (
    ERROR_RESPONSES,
    ContextOut,
    ErrorBody,
    SummaryAck,
    SummaryIn,
    SummaryOut,
    TurnAck,
    TurnIn,
    ts_to_datetime,
)
from parley_backend.validation import NAME_PATTERN

logger = logging.getLogger("parley.backend.agent_api")
router = APIRouter(
    prefix="/api/agent",
    tags=["agent"],
    dependencies=[Depends(require_agent_token)],
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
    room_name: str | None = Query(None, pattern=NAME_PATTERN),
    participant_identity: str | None = Query(None, pattern=r"^[^\x00-\x1f]{1,256}$"),
    limit: int = Query(50, ge=1, le=500),
) -> ContextOut:
    """Context for a room (its last turns, across sessions) or a participant (what they
    said anywhere, and the summaries of sessions they were in). Give exactly one."""
    if (room_name is None) == (participant_identity is None):
        message = "give exactly one of room_name, participant_identity"
        raise ApiError(422, "validation_error", message)
    engine = request.app.state.engine
    if room_name is not None:
        rows = await history_store.room_transcript(engine, room_name, limit=limit)
        summaries = await history_store.recent_summaries(
            engine, room_name=room_name, session_ids=None, limit=5
        )
    else:
        assert participant_identity is not None
        rows = await history_store.participant_turns(engine, participant_identity, limit=limit)
        session_ids = await history_store.sessions_of_participant(
            engine, participant_identity, limit=20
        )
        summaries = await history_store.recent_summaries(
            engine, room_name=None, session_ids=session_ids, limit=5
        )
    return ContextOut(
        room_name=room_name,
        participant_identity=participant_identity,
        turns=[turn_out(r) for r in rows],
        summaries=[_summary_out(s) for s in summaries],
    )
