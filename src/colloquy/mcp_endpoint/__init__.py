"""The cq data plane over the Model Context Protocol at ``/mcp``: agent hosts (Claude Code,
Cursor, VS Code, Codex) connect by URL with an API key and need no cq client installed.

A sibling of ``colloquy.api`` over the same services: the same API keys, the same write
allowances and the same KU JSON, with tools named and shaped as the cq CLI's own MCP server's.
"""

from colloquy.mcp_endpoint.endpoint import McpEndpoint, install

__all__ = ["McpEndpoint", "install"]
