"""A small, real MCP server for the tests, built with the official SDK (``mcp`` 2.x).

It is not a fake of a wire protocol: it *is* an MCP server (``mcp.server.mcpserver.MCPServer``,
the SDK's successor of FastMCP; spec https://modelcontextprotocol.io/specification), so the
worker's client meets the real protocol over both standard transports:

- stdio: ``python -m tests.fakes.mcp_server`` (run from the repository root);
- streamable HTTP: ``serve_http()`` in the test's own event loop, on a free loopback port,
  at ``/mcp``, refusing requests without ``Authorization: Bearer <token>`` when one is set.

Tools: ``lookup_order(order_id)`` answers from a fixed table, ``shop_name`` reads
``SHOP_NAME`` from its environment, ``check_stock`` fails (an
``is_error`` result), ``slow_report`` sleeps far past any tool timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

ORDERS = {
    "A-1001": "Order A-1001: two blue mugs, shipped on 28 November, arriving Thursday.",
    "B-2002": "Order B-2002: one teapot, waiting for stock.",
}
SLOW_REPORT_S = 60.0


@dataclass
class Calls:
    """The tool calls the in-process (HTTP) server received, in order."""

    made: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


def build_server(calls: Calls | None = None) -> MCPServer:
    calls = calls or Calls()
    server = MCPServer("parley-test-shop", instructions="A test shop's order desk.")

    @server.tool()
    def lookup_order(order_id: str) -> str:
        """Look up a shop order by its id (like A-1001) and say its status."""
        calls.made.append(("lookup_order", {"order_id": order_id}))
        return ORDERS.get(order_id.strip().upper(), f"There is no order {order_id}.")

    @server.tool()
    def shop_name() -> str:
        """Say which shop this is."""
        calls.made.append(("shop_name", {}))
        # From the environment the client started this server with (stdio ``env``).
        return f"This is {os.environ.get('SHOP_NAME', 'an unnamed shop')}."

    @server.tool()
    def check_stock(item: str) -> str:
        """Check how many of an item are in stock."""
        calls.made.append(("check_stock", {"item": item}))
        # The SDK's way to report a tool failure: an is_error result carrying this text.
        raise ToolError("the inventory database is down")

    @server.tool()
    async def slow_report() -> str:
        """Build the monthly sales report."""
        calls.made.append(("slow_report", {}))
        await asyncio.sleep(SLOW_REPORT_S)
        return "The report is ready."

    return server


ASGIApp = Callable[
    [MutableMapping[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]],
    Awaitable[None],
]


def require_bearer(app: ASGIApp, token: str) -> ASGIApp:
    """Refuse HTTP requests without the bearer token (401), like a protected MCP endpoint."""

    async def guarded(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            headers = dict(scope.get("headers") or [])
            if headers.get(b"authorization") != f"Bearer {token}".encode():
                await send({"type": "http.response.start", "status": 401, "headers": []})
                await send({"type": "http.response.body", "body": b"unauthorized"})
                return
        await app(scope, receive, send)

    return guarded


@dataclass
class HttpMcpServer:
    url: str
    calls: Calls


@contextlib.asynccontextmanager
async def serve_http(token: str | None = None) -> AsyncIterator[HttpMcpServer]:
    """The server on streamable HTTP at ``http://127.0.0.1:<free port>/mcp``."""
    calls = Calls()
    app: ASGIApp = build_server(calls).streamable_http_app()
    if token is not None:
        app = require_bearer(app, token)  # lifespan passes: the session manager starts there

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()  # raises why it could not start
            await asyncio.sleep(0.02)
        yield HttpMcpServer(url=f"http://127.0.0.1:{port}/mcp", calls=calls)
    finally:
        server.should_exit = True
        await task
        sock.close()


if __name__ == "__main__":
    build_server().run("stdio")
