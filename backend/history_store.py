"""Reads and writes of session history, in one transaction per acknowledged request.

A request is answered only after its transaction commits, so whatever the backend has
acknowledged survives a restart; a resent request finds its primary key already there.
Writes are plain SQLAlchemy Core functions run by ``db.run_write`` (one transaction, one
thread hop on SQLite); reads use the async engine.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from google.protobuf.json_format import MessageToDict
from livekit.protocol.models import ParticipantInfo
from livekit.protocol.webhook import WebhookEvent
from sqlalchemy import Table, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from parley_backend.db import run_write
from parley_backend.history_tables import (
    session_participants,
    sessions,
    summaries,
    turns,
    webhook_events,
)

logger = logging.getLogger("parley.backend.history")

_ROOM_END_EVENTS = frozenset({"room_finished"})
_PARTICIPANT_LEFT_EVENTS = frozenset({"participant_left", "participant_connection_aborted"})


def _dialect_insert(dialect: str, table: Table) -> Any:
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise RuntimeError(f"unsupported database dialect {dialect}")  # pragma: no cover


# Statements are built once and executed with parameter dicts: building them per call with
# `.values(...)` cost more than the database work itself (bind objects, cache keys).
@lru_cache(maxsize=64)
def _insert_ignore_stmt(dialect: str, table: Table) -> Any:
    return _dialect_insert(dialect, table).on_conflict_do_nothing()


@lru_cache(maxsize=64)
def _upsert_stmt(dialect: str, table: Table, changed: tuple[str, ...]) -> Any:
    stmt = _dialect_insert(dialect, table)
    keys = [c.name for c in table.primary_key.columns]
    return stmt.on_conflict_do_update(
        index_elements=keys, set_={name: stmt.excluded[name] for name in changed}
    )


def insert_ignore(conn: Connection, table: Table, values: dict[str, Any]) -> bool:
    """INSERT unless the primary key exists. Returns whether a row was inserted."""
    return conn.execute(_insert_ignore_stmt(conn.dialect.name, table), values).rowcount == 1


def upsert(
    conn: Connection, table: Table, values: dict[str, Any], changed: tuple[str, ...]
) -> None:
    """INSERT ``values``, or on a primary-key clash set the ``changed`` columns from them."""
    conn.execute(_upsert_stmt(conn.dialect.name, table, changed), values)


# --------------------------------------------------------------------------- webhooks


@dataclass(frozen=True)
class IngestResult:
    stored: bool  # False: this event id was already stored
    session_id: str | None


def _participant_kind(event: WebhookEvent) -> str:
    try:
        return ParticipantInfo.Kind.Name(event.participant.kind).lower()
    except ValueError:  # a kind newer than this protocol package
        return str(event.participant.kind)


async def ingest_webhook(engine: AsyncEngine, event: WebhookEvent, raw_body: str) -> IngestResult:
    """Store a verified event once and fold it into its session, atomically."""
    return await run_write(engine, _ingest, event, raw_body, time.time())


def _ingest(conn: Connection, event: WebhookEvent, raw_body: str, now: float) -> IngestResult:
    occurred = float(event.created_at) if event.created_at else now
    room_sid = event.room.sid or None
    room_name = event.room.name or None
    stored = insert_ignore(
        conn,
        webhook_events,
        {
            "id": event.id,
            "event": event.event,
            "room_name": room_name,
            "room_sid": room_sid,
            "participant_identity": event.participant.identity or None,
            "participant_sid": event.participant.sid or None,
            "track_sid": event.track.sid or None,
            "occurred_at": occurred,
            "received_at": now,
            "payload": raw_body,
        },
    )
    if stored and room_sid and room_name:
        _fold_into_session(conn, event, room_sid, room_name, occurred)
    return IngestResult(stored, room_sid)


def _fold_into_session(
    conn: Connection, event: WebhookEvent, room_sid: str, room_name: str, occurred: float
) -> None:
    """Create or update the event's session and participant, one statement each."""
    started = float(event.room.creation_time) if event.room.creation_time else occurred
    # Events may arrive out of order: any event of a room creates its session.
    session_row: dict[str, Any] = {
        "id": room_sid,
        "room_name": room_name,
        "status": "active",
        "started_at": started,
        "ended_at": None,
        "end_reason": None,
        "room_metadata": event.room.metadata or None,
    }
    if event.event == "room_started":
        upsert(conn, sessions, session_row, ("started_at", "room_metadata"))
    elif event.event in _ROOM_END_EVENTS:
        reason = MessageToDict(event).get("roomEndReason") if event.room_end_reason else None
        ended = {"status": "ended", "ended_at": occurred, "end_reason": reason}
        upsert(conn, sessions, {**session_row, **ended}, ("status", "ended_at", "end_reason"))
    else:
        insert_ignore(conn, sessions, session_row)
    identity = event.participant.identity
    if not identity:
        return
    joined = event.event == "participant_joined"
    left = event.event in _PARTICIPANT_LEFT_EVENTS
    person = {
        "session_id": room_sid,
        "identity": identity,
        "participant_sid": event.participant.sid or None,
        "name": event.participant.name or None,
        "kind": _participant_kind(event),
        "joined_at": occurred if joined else None,
        "left_at": occurred if left else None,
    }
    if joined:
        upsert(conn, session_participants, person, ("joined_at", "participant_sid"))
    elif left:
        upsert(conn, session_participants, person, ("left_at",))
    else:
        insert_ignore(conn, session_participants, person)


