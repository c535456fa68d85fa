"""Alembic's environment: the backend's metadata, its database URL, SQLite batch mode.

``create_schema`` hands in an open connection (``config.attributes["connection"]``); the
``alembic`` command line has none and connects with the backend's settings (DATABASE_URL,
or the SQLite file under PARLEY_DATA_DIR).
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from parley_backend.db import create_engine, metadata, resolve_database_url
from parley_backend.settings import load_settings

# Importing the table modules registers their tables on `metadata`.
from parley_backend import tables  # noqa: F401  # isort: skip


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things: batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_from_settings() -> None:
    settings = load_settings()
    engine = create_engine(resolve_database_url(settings.database_url, settings.data_dir))
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_run)
    finally:
        await engine.dispose()


connection = context.config.attributes.get("connection")
if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run against a database")
if connection is not None:
    _run(connection)
else:
    asyncio.run(_run_from_settings())
