"""``/mcp`` in-process, on both backends: an expired key is refused before MCP, a key's write
allowance is the REST API's (one allowance for both), and a full disk is a tool error that says
nothing was saved."""

import httpx
import pytest

from colloquy.app import create_app
from tests.api.conftest import API, bearer, expired_key
from tests.api.test_faults import BIG_DETAIL, MAX_WRITES, full_disk
from tests.support.mcp import mcp_client, tool_error

WRITES_PER_MINUTE = 3


def proposal(detail: str = "d") -> dict[str, object]:
    return {"summary": "s", "detail": detail, "action": "a", "domains": ["web"]}


async def test_an_expired_key_is_401_before_any_session(api, admin_token, settings, store):
    token = await expired_key(settings, store, "admin")
    transport = httpx.ASGITransport(app=create_app(settings, store))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        refused = await http.post("/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
                                  headers=bearer(token))  # fmt: skip
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == 'Bearer realm="colloquy", error="invalid_token"'
    assert refused.json() == {"detail": "Invalid API key"}


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"rate_limit_propose": WRITES_PER_MINUTE})


async def test_writes_share_the_keys_allowance_with_rest(api, api_key, settings, store):
    await api.propose(api_key)  # one of the allowance, over REST
    async with mcp_client(api_key, app=create_app(settings, store)) as client:
        for _ in range(WRITES_PER_MINUTE - 1):
            assert not (await client.call_tool("propose", proposal())).is_error
        message = await tool_error(client, "propose", proposal())
        assert "Too many proposals with this API key (at most 3 a minute)" in message
        assert "Try again in" in message
        assert not (await client.call_tool("status", {})).is_error  # reads are not limited
    body = {"domains": ["web"], "insight": {"summary": "s", "detail": "d", "action": "a"}}
    again = await api.client.post(f"{API}/knowledge", json=body, headers=bearer(api_key))
    assert again.status_code == 429


async def test_full_disk_is_a_tool_error_and_nothing_is_saved(
    backend, api, api_key, admin_token, settings, store, request
):
    before = (await api.knowledge_stats())["total_count"]
    async with mcp_client(api_key, app=create_app(settings, store)) as client:
        async with full_disk(backend, api, request):
            for _ in range(MAX_WRITES):  # SQLite first uses up the room left in its pages
                result = await client.call_tool("propose", proposal(BIG_DETAIL))
                if result.is_error:
                    break
            assert result.is_error
            assert "The database's storage is full; nothing was saved" in result.content[0].text
            failed_at = (await api.knowledge_stats())["total_count"]
        assert failed_at - before < MAX_WRITES
        assert not (await client.call_tool("propose", proposal())).is_error
        assert (await api.knowledge_stats())["total_count"] == failed_at + 1