# --------------------------------------------------------------------------- turns


@dataclass(frozen=True)
class TurnWrite:
    id: str
    room_name: str
    room_sid: str | None
    job_id: str | None
    seq: int | None
    speaker_identity: str
    role: str
    text: str
    language: str | None
    started_at: float | None
    ended_at: float | None
    interrupted: bool
    latency: dict[str, float] | None


def _session_for_room(conn: Connection, room_name: str) -> str | None:
    row = conn.execute(
        select(sessions.c.id)
        .where(sessions.c.room_name == room_name)
        .order_by(sessions.c.started_at.desc())
        .limit(1)
    )
    return row.scalar_one_or_none()


async def store_turn(engine: AsyncEngine, turn: TurnWrite) -> tuple[bool, dict[str, Any]]:
    """Insert a turn once. Returns (inserted, the stored row)."""
    return await run_write(engine, _store_turn, turn, time.time())


def _store_turn(conn: Connection, turn: TurnWrite, now: float) -> tuple[bool, dict[str, Any]]:
    session_id = turn.room_sid or _session_for_room(conn, turn.room_name)
    values = {
        "id": turn.id,
        "session_id": session_id,
        "room_name": turn.room_name,
        "job_id": turn.job_id,
        "seq": turn.seq,
        "speaker_identity": turn.speaker_identity,
        "role": turn.role,
        "text": turn.text,
        "language": turn.language,
        "started_at": turn.started_at,
        "ended_at": turn.ended_at,
        "interrupted": turn.interrupted,
        "latency": turn.latency,
        "received_at": now,
    }
    inserted = insert_ignore(conn, turns, values)
    row = conn.execute(select(turns).where(turns.c.id == turn.id)).mappings().one()
    return inserted, dict(row)


def same_turn(stored: dict[str, Any], turn: TurnWrite) -> bool:
    """Whether a resent turn carries the same content as the stored one."""
    return bool(
        stored["room_name"] == turn.room_name
        and stored["speaker_identity"] == turn.speaker_identity
        and stored["role"] == turn.role
        and stored["text"] == turn.text
    )


async def store_summary(
    engine: AsyncEngine,
    *,
    summary_id: str,
    room_name: str,
    room_sid: str | None,
    job_id: str | None,
    text: str,
    data: dict[str, Any] | None,
) -> tuple[bool, dict[str, Any]]:
    values = {
        "id": summary_id,
        "room_name": room_name,
        "job_id": job_id,
        "text": text,
        "data": data,
        "received_at": time.time(),
    }
    return await run_write(engine, _store_summary, values, room_sid)


def _store_summary(
    conn: Connection, values: dict[str, Any], room_sid: str | None
) -> tuple[bool, dict[str, Any]]:
    session_id = room_sid or _session_for_room(conn, values["room_name"])
    inserted = insert_ignore(conn, summaries, {**values, "session_id": session_id})
    row = conn.execute(select(summaries).where(summaries.c.id == values["id"])).mappings().one()
    return inserted, dict(row)


# --------------------------------------------------------------------------- reads

# Reads never fail because of one bad stored row (written before the edge checks existed,
# by another version, or by hand): a row that cannot be shown is skipped, a field that
# cannot be shown is repaired, and both are logged. Times are repaired by the API's
# ts_to_datetime (unusable → null); these are the fields the response models constrain.
_TURN_ROLES = frozenset({"user", "agent"})
_SESSION_STATUSES = frozenset({"active", "ended"})


