"""Security headers on every response, ``no-store`` where tokens travel, and the API docs served
from local assets only."""

import re

from colloquy.domain.models import Role
from tests.api.conftest import API, PASSWORD, bearer


def assert_secured(response, cache="no-store"):
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == cache


async def test_token_responses_are_not_stored(api):
    await api.user("alice", Role.ADMIN)
    login = await api.client.post(
        f"{API}/auth/login", json={"username": "alice", "password": PASSWORD}
    )
    assert login.status_code == 200 and "token" in login.json()
    assert_secured(login)
    token = login.json()["token"]
    created = await api.client.post(
        f"{API}/users/me/api-keys", json={"name": "k", "ttl": "1d"}, headers=bearer(token)
    )
    assert created.status_code == 201 and "token" in created.json()
    assert_secured(created)


async def test_every_kind_of_response_is_secured(api, api_key):
    reader = await api.reader_headers()
    answers = [
        await api.client.get(f"{API}/health"),
        await api.client.get(f"{API}/knowledge", params={"domains": "x"}, headers=reader),
        await api.client.get(f"{API}/knowledge/stats"),  # 401
        await api.client.get(f"{API}/knowledge", headers=reader),  # 422
        await api.client.post(f"{API}/knowledge", content=b"x" * 2_000_000),  # 413
        await api.client.get("/no-such-page"),  # 404
        await api.client.get("/sign-in"),  # a dashboard page
        await api.client.get("/openapi.json"),
    ]
    assert [r.status_code for r in answers] == [200, 200, 401, 422, 413, 404, 200, 200]
    for response in answers:
        assert_secured(response)
    assert "script-src 'self';" in answers[6].headers["content-security-policy"]
    assert "unsafe-inline" not in answers[6].headers["content-security-policy"]


async def test_docs_use_local_assets_only(client):
    for path in ("/docs", "/redoc"):
        page = await client.get(path)
        assert page.status_code == 200
        assert_secured(page)
        csp = page.headers["content-security-policy"]
        assert "script-src 'self';" in csp and "http" not in csp
        assert "<script>" not in page.text  # no inline script: the CSP would block it
        urls = re.findall(r'(?:src|href|spec-url)="([^"]+)"', page.text)
        assert urls, page.text
        for url in urls:
            assert url.startswith("/"), url  # nothing from another origin
            asset = await client.get(url)
            assert asset.status_code == 200, url
            cache = "no-store" if url == "/openapi.json" else "no-cache"
            assert_secured(asset, cache)
