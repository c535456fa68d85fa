"""The SQLite write path: one writer thread, group commit, failures isolated per write."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, select
from sqlalchemy.engine import Connection

from parley_backend.db import create_engine, dispose_engine, resolve_database_url, run_write

scratch = MetaData()
items = Table("items", scratch, Column("id", Integer, primary_key=True), Column("v", String(10)))


def _insert(conn: Connection, n: int) -> int:
    if n == 13:
        raise ValueError("thirteen is refused")
    conn.execute(items.insert(), {"id": n, "v": f"v{n}"})
    return n


async def test_concurrent_writes_commit_and_a_failing_one_is_isolated(tmp_path: Path) -> None:
    engine = create_engine(resolve_database_url(None, tmp_path))
    async with engine.begin() as conn:
        await conn.run_sync(scratch.create_all)
    try:
        results = await asyncio.gather(
            *(run_write(engine, _insert, n) for n in range(30)), return_exceptions=True
        )
        errors = [r for r in results if isinstance(r, Exception)]
        assert [str(e) for e in errors] == ["thirteen is refused"]
        assert [r for r in results if not isinstance(r, Exception)] == [
            n for n in range(30) if n != 13
        ]
        # Acknowledged means committed: a separate (async) connection sees every row.
        async with engine.connect() as conn:
            ids = (await conn.execute(select(items.c.id).order_by(items.c.id))).scalars().all()
        assert ids == [n for n in range(30) if n != 13]
        with pytest.raises(Exception, match="UNIQUE"):
            await run_write(engine, _insert, 1)  # a real constraint error reaches the caller
    finally:
        await dispose_engine(engine)
