"""Tables for session history: LiveKit webhook events, sessions, participants, turns, summaries.

Times are stored as UNIX seconds (double) so SQLite and Postgres sort and compare them the
same way; the API renders them as ISO 8601. Every row that a client may resend has its
idempotency key as primary key, so a retry can never store a second copy.
"""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Double, Index, Integer, String, Table, Text

from parley_backend.db import metadata

# A LiveKit room session: one row per room SID (a room name reused later is a new session).
sessions = Table(
    "sessions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("room_name", String(128), nullable=False, index=True),
    Column("status", String(16), nullable=False),  # active | ended
    Column("started_at", Double, nullable=False),
    Column("ended_at", Double),
    Column("end_reason", String(64)),
    Column("room_metadata", Text),
)

session_participants = Table(
    "session_participants",
    metadata,
    Column("session_id", String(64), primary_key=True),
    Column("identity", String(256), primary_key=True),
    Column("participant_sid", String(64)),
    Column("name", String(256)),
    Column("kind", String(32)),
    Column("joined_at", Double),
    Column("left_at", Double),
)

# Verified LiveKit webhook deliveries, keyed by the event id the server assigns.
webhook_events = Table(
    "webhook_events",
    metadata,
    Column("id", String(128), primary_key=True),
    Column("event", String(64), nullable=False),
    Column("room_name", String(128)),
    Column("room_sid", String(64)),
    Column("participant_identity", String(256)),
    Column("participant_sid", String(64)),
    Column("track_sid", String(64)),
    Column("occurred_at", Double, nullable=False),
    Column("received_at", Double, nullable=False),
    Column("payload", Text, nullable=False),
    Index("ix_webhook_events_room_sid_time", "room_sid", "occurred_at"),
)

# Finished turns posted by the agent; `id` is the agent's idempotency key.
turns = Table(
    "turns",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("session_id", String(64), index=True),
    Column("room_name", String(128), nullable=False, index=True),
    Column("job_id", String(64)),
    Column("seq", Integer),
    Column("speaker_identity", String(256), nullable=False, index=True),
    Column("role", String(16), nullable=False),  # user | agent
    Column("text", Text, nullable=False),
    Column("language", String(16)),
    Column("started_at", Double),
    Column("ended_at", Double),
    Column("interrupted", Boolean, nullable=False, default=False),
    Column("latency", JSON),
    Column("received_at", Double, nullable=False),
)

summaries = Table(
    "summaries",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("session_id", String(64), index=True),
    Column("room_name", String(128), nullable=False, index=True),
    Column("job_id", String(64)),
    Column("text", Text, nullable=False),
    Column("data", JSON),
    Column("received_at", Double, nullable=False),
)
