"""Example 3: a server-side integration: create a room with the agent in it, then clean up.

The management API (``/api/rooms``, key in ``X-API-Key``) is for your own backend, never a
browser: it creates a LiveKit room and explicitly dispatches the agent into it with an
``AgentConfig``, lists the dispatches, and deletes the room (which ends the agent's job).
People then join with tokens from ``POST /api/token`` naming that room.

Run it against a running stack (``make dev``; in development the management API is open
when ``PARLEY_API_KEYS`` is empty):

    PARLEY_EXAMPLE_API_KEY=<one of PARLEY_API_KEYS> \\
        .venv/bin/python examples/03_room_and_dispatch.py http://127.0.0.1:8000
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import httpx

from parley_common.agent_config import AgentConfig

SUPPORT = AgentConfig(persona="patient support agent", tools=["end_conversation", "weather"])


def create_room_with_agent(client: httpx.Client, name: str, config: AgentConfig) -> dict[str, Any]:
    """``POST /api/rooms``: the room and its explicit agent dispatch, in one call."""
    body = {"name": name, "empty_timeout": 120, "agent_config": config.model_dump()}
    answer = client.post("/api/rooms", json=body)
    answer.raise_for_status()
    created: dict[str, Any] = answer.json()
    return created


def dispatches(client: httpx.Client, name: str) -> list[dict[str, Any]]:
    answer = client.get(f"/api/rooms/{name}/dispatches")
    answer.raise_for_status()
    found: list[dict[str, Any]] = answer.json()["dispatches"]
    return found


def delete_room(client: httpx.Client, name: str) -> None:
    client.delete(f"/api/rooms/{name}").raise_for_status()


def main(backend: str, name: str = "example-support-room") -> None:
    key = os.environ.get("PARLEY_EXAMPLE_API_KEY")
    headers = {"X-API-Key": key} if key else {}
    with httpx.Client(base_url=backend, headers=headers, timeout=10) as client:
        created = create_room_with_agent(client, name, SUPPORT)
        print("created:", json.dumps(created["dispatch"], indent=2))
        print("dispatches:", [d["agent_name"] for d in dispatches(client, name)])
        delete_room(client, name)
        print("deleted", name)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000")
