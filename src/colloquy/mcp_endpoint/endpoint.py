"""``/mcp`` in the app: the SDK's streamable HTTP transport, stateless and answering in plain
JSON, behind the API-key gate.

Stateless, because a session held in one process's memory would tie a client to that process:
with ``--workers N`` or replicas behind a load balancer, any process must be able to answer any
request. JSON rather than an SSE stream, because no tool streams: each call is one request and
one answer, which is also the cheapest to serve.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from colloquy.mcp_endpoint.gate import KeyGate
from colloquy.mcp_endpoint.tools import build_server

PATH = "/mcp"


class McpEndpoint:
    """The transport of one app; ``running()`` must wrap the app's lifetime."""

    def __init__(self) -> None:
        # No DNS-rebinding guard (the SDK's Host/Origin allow-list): it protects servers that
        # trust the network a browser sits on, while every request here must carry an API key
        # that a rebinding page cannot have. A Host allow-list would also refuse the server's
        # real names behind a proxy.
        server = build_server()
        server.streamable_http_app(  # builds the session manager; its own routes go unused
            json_response=True,
            stateless_http=True,
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        )
        self._manager = server.session_manager
        self.asgi = KeyGate(self._handle)

    async def _handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._manager.handle_request(scope, receive, send)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        async with self._manager.run():
            yield


def install(app: Starlette) -> McpEndpoint:
    """Route ``/mcp`` (every method: the transport answers those it does not serve) to a new
    endpoint, whose ``running()`` the caller enters for the app's lifetime."""
    endpoint = McpEndpoint()
    app.router.routes.append(Route(PATH, endpoint.asgi, include_in_schema=False))
    return endpoint
