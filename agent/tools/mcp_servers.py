"""Tools from the operator's MCP servers, for the rooms whose ``agent_config.mcp`` names them.

Built on the framework's own MCP support (``livekit.agents.llm.mcp``): ``MCPServerStdio`` /
``MCPServerHTTP`` hold the connection and ``MCPToolset`` lists the tools when the agent
starts. ``RoomMcpToolset`` adds what Parley needs on top of it:

- the room's allowlist: only the servers (or single tools) the room was given;
- a server that cannot start or connect in time is logged with the room and job ids and
  left out, so the session starts without its tools instead of failing;
- a tool that fails or times out says a fixed, honest sentence (``spoken_failure``, like
  the built-in tools) instead of letting the model improvise an answer;
- tool output reaches the model as the server's text, not as JSON-wrapped content.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Self

from livekit.agents import RunContext
from livekit.agents.llm import RawFunctionTool, function_tool
from livekit.agents.llm.mcp import (
    MCPServer,
    MCPServerHTTP,
    MCPServerStdio,
    MCPToolResultContext,
    MCPToolset,
)

from parley_agent.mcp_config import McpServerConfig
from parley_agent.tools.base import spoken_failure

logger = logging.getLogger("parley.tools.mcp")

# The MCP session's own per-request limit (it covers ``initialize`` and ``tools/list`` too)
# sits past both of ours, so the connect limit and the tool's limit (with its "taking too
# long" sentence) are what the caller meets first.
SESSION_TIMEOUT_MARGIN_S = 5.0


@dataclass
class McpAllowance:
    """What a room may use of one server: every tool (``tools is None``) or the named ones."""

    server: McpServerConfig
    tools: set[str] | None = None


@dataclass
class ToolNames:
    """Tool names already offered in this job (built-ins first): a later duplicate is left
    out rather than replacing one the model already knows."""

    taken: set[str] = field(default_factory=set)


def room_allowances(
    servers: Sequence[McpServerConfig], allowed: Sequence[str], ids: dict[str, str]
) -> list[McpAllowance]:
    """The configured servers a room's ``agent_config.mcp`` entries name, in the order of
    the configuration. ``"orders"`` allows all its tools, ``"orders/lookup_order"`` one."""
    by_name = {server.name: server for server in servers}
    wanted: dict[str, set[str] | None] = {}
    for entry in allowed:
        name, _, tool = entry.partition("/")
        if name not in by_name:
            logger.warning("room asks for MCP server %r, which is not configured", name, extra=ids)
            continue
        if not tool:
            wanted[name] = None  # the whole server; it wins over single tools of it
            continue
        tools = wanted.setdefault(name, set())
        if tools is not None:
            tools.add(tool)
    return [McpAllowance(by_name[name], wanted[name]) for name in by_name if name in wanted]


def result_text(ctx: MCPToolResultContext) -> str:
    """The tool result as the model should read it: text parts joined; anything else
    (images, resources) as its JSON, since the model cannot be shown it otherwise."""
    parts = [
        getattr(item, "text", None) or json.dumps(item.model_dump(by_alias=True, mode="json"))
        for item in ctx.result.content
    ]
    structured = getattr(ctx.result, "structured_content", None)
    if not parts and structured is not None:
        parts.append(json.dumps(structured, ensure_ascii=False))
    return "\n".join(parts) if parts else "The tool finished without output."


def mcp_server(
    config: McpServerConfig, *, call_timeout_s: float, connect_timeout_s: float
) -> MCPServer:
    """The framework's client for one configured server (secrets revealed only here)."""
    session_timeout = max(call_timeout_s, connect_timeout_s) + SESSION_TIMEOUT_MARGIN_S
    if config.command is not None:
        return MCPServerStdio(
            command=config.command[0],
            args=config.command[1:],
            env={k: v.get_secret_value() for k, v in config.env.items()} or None,
            cwd=config.cwd,
            client_session_timeout_seconds=session_timeout,
            tool_result_resolver=result_text,
        )
    assert config.url is not None
    return MCPServerHTTP(
        url=config.url,
        transport_type="streamable_http",
        headers={k: v.get_secret_value() for k, v in config.headers.items()},
        timeout=connect_timeout_s,
        client_session_timeout_seconds=session_timeout,
        tool_result_resolver=result_text,
    )


def _spoken_name(server: str) -> str:
    return server.replace("_", " ").replace("-", " ")


