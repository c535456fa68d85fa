"""The agent's ``lookup_context`` asks only about its own room and its linked participant,
and asks for a participant's wider history only when the backend vouched for it; nothing
the user says can change either (the tool takes no identity or room argument)."""

from __future__ import annotations

import inspect

import httpx
import pytest

from parley_agent.tools.base import ToolEnv
from parley_agent.tools.context_lookup import fetch_context, make_lookup_context_tool

pytestmark = pytest.mark.security


async def _params(scope: str, linked: tuple[str, dict[str, str]] | None) -> dict[str, str]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"turns": [], "summaries": []})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        env = ToolEnv(http=http, room_name="my-room", backend_url="http://b", agent_token="t")
        await fetch_context(env, scope, linked)
    assert len(seen) == 1
    return dict(seen[0].url.params)


@pytest.mark.parametrize(
    "attributes",
    [
        {},
        {"parley.caller": "anonymous"},
        {"parley.caller": "key"},
        {"parley.caller": "Management"},
        {"parley.caller": "management "},
        {"parley.role": "meeting-bridge"},
    ],
)
async def test_unvouched_participants_get_their_room_only(attributes: dict[str, str]) -> None:
    params = await _params("participant", ("alice", attributes))
    assert params == {"limit": "20", "room_name": "my-room", "participant_identity": "alice"}


async def test_a_vouched_participant_may_ask_about_itself() -> None:
    params = await _params("participant", ("alice", {"parley.caller": "management"}))
    assert params["about"] == "participant" and params["participant_identity"] == "alice"
    assert params["room_name"] == "my-room"
    room_only = await _params("room", ("alice", {"parley.caller": "management"}))
    assert "about" not in room_only


async def test_without_a_room_participant_it_is_the_room() -> None:
    assert await _params("participant", None) == {"limit": "20", "room_name": "my-room"}


async def test_the_model_cannot_name_an_identity_or_a_room() -> None:
    async with httpx.AsyncClient() as http:
        tool = make_lookup_context_tool(ToolEnv(http=http, room_name="r"))
    # The function the LLM calls: its only argument is the scope.
    func = getattr(tool, "__wrapped__", tool)
    names = set(inspect.signature(func).parameters) - {"context"}
    assert names == {"about"}, names
