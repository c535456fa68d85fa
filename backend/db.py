"""The database: one async SQLAlchemy engine, tables registered on one ``MetaData``.

Embedded SQLite (WAL, under the data directory) by default; Postgres when ``DATABASE_URL``
names one. Each concern declares its tables in its own module against ``metadata``; the
schema is migrated with Alembic (``backend/migrations``) at start-up.
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

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, event
from sqlalchemy import create_engine as sa_create_engine
from sqlalchemy.engine import Connection, make_url
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


# Any constant of our own: several backends starting at once on one Postgres database take
# turns at migrating (the lock ends with the migration's transaction).
_MIGRATION_LOCK = 0x70A41E7


async def create_schema(engine: AsyncEngine) -> None:
    """Bring the database to the newest Alembic revision (``backend/migrations``).

    Run at start-up, so a single backend, the dev stack and the tests need no extra step.
    A database made by the additive start-up code of earlier releases has no
    ``alembic_version``: the initial revision adopts it (see ``v0001_initial_schema``).
    """
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})")
        revision = await conn.run_sync(_upgrade)
    logger.info(
        "database schema ready", extra={"dialect": engine.dialect.name, "revision": revision}
    )


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration without an ini file (the migrations ship in the package)."""
    config = Config()
    config.set_main_option("script_location", "parley_backend:migrations")
    config.attributes["connection"] = connection
    return config


def _upgrade(conn: Connection) -> str | None:
    command.upgrade(alembic_config(conn), "head")
    return MigrationContext.configure(conn).get_current_revision()


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
