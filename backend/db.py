"""The database: one async SQLAlchemy engine, tables registered on one ``MetaData``.

Embedded SQLite (WAL, under the data directory) by default; Postgres when ``DATABASE_URL``
names one. Each concern declares its tables in its own module against ``metadata`` and the
schema is created on start-up (``create_all`` is additive and idempotent).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import MetaData, event, inspect
from sqlalchemy import create_engine as sa_create_engine
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.schema import CreateColumn

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
        added = await conn.run_sync(_add_missing_columns)
    logger.info(
        "database schema ready", extra={"dialect": engine.dialect.name, "columns_added": added}
    )


def _add_missing_columns(conn: Connection) -> list[str]:
    """The additive migration: columns declared in code but missing from existing tables.

    ``create_all`` creates missing tables but never alters existing ones. Adding a column is
    the change this schema makes as it grows; anything else (renames, type changes, NOT
    NULL without a default) is refused loudly rather than guessed at.
    """
    inspector = inspect(conn)
    added = []
    for table in metadata.sorted_tables:
        existing = {c["name"] for c in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in existing:
                continue
            if not column.nullable and column.server_default is None:
                raise RuntimeError(
                    f"cannot add NOT NULL column {table.name}.{column.name} without a server "
                    "default to existing rows; migrate this change by hand"
                )
            ddl = CreateColumn(column).compile(dialect=conn.dialect)
            table_name = conn.dialect.identifier_preparer.format_table(table)
            conn.exec_driver_sql(f"ALTER TABLE {table_name} ADD COLUMN {ddl}")
            added.append(f"{table.name}.{column.name}")
            logger.warning("added column %s.%s", table.name, column.name)
    return added


T = TypeVar("T")


@dataclass
class _Job:
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.cancelled():  # the caller went away; the write itself stands (idempotent)
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


class _SqliteWriter:
    """One thread with a plain (sync) SQLite engine that runs every write transaction.

    Through aiosqlite each statement costs several thread hops (cursor, execute, fetch,
    close, commit), which dominated webhook ingest. Here a whole transaction is one function
    run on one thread, which is also SQLite's one writer, so writers queue fairly instead of
    meeting in SQLite's sleeping busy handler. Writes that queue up meanwhile are committed
    together (group commit); callers hear back only after that commit. If a batch fails, each
    of its writes is retried alone so one bad write cannot sink the others.
    """

    MAX_BATCH = 64

    def __init__(self, url: str) -> None:
        sync_url = make_url(url).set(drivername="sqlite")
        self.engine = sa_create_engine(sync_url, connect_args={"timeout": 30})
        event.listen(self.engine, "connect", _sqlite_pragmas)
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name="parley-sqlite-writer")
        self._thread.daemon = True
        self._thread.start()

    async def submit(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._jobs.put(_Job(fn, args, loop, future))
        return await future

    def _serve(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            batch = [job]
            stop = False
            while len(batch) < self.MAX_BATCH:
                try:
                    more = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                batch.append(more)
            self._run(batch)
            if stop:
                return

    def _run(self, batch: list[_Job]) -> None:
        try:
            with self.engine.begin() as conn:
                results = [job.fn(conn, *job.args) for job in batch]
        except Exception as exc:
            if len(batch) == 1:
                self._reply(batch[0], None, exc)
                return
            # The whole batch rolled back: run each write on its own.
            for job in batch:
                self._run([job])
            return
        for job, result in zip(batch, results, strict=True):
            self._reply(job, result, None)

    @staticmethod
    def _reply(job: _Job, result: Any, error: BaseException | None) -> None:
        try:
            job.loop.call_soon_threadsafe(_settle, job.future, result, error)
        except RuntimeError:  # the loop closed while the write ran
            logger.warning("database write finished after its event loop closed")

    def close(self) -> None:
        self._jobs.put(None)
        self._thread.join(timeout=30)
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
        return await writer.submit(fn, args)
    async with engine.begin() as conn:
        return await conn.run_sync(fn, *args)


async def dispose_engine(engine: AsyncEngine) -> None:
    writer = _sqlite_writers.pop(engine, None)
    if writer is not None:
        await asyncio.to_thread(writer.close)
    await engine.dispose()
