"""Alembic migrations on SQLite and a real Postgres: they build exactly the models' schema,
and a database made by the additive start-up code of earlier releases is adopted, not broken.

"Exactly" is Alembic's own autogenerate comparison of the migrated database with the
models' metadata: any table, column, type, index or constraint that differs is a diff.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, Double, Index, MetaData, String, Table, Text, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from parley_backend import tables  # noqa: F401  (registers every table on metadata)
from parley_backend.db import (
    alembic_config,
    create_engine,
    create_schema,
    dispose_engine,
    metadata,
    resolve_database_url,
)

HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()


def _diff(conn: Connection) -> list[Any]:
    context = MigrationContext.configure(conn, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


def _revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


async def _state(engine: AsyncEngine) -> tuple[list[Any], str | None]:
    async with engine.connect() as conn:
        return await conn.run_sync(_diff), await conn.run_sync(_revision)


async def test_migrations_build_the_models_schema_and_go_back_down(
    tmp_path: Path, database_url: str | None
) -> None:
    engine = create_engine(resolve_database_url(database_url, tmp_path))
    try:
        await create_schema(engine)
        assert await _state(engine) == ([], HEAD)
        await create_schema(engine)  # at head: nothing to do
        assert await _state(engine) == ([], HEAD)

        async with engine.begin() as conn:
            await conn.run_sync(lambda c: command.downgrade(alembic_config(c), "base"))
        diff, revision = await _state(engine)
        assert revision is None
        # Every table is gone (with its indexes), and only that.
        assert {d[0] for d in diff} == {"add_table", "add_index"}
        assert {d[1].name for d in diff if d[0] == "add_table"} == set(metadata.tables)

        await create_schema(engine)
        assert await _state(engine) == ([], HEAD)
    finally:
        await dispose_engine(engine)


async def test_a_database_from_the_additive_start_up_code_is_adopted(
    tmp_path: Path, database_url: str | None
) -> None:
    engine = create_engine(resolve_database_url(database_url, tmp_path))
    try:
        # What the old start-up code left: create_all of the tables, no alembic_version;
        # `summaries` as an older release made it, before its `data` and `job_id` columns
        # and its session index.
        older = MetaData()
        Table(
            "summaries",
            older,
            Column("id", String(200), primary_key=True),
            Column("session_id", String(64)),
            Column("room_name", String(128), nullable=False),
            Column("text", Text, nullable=False),
            Column("received_at", Double, nullable=False),
            Index("ix_summaries_room_name", "room_name"),
        )
        current = [t for name, t in metadata.tables.items() if name != "summaries"]
        async with engine.begin() as conn:
            await conn.run_sync(lambda c: metadata.create_all(c, tables=current))
            await conn.run_sync(older.create_all)
            await conn.execute(
                text(
                    "INSERT INTO summaries (id, room_name, text, received_at)"
                    " VALUES ('old', 'room-a', 'kept', 1.0)"
                )
            )
        diff, revision = await _state(engine)
        assert revision is None and diff  # the old shape differs from the models

        await create_schema(engine)
        assert await _state(engine) == ([], HEAD)
        async with engine.connect() as conn:
            rows = (await conn.execute(text("SELECT id, text, data FROM summaries"))).all()
        assert [tuple(r) for r in rows] == [("old", "kept", None)]
    finally:
        await dispose_engine(engine)
