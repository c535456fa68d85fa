"""The database: one async SQLAlchemy engine, tables registered on one ``MetaData``.

Embedded SQLite (WAL, under the data directory) by default; Postgres when ``DATABASE_URL``
names one. Each concern declares its tables in its own module against ``metadata`` and the
schema is created on start-up (``create_all`` is additive and idempotent).
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import MetaData, event
from sqlalchemy import create_engine as sa_create_engine
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


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL syncs at checkpoints: a commit survives a process crash (what
    # "acknowledged" promises here), only an OS crash or power loss can take the last ones.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def create_engine(database_url: str) -> AsyncEngine:
    if database_url.startswith("sqlite"):
        engine = create_async_engine(database_url, connect_args={"timeout": 30})

        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(database_url, pool_pre_ping=True, pool_size=10, max_overflow=10)


async def create_schema(engine: AsyncEngine) -> None:
    # Importing the table modules registers their tables on `metadata`.
    from parley_backend import tables  # noqa: F401

    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    logger.info("database schema ready", extra={"dialect": engine.dialect.name})


T = TypeVar("T")


class _SqliteWriter:
    """One thread with a plain (sync) SQLite engine that runs every write transaction.

    Through aiosqlite each statement costs several thread hops (cursor, execute, fetch,
    close, commit), which dominated webhook ingest. Running the whole transaction as one
    function in one thread costs one hop, and one thread is also SQLite's one writer, so
    writers queue fairly instead of meeting in SQLite's sleeping busy handler.
    """

    def __init__(self, url: str) -> None:
        sync_url = make_url(url).set(drivername="sqlite")
        self.engine = sa_create_engine(sync_url, connect_args={"timeout": 30})
        event.listen(self.engine, "connect", _sqlite_pragmas)
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="parley-sqlite-writer")

    def run(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        with self.engine.begin() as conn:
            return fn(conn, *args)

    def close(self) -> None:
        self.executor.shutdown(wait=True)
        self.engine.dispose()


_sqlite_writers: weakref.WeakKeyDictionary[AsyncEngine, _SqliteWriter] = weakref.WeakKeyDictionary()


async def run_write(engine: AsyncEngine, fn: Callable[..., T], *args: Any) -> T:
    """Run ``fn(connection, *args)`` in one write transaction, committed before returning.

    ``fn`` is plain synchronous SQLAlchemy Core code; it runs on the SQLite writer thread,
    or on the async engine (greenlet) for Postgres, which handles concurrent writers itself.
    """
    if engine.dialect.name == "sqlite":
        writer = _sqlite_writers.get(engine)
        if writer is None:
            writer = _sqlite_writers.setdefault(
                engine, _SqliteWriter(engine.url.render_as_string(hide_password=False))
            )
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(writer.executor, writer.run, fn, args)
    async with engine.begin() as conn:
        return await conn.run_sync(fn, *args)


async def dispose_engine(engine: AsyncEngine) -> None:
    writer = _sqlite_writers.pop(engine, None)
    if writer is not None:
        await asyncio.to_thread(writer.close)
    await engine.dispose()
