"""The walking skeleton, end to end on a real LiveKit server."""

from __future__ import annotations

import pytest

from parley_common.testing.devstack import Stack
from parley_common.testing.room_probe import RoomProbe, fetch_token

pytestmark = pytest.mark.integration


async def test_participant_hears_agent_greeting(shared_stack: Stack) -> None:
    token = fetch_token(shared_stack.backend.url, {"participant_name": "Tester"})
    assert token["server_url"] == shared_stack.livekit.ws_url
    probe = RoomProbe()
    await probe.connect(token["server_url"], token["participant_token"])
    try:
        elapsed = await probe.wait_for_agent_voice(timeout=90)
        assert elapsed > 0
        assert probe.watch.agent_joined_at is not None, "agent participant never joined"
        assert probe.watch.peak_rms >= 300
    finally:
        await probe.close()
