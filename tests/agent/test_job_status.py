"""``end_job``: a normally ended job deletes its dispatch, unless its room is already gone.

The cluster test (`tests/cluster/test_cluster.py`) shows LiveKit recording the success.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from livekit.agents.voice.events import CloseReason

from parley_agent import job_status


class _Dispatches:
    def __init__(self) -> None:
        self.deleted: list[tuple[str, str]] = []

    async def delete_dispatch(self, dispatch_id: str, room: str) -> None:
        self.deleted.append((dispatch_id, room))


def _ctx(job_id: str, *, connected: bool) -> Any:
    room = SimpleNamespace(name="room-1", isconnected=lambda: connected)
    job = SimpleNamespace(id=job_id, dispatch_id="AD_1")
    return SimpleNamespace(room=room, job=job, api=SimpleNamespace(agent_dispatch=_Dispatches()))


async def test_a_job_whose_user_left_deletes_its_dispatch() -> None:
    ctx = _ctx("AJ_left", connected=True)
    job_status._close_reasons["AJ_left"] = CloseReason.PARTICIPANT_DISCONNECTED
    await job_status.end_job(ctx)
    assert ctx.api.agent_dispatch.deleted == [("AD_1", "room-1")]


async def test_a_job_whose_room_was_deleted_does_not_wait_on_a_dead_dispatch() -> None:
    ctx = _ctx("AJ_deleted", connected=False)
    job_status._close_reasons["AJ_deleted"] = CloseReason.PARTICIPANT_DISCONNECTED
    await job_status.end_job(ctx)
    assert ctx.api.agent_dispatch.deleted == []


async def test_a_job_that_failed_stays_a_failure() -> None:
    ctx = _ctx("AJ_error", connected=True)
    job_status._close_reasons["AJ_error"] = CloseReason.ERROR
    await job_status.end_job(ctx)
    assert ctx.api.agent_dispatch.deleted == []
