"""The wire contract: what one side builds from it, the other side accepts."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from parley_agent.meeting.agent import meeting_link
from parley_agent.meeting.console import parse_ask_payload
from parley_common.agent_config import AgentConfig
from parley_common.wire import (
    CONTEXT_PATH,
    SUMMARIES_PATH,
    TURNS_PATH,
    AskRequest,
    ContextOut,
    LatencyParts,
    SummaryPost,
    TurnPost,
    bridge_identity,
    is_bridge_identity,
    summary_id,
)
from tests.backend.conftest import AGENT_AUTH, make_settings, running_app


async def test_what_the_agent_fits_the_backend_stores(tmp_path: Path) -> None:
    # Everything too long or not storable, as a long session could produce it.
    turn = TurnPost.fitted(
        turn_id="AJ_wire:item_1",
        room_name="wire-room",
        job_id="AJ_" + "j" * 100,
        seq=0,
        speaker_identity="s" * 300,
        role="user",
        text="a\x00b" + "x" * 30_000,
        language="en-US",
        started_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        latency=LatencyParts(e2e=0.5, llm_ttft=0.2),
    )
    summary = SummaryPost.fitted(
        summary_id=summary_id("AJ_wire"), room_name="wire-room", text="y" * 60_000, data={"k": 1}
    )
    async with running_app(make_settings(tmp_path)) as client:
        for path, post in ((TURNS_PATH, turn), (SUMMARIES_PATH, summary)):
            body = post.model_dump(mode="json", exclude_none=True)
            resp = await client.post(path, json=body, headers=AGENT_AUTH)
            assert resp.status_code == 201, resp.text
        resp = await client.get(CONTEXT_PATH, params={"room_name": "wire-room"}, headers=AGENT_AUTH)
    reply = ContextOut.model_validate(resp.json())
    [stored] = reply.turns
    assert stored.text.startswith("abxx") and len(stored.text) == 20_000
    assert len(stored.speaker_identity) == 256 and stored.job_id == ("AJ_" + "j" * 100)[:64]
    assert stored.latency == {"e2e": 0.5, "llm_ttft": 0.2}
    assert stored.started_at == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert [s.id for s in reply.summaries] == ["AJ_wire:session-summary"]
    assert len(reply.summaries[0].text) == 50_000


def test_the_ask_the_backend_sends_is_what_the_agent_reads() -> None:
    payload = AskRequest(question="  Is the venue\n big enough? ").model_dump_json()
    assert parse_ask_payload(payload) == "Is the venue big enough?"


def test_the_agent_links_to_the_bridge_identity_the_backend_uses() -> None:
    link = meeting_link(AgentConfig(mode="meeting", meeting_id="m42"))
    assert link == {"participant_identity": bridge_identity("m42")}
    assert is_bridge_identity(bridge_identity("m42")) and not is_bridge_identity("ana")
