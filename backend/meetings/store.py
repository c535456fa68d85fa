"""Reads and writes of meeting state. Every function takes the engine and commits itself."""

from __future__ import annotations

import datetime
import hashlib
import hmac
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from parley_backend.meetings.tables import meeting_events, meeting_turns, meetings

# Our meeting status, derived from the bot's (see service.meeting_status_for).
ACTIVE_STATUSES = ("creating", "joining", "in_call")
FINAL_STATUSES = ("ended", "failed")
# Turn roles of the meeting chat: a participant's message, and the bot's (the agent's answer,
# the summary, or the console's post).
CHAT_ROLES = ("chat", "agent_chat")

PUBLIC_FIELDS = (
    "id",
    "meeting_url",
    "platform",
    "bot_name",
    "status",
    "room_name",
    "bot_id",
    "created_at",
    "updated_at",
)


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def iso(value: datetime.datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:  # SQLite drops the zone; we only ever store UTC
        value = value.replace(tzinfo=datetime.UTC)
    return value.isoformat()


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(presented: str, stored_hash: str) -> bool:
    """Constant-time check of a presented secret against the stored hash."""
    return hmac.compare_digest(secret_hash(presented).encode(), stored_hash.encode())


def public_meeting(row: dict[str, Any]) -> dict[str, Any]:
    out = {key: row.get(key) for key in PUBLIC_FIELDS}
    out["created_at"] = iso(row["created_at"])
    out["updated_at"] = iso(row["updated_at"])
    out["bot_status"] = row.get("bot_status")
    return out


async def insert_meeting(engine: AsyncEngine, row: dict[str, Any]) -> None:
    async with engine.begin() as conn:
        await conn.execute(insert(meetings).values(**row))


async def get_meeting(engine: AsyncEngine, meeting_id: str) -> dict[str, Any] | None:
    async with engine.connect() as conn:
        result = await conn.execute(select(meetings).where(meetings.c.id == meeting_id))
        row = result.mappings().first()
    return dict(row) if row else None


async def get_meeting_by_bot(engine: AsyncEngine, bot_id: str) -> dict[str, Any] | None:
    async with engine.connect() as conn:
        result = await conn.execute(select(meetings).where(meetings.c.bot_id == bot_id))
        row = result.mappings().first()
    return dict(row) if row else None


async def list_meetings(engine: AsyncEngine, limit: int, offset: int) -> list[dict[str, Any]]:
    query = (
        select(meetings)
        .order_by(meetings.c.created_at.desc(), meetings.c.id)
        .limit(limit)
        .offset(offset)
    )
    async with engine.connect() as conn:
        result = await conn.execute(query)
        return [dict(r) for r in result.mappings()]


async def active_meetings(engine: AsyncEngine) -> list[dict[str, Any]]:
    query = select(meetings).where(meetings.c.status.in_(ACTIVE_STATUSES))
    async with engine.connect() as conn:
        result = await conn.execute(query)
        return [dict(r) for r in result.mappings()]


async def update_meeting(engine: AsyncEngine, meeting_id: str, **values: Any) -> None:
    values["updated_at"] = utcnow()
    async with engine.begin() as conn:
        await conn.execute(update(meetings).where(meetings.c.id == meeting_id).values(**values))


async def set_status(
    engine: AsyncEngine, meeting_id: str, status: str, *, bot_status: str | None = None
) -> bool:
    """Move to ``status`` unless the meeting is already final; True when it changed."""
    values: dict[str, Any] = {"status": status, "updated_at": utcnow()}
    if bot_status is not None:
        values["bot_status"] = bot_status
    async with engine.begin() as conn:
        result = await conn.execute(
            update(meetings)
            .where(meetings.c.id == meeting_id, meetings.c.status.not_in(FINAL_STATUSES))
            .values(**values)
        )
    return result.rowcount > 0


async def add_event(
    engine: AsyncEngine,
    meeting_id: str,
    kind: str,
    data: dict[str, Any] | None = None,
    *,
    dedupe_key: str | None = None,
) -> bool:
    """Append to the timeline; False when ``dedupe_key`` was already recorded."""
    try:
        async with engine.begin() as conn:
            await conn.execute(
                insert(meeting_events).values(
                    meeting_id=meeting_id,
                    at=utcnow(),
                    kind=kind,
                    data=data or {},
                    dedupe_key=dedupe_key,
                )
            )
    except IntegrityError:
        return False
    return True


async def timeline(engine: AsyncEngine, meeting_id: str) -> list[dict[str, Any]]:
    query = (
        select(meeting_events.c.at, meeting_events.c.kind, meeting_events.c.data)
        .where(meeting_events.c.meeting_id == meeting_id)
        .order_by(meeting_events.c.id)
    )
    async with engine.connect() as conn:
        result = await conn.execute(query)
        return [{"at": iso(r.at), "kind": r.kind, "data": r.data} for r in result]


async def last_status_time(engine: AsyncEngine, meeting_id: str) -> datetime.datetime | None:
    """When the last applied bot status was created on their side (None if never told)."""
    query = (
        select(meeting_events.c.data)
        .where(meeting_events.c.meeting_id == meeting_id, meeting_events.c.kind == "bot.status")
        .order_by(meeting_events.c.id.desc())
        .limit(50)
    )
    async with engine.connect() as conn:
        for (data,) in await conn.execute(query):
            at = data.get("at") if isinstance(data, dict) else None
            if isinstance(at, str):
                try:
                    parsed = datetime.datetime.fromisoformat(at)
                except ValueError:
                    continue
                return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)
    return None


async def add_turn(
    engine: AsyncEngine,
    meeting_id: str,
    *,
    speaker: str,
    role: str,
    text: str,
    started_at: datetime.datetime,
) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            insert(meeting_turns).values(
                meeting_id=meeting_id,
                speaker=speaker[:255],
                role=role,
                text=text,
                started_at=started_at,
            )
        )


async def turns(engine: AsyncEngine, meeting_id: str) -> list[dict[str, Any]]:
    query = (
        select(meeting_turns)
        .where(meeting_turns.c.meeting_id == meeting_id)
        .order_by(meeting_turns.c.started_at, meeting_turns.c.id)
    )
    async with engine.connect() as conn:
        result = await conn.execute(query)
        return [
            {"speaker": r.speaker, "text": r.text, "started_at": iso(r.started_at), "role": r.role}
            for r in result
        ]


async def has_event(engine: AsyncEngine, dedupe_key: str) -> bool:
    """Whether an event was recorded under ``dedupe_key`` (an idempotency claim)."""
    query = select(meeting_events.c.id).where(meeting_events.c.dedupe_key == dedupe_key)
    async with engine.connect() as conn:
        return (await conn.execute(query)).first() is not None


async def chat_turns(engine: AsyncEngine, meeting_id: str) -> list[dict[str, Any]]:
    """The meeting chat (both ways), oldest first."""
    return [t for t in await turns(engine, meeting_id) if t["role"] in CHAT_ROLES]


async def get_meeting_by_room(engine: AsyncEngine, room_name: str) -> dict[str, Any] | None:
    async with engine.connect() as conn:
        result = await conn.execute(select(meetings).where(meetings.c.room_name == room_name))
        row = result.mappings().first()
    return dict(row) if row else None
