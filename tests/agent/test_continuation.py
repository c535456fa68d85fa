"""A job taking over a room starts with the room's turns from the backend's agent API."""

from __future__ import annotations

import httpx

from parley_agent.continuation import room_history


def _client(handler: httpx.MockTransport) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=handler)


async def test_turns_become_the_chat_context_in_order() -> None:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        turns = [
            {"role": "user", "text": "My name is Ada."},
            {"role": "agent", "text": "Hello Ada."},
            {"role": "user", "text": "  "},  # nothing said: skipped
        ]
        return httpx.Response(200, json={"turns": turns, "summaries": []})

    async with _client(httpx.MockTransport(handle)) as http:
        chat_ctx = await room_history(http, "http://backend/", "tok", "room-1")
    assert chat_ctx is not None
    assert [(m.role, m.text_content) for m in chat_ctx.messages()] == [
        ("user", "My name is Ada."),
        ("assistant", "Hello Ada."),
    ]
    assert seen[0].url.path == "/api/agent/context"
    assert seen[0].url.params["room_name"] == "room-1"
    assert seen[0].headers["authorization"] == "Bearer tok"


async def test_a_new_room_or_a_failing_backend_gives_no_context() -> None:
    async with _client(httpx.MockTransport(lambda r: httpx.Response(200, json={"turns": []}))) as h:
        assert await room_history(h, "http://backend", "tok", "fresh") is None
    async with _client(httpx.MockTransport(lambda r: httpx.Response(503))) as h:
        assert await room_history(h, "http://backend", "tok", "room") is None

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async with _client(httpx.MockTransport(refuse)) as h:
        assert await room_history(h, "http://backend", "tok", "room") is None
