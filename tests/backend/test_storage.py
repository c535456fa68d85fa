"""Storage on both databases: schema on start-up, idempotent writes, nothing lost on restart.

The Postgres variant runs against a real PostgreSQL server started by the fixture.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy import text

from parley_backend.db import create_engine, resolve_database_url

from .conftest import AGENT_AUTH, make_settings, post_webhook, running_app, webhook_body


async def test_acknowledged_writes_survive_a_restart(
    tmp_path: Path, database_url: str | None
) -> None:
    settings = make_settings(tmp_path, DATABASE_URL=database_url)
    room_sid = f"RM_{uuid.uuid4().hex[:10]}"
    turn = {
        "turn_id": f"{room_sid}:item_1",
        "room_name": "persist-room",
        "room_sid": room_sid,
        "speaker_identity": "parley-agent",
        "role": "agent",
        "text": "Hello! I'm Parley.",
        "latency": {"e2e": 1.25},
    }
    async with running_app(settings) as c:
        ok = await post_webhook(
            c, webhook_body("room_started", room="persist-room", room_sid=room_sid)
        )
        assert ok.status_code == 200
        assert (await c.post("/api/agent/turns", json=turn, headers=AGENT_AUTH)).status_code == 201
    # A new process on the same database: everything acknowledged is there, retries dedupe.
    async with running_app(settings) as c:
        session = (await c.get(f"/api/sessions/{room_sid}")).json()
        assert session["room_name"] == "persist-room" and session["turn_count"] == 1
        again = await c.post("/api/agent/turns", json=turn, headers=AGENT_AUTH)
        assert again.status_code == 200 and again.json()["duplicate"] is True
        transcript = (await c.get(f"/api/sessions/{room_sid}/transcript")).json()["turns"]
        assert [(t["text"], t["latency"]) for t in transcript] == [
            ("Hello! I'm Parley.", {"e2e": 1.25})
        ]
        events = (await c.get(f"/api/sessions/{room_sid}/events")).json()["events"]
        assert [e["event"] for e in events] == ["room_started"]


async def test_concurrent_duplicate_deliveries_store_once(
    tmp_path: Path, database_url: str | None
) -> None:
    import asyncio

    async with running_app(make_settings(tmp_path, DATABASE_URL=database_url)) as c:
        body = webhook_body("participant_joined", identity="alice", event_id="EV_race")
        results = await asyncio.gather(*(post_webhook(c, body) for _ in range(8)))
        statuses = sorted(r.json()["status"] for r in results)
        assert all(r.status_code == 200 for r in results)
        assert statuses == ["duplicate"] * 7 + ["stored"]


def test_sqlite_default_is_a_wal_file_under_the_data_dir(tmp_path: Path) -> None:
    url = resolve_database_url(None, tmp_path / "data")
    assert url == f"sqlite+aiosqlite:///{tmp_path / 'data' / 'parley.db'}"


async def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    engine = create_engine(resolve_database_url(None, tmp_path))
    async with engine.connect() as conn:
        mode = (await conn.execute(text("PRAGMA journal_mode"))).scalar_one()
    await engine.dispose()
    assert mode == "wal"


def test_postgres_urls_use_the_async_driver() -> None:
    url = resolve_database_url("postgres://u:p@db:5432/parley", Path("/x"))
    assert url == "postgresql+asyncpg://u:p@db:5432/parley"


async def test_start_up_adds_columns_missing_from_an_older_schema(
    tmp_path: Path, database_url: str | None
) -> None:
    from parley_backend.db import create_schema, dispose_engine

    engine = create_engine(resolve_database_url(database_url, tmp_path))
    try:
        # An "older release": summaries without the `data` and `job_id` columns.
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "CREATE TABLE summaries (id VARCHAR(200) PRIMARY KEY, session_id VARCHAR(64),"
                    " room_name VARCHAR(128) NOT NULL, text TEXT NOT NULL,"
                    " received_at FLOAT NOT NULL)"
                )
            )
            await conn.execute(
                text(
                    "INSERT INTO summaries (id, room_name, text, received_at)"
                    " VALUES ('old', 'room-a', 'kept', 1.0)"
                )
            )
        await create_schema(engine)
        await create_schema(engine)  # idempotent
    finally:
        await dispose_engine(engine)
    settings = make_settings(tmp_path, DATABASE_URL=database_url)
    async with running_app(settings) as c:
        body = {"summary_id": "new", "room_name": "room-a", "text": "t", "data": {"k": 1}}
        posted = await c.post("/api/agent/summaries", json=body, headers=AGENT_AUTH)
        assert posted.status_code == 201, posted.text
        ctx = await c.get("/api/agent/context", params={"room_name": "room-a"}, headers=AGENT_AUTH)
        assert sorted(s["text"] for s in ctx.json()["summaries"]) == ["kept", "t"]
