"""Example 2: choose the agent's persona and language for one room (dispatch metadata).

What a room asks of the agent is an ``AgentConfig`` (``common/agent_config.py``): persona or
full instructions, greeting, language, voice, tools, provider overrides. The backend puts it
into the token's room configuration as the agent dispatch's metadata; the worker's
entrypoint parses it (``parse_agent_config``) and builds the session from it.

Run it against a running stack (``make dev``):

    .venv/bin/python examples/02_persona_and_language.py http://127.0.0.1:8000

It asks ``POST /api/token`` for a German-speaking pirate and prints the token; open the web
client, or join with any LiveKit client using that token, and the agent greets in German.
A deployment that closes the token endpoint needs a key: set ``PARLEY_EXAMPLE_API_KEY``.
"""

from __future__ import annotations

import json
import os
import sys

import httpx

from parley_common.agent_config import AgentConfig

PIRATE = AgentConfig(
    persona="cheerful pirate who explains things with sea metaphors",
    language="de",
    greeting="Ahoi! Ich bin Parley. Was möchtest du wissen?",
    tools=["end_conversation"],
)


def token_request(config: AgentConfig) -> dict[str, object]:
    """The body of ``POST /api/token``: the room's agent configuration, nothing else."""
    return {"agent_config": config.model_dump(exclude_defaults=True)}


def request_token(client: httpx.Client, config: AgentConfig) -> dict[str, str]:
    key = os.environ.get("PARLEY_EXAMPLE_API_KEY")
    headers = {"X-API-Key": key} if key else {}
    answer = client.post("/api/token", json=token_request(config), headers=headers)
    answer.raise_for_status()
    result: dict[str, str] = answer.json()
    return result


if __name__ == "__main__":
    backend = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000"
    with httpx.Client(base_url=backend, timeout=10) as client:
        print(json.dumps(request_token(client, PIRATE), indent=2))
