"""``/users/me/api-keys``: create, list, revoke; token format, TTL grammar, labels, the cap."""

import re
from datetime import datetime, timedelta

import pytest

from colloquy.domain.models import Role
from colloquy.security.api_keys import mint
from colloquy.store.protocol import NewApiKey
from tests.api.conftest import API, API_KEY_ON_SESSION_ROUTE, bearer, expired_key, now

KEY_FIELDS = {
    "id",
    "name",
    "labels",
    "prefix",
    "ttl",
    "expires_at",
    "created_at",
    "last_used_at",
    "revoked_at",
    "is_expired",
    "is_active",
}
TOKEN = re.compile(r"^cqa\.v1\.([0-9a-f]{32})\.([a-z2-7]{52})$")
INVALID_KEY = {"detail": "Invalid API key"}


def check_key(body):
    assert set(body) - {"token"} == KEY_FIELDS
    assert re.fullmatch(r"[0-9a-f]{32}", body["id"])
    assert re.fullmatch(r"[a-z2-7]{8}", body["prefix"])
    for field in ("expires_at", "created_at", "last_used_at", "revoked_at"):
        if body[field] is not None:
            assert body[field].endswith("+00:00"), body[field]
            datetime.fromisoformat(body[field])
    assert isinstance(body["is_expired"], bool)
    assert body["is_active"] == (body["revoked_at"] is None and not body["is_expired"])
    return body


async def test_create_key_shape(api, admin_token):
    before = now()
    body = await api.create_key(admin_token, name="laptop", ttl="30d", labels=["a", "b"])
    assert set(body) == KEY_FIELDS | {"token"}
    check_key(body)
    match = TOKEN.fullmatch(body["token"])
    assert match, body["token"]
    assert match.group(1) == body["id"]
    assert body["prefix"] == match.group(2)[:8]
    assert body["name"] == "laptop"
    assert body["labels"] == ["a", "b"]
    assert body["ttl"] == "30d"
    assert body["last_used_at"] is None
    assert body["revoked_at"] is None
    assert body["is_expired"] is False
    assert body["is_active"] is True
    expires = datetime.fromisoformat(body["expires_at"])
    created = datetime.fromisoformat(body["created_at"])
    assert before - timedelta(seconds=1) <= created <= now()
    assert abs(expires - created - timedelta(days=30)) < timedelta(seconds=1)


async def test_tokens_are_unique(api, admin_token):
    first = await api.create_key(admin_token)
    second = await api.create_key(admin_token)
    assert first["id"] != second["id"]
    assert first["token"] != second["token"]


@pytest.mark.parametrize(
    "ttl, canonical, seconds",
    [
        ("30d", "30d", 30 * 86400),
        ("030D", "030d", 30 * 86400),
        (" 12H ", "12h", 12 * 3600),
        ("15m", "15m", 900),
        ("90s", "90s", 90),
        ("365d", "365d", 365 * 86400),
        ("8760h", "8760h", 365 * 86400),
        ("31536000s", "31536000s", 31536000),
    ],
)
async def test_ttl_canonical_form(api, admin_token, ttl, canonical, seconds):
    body = await api.create_key(admin_token, ttl=ttl)
    assert body["ttl"] == canonical
    span = datetime.fromisoformat(body["expires_at"]) - datetime.fromisoformat(body["created_at"])
    assert abs(span - timedelta(seconds=seconds)) < timedelta(seconds=1)


@pytest.mark.parametrize(
    "ttl, detail",
    [
        ("   ", "ttl is required"),
        ("1w", "'1w' is not a valid duration: expected <integer><s|m|h|d>, e.g. 30d, 12h"),
        ("30", "'30' is not a valid duration: expected <integer><s|m|h|d>, e.g. 30d, 12h"),
        ("1mo", "'1mo' is not a valid duration: expected <integer><s|m|h|d>, e.g. 30d, 12h"),
        ("-1d", "'-1d' is not a valid duration: expected <integer><s|m|h|d>, e.g. 30d, 12h"),
        ("1.5d", "'1.5d' is not a valid duration: expected <integer><s|m|h|d>, e.g. 30d, 12h"),
        ("١d", "'١d' is not a valid duration: expected <integer><s|m|h|d>, e.g. 30d, 12h"),
        ("0d", "'0d': ttl must be greater than zero"),
        ("000s", "'000s': ttl must be greater than zero"),
        ("366d", "'366d' exceeds the maximum of 365d"),
        ("31536001s", "'31536001s' exceeds the maximum of 365d"),
        (" 8761H", "' 8761H' exceeds the maximum of 365d"),
    ],
)
async def test_ttl_errors(client, admin_token, ttl, detail):
    response = await client.post(
        f"{API}/users/me/api-keys", json={"name": "k", "ttl": ttl}, headers=bearer(admin_token)
    )
    assert response.status_code == 422, response.text
    assert response.json() == {"detail": detail}


