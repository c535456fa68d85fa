"""Meeting state on PostgreSQL (the production database), not only on SQLite."""

from __future__ import annotations

import datetime

import pytest

from parley_backend.db import create_engine, create_schema, resolve_database_url
from parley_backend.meetings import store

pytestmark = pytest.mark.postgres


async def test_meeting_state_round_trips_on_postgres(postgres_url: str, tmp_path) -> None:
    engine = create_engine(resolve_database_url(postgres_url, tmp_path))
    try:
        await create_schema(engine)
        now = store.utcnow()
        row = {
            "id": "c0ffee00c0ffee00",
            "meeting_url": "https://zoom.us/j/123456789",
            "platform": "zoom",
            "bot_name": "Parley",
            "status": "joining",
            "room_name": "parley-meeting-c0ffee00c0ffee00",
            "bot_id": "bot-pg",
            "stream_secret_hash": store.secret_hash("s"),
            "callback_secret_hash": store.secret_hash("c"),
            "audio_frequency": 16000,
            "agent_config": {"mode": "meeting"},
            "created_at": now,
            "updated_at": now,
        }
        await store.insert_meeting(engine, row)
        assert (await store.get_meeting_by_bot(engine, "bot-pg"))["id"] == row["id"]
        assert await store.add_event(engine, row["id"], "bot.completed", {"a": 1}, dedupe_key="k")
        assert not await store.add_event(engine, row["id"], "bot.completed", {}, dedupe_key="k")
        assert await store.set_status(engine, row["id"], "in_call", bot_status="in_call_recording")
        assert [m["id"] for m in await store.active_meetings(engine)] == [row["id"]]
        assert await store.set_status(engine, row["id"], "ended")
        assert not await store.set_status(engine, row["id"], "in_call")  # final stays final
        started = datetime.datetime(2026, 1, 1, 10, 0, tzinfo=datetime.UTC)
        await store.add_turn(
            engine, row["id"], speaker="Ada", role="user", text="Hi", started_at=started
        )
        assert await store.turns(engine, row["id"]) == [
            {"speaker": "Ada", "text": "Hi", "started_at": started.isoformat(), "role": "user"}
        ]
        timeline = await store.timeline(engine, row["id"])
        assert [e["kind"] for e in timeline] == ["bot.completed"]
        listed = await store.list_meetings(engine, 10, 0)
        assert store.public_meeting(listed[0])["status"] == "ended"
    finally:
        await engine.dispose()
