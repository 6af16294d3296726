"""``/mcp`` with the MCP SDK's own client over HTTP against a live ``colloquy serve``: SQLite
with one worker, and PostgreSQL with two (the transport is stateless, so either worker answers
any request)."""

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp_types import CallToolResult

from tests.live.helpers import Deployment, bearer, deploy, unique, worker_pids
from tests.support.mcp import mcp_client, tool_error

TOOLS = {"query", "propose", "confirm", "flag", "status"}
MEMBER_PASSWORD = "member-password-1"
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "probe", "version": "1"},
    },
}


@pytest.fixture(scope="module", params=[("sqlite", 1), ("postgres", 2)], ids=["sqlite", "pg-2w"])
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    backend, workers = request.param
    pg = request.getfixturevalue("pg_server") if backend == "postgres" else None
    with deploy(backend, tmp_path_factory.mktemp(f"mcp-{backend}"), pg, workers=workers) as d:
        yield d


def member(served: Deployment) -> tuple[str, str]:
    """A new member and a key of theirs (name, token)."""
    name = unique("m")
    served.create_user(name, MEMBER_PASSWORD)
    return name, new_key(served, served.session(name, MEMBER_PASSWORD))


def new_key(served: Deployment, session: str) -> str:
    response = served.request(
        "POST",
        "/api/v1/users/me/api-keys",
        bearer(session),
        json={"name": unique("k"), "ttl": "30d"},
    )
    assert response.status_code == 201, response.text
    return response.json()["token"]


async def call(client: Client, tool: str, arguments: dict[str, Any]) -> CallToolResult:
    """A tool call that must succeed; its text and structured content both present."""
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content
    assert result.content and result.content[0].type == "text"
    assert result.structured_content is not None
    return result


def events(served: Deployment, unit_id: str) -> list[tuple[str, str]]:
    """(kind, actor) of each of the unit's events, from ``colloquy export``."""
    for line in served.cli("export").splitlines():
        record = json.loads(line)
        if record["kind"] == "unit" and record["knowledge_unit"]["id"] == unit_id:
            return [(e["kind"], e["actor"]) for e in record["events"]]
    raise AssertionError(f"{unit_id} not exported")


async def test_the_tools_are_the_cq_clis(served: Deployment) -> None:
    async with mcp_client(served.api_key, served.base_url) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert set(tools) == TOOLS
    schemas = {name: tool.input_schema for name, tool in tools.items()}
    assert set(schemas["query"]["properties"]) == {
        "domains", "languages", "frameworks", "pattern", "limit", "q"
    }  # fmt: skip
    assert set(schemas["propose"]["required"]) == {"summary", "detail", "action", "domains"}
    assert schemas["confirm"]["required"] == ["unit_id"]
    assert set(schemas["flag"]["required"]) == {"unit_id", "reason"}
    assert set(schemas["flag"]["properties"]) == {"unit_id", "reason", "detail", "duplicate_of"}
    assert schemas["status"].get("properties", {}) == {}
    assert all(len(tool.description or "") > 100 for tool in tools.values())


