"""The meeting bridge's tables: one row per meeting, its timeline, and the turns it saw."""

from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, Index, Integer, String, Table, Text

from parley_backend.db import metadata

meetings = Table(
    "meetings",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("meeting_url", Text, nullable=False),
    Column("platform", String(16), nullable=False),
    Column("bot_name", String(255), nullable=False),
    Column("status", String(16), nullable=False),
    Column("bot_status", String(40)),
    Column("room_name", String(64), nullable=False, unique=True),
    Column("bot_id", String(64), unique=True),
    Column("dispatch_id", String(64)),
    # SHA-256 of the secrets: the DB never holds a usable stream URL or callback secret.
    Column("stream_secret_hash", String(64), nullable=False),
    Column("callback_secret_hash", String(64), nullable=False),
    Column("audio_frequency", Integer, nullable=False),
    Column("agent_config", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

meeting_events = Table(
    "meeting_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("meeting_id", String(32), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("data", JSON, nullable=False),
    # Meeting BaaS retries callbacks: their event_id makes a repeat a no-op.
    Column("dedupe_key", String(128), unique=True),
    Index("ix_meeting_events_meeting", "meeting_id", "id"),
)

meeting_turns = Table(
    "meeting_turns",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("meeting_id", String(32), nullable=False),
    Column("speaker", String(255), nullable=False),
    Column("role", String(16), nullable=False),
    Column("text", Text, nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Index("ix_meeting_turns_meeting", "meeting_id", "id"),
)