@pytest.mark.parametrize(
    "body",
    [
        {"name": "k", "ttl": ""},
        {"name": "k", "ttl": "1" * 17},
        {"name": "", "ttl": "1d"},
        {"name": "n" * 65, "ttl": "1d"},
        {"ttl": "1d"},
        {"name": "k"},
        {"name": "k", "ttl": "1d", "labels": None},
        {"name": "k", "ttl": "1d", "labels": [str(i) for i in range(17)]},
        {"name": "k", "ttl": "1d", "labels": "a"},
    ],
    ids=[
        "ttl-empty",
        "ttl-17",
        "name-empty",
        "name-65",
        "no-name",
        "no-ttl",
        "labels-null",
        "labels-17",
        "labels-string",
    ],
)
async def test_create_key_schema_errors(client, admin_token, body):
    response = await client.post(f"{API}/users/me/api-keys", json=body, headers=bearer(admin_token))
    assert response.status_code == 422, response.text
    assert isinstance(response.json()["detail"], list)


async def test_create_key_limits_accepted(api, admin_token):
    body = await api.create_key(
        admin_token, name="n" * 64, ttl="0" * 13 + "30d", labels=[str(i) for i in range(16)]
    )
    assert body["name"] == "n" * 64
    assert len(body["labels"]) == 16


async def test_blank_name_is_rejected(client, admin_token):
    response = await client.post(
        f"{API}/users/me/api-keys", json={"name": "   ", "ttl": "1d"}, headers=bearer(admin_token)
    )
    assert response.status_code == 422
    assert response.json() == {"detail": "name must not be blank"}


async def test_labels_are_normalised(api, admin_token):
    body = await api.create_key(admin_token, labels=[" a ", "a", "", "b", "  ", "B"])
    assert body["labels"] == ["a", "b", "B"]
    (listed,) = await api.list_keys(admin_token)
    assert listed["labels"] == ["a", "b", "B"]


async def test_labels_default_empty(api, admin_token):
    assert (await api.create_key(admin_token))["labels"] == []


async def test_list_keys_newest_first_without_secrets(api, admin_token):
    created = [await api.create_key(admin_token, name=f"k{i}") for i in range(3)]
    listed = await api.list_keys(admin_token)
    assert [k["id"] for k in listed] == [k["id"] for k in reversed(created)]
    for key, made in zip(listed, reversed(created), strict=True):
        check_key(key)
        assert "token" not in key
        assert key == {k: v for k, v in made.items() if k != "token"}


async def test_list_keys_only_own(api, admin_token, reviewer_token):
    await api.create_key(admin_token, name="mine")
    assert await api.list_keys(reviewer_token) == []


async def test_revoke_key(api, admin_token):
    key = await api.create_key(admin_token)
    await api.propose(key["token"])
    response = await api.client.post(
        f"{API}/users/me/api-keys/{key['id']}/revoke", headers=bearer(admin_token)
    )
    assert response.status_code == 200
    assert response.json() == {"message": "API key revoked."}
    (listed,) = await api.list_keys(admin_token)
    check_key(listed)
    assert listed["revoked_at"] is not None
    assert listed["is_active"] is False
    assert listed["is_expired"] is False
    response = await api.client.post(
        f"{API}/knowledge",
        json={"domains": ["web"], "insight": {"summary": "", "detail": "", "action": ""}},
        headers=bearer(key["token"]),
    )
    assert response.status_code == 401
    assert response.json() == INVALID_KEY
    assert "www-authenticate" not in response.headers

    # idempotent, keeping the first revocation time
    response = await api.client.post(
        f"{API}/users/me/api-keys/{key['id']}/revoke", headers=bearer(admin_token)
    )
    assert response.status_code == 200
    (again,) = await api.list_keys(admin_token)
    assert again["revoked_at"] == listed["revoked_at"]


