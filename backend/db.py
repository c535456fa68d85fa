"""The database: one async SQLAlchemy engine, tables registered on one ``MetaData``.

Embedded SQLite (WAL, under the data directory) by default; Postgres when ``DATABASE_URL``
names one. Each concern declares its tables in its own module against ``metadata`` and the
schema is created on start-up (``create_all`` is additive and idempotent).
"""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import MetaData, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

logger = logging.getLogger("parley.backend.db")

metadata = MetaData()


def resolve_database_url(database_url: str | None, data_dir: Path) -> str:
    """Map user-facing URLs to async drivers (``postgres://`` → ``postgresql+asyncpg://``)."""
    if not database_url:
        data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite+aiosqlite:///{data_dir / 'parley.db'}"
    url = make_url(database_url)
    if url.drivername in ("postgres", "postgresql", "postgresql+psycopg2"):
        url = url.set(drivername="postgresql+asyncpg")
    elif url.drivername == "sqlite":
        url = url.set(drivername="sqlite+aiosqlite")
    return url.render_as_string(hide_password=False)


def create_engine(database_url: str) -> AsyncEngine:
    if database_url.startswith("sqlite"):
        engine = create_async_engine(database_url, connect_args={"timeout": 30})

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_async_engine(database_url, pool_pre_ping=True, pool_size=10, max_overflow=10)


async def create_schema(engine: AsyncEngine) -> None:
    # Importing the table modules registers their tables on `metadata`.
    from parley_backend import tables  # noqa: F401

    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    logger.info("database schema ready", extra={"dialect": engine.dialect.name})
