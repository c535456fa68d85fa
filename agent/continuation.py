"""A job that takes over a conversation starts with the turns said so far.

When a worker dies mid-conversation the backend dispatches the agent into the room again
(``parley_backend.redispatch``); the new job reads the room's turns from the backend's
agent API (the history every job posts) and starts its agent with them, so nothing the
user said is lost. A fresh room has no turns and costs one quick request; a backend that
does not answer in time costs the conversation its memory, never its start.
"""

from __future__ import annotations

import logging

import httpx
from livekit.agents import llm

logger = logging.getLogger("parley.continuation")

CONTEXT_PATH = "/api/agent/context"
ROLES = {"user": "user", "agent": "assistant"}


async def room_history(
    http: httpx.AsyncClient,
    backend_url: str,
    agent_token: str,
    room: str,
    *,
    limit: int = 50,
    timeout: float = 2.0,
) -> llm.ChatContext | None:
    """The room's last ``limit`` turns as chat messages (oldest first); None if none."""
    try:
        resp = await http.get(
            f"{backend_url.rstrip('/')}{CONTEXT_PATH}",
            params={"room_name": room, "limit": limit},
            headers={"Authorization": f"Bearer {agent_token}"},
            timeout=timeout,
        )
        resp.raise_for_status()
        turns = resp.json().get("turns", [])
    except (httpx.HTTPError, ValueError) as exc:
        logger.warning("no history for the new job: %s", exc, extra={"room": room})
        return None
    chat_ctx = llm.ChatContext.empty()
    for turn in turns:
        role = ROLES.get(turn.get("role", ""))
        text = str(turn.get("text") or "").strip()
        if role and text:
            chat_ctx.add_message(role=role, content=text)  # type: ignore[arg-type]
    if not chat_ctx.items:
        return None
    logger.info("continuing with %d earlier turns", len(chat_ctx.items), extra={"room": room})
    return chat_ctx
