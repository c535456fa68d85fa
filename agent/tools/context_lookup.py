"""Look up context (earlier turns and summaries) from the backend's agent API.

``GET {backend}/api/agent/context?room_name=<this room>[&participant_identity=]`` with the
agent bearer token; the response is the backend's ``ContextOut``:
``{room_name, participant_identity, turns: [...], summaries: [...]}``.

Whose history is read never comes from the conversation: the room is the job's own, the
identity is the linked participant's, and a participant-wide look-up is asked for only
when that participant's backend-signed ``parley.caller`` attribute says a management
caller chose the identity (the backend checks the same again). Anyone else gets their
own room's turns.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from livekit.agents import RunContext, function_tool
from livekit.agents.llm import FunctionTool, ToolResult

from parley_agent.tools.base import ToolEnv, logger, spoken_failure
from parley_common.access import trusted_with_history

CONTEXT_PATH = "/api/agent/context"
MAX_CHARS = 3000


class ContextError(Exception):
    def __init__(self, spoken: str, reason: str) -> None:
        super().__init__(reason)
        self.spoken = spoken
        self.reason = reason


_UNAVAILABLE = "Sorry, I can't reach my notes from earlier conversations right now."


def linked_participant(context: RunContext) -> tuple[str, dict[str, str]] | None:
    """Identity and attributes of the participant the session talks to, in a room."""
    try:
        participant = context.session.room_io.linked_participant
    except RuntimeError:  # no room (text harness)
        return None
    if participant is None:
        return None
    return participant.identity, dict(participant.attributes)


async def fetch_context(
    env: ToolEnv, scope: str, linked: tuple[str, dict[str, str]] | None = None
) -> dict[str, Any]:
    """Ask for this room's context, or the linked participant's when the backend vouched
    for that identity (its signed ``parley.caller`` attribute); the backend re-checks
    both against the live participant, so this side only avoids asking in vain."""
    if not env.backend_url or not env.agent_token:
        raise ContextError(_UNAVAILABLE, "backend URL or agent token not configured")
    params: dict[str, str] = {"limit": "20", "room_name": env.room_name}
    if linked is not None:
        identity, attributes = linked
        params["participant_identity"] = identity
        if scope == "participant" and trusted_with_history(attributes):
            params["about"] = "participant"
    try:
        async with asyncio.timeout(env.timeout_s):
            response = await env.http.get(
                env.backend_url.rstrip("/") + CONTEXT_PATH,
                params=params,
                headers={"Authorization": f"Bearer {env.agent_token}"},
            )
    except TimeoutError as exc:
        raise ContextError(_UNAVAILABLE, f"timed out after {env.timeout_s:.0f} s") from exc
    except httpx.HTTPError as exc:
        raise ContextError(_UNAVAILABLE, type(exc).__name__) from exc
    if response.status_code != 200:
        raise ContextError(_UNAVAILABLE, f"HTTP {response.status_code}")
    try:
        body = response.json()
    except ValueError as exc:
        raise ContextError(_UNAVAILABLE, "invalid JSON") from exc
    if not isinstance(body, dict):
        raise ContextError(_UNAVAILABLE, "response is not an object")
    return body


def render_context(body: dict[str, Any]) -> str:
    """A compact text of the summaries and recent turns, newest last, bounded."""
    lines: list[str] = []
    for summary in body.get("summaries") or []:
        if isinstance(summary, dict) and isinstance(summary.get("text"), str):
            lines.append(f"Earlier summary: {summary['text']}")
    for turn in body.get("turns") or []:
        if isinstance(turn, dict) and isinstance(turn.get("text"), str):
            who = "Agent" if turn.get("role") == "agent" else turn.get("speaker_identity", "User")
            lines.append(f"{who}: {turn['text']}")
    text = "\n".join(lines)
    return text[-MAX_CHARS:]


def make_lookup_context_tool(env: ToolEnv) -> FunctionTool:
    async def lookup_context(context: RunContext, about: str = "participant") -> str | ToolResult:
        """Look up notes from earlier conversations: summaries and recent turns.

        Args:
            about: "participant" for earlier conversations with this person, or "room" for
                earlier sessions in this room.
        """
        scope = "room" if about == "room" else "participant"
        try:
            body = await fetch_context(env, scope, linked_participant(context))
        except ContextError as exc:
            return spoken_failure(context, exc.spoken, exc.reason, "lookup_context")
        text = render_context(body)
        logger.info("context lookup (%s): %d chars", scope, len(text))
        if not text:
            return "There are no notes from earlier conversations. Say so; do not guess."
        return "Notes from earlier conversations (use only these):\n" + text

    return function_tool(lookup_context)
