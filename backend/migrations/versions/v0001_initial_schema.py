"""Initial schema: the tables as the additive start-up migration left them.

Before Alembic the backend ran ``create_all`` plus "add the columns that are missing" at
start-up. This revision creates the same schema on an empty database and *adopts* a database
that code made (it has the tables but no ``alembic_version``): tables, nullable columns and
indexes that an older release lacked are added, nothing that exists is changed, so the data
stays. Later revisions are ordinary Alembic migrations.

Revision ID: 0001
Revises:
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _schema() -> sa.MetaData:
    """The schema of this revision, frozen here (the models in tables.py move on)."""
    md = sa.MetaData()
    sa.Table(
        "sessions",
        md,
        sa.Column("id", sa.String(length=64), primary_key=True),
        sa.Column("room_name", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.Double(), nullable=False),
        sa.Column("ended_at", sa.Double(), nullable=True),
        sa.Column("end_reason", sa.String(length=64), nullable=True),
        sa.Column("room_metadata", sa.Text(), nullable=True),
        sa.Index("ix_sessions_room_name", "room_name"),
    )
    sa.Table(
        "session_participants",
        md,
        sa.Column("session_id", sa.String(length=64), primary_key=True),
        sa.Column("identity", sa.String(length=256), primary_key=True),
        sa.Column("participant_sid", sa.String(length=64), nullable=True),
        sa.Column("name", sa.String(length=256), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=True),
        sa.Column("joined_at", sa.Double(), nullable=True),
        sa.Column("left_at", sa.Double(), nullable=True),
    )
    sa.Table(
        "webhook_events",
        md,
        sa.Column("id", sa.String(length=128), primary_key=True),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column("room_name", sa.String(length=128), nullable=True),
        sa.Column("room_sid", sa.String(length=64), nullable=True),
        sa.Column("participant_identity", sa.String(length=256), nullable=True),
        sa.Column("participant_sid", sa.String(length=64), nullable=True),
        sa.Column("track_sid", sa.String(length=64), nullable=True),
        sa.Column("occurred_at", sa.Double(), nullable=False),
        sa.Column("received_at", sa.Double(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Index("ix_webhook_events_room_sid_time", "room_sid", "occurred_at"),
    )
    sa.Table(
        "turns",
        md,
        sa.Column("id", sa.String(length=200), primary_key=True),
        sa.Column("session_id", sa.String(length=64), nullable=True),
        sa.Column("room_name", sa.String(length=128), nullable=False),
        sa.Column("job_id", sa.String(length=64), nullable=True),
        sa.Column("seq", sa.Integer(), nullable=True),
        sa.Column("speaker_identity", sa.String(length=256), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("started_at", sa.Double(), nullable=True),
        sa.Column("ended_at", sa.Double(), nullable=True),
        sa.Column("interrupted", sa.Boolean(), nullable=False),
        sa.Column("latency", sa.JSON(), nullable=True),
        sa.Column("received_at", sa.Double(), nullable=False),
        sa.Index("ix_turns_room_name", "room_name"),
        sa.Index("ix_turns_session_id", "session_id"),
        sa.Index("ix_turns_speaker_identity", "speaker_identity"),
    )
    sa.Table(
        "summaries",
        md,
        sa.Column("id", sa.String(length=200), primary_key=True),
        sa.Column("session_id", sa.String(length=64), nullable=True),
        sa.Column("room_name", sa.String(length=128), nullable=False),
        sa.Column("job_id", sa.String(length=64), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.Column("received_at", sa.Double(), nullable=False),
        sa.Index("ix_summaries_room_name", "room_name"),
        sa.Index("ix_summaries_session_id", "session_id"),
    )
    sa.Table(
        "meetings",
        md,
        sa.Column("id", sa.String(length=32), primary_key=True),
        sa.Column("meeting_url", sa.Text(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("bot_name", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("bot_status", sa.String(length=40), nullable=True),
        sa.Column("room_name", sa.String(length=64), nullable=False, unique=True),
        sa.Column("bot_id", sa.String(length=64), nullable=True, unique=True),
        sa.Column("dispatch_id", sa.String(length=64), nullable=True),
        sa.Column("stream_secret_hash", sa.String(length=64), nullable=False),
        sa.Column("callback_secret_hash", sa.String(length=64), nullable=False),
        sa.Column("audio_frequency", sa.Integer(), nullable=False),
        sa.Column("agent_config", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    sa.Table(
        "meeting_events",
        md,
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("meeting_id", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=128), nullable=True, unique=True),
        sa.Index("ix_meeting_events_meeting", "meeting_id", "id"),
    )
    sa.Table(
        "meeting_turns",
        md,
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("meeting_id", sa.String(length=32), nullable=False),
        sa.Column("speaker", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Index("ix_meeting_turns_meeting", "meeting_id", "id"),
    )
    return md


def upgrade() -> None:
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    existing = set(inspector.get_table_names())
    for table in _schema().sorted_tables:
        if table.name not in existing:
            table.create(bind)  # with its indexes and constraints
            continue
        _adopt(inspector, table)


def _adopt(inspector: sa.Inspector, table: sa.Table) -> None:
    """Add what an older release of the additive code had not made yet."""
    have = {column["name"] for column in inspector.get_columns(table.name)}
    for column in table.columns:
        if column.name in have:
            continue
        if not column.nullable:
            raise RuntimeError(
                f"{table.name}.{column.name} is missing and NOT NULL: this database was not "
                "made by Parley's start-up code; migrate it by hand"
            )
        op.add_column(table.name, sa.Column(column.name, column.type, nullable=True))
    indexes = {index["name"] for index in inspector.get_indexes(table.name)}
    for index in table.indexes:
        if index.name not in indexes:
            columns = [column.name for column in index.columns]
            op.create_index(str(index.name), table.name, columns, unique=bool(index.unique))


def downgrade() -> None:
    bind = op.get_bind()
    for table in reversed(_schema().sorted_tables):
        table.drop(bind)