async def test_propose_approve_query_confirm_flag(served: Deployment) -> None:
    """An agent's round over MCP, recorded as the key's owner exactly as over REST."""
    name, key = member(served)
    domain, word = unique(), unique("w")
    proposal = {
        "summary": f"Pool exhaustion {word} under load",
        "detail": "The default pool holds five connections.",
        "action": "Raise the pool size with the worker count.",
        "domains": [domain],
        "languages": ["python"],
        "pattern": "connection-pool",
    }
    async with mcp_client(key, served.base_url) as client:
        proposed = await call(client, "propose", proposal)
        unit_id = proposed.structured_content["id"]
        assert proposed.structured_content == served.unit(unit_id)
        assert proposed.structured_content["created_by"] == name
        assert "waits for a human review" in proposed.content[0].text

        assert (await call(client, "query", {"domains": [domain]})).structured_content == {
            "data": []
        }
        served.approve(unit_id)

        by_tags = await call(client, "query", {"domains": [domain], "limit": 50})
        rest = served.request(
            "GET", "/api/v1/knowledge", served.key_headers, params={"domains": domain}
        )
        assert by_tags.structured_content == rest.json()
        assert [u["id"] for u in by_tags.structured_content["data"]] == [unit_id]
        assert unit_id in by_tags.content[0].text
        assert "created_by" not in by_tags.structured_content["data"][0]

        by_text = await call(client, "query", {"q": f"why does {word} happen"})
        assert unit_id in [u["id"] for u in by_text.structured_content["data"]]

        confirmed = await call(client, "confirm", {"unit_id": unit_id})
        assert confirmed.structured_content["evidence"]["confirmations"] == 2
        flagged = await call(
            client, "flag", {"unit_id": unit_id, "reason": " Stale ", "detail": "v2 fixed it"}
        )
        assert [f["reason"] for f in flagged.structured_content["flags"]] == ["stale"]
        assert "detail" not in flagged.structured_content["flags"][0]  # hidden from agents

        status = await call(client, "status", {})
        rest_stats = served.request("GET", "/api/v1/knowledge/stats", served.key_headers)
        assert status.structured_content == rest_stats.json()
    assert served.unit(unit_id)["flags"][0]["detail"] == "v2 fixed it"
    assert [actor for kind, actor in events(served, unit_id) if kind != "approved"] == [name] * 3


async def test_failures_are_tool_errors_with_clear_messages(served: Deployment) -> None:
    unknown = "ku_" + "0" * 32
    pending = served.propose(unique())["id"]
    approved = served.approved_unit()
    before = served.request("GET", "/api/v1/review/stats", served.jwt_headers).json()["counts"]
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("confirm", {"unit_id": unknown}, f"No approved knowledge unit has the id {unknown}"),
        ("flag", {"unit_id": unknown, "reason": "stale"}, "the id is unknown"),
        ("confirm", {"unit_id": pending}, "still waiting for review"),
        ("confirm", {"unit_id": "not-an-id"}, "unit_id: String should match pattern"),
        (
            "propose",
            {"summary": "s" * 501, "detail": "d", "action": "a", "domains": ["x"]},
            "Invalid arguments for propose: summary: String should have at most 500 characters",
        ),
        (
            "propose",
            {"summary": "s", "detail": "d", "action": "a", "domains": [f"d{i}" for i in range(17)]},
            "domains: List should have at most 16 items",
        ),
        (
            "propose",
            {"summary": "s\x00", "detail": "d", "action": "a", "domains": ["x"]},
            "must not contain NUL characters",
        ),
        ("propose", {"summary": "s", "detail": "d", "action": "a"}, "domains: Field required"),
        ("query", {"domains": ["x"], "limit": 51}, "limit: Input should be less than or equal"),
        ("query", {"domains": ["x"], "q": "w" * 1001}, "q: String should have at most 1000"),
        ("query", {"domains": []}, "Give the task's tags in domains, or describe it in q"),
        (
            "flag",
            {"unit_id": approved, "reason": "duplicate"},
            "duplicate_of is required when reason is duplicate",
        ),
        ("flag", {"unit_id": approved, "reason": "boring"}, "reason: Input should be"),
        ("nonesuch", {}, "Unknown tool"),
    ]
    async with mcp_client(served.api_key, served.base_url) as client:
        for tool, arguments, expected in cases:
            message = await tool_error(client, tool, arguments)
            assert expected in message, (tool, arguments, message)
            assert "validation error for" not in message and "errors.pydantic.dev" not in message
    after = served.request("GET", "/api/v1/review/stats", served.jwt_headers).json()["counts"]
    assert after == before  # nothing refused was stored
    assert served.unit(approved)["flags"] == []


