"""``build_tools``: the tools a room enabled in its dispatch metadata (``config.tools``)."""

from __future__ import annotations

from collections.abc import Callable

from livekit.agents.llm import FunctionTool

from parley_agent.tools.base import ToolEnv
from parley_agent.tools.context_lookup import make_lookup_context_tool
from parley_agent.tools.end_conversation import make_end_conversation_tool
from parley_agent.tools.meeting_transcript import make_meeting_transcript_tool
from parley_agent.tools.weather import make_weather_tool
from parley_common.agent_config import KNOWN_TOOLS, AgentConfig

FACTORIES: dict[str, Callable[[ToolEnv], FunctionTool]] = {
    "weather": make_weather_tool,
    "end_conversation": make_end_conversation_tool,
    "lookup_context": make_lookup_context_tool,
    "meeting_transcript": make_meeting_transcript_tool,
}
assert set(FACTORIES) == set(KNOWN_TOOLS), "every known tool needs a factory"


def build_tools(config: AgentConfig, env: ToolEnv) -> list[FunctionTool]:
    """One tool per enabled name, in the order the room listed them (unknown names were
    already rejected by the config schema)."""
    return [FACTORIES[name](env) for name in config.tools if name in FACTORIES]
