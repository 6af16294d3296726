"""Helpers for the HTTP API tests: users, tokens, API keys and the common data-plane calls.

Every helper asserts the expected status and validates every knowledge unit and every
knowledge-stats body it sees against the cq-schema JSON Schemas.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from colloquy.config import Settings
from colloquy.domain.models import Role
from colloquy.security.api_keys import mint
from colloquy.security.passwords import hash_password
from colloquy.store.protocol import NewApiKey, Store, UserRecord
from tests.support.schemas import assert_ku, assert_kus, assert_stats

PASSWORD = "correct horse battery staple"
API = "/api/v1"
# What a session route (review, users, own keys) answers an API key: which token it wants.
API_KEY_ON_SESSION_ROUTE = {
    "detail": "An API key cannot be used here: sign in with POST /api/v1/auth/login "
    "and send the session token it returns"
}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def expired_key(settings: Settings, store: Store, username: str) -> str:
    """The token of a key of ``username``'s that expired a minute ago (the API cannot make
    one: its shortest TTL is an hour)."""
    user = await store.get_user(username)
    assert user is not None
    key_id = "e" * 32
    minted = mint(settings.api_key_pepper.get_secret_value(), key_id)
    at = now()
    await store.create_api_key(
        NewApiKey(
            id=key_id,
            user_id=user.id,
            name="old",
            labels=[],
            prefix=minted.prefix,
            key_hash=minted.key_hash,
            ttl="1h",
            expires_at=at - timedelta(minutes=1),
            created_at=at - timedelta(hours=1, minutes=1),
        ),
        20,
    )
    return minted.token


def now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture(scope="session")
async def password_hash() -> str:
    """One argon2 hash of PASSWORD, shared by every user the tests create (hashing is slow)."""
    return await hash_password(PASSWORD)


@dataclass
class Api:
    client: httpx.AsyncClient
    store: Store
    settings: Settings
    password_hash: str
    _reader_key: str | None = None

    # ------------------------------------------------------------ accounts

    async def user(self, username: str, role: Role = Role.REVIEWER) -> UserRecord:
        return await self.store.create_user(username, self.password_hash, role, now())

    async def login(self, username: str, password: str = PASSWORD) -> str:
        response = await self.client.post(
            f"{API}/auth/login", json={"username": username, "password": password}
        )
        assert response.status_code == 200, response.text
        assert response.json()["username"] == username
        return response.json()["token"]

    async def token(self, username: str, role: Role = Role.REVIEWER) -> str:
        """A new user of ``role`` and a session token for them."""
        await self.user(username, role)
        return await self.login(username)

    async def create_key(
        self,
        token: str,
        name: str = "agent",
        ttl: str = "30d",
        labels: list[str] | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"name": name, "ttl": ttl}
        if labels is not None:
            body["labels"] = labels
        response = await self.client.post(
            f"{API}/users/me/api-keys", json=body, headers=bearer(token)
        )
        assert response.status_code == 201, response.text
        return response.json()

    async def key(self, token: str) -> str:
        """The plaintext of a new API key owned by the token's user."""
        return (await self.create_key(token))["token"]

    async def list_keys(self, token: str) -> list[dict[str, Any]]:
        response = await self.client.get(f"{API}/users/me/api-keys", headers=bearer(token))
        assert response.status_code == 200, response.text
        assert set(response.json()) == {"data"}
        return response.json()["data"]

    # ------------------------------------------------------------ knowledge

    async def propose(
        self,
        key: str,
        *,
        domains: Iterable[str] = ("web",),
        summary: str = "Summary",
        detail: str = "Detail",
        action: str = "Action",
        languages: Iterable[str] = (),
        frameworks: Iterable[str] = (),
        pattern: str = "",
        extensions: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "domains": list(domains),
            "insight": {"summary": summary, "detail": detail, "action": action},
            "context": {
                "languages": list(languages),
                "frameworks": list(frameworks),
                "pattern": pattern,
            },
        }
        if extensions is not None:
            body["extensions"] = extensions
        response = await self.client.post(f"{API}/knowledge", json=body, headers=bearer(key))
        assert response.status_code == 201, response.text
        return assert_ku(response.json())

    async def decide(self, token: str, unit_id: str, decision: str) -> dict[str, Any]:
        response = await self.client.post(
            f"{API}/review/{unit_id}/{decision}", headers=bearer(token)
        )
        assert response.status_code == 200, response.text
        return response.json()

    async def approve(self, token: str, unit_id: str) -> dict[str, Any]:
        return await self.decide(token, unit_id, "approve")

    async def reject(self, token: str, unit_id: str) -> dict[str, Any]:
        return await self.decide(token, unit_id, "reject")

    async def approved(self, key: str, token: str, **proposal: Any) -> dict[str, Any]:
        """Propose a unit and approve it; the proposed KU."""
        unit = await self.propose(key, **proposal)
        await self.approve(token, unit["id"])
        return unit

    async def confirm(self, key: str, unit_id: str) -> dict[str, Any]:
        response = await self.client.post(
            f"{API}/knowledge/{unit_id}/confirmations", headers=bearer(key)
        )
        assert response.status_code == 201, response.text
        return assert_ku(response.json())

    async def flag(
        self, key: str, unit_id: str, reason: str = "stale", **extra: Any
    ) -> dict[str, Any]:
        response = await self.client.post(
            f"{API}/knowledge/{unit_id}/flags",
            json={"reason": reason, **extra},
            headers=bearer(key),
        )
        assert response.status_code == 201, response.text
        return assert_ku(response.json())

    async def reader_headers(self) -> dict[str, str]:
        """An agent's credentials for the read routes (an API key of the member ``reader``)."""
        if self._reader_key is None:
            self._reader_key = await self.key(await self.token("reader", Role.MEMBER))
        return bearer(self._reader_key)

    async def query(self, params: Any) -> list[dict[str, Any]]:
        response = await self.client.get(
            f"{API}/knowledge", params=params, headers=await self.reader_headers()
        )
        assert response.status_code == 200, response.text
        assert set(response.json()) == {"data"}
        return assert_kus(response.json()["data"])

    async def knowledge_stats(self) -> dict[str, Any]:
        response = await self.client.get(
            f"{API}/knowledge/stats", headers=await self.reader_headers()
        )
        assert response.status_code == 200, response.text
        return assert_stats(response.json())

    # ------------------------------------------------------------ review

    async def review_item(self, token: str, unit_id: str) -> dict[str, Any]:
        response = await self.client.get(f"{API}/review/{unit_id}", headers=bearer(token))
        assert response.status_code == 200, response.text
        return check_review_item(response.json())

    async def review_stats(self, token: str) -> dict[str, Any]:
        response = await self.client.get(f"{API}/review/stats", headers=bearer(token))
        assert response.status_code == 200, response.text
        return response.json()

    async def review_units(self, token: str, **params: Any) -> httpx.Response:
        response = await self.client.get(
            f"{API}/review/units", params=params, headers=bearer(token)
        )
        if response.status_code == 200:
            assert isinstance(response.json(), list)
            for item in response.json():
                check_review_item(item)
        return response


