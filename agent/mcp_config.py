"""The MCP servers the operator configured (``PARLEY_MCP_SERVERS``), as validated data.

Kept apart from the tool code (``parley_agent.tools.mcp_servers``) so the settings can
import it without importing the MCP SDK. Secrets (stdio ``env``, HTTP ``headers``) are
``SecretStr``: they never appear in a repr, a log line or a validation error.
"""

from __future__ import annotations

from typing import Annotated, Self
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

# What a room's ``agent_config.mcp`` may name: the server, or one tool of it ("orders",
# "orders/lookup_order"); the same pattern is in parley_common.agent_config.
SERVER_NAME_PATTERN = r"^[A-Za-z0-9_-]{1,32}$"

ServerName = Annotated[str, Field(pattern=SERVER_NAME_PATTERN)]


class McpServerConfig(BaseModel):
    """One MCP server: a stdio ``command`` the worker starts, or a streamable HTTP ``url``."""

    # hide_input_in_errors: a refused entry's error must not print its env or headers.
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    name: ServerName
    # stdio: the program and its arguments (no shell), its extra environment and directory.
    command: list[str] | None = Field(default=None, min_length=1)
    env: dict[str, SecretStr] = Field(default_factory=dict)
    cwd: str | None = None
    # streamable HTTP: the endpoint URL (usually ending in /mcp) and request headers. The URL
    # stays out of the repr (a query string may carry a key); ``describe()`` is for logs.
    url: str | None = Field(default=None, repr=False)
    headers: dict[str, SecretStr] = Field(default_factory=dict)
    # Seconds one tool call may take; unset: PARLEY_TOOL_TIMEOUT_SECONDS, like built-ins.
    timeout_s: float | None = Field(default=None, gt=0, le=120)

    @model_validator(mode="after")
    def _one_transport(self) -> Self:
        if (self.command is None) == (self.url is None):
            raise ValueError(f"MCP server {self.name!r}: give exactly one of command or url")
        if self.command is not None and self.headers:
            raise ValueError(f"MCP server {self.name!r}: headers are for url servers")
        if self.url is not None:
            if self.env or self.cwd:
                raise ValueError(f"MCP server {self.name!r}: env and cwd are for command servers")
            parts = urlsplit(self.url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError(f"MCP server {self.name!r}: url must be http(s)://host/...")
        return self

    @property
    def transport(self) -> str:
        return "stdio" if self.command is not None else "streamable_http"

    def describe(self) -> str:
        """For logs: the program or the URL without query or credentials (never secrets)."""
        if self.command is not None:
            return f"{self.name} (stdio: {self.command[0]})"
        parts = urlsplit(self.url or "")
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
        return f"{self.name} (http: {parts.scheme}://{host}{port}{parts.path})"


def check_unique_names(servers: list[McpServerConfig]) -> list[McpServerConfig]:
    names = [server.name for server in servers]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"PARLEY_MCP_SERVERS names must be unique; repeated: {duplicates}")
    return servers
