"""Inputs that once gave a 500 or stored what could not be rendered (issue 11): each is refused
with a clear 4xx, the same on both backends, and nothing is stored."""

import base64
import json
from typing import Any

from colloquy.domain.bounds import MAX_EXTENSIONS_BYTES, MAX_EXTENSIONS_DEPTH
from tests.api.conftest import API, bearer

NUL = "\x00"
SURROGATE = "\ud800"


def nested(depth: int) -> dict[str, Any]:
    """An ``extensions`` object whose containers are ``depth`` deep, itself included."""
    value: Any = "leaf"
    for _ in range(depth - 1):
        value = {"x": value}
    return {"ns:deep": value}


def proposal(**extra: Any) -> dict[str, Any]:
    body = {"domains": ["web"], "insight": {"summary": "s", "detail": "d", "action": "a"}}
    return body | extra


async def pending_total(api, token: str) -> int:
    response = await api.client.get(f"{API}/review/queue", headers=bearer(token))
    assert response.status_code == 200, response.text
    return response.json()["total"]


def detail_text(response) -> str:
    """The 422's message, whether ours (a string) or pydantic's (a list of errors)."""
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    return detail if isinstance(detail, str) else " ".join(e["msg"] for e in detail)


async def test_poison_pill_extensions_are_refused_and_nothing_stored(
    api, api_key, admin_token
) -> None:
    """Nested 300 deep, the proposal answered 500 yet was stored, and every page that rendered
    it failed after. Depth and size are now bounded, NaN and Infinity refused."""
    post = {"headers": bearer(api_key) | {"content-type": "application/json"}}
    refused = {
        json.dumps(proposal(extensions=nested(300))): "nested at most 32 deep",
        json.dumps(proposal(extensions=nested(MAX_EXTENSIONS_DEPTH + 1))): "nested at most",
        json.dumps(proposal(extensions={"ns:big": "x" * MAX_EXTENSIONS_BYTES})): "16384 bytes",
        '{"domains":["web"],"insight":{"summary":"s","detail":"d","action":"a"},'
        '"extensions":{"ns:n":NaN}}': "finite number",
        '{"domains":["web"],"insight":{"summary":"s","detail":"d","action":"a"},'
        '"extensions":{"ns:n":[1,-Infinity]}}': "finite number",
    }
    for body, message in refused.items():
        response = await api.client.post(f"{API}/knowledge", content=body, **post)
        assert message in detail_text(response)
    assert await pending_total(api, admin_token) == 0

    # At the bounds it is stored, and renders everywhere: the queue, the unit, a query.
    edge = nested(MAX_EXTENSIONS_DEPTH) | {"ns:n": -(2**70), "ns:f": 1.5}
    unit = await api.approved(api_key, admin_token, extensions=edge)
    assert unit["extensions"] == edge
    assert (await api.review_item(admin_token, unit["id"]))["knowledge_unit"]["extensions"] == edge
    (found,) = await api.query({"domains": "web"})
    assert found["extensions"] == edge


async def test_unstorable_text_in_json_bodies_is_422(api, api_key, admin_token) -> None:
    """NUL (a 500 on PostgreSQL, stored on SQLite) and lone surrogates (which crashed the 422
    handler that echoed them) anywhere in a body: 422 with a JSON detail, nothing stored."""
    unit = await api.propose(api_key)
    calls = [
        ("knowledge", proposal(insight={"summary": "a" + NUL, "detail": "d", "action": "a"})),
        ("knowledge", proposal(domains=["we" + NUL + "b"])),
        ("knowledge", proposal(extensions={"ns:k" + NUL: 1})),
        ("knowledge", proposal(extensions={"ns:k": {"deep": ["v" + NUL]}})),
        ("knowledge", proposal(context={"languages": ["py" + SURROGATE]})),
        ("knowledge", proposal(extensions={"ns:k": SURROGATE})),
        (f"knowledge/{unit['id']}/flags", {"reason": "stale", "detail": NUL}),
        ("auth/login", {"username": "ad" + NUL + "min", "password": "x" * 10}),
        ("auth/login", {"username": SURROGATE, "password": "x" * 10}),
        ("users/me/api-keys", {"name": "agent" + NUL, "ttl": "1d"}),
        ("users/me/api-keys", {"name": "agent", "ttl": "1d", "labels": [NUL]}),
        ("users", {"username": "n" + NUL, "password": "long enough password"}),
        (f"review/{unit['id']}/reject", {"reason": "no" + NUL}),
    ]
    for path, body in calls:
        key = api_key if path.startswith("knowledge") else admin_token
        # Sent as the bytes a client would send: json.dumps escapes both as \u0000, \ud800.
        response = await api.client.post(
            f"{API}/{path}",
            content=json.dumps(body),
            headers=bearer(key) | {"content-type": "application/json"},
        )
        message = detail_text(response)
        assert "must not contain" in message, (path, message)
    assert await pending_total(api, admin_token) == 1  # the one proposed first, still pending
    item = await api.review_item(admin_token, unit["id"])
    assert item["status"] == "pending"