def _finite_or_none(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def _clean_turn(row: dict[str, Any]) -> dict[str, Any] | None:
    if row.get("role") not in _TURN_ROLES or not isinstance(row.get("text"), str):
        return None
    latency = row.get("latency")
    if latency is not None:
        parts = (
            {k: _finite_or_none(v) for k, v in latency.items()} if isinstance(latency, dict) else {}
        )
        row["latency"] = {k: v for k, v in parts.items() if v is not None} or None
    return row


def _clean_session(row: dict[str, Any]) -> dict[str, Any] | None:
    return row if row.get("status") in _SESSION_STATUSES else None


def _clean_event(row: dict[str, Any]) -> dict[str, Any] | None:
    try:
        payload = json.loads(row["payload"])
    except (TypeError, ValueError):
        payload = None
    row["payload"] = payload if isinstance(payload, dict) else {}
    return row


def _readable(rows: Iterable[Any], clean: Any, what: str) -> list[dict[str, Any]]:
    out = []
    for raw in rows:
        row = dict(raw)
        try:
            cleaned = clean(row)
        except Exception:  # a check must never be what fails the read
            cleaned = None
        if cleaned is None:
            logger.warning("skipped unreadable %s row", what, extra={"row_id": row.get("id")})
            continue
        out.append(cleaned)
    return out


async def list_sessions(
    engine: AsyncEngine, *, room_name: str | None, status: str | None, limit: int, offset: int
) -> list[dict[str, Any]]:
    stmt = select(sessions).order_by(sessions.c.started_at.desc(), sessions.c.id)
    if room_name:
        stmt = stmt.where(sessions.c.room_name == room_name)
    if status:
        stmt = stmt.where(sessions.c.status == status)
    async with engine.connect() as conn:
        rows = await conn.execute(stmt.limit(limit).offset(offset))
        return _readable(rows.mappings(), _clean_session, "session")


async def get_session(engine: AsyncEngine, session_id: str) -> dict[str, Any] | None:
    async with engine.connect() as conn:
        row = (
            (await conn.execute(select(sessions).where(sessions.c.id == session_id)))
            .mappings()
            .one_or_none()
        )
        if row is None:
            return None
        cleaned = _readable([row], _clean_session, "session")
        if not cleaned:
            return None
        people = await conn.execute(
            select(session_participants)
            .where(session_participants.c.session_id == session_id)
            .order_by(session_participants.c.joined_at, session_participants.c.identity)
        )
        counts = await conn.execute(
            select(func.count()).select_from(turns).where(turns.c.session_id == session_id)
        )
        return {
            **cleaned[0],
            "participants": [dict(p) for p in people.mappings()],
            "turn_count": counts.scalar_one(),
        }


async def session_events(
    engine: AsyncEngine, session_id: str, *, limit: int, offset: int
) -> list[dict[str, Any]]:
    stmt = (
        select(webhook_events)
        .where(webhook_events.c.room_sid == session_id)
        .order_by(webhook_events.c.occurred_at, webhook_events.c.received_at)
        .limit(limit)
        .offset(offset)
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(stmt)).mappings().all()
    return _readable(rows, _clean_event, "webhook event")


def _turn_order() -> tuple[Any, ...]:
    # Speech start is the natural order; turns without one fall back to arrival.
    return (func.coalesce(turns.c.started_at, turns.c.received_at), turns.c.seq, turns.c.id)


async def session_transcript(
    engine: AsyncEngine, session_id: str, *, limit: int, offset: int
) -> list[dict[str, Any]]:
    stmt = (
        select(turns)
        .where(turns.c.session_id == session_id)
        .order_by(*_turn_order())
        .limit(limit)
        .offset(offset)
    )
    async with engine.connect() as conn:
        return _readable((await conn.execute(stmt)).mappings(), _clean_turn, "turn")


async def room_transcript(engine: AsyncEngine, room_name: str, *, limit: int) -> list[dict]:
    """The last ``limit`` turns of a room across its sessions, oldest first."""
    stmt = (
        select(turns)
        .where(turns.c.room_name == room_name)
        .order_by(*(c.desc() for c in _turn_order()))
        .limit(limit)
    )
    async with engine.connect() as conn:
        rows = _readable((await conn.execute(stmt)).mappings(), _clean_turn, "turn")
    return rows[::-1]


async def participant_turns(engine: AsyncEngine, identity: str, *, limit: int) -> list[dict]:
    stmt = (
        select(turns)
        .where(turns.c.speaker_identity == identity)
        .order_by(*(c.desc() for c in _turn_order()))
        .limit(limit)
    )
    async with engine.connect() as conn:
        rows = _readable((await conn.execute(stmt)).mappings(), _clean_turn, "turn")
    return rows[::-1]


async def recent_summaries(
    engine: AsyncEngine, *, room_name: str | None, session_ids: list[str] | None, limit: int
) -> list[dict[str, Any]]:
    stmt = select(summaries).order_by(summaries.c.received_at.desc()).limit(limit)
    if room_name:
        stmt = stmt.where(summaries.c.room_name == room_name)
    elif session_ids is not None:
        stmt = stmt.where(summaries.c.session_id.in_(session_ids))
    async with engine.connect() as conn:
        return [dict(r) for r in (await conn.execute(stmt)).mappings()]


async def sessions_of_participant(engine: AsyncEngine, identity: str, *, limit: int) -> list[str]:
    stmt = (
        select(session_participants.c.session_id)
        .where(session_participants.c.identity == identity)
        .order_by(session_participants.c.joined_at.desc())
        .limit(limit)
    )
    async with engine.connect() as conn:
        return list((await conn.execute(stmt)).scalars())