class RoomMcpToolset(MCPToolset):
    """One configured server's tools for one room, set up by the agent when it starts."""

    def __init__(
        self,
        allowance: McpAllowance,
        *,
        call_timeout_s: float,
        connect_timeout_s: float,
        names: ToolNames,
        ids: dict[str, str],
    ) -> None:
        config = allowance.server
        self.config = config
        self.call_timeout_s = config.timeout_s or call_timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.failed: str | None = None  # why the server is not offered, when it is not
        self._allowance = allowance
        self._names = names
        self._ids = ids
        self._ready = False
        self._own: set[str] = set()  # the names this toolset offers (a reload keeps them)
        self._server = mcp_server(
            config, call_timeout_s=self.call_timeout_s, connect_timeout_s=connect_timeout_s
        )
        super().__init__(id=f"mcp_{config.name}", mcp_server=self._server)

    async def setup(self, *, reload: bool = False) -> Self:
        if self._ready and not reload:
            return self  # set up already (its tools are wrapped and counted once)
        try:
            async with asyncio.timeout(self.connect_timeout_s):
                await super().setup(reload=reload)
        except Exception as exc:  # any failure to start: log it, go on without
            reason = (
                f"no answer within {self.connect_timeout_s:g} s"
                if isinstance(exc, TimeoutError)
                else _describe(exc)
            )
            self.failed = reason
            self._tools = []
            await self._close_server()
            logger.error(
                "MCP server %s unavailable, its tools are not offered: %s",
                self.config.describe(),
                reason,
                extra={**self._ids, "mcp_server": self.config.name},
            )
            return self
        offered = []
        for tool in self._tools:
            if not isinstance(tool, RawFunctionTool):
                continue
            name = tool.info.name
            if self._allowance.tools is not None and name not in self._allowance.tools:
                continue
            if name in self._names.taken and name not in self._own:
                logger.warning(
                    "MCP tool %s of %s left out: the name is already taken",
                    name,
                    self.config.name,
                    extra=self._ids,
                )
                continue
            self._names.taken.add(name)
            self._own.add(name)
            offered.append(self._guarded(tool))
        self._tools = offered
        self._ready = True
        logger.info(
            "MCP server %s: %d tool(s) offered",
            self.config.describe(),
            len(offered),
            extra={
                **self._ids,
                "mcp_server": self.config.name,
                "tools": [t.info.name for t in offered],
            },
        )
        return self

    async def _close_server(self) -> None:
        """End a half-open connection now (a started stdio process, a list that hung)."""
        try:
            await self._server.aclose()
        except Exception as exc:  # it failed already; closing is best effort
            logger.info(
                "MCP server %s close: %s", self.config.name, _describe(exc), extra=self._ids
            )

    def _guarded(self, tool: RawFunctionTool) -> RawFunctionTool:
        """``tool`` within its time limit, failing with a spoken sentence like the built-ins."""
        name = tool.info.name
        label = f"{self.config.name}/{name}"
        service = _spoken_name(self.config.name)
        timeout_s = self.call_timeout_s

        async def call(context: RunContext, raw_arguments: dict[str, Any]) -> Any:
            try:
                async with asyncio.timeout(timeout_s):
                    return await tool(raw_arguments=raw_arguments)
            except TimeoutError:
                return spoken_failure(
                    context,
                    f"Sorry, the {service} service is taking too long to answer.",
                    f"timed out after {timeout_s:g} s",
                    label,
                )
            except Exception as exc:  # the server's error, or a lost connection
                return spoken_failure(
                    context,
                    f"Sorry, the {service} service failed, so I can't answer that just now.",
                    _describe(exc),
                    label,
                )

        info = tool.info
        return function_tool(
            call,
            raw_schema=info.raw_schema,
            flags=info.flags,
            on_duplicate=info.on_duplicate,
            duplicate_scope=info.duplicate_scope,
        )


def _describe(exc: BaseException) -> str:
    """A short reason for logs and the chat history (an exception group: its first leaf)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    text = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def build_mcp_toolsets(
    servers: Sequence[McpServerConfig],
    allowed: Sequence[str],
    *,
    call_timeout_s: float,
    connect_timeout_s: float,
    taken: Sequence[str] = (),
    ids: dict[str, str] | None = None,
) -> list[RoomMcpToolset]:
    """One toolset per configured server the room may use (none when ``allowed`` is empty).
    ``taken``: the names of the tools the room already has (built-ins)."""
    ids = ids or {}
    names = ToolNames(set(taken))
    return [
        RoomMcpToolset(
            allowance,
            call_timeout_s=call_timeout_s,
            connect_timeout_s=connect_timeout_s,
            names=names,
            ids=ids,
        )
        for allowance in room_allowances(servers, allowed, ids)
    ]
