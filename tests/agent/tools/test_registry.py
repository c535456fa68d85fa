from __future__ import annotations

import httpx

from parley_agent.tools import ToolEnv, build_tools
from parley_common.agent_config import KNOWN_TOOLS, AgentConfig, parse_agent_config


async def test_build_tools_follows_config() -> None:
    async with httpx.AsyncClient() as http:
        env = ToolEnv(http=http)
        names = [t.info.name for t in build_tools(AgentConfig(tools=list(KNOWN_TOOLS)), env)]
        assert names == list(KNOWN_TOOLS)
        assert [t.info.name for t in build_tools(AgentConfig(), env)] == ["end_conversation"]
        assert build_tools(AgentConfig(tools=[]), env) == []
        # A room asking for an unknown tool keeps the valid rest of its config.
        config, problem = parse_agent_config('{"tools": ["weather", "launch_rockets"]}')
        assert problem and "tools" in problem
        assert [t.info.name for t in build_tools(config, env)] == ["end_conversation"]