async def test_revoke_unknown_or_foreign_key_is_404(api, admin_token, reviewer_token):
    key = await api.create_key(admin_token)
    for key_id in (key["id"], "0" * 32, key["id"].upper(), "nope"):
        response = await api.client.post(
            f"{API}/users/me/api-keys/{key_id}/revoke", headers=bearer(reviewer_token)
        )
        assert response.status_code == 404
        assert response.json() == {"detail": "API key not found"}
    (still,) = await api.list_keys(admin_token)
    assert still["is_active"] is True
    await api.propose(key["token"])


async def test_key_routes_need_a_session(client, api_key):
    for method, path in (
        ("POST", "/users/me/api-keys"),
        ("GET", "/users/me/api-keys"),
        ("POST", "/users/me/api-keys/" + "0" * 32 + "/revoke"),
    ):
        response = await client.request(method, f"{API}{path}", json={"name": "k", "ttl": "1d"})
        assert response.status_code == 401
        assert response.json() == {"detail": "Missing or invalid authorization header"}
        response = await client.request(
            method, f"{API}{path}", json={"name": "k", "ttl": "1d"}, headers=bearer(api_key)
        )
        assert response.status_code == 401
        assert response.json() == API_KEY_ON_SESSION_ROUTE


async def test_members_may_hold_keys(api, member_token):
    key = await api.key(member_token)
    unit = await api.propose(key)
    assert unit["created_by"] == "mo"


async def test_expired_key_is_refused(api, admin_token, settings, store):
    token = await expired_key(settings, store, "admin")
    (listed,) = await api.list_keys(admin_token)
    check_key(listed)
    assert listed["is_expired"] is True
    assert listed["is_active"] is False
    assert listed["revoked_at"] is None
    response = await api.client.post(
        f"{API}/knowledge/ku_{'0' * 32}/confirmations", headers=bearer(token)
    )
    assert response.status_code == 401
    assert response.json() == INVALID_KEY


async def test_cap_of_twenty_active_keys(api, admin_token, settings, store):
    keys = [await api.create_key(admin_token, name=f"k{i}", ttl="1h") for i in range(20)]
    response = await api.client.post(
        f"{API}/users/me/api-keys", json={"name": "k", "ttl": "1d"}, headers=bearer(admin_token)
    )
    assert response.status_code == 409
    assert response.json() == {"detail": "Maximum of 20 active API keys per user"}

    # the cap is per user
    other = await api.token("other", Role.MEMBER)
    await api.create_key(other)

    # a revoked key frees a slot
    response = await api.client.post(
        f"{API}/users/me/api-keys/{keys[0]['id']}/revoke", headers=bearer(admin_token)
    )
    assert response.status_code == 200
    await api.create_key(admin_token, name="replacement")
    response = await api.client.post(
        f"{API}/users/me/api-keys", json={"name": "k", "ttl": "1d"}, headers=bearer(admin_token)
    )
    assert response.status_code == 409
    assert len(await api.list_keys(admin_token)) == 21


async def test_expired_keys_do_not_count_toward_cap(api, admin_token, settings, store):
    user = await store.get_user("admin")
    at = now()
    pepper = settings.api_key_pepper.get_secret_value()
    for i in range(20):
        key_id = f"{i:032x}"
        minted = mint(pepper, key_id)
        await store.create_api_key(
            NewApiKey(
                id=key_id,
                user_id=user.id,
                name=f"old{i}",
                labels=[],
                prefix=minted.prefix,
                key_hash=minted.key_hash,
                ttl="1s",
                expires_at=at - timedelta(seconds=1),
                created_at=at - timedelta(seconds=2),
            ),
            20,
        )
    await api.create_key(admin_token)


async def test_last_used_at_is_set_after_use(api, admin_token):
    key = await api.create_key(admin_token)
    assert key["last_used_at"] is None
    before = now()
    await api.propose(key["token"])
    (listed,) = await api.list_keys(admin_token)
    assert listed["last_used_at"] is not None
    used = datetime.fromisoformat(listed["last_used_at"])
    assert before - timedelta(seconds=1) <= used <= now() + timedelta(seconds=1)


async def test_failed_authentication_does_not_touch_key(api, admin_token):
    key = await api.create_key(admin_token)
    _, _, key_id, secret = key["token"].split(".")
    wrong = f"cqa.v1.{key_id}.{'a' * 52}" if secret != "a" * 52 else key["token"].upper()
    response = await api.client.post(
        f"{API}/knowledge/ku_{'0' * 32}/confirmations", headers=bearer(wrong)
    )
    assert response.status_code == 401
    (listed,) = await api.list_keys(admin_token)
    assert listed["last_used_at"] is None