def check_review_item(item: dict[str, Any]) -> dict[str, Any]:
    """A ``ReviewItem``: the full KU (with created_by) plus its review state."""
    assert set(item) == {"knowledge_unit", "status", "reviewed_by", "reviewed_at"}
    assert_ku(item["knowledge_unit"])
    assert "created_by" in item["knowledge_unit"]
    assert item["status"] in {"pending", "approved", "rejected"}
    if item["status"] == "pending":
        assert item["reviewed_by"] is None
        assert item["reviewed_at"] is None
    else:
        assert isinstance(item["reviewed_by"], str)
        assert item["reviewed_at"].endswith("+00:00")
    return item


@pytest.fixture
def api(client: httpx.AsyncClient, store: Store, settings: Settings, password_hash: str) -> Api:
    return Api(client=client, store=store, settings=settings, password_hash=password_hash)


@pytest.fixture
async def admin_token(api: Api) -> str:
    """A session token of the user ``admin`` (role admin)."""
    return await api.token("admin", Role.ADMIN)


@pytest.fixture
async def reviewer_token(api: Api) -> str:
    """A session token of the user ``rita`` (role reviewer)."""
    return await api.token("rita", Role.REVIEWER)


@pytest.fixture
async def member_token(api: Api) -> str:
    """A session token of the user ``mo`` (role member)."""
    return await api.token("mo", Role.MEMBER)


@pytest.fixture
async def api_key(api: Api, admin_token: str) -> str:
    """The plaintext of an API key owned by ``admin``."""
    return await api.key(admin_token)
