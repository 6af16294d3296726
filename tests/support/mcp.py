"""The MCP SDK's own client on ``/mcp``, over HTTP to a live server or in-process to an app."""

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CallToolResult
from starlette.types import ASGIApp

IN_PROCESS = "http://testserver"


@asynccontextmanager
async def mcp_client(
    api_key: str, base_url: str = IN_PROCESS, app: ASGIApp | None = None, keep_alive: bool = True
) -> AsyncIterator[Client]:
    """A connected client with ``api_key``; with ``app``, the app is served in-process (its
    lifespan run here). Without ``keep_alive`` every request opens a new connection, which the
    kernel may hand to any worker of a live server."""
    limits = httpx2.Limits() if keep_alive else httpx2.Limits(max_keepalive_connections=0)
    transport = httpx2.ASGITransport(app=app) if app is not None else None
    headers = {"Authorization": f"Bearer {api_key}"}
    async with AsyncExitStack() as stack:
        if app is not None:
            await stack.enter_async_context(app.router.lifespan_context(app))  # type: ignore[attr-defined]
        http = await stack.enter_async_context(
            httpx2.AsyncClient(headers=headers, timeout=60, limits=limits, transport=transport)
        )
        url = f"{base_url}/mcp"
        yield await stack.enter_async_context(Client(streamable_http_client(url, http_client=http)))


async def tool_error(client: Client, tool: str, arguments: dict[str, object]) -> str:
    """A tool call that must fail as a tool error (not a protocol error); its message."""
    result: CallToolResult = await client.call_tool(tool, arguments)
    assert result.is_error, result.structured_content
    assert result.content[0].type == "text"
    return result.content[0].text
