"""What every tool shares: its dependencies, a time limit, and an honest spoken failure.

A tool that fails must never leave the model free to invent an answer (a small local model
will happily make up a weather report). So on failure the tool itself says a fixed,
truthful sentence and records the failure in the chat history without asking the model
for a reply.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import httpx
from livekit.agents import RunContext
from livekit.agents.llm import ToolResult

from parley_agent.meeting.transcript import TranscriptStore
from parley_agent.settings import AgentSettings

logger = logging.getLogger("parley.tools")

DEFAULT_TIMEOUT_S = 8.0
OPEN_METEO_GEOCODING_URL = "https://geocoding-api.open-meteo.com"
OPEN_METEO_FORECAST_URL = "https://api.open-meteo.com"


@dataclass
class ToolEnv:
    """Per-job dependencies of the tools (the worker builds one from its settings)."""

    http: httpx.AsyncClient
    room_name: str = ""
    timeout_s: float = DEFAULT_TIMEOUT_S
    open_meteo_geocoding_url: str = OPEN_METEO_GEOCODING_URL
    open_meteo_forecast_url: str = OPEN_METEO_FORECAST_URL
    backend_url: str | None = None
    agent_token: str | None = None
    # The meeting transcript the transcript tool answers from (meeting mode: the agent's).
    transcript: TranscriptStore = field(default_factory=TranscriptStore)


def tool_env_from_settings(
    settings: AgentSettings,
    http: httpx.AsyncClient,
    room_name: str,
    *,
    transcript: TranscriptStore | None = None,
) -> ToolEnv:
    """The worker's ToolEnv from its ``AgentSettings`` (``transcript``: the meeting's)."""
    return ToolEnv(
        http=http,
        room_name=room_name,
        timeout_s=settings.tool_timeout_s,
        open_meteo_geocoding_url=settings.open_meteo_geocoding_url,
        open_meteo_forecast_url=settings.open_meteo_forecast_url,
        backend_url=settings.backend_url,
        agent_token=settings.agent_token,
        transcript=transcript if transcript is not None else TranscriptStore(),
    )


def spoken_failure(ctx: RunContext, spoken: str, reason: str, tool: str) -> ToolResult:
    """Say ``spoken`` verbatim and keep the failure in the history, with no model reply."""
    logger.warning("tool %s failed: %s", tool, reason)
    ctx.session.say(spoken)
    return ToolResult(
        output=f"The tool failed ({reason}). The user has been told: {spoken!r}",
        reply_required=False,
    )
