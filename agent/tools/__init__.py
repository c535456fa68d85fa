"""The agent's tools; ``build_tools(config, env)`` returns those a room enabled."""

from parley_agent.tools.base import ToolEnv, tool_env_from_settings
from parley_agent.tools.registry import build_tools

__all__ = ["ToolEnv", "build_tools", "tool_env_from_settings"]
