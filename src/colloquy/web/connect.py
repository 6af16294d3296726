"""What an agent host needs to reach this server with a new API key: the MCP URL and ready-made
client configurations, shown once beside the token on the Keys page (README "Connect your
agent"). Built from the URL the page was reached at, so it names the address people really use
(behind a TLS proxy, the proxy's, once it forwards ``X-Forwarded-Proto``)."""

import json
import shlex
from dataclasses import dataclass

from fastapi import Request

MCP_PATH = "/mcp"
SERVER_NAME = "colloquy"


@dataclass(frozen=True)
class Snippet:
    """One copyable configuration: ``slug`` names its element, ``where`` says where it goes."""

    slug: str
    title: str
    where: str
    text: str

    @property
    def rows(self) -> int:
        """Lines for its text box: every line and one spare, and room for a long command to
        wrap on a narrow screen."""
        return max(self.text.count("\n") + 2, 3)


def server_base_url(request: Request) -> str:
    """The server's base URL as this request reached it, without a trailing slash."""
    return str(request.base_url).rstrip("/")


def mcp_url(base_url: str) -> str:
    return base_url + MCP_PATH


def _mcp_json(servers_key: str, entry: dict[str, object]) -> str:
    return json.dumps({servers_key: {SERVER_NAME: entry}}, indent=2)


def connect_snippets(base_url: str, token: str) -> list[Snippet]:
    """The configurations for Claude Code, Cursor, VS Code and the cq clients, in that order."""
    url = mcp_url(base_url)
    auth = f"Bearer {token}"
    headers = {"Authorization": auth}
    claude = (
        f"claude mcp add --transport http {SERVER_NAME} {shlex.quote(url)} "
        f"--header {shlex.quote('Authorization: ' + auth)}"
    )
    return [
        Snippet("claude-code", "Claude Code", "run in a terminal", claude),
        Snippet(
            "cursor",
            "Cursor",
            "~/.cursor/mcp.json, or .cursor/mcp.json in a project",
            _mcp_json("mcpServers", {"url": url, "headers": headers}),
        ),
        Snippet(
            "vscode",
            "VS Code",
            ".vscode/mcp.json, or the user mcp.json (MCP: Open User Configuration)",
            _mcp_json("servers", {"type": "http", "url": url, "headers": headers}),
        ),
        Snippet(
            "cq-env",
            "cq CLI and cq-sdk",
            "the environment of the agent (or its cq MCP server entry)",
            f"export CQ_ADDR={shlex.quote(base_url)} CQ_API_KEY={shlex.quote(token)}",
        ),
    ]