def post_initialize(served: Deployment, headers: dict[str, str]) -> httpx.Response:
    headers = headers | {"Accept": "application/json, text/event-stream"}
    return served.request("POST", "/mcp", headers, json=INITIALIZE)


async def test_refused_keys_get_401_before_any_session(served: Deployment) -> None:
    name, key = member(served)
    session = served.session(name, MEMBER_PASSWORD)
    revoked = new_key(served, session)
    revoked_id = revoked.split(".")[2]
    assert served.request(
        "POST", f"/api/v1/users/me/api-keys/{revoked_id}/revoke", bearer(session)
    ).is_success
    gone_owner, gone_key = member(served)
    assert served.request("DELETE", f"/api/v1/users/{gone_owner}", served.jwt_headers).is_success

    accepted = post_initialize(served, bearer(key))
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["result"]["serverInfo"]["name"] == "colloquy"
    refusals = {
        "no key": {},
        "not a key": bearer("not-a-key"),
        "session token": bearer(session),
        "revoked key": bearer(revoked),
        "deleted owner's key": bearer(gone_key),
        "forged secret": bearer(key[:-4] + "aaaa"),
    }
    for what, headers in refusals.items():
        refused = post_initialize(served, headers)
        assert refused.status_code == 401, what
        assert refused.headers["www-authenticate"].startswith('Bearer realm="colloquy"'), what
        assert refused.json() == {"detail": "Invalid API key"}, what
        assert "mcp-session-id" not in refused.headers
    # The SDK's client reports the refusal as an error response, from inside its task group.
    with pytest.raises(BaseExceptionGroup) as raised:
        async with mcp_client(revoked, served.base_url) as client:
            await client.list_tools()
    assert raised.group_contains(MCPError, match="error response", depth=None)


async def test_concurrent_clients_on_every_worker(served: Deployment) -> None:
    """Two clients at once, every request on a fresh connection: with two workers both of
    them answer (their CPU time grows), and every proposal lands exactly once."""
    rounds, domain = 12, unique()
    workers = sorted(worker_pids(served.server.process.pid)) or [served.server.process.pid]

    async def agent(key: str) -> list[str]:
        ids = []
        async with mcp_client(key, served.base_url, keep_alive=False) as client:
            for i in range(rounds):
                summary = f"concurrent {i}"
                arguments = {"summary": summary, "detail": "d", "action": "a", "domains": [domain]}
                ids.append((await call(client, "propose", arguments)).structured_content["id"])
                await call(client, "status", {})
        return ids

    before = [cpu_ticks(pid) for pid in workers]
    first, second = await asyncio.gather(agent(member(served)[1]), agent(member(served)[1]))
    used = [cpu_ticks(pid) - start for pid, start in zip(workers, before, strict=True)]
    assert len(set(first + second)) == 2 * rounds
    queue = served.request(
        "GET", "/api/v1/review/units", served.jwt_headers, params={"domain": domain, "limit": 100}
    )
    assert queue.status_code == 200, queue.text
    assert {u["knowledge_unit"]["id"] for u in queue.json()} == set(first + second)
    # Each call costs a worker milliseconds of CPU; an idle worker gathers next to none.
    assert all(ticks >= 3 for ticks in used), dict(zip(workers, used, strict=True))


def cpu_ticks(pid: int) -> int:
    """User plus system CPU time of ``pid``, in clock ticks."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def test_every_worker_logs_in_colloquys_format(served: Deployment) -> None:
    """The MCP SDK calls ``logging.basicConfig`` with its own rich handler when it is built: a
    worker process must have colloquy's logging set up first, so that the call changes nothing."""
    port = served.base_url.rsplit(":", 1)[1]
    log = (Path(served.server.env["CQ_DATA_DIR"]) / f"server-{port}.log").read_text()
    started = [line for line in log.splitlines() if "session manager started" in line]
    assert started, log[-2000:]
    assert all(line.startswith("INFO mcp.server.streamable_http_manager: ") for line in started)
