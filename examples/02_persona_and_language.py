"""Example 2: choose the agent's persona and language for one room (dispatch metadata).

What a room asks of the agent is an ``AgentConfig`` (``common/agent_config.py``): persona or
full instructions, greeting, language, voice, tools, provider overrides. The backend puts it
into the token's room configuration as the agent dispatch's metadata; the worker's
entrypoint parses it (``parse_agent_config``) and builds the session from it.

Who may choose what is the access policy's (docs/security.md): a browser (no key) may pick
an operator-defined ``preset`` and the ``language``; your own server, with a management key,
may set any field, such as its own persona and greeting.

Run it against a running stack (``make dev``):

    .venv/bin/python examples/02_persona_and_language.py http://127.0.0.1:8000
    PARLEY_EXAMPLE_API_KEY=<one of PARLEY_API_KEYS> \\
        .venv/bin/python examples/02_persona_and_language.py http://127.0.0.1:8000

It prints a token; join with it (any LiveKit client) and the agent greets (a fixed German
sentence, agent/greetings.py) and answers in German. The backend only signs tokens for
languages the running stack serves (``GET /api/capabilities``): the keyless stack's
Whisper tiny.en is English-only, so there the request gets a 422 ``unsupported_language``
naming the languages it does serve. With a multilingual STT and TTS (cloud keys) it works.
"""

from __future__ import annotations

import json
import os
import sys

import httpx

from parley_common.agent_config import AgentConfig

# What any browser may ask for: a preset the operator offers, and a language.
PUBLIC = AgentConfig(preset="pirate", language="de")
# What a server holding a management key may ask for: anything.
CUSTOM = AgentConfig(
    persona="cheerful pirate who explains things with sea metaphors",
    language="de",
    greeting="Ahoi! Ich bin Parley. Was möchtest du wissen?",
)


def request_token(
    client: httpx.Client, config: AgentConfig, api_key: str | None = None
) -> dict[str, str]:
    """``POST /api/token`` with the room's agent configuration."""
    body = {"agent_config": config.model_dump(exclude_defaults=True)}
    headers = {"X-API-Key": api_key} if api_key else {}
    answer = client.post("/api/token", json=body, headers=headers)
    answer.raise_for_status()
    result: dict[str, str] = answer.json()
    return result


if __name__ == "__main__":
    backend = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000"
    key = os.environ.get("PARLEY_EXAMPLE_API_KEY")
    with httpx.Client(base_url=backend, timeout=10) as client:
        print(json.dumps(request_token(client, CUSTOM if key else PUBLIC, key), indent=2))
