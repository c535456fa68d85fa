"""A backend restart settles meetings that were half made and resumes status polling."""

from __future__ import annotations

import asyncio
from pathlib import Path

from parley_backend.meetings import store
from tests.backend.conftest import make_settings, running_app
from tests.fakes.meeting_baas import FakeBot, FakeMeetingBaas


def _row(meeting_id: str, status: str, bot_id: str | None) -> dict:
    now = store.utcnow()
    return {
        "id": meeting_id,
        "meeting_url": "https://zoom.us/j/123456789",
        "platform": "zoom",
        "bot_name": "Parley",
        "status": status,
        "room_name": f"parley-meeting-{meeting_id}",
        "bot_id": bot_id,
        "stream_secret_hash": store.secret_hash("a"),
        "callback_secret_hash": store.secret_hash("b"),
        "audio_frequency": 16000,
        "agent_config": {},
        "created_at": now,
        "updated_at": now,
    }


async def test_restart_fails_half_made_and_polls_joining(tmp_path: Path) -> None:
    async with FakeMeetingBaas(join_step_s=0.05) as fake:
        settings = make_settings(
            tmp_path, MEETING_BAAS_API_KEY=fake.api_key, MEETING_BAAS_BASE_URL=fake.base_url
        )
        async with running_app(settings) as client:
            resp = await client.post("/api/meetings", json={"meeting_url": "https://zoom.us/j/1"})
            assert resp.status_code == 502  # no LiveKit behind this app: nothing half-made
            assert resp.json()["error"]["code"] == "upstream_error"
            bot_id = "bot-known-to-fake"
            engine = client.app.state.engine  # type: ignore[attr-defined]
            await store.insert_meeting(engine, _row("aaaaaaaaaaaaaaaa", "creating", None))
            await store.insert_meeting(engine, _row("bbbbbbbbbbbbbbbb", "joining", bot_id))
        # The fake knows the bot as in the call.
        bot = FakeBot(fake, bot_id, {"bot_name": "Parley"})
        bot.status = "in_call_recording"
        fake.bots[bot_id] = bot
        async with running_app(settings) as client:
            half = (await client.get("/api/meetings/aaaaaaaaaaaaaaaa")).json()
            assert half["status"] == "failed"
            assert "meeting.interrupted" in [e["kind"] for e in half["timeline"]]
            for _ in range(100):
                joined = (await client.get("/api/meetings/bbbbbbbbbbbbbbbb")).json()
                if joined["status"] == "in_call":
                    break
                await asyncio.sleep(0.05)
            assert joined["status"] == "in_call" and joined["bot_status"] == "in_call_recording"