async def test_unstorable_text_in_query_strings_is_422(api, admin_token) -> None:
    """``q=a%00b`` was a 500 on SQLite's full-text search, NUL filters a 500 on PostgreSQL."""
    for path in (
        "review/units?q=a%00b",
        "review/units?domain=we%00b",
        "review/units?created_by=%00",
        "review/units?status=pending%00",
        "users?after=a%00",
        "knowledge?domains=we%00b",
    ):
        response = await api.client.get(f"{API}/{path}", headers=bearer(admin_token))
        assert "must not contain NUL" in detail_text(response), path
    # The dashboard's search and sign-in form are refused the same way.
    response = await api.client.get("/units?q=a%00b")
    assert "must not contain NUL" in detail_text(response)
    response = await api.client.post("/sign-in", data={"username": "a\x00", "password": "p"})
    assert response.status_code == 422
    assert "must not contain NUL" in response.text


async def test_unstorable_text_in_paths_is_404(api, api_key, admin_token) -> None:
    for method, path, key in (
        ("GET", "review/ku_x%00", admin_token),
        ("POST", "review/ku_x%00/approve", admin_token),
        ("POST", "knowledge/ku_x%00/confirmations", api_key),
        ("POST", "users/me/api-keys/a%00/revoke", admin_token),
        ("DELETE", "users/a%00b", admin_token),
    ):
        response = await api.client.request(method, f"{API}/{path}", headers=bearer(key))
        assert response.status_code == 404, (path, response.text)
        assert response.json() == {"detail": "Not Found"}


async def test_integers_are_bounded_before_the_driver(api, admin_token) -> None:
    """``offset=2**63`` overflowed the drivers' integers: a 500."""
    for path in (
        "review/queue?offset=9223372036854775808",
        "review/queue?offset=2147483648",
        "review/units?limit=9223372036854775808",
        "users?limit=9223372036854775808",
        "knowledge?domains=web&limit=9223372036854775808",
    ):
        response = await api.client.get(f"{API}/{path}", headers=bearer(admin_token))
        assert response.status_code == 422, (path, response.text)
    response = await api.client.get(
        f"{API}/review/queue?offset=2147483647", headers=bearer(admin_token)
    )
    assert response.status_code == 200
    assert response.json()["items"] == []


async def test_cursors_holding_unstorable_text_are_422(api, admin_token) -> None:
    for parts in (
        ["2026-01-01T00:00:00+00:00", "ku" + NUL],
        ["2026-01-01" + SURROGATE, "ku"],
        ["2026-01-01T00:00:00", "ku"],  # no time zone
    ):
        cursor = base64.urlsafe_b64encode(json.dumps(parts).encode()).decode().rstrip("=")
        response = await api.review_units(admin_token, cursor=cursor)
        assert response.status_code == 422, response.text
        assert response.json() == {"detail": "cursor is not one this server issued"}


async def test_domain_limits_hold_after_lower_casing(api, api_key, admin_token) -> None:
    """64 × ``İ`` is 128 characters lower-cased: stored over the limit on SQLite, a 500 on
    PostgreSQL. The limit now holds for the form that is stored and matched."""
    grows = "İ" * 64
    response = await api.client.post(
        f"{API}/knowledge", json=proposal(domains=[grows]), headers=bearer(api_key)
    )
    assert detail_text(response) == "domains must be at most 64 characters once lower-cased"
    assert await pending_total(api, admin_token) == 0
    for path in (f"knowledge?domains={grows}", f"review/units?domain={grows}"):
        response = await api.client.get(f"{API}/{path}", headers=bearer(admin_token))
        assert "once lower-cased" in detail_text(response), path
    # 32 of them lower-case to exactly 64: stored, and found by either spelling.
    unit = await api.approved(api_key, admin_token, domains=["İ" * 32])
    assert unit["domains"] == ["İ".lower() * 32]
    assert [u["id"] for u in await api.query({"domains": "İ" * 32})] == [unit["id"]]
