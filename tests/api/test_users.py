"""Admin user management (``/users``) and what deleting or changing a user does to sessions
and API keys."""

from datetime import datetime

import pytest

from colloquy.domain.models import Role
from tests.api.conftest import API, API_KEY_ON_SESSION_ROUTE, PASSWORD, bearer

FORBIDDEN = {"detail": "Your role does not allow this"}
INVALID_TOKEN = {"detail": "Invalid or expired token"}


def check_user(body):
    assert set(body) == {"username", "created_at", "role"}
    assert body["role"] in {"admin", "reviewer", "member"}
    assert body["created_at"].endswith("+00:00")
    datetime.fromisoformat(body["created_at"])
    return body


async def test_list_users_paged(api, admin_token):
    for name in ("carol", "bob", "dave"):
        await api.user(name, Role.MEMBER)
    response = await api.client.get(f"{API}/users", headers=bearer(admin_token))
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"data", "next_cursor"}
    assert [u["username"] for u in body["data"]] == ["admin", "bob", "carol", "dave"]
    assert body["next_cursor"] is None
    for user in body["data"]:
        check_user(user)
    assert body["data"][0]["role"] == "admin"
    assert body["data"][1]["role"] == "member"

    names = []
    after = None
    while True:
        params = {"limit": 3}
        if after:
            params["after"] = after
        response = await api.client.get(f"{API}/users", params=params, headers=bearer(admin_token))
        assert response.status_code == 200
        names += [u["username"] for u in response.json()["data"]]
        after = response.json()["next_cursor"]
        if after is None:
            break
    assert names == ["admin", "bob", "carol", "dave"]


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 201}, {"limit": "x"}])
async def test_list_users_bad_params(client, admin_token, params):
    response = await client.get(f"{API}/users", params=params, headers=bearer(admin_token))
    assert response.status_code == 422


async def test_create_user(api, admin_token):
    response = await api.client.post(
        f"{API}/users",
        json={"username": "erin", "password": "s3cret-passw0rd", "role": "member"},
        headers=bearer(admin_token),
    )
    assert response.status_code == 201, response.text
    body = check_user(response.json())
    assert body["username"] == "erin"
    assert body["role"] == "member"
    token = await api.login("erin", "s3cret-passw0rd")
    me = await api.client.get(f"{API}/users/me", headers=bearer(token))
    assert me.json()["role"] == "member"


async def test_create_user_default_role_is_reviewer(api, admin_token):
    response = await api.client.post(
        f"{API}/users",
        json={"username": "rev", "password": "long enough"},
        headers=bearer(admin_token),
    )
    assert response.status_code == 201
    assert response.json()["role"] == "reviewer"


async def test_create_duplicate_user_is_409(api, admin_token):
    await api.user("erin")
    response = await api.client.post(
        f"{API}/users",
        json={"username": "erin", "password": "long enough", "role": "member"},
        headers=bearer(admin_token),
    )
    assert response.status_code == 409
    assert response.json() == {"detail": "A user with that name already exists"}


@pytest.mark.parametrize(
    "body, string_detail",
    [
        ({"username": "erin", "password": "short", "role": "member"}, True),
        ({"username": "has space", "password": "long enough"}, True),
        ({"username": "   ", "password": "long enough"}, True),
        ({"username": "erin", "password": "long enough", "role": "owner"}, False),
        ({"username": "", "password": "long enough"}, False),
        ({"username": "u" * 65, "password": "long enough"}, False),
        ({"username": "erin", "password": "p" * 1025}, False),
        ({"username": "erin"}, False),
        ({"password": "long enough"}, False),
    ],
    ids=[
        "short-password",
        "space",
        "blank",
        "bad-role",
        "empty-name",
        "long-name",
        "long-password",
        "no-password",
        "no-name",
    ],
)
async def test_create_user_invalid_is_422(client, admin_token, body, string_detail):
    response = await client.post(f"{API}/users", json=body, headers=bearer(admin_token))
    assert response.status_code == 422, response.text
    assert isinstance(response.json()["detail"], str) == string_detail


async def test_patch_role(api, admin_token):
    await api.user("erin", Role.REVIEWER)
    token = await api.login("erin")
    response = await api.client.get(f"{API}/review/queue", headers=bearer(token))
    assert response.status_code == 200
    response = await api.client.patch(
        f"{API}/users/erin", json={"role": "member"}, headers=bearer(admin_token)
    )
    assert response.status_code == 200
    assert check_user(response.json())["role"] == "member"
    # A role change ends the user's sessions; a new one has the new role.
    response = await api.client.get(f"{API}/review/queue", headers=bearer(token))
    assert response.status_code == 401
    token = await api.login("erin")
    response = await api.client.get(f"{API}/review/queue", headers=bearer(token))
    assert response.status_code == 403
    assert response.json() == FORBIDDEN
    response = await api.client.patch(
        f"{API}/users/erin", json={"role": "admin"}, headers=bearer(admin_token)
    )
    assert response.json()["role"] == "admin"
    response = await api.client.get(f"{API}/users", headers=bearer(await api.login("erin")))
    assert response.status_code == 200


async def test_patch_password(api, admin_token):
    await api.user("erin")
    response = await api.client.patch(
        f"{API}/users/erin", json={"password": "a brand new one"}, headers=bearer(admin_token)
    )
    assert response.status_code == 200
    assert response.json()["username"] == "erin"
    assert response.json()["role"] == "reviewer"
    await api.login("erin", "a brand new one")
    response = await api.client.post(
        f"{API}/auth/login", json={"username": "erin", "password": PASSWORD}
    )
    assert response.status_code == 401


async def test_patch_nothing_returns_user(api, admin_token):
    await api.user("erin")
    response = await api.client.patch(f"{API}/users/erin", json={}, headers=bearer(admin_token))
    assert response.status_code == 200
    assert response.json()["username"] == "erin"


@pytest.mark.parametrize(
    "body", [{"role": "owner"}, {"password": ""}, {"password": "short"}, {"role": None, "x": 1}]
)
async def test_patch_invalid(api, admin_token, body):
    await api.user("erin")
    response = await api.client.patch(f"{API}/users/erin", json=body, headers=bearer(admin_token))
    if body.get("x"):
        assert response.status_code == 200
    else:
        assert response.status_code == 422


async def test_unknown_user_is_404(client, admin_token):
    for method, body in (("PATCH", {"role": "member"}), ("PATCH", {"password": "long enough"})):
        response = await client.request(
            method, f"{API}/users/ghost", json=body, headers=bearer(admin_token)
        )
        assert response.status_code == 404
        assert response.json() == {"detail": "User not found"}
    response = await client.delete(f"{API}/users/ghost", headers=bearer(admin_token))
    assert response.status_code == 404
    assert response.json() == {"detail": "User not found"}


async def test_delete_user_invalidates_sessions_and_keys(api, admin_token):
    await api.user("erin", Role.REVIEWER)
    token = await api.login("erin")
    key = await api.key(token)
    unit = await api.propose(key)
    response = await api.client.delete(f"{API}/users/erin", headers=bearer(admin_token))
    assert response.status_code == 200
    assert response.json() == {"message": "User deleted."}
    for path in ("/users/me", "/review/queue", "/users/me/api-keys"):
        response = await api.client.get(f"{API}{path}", headers=bearer(token))
        assert response.status_code == 401, path
        assert response.json() == INVALID_TOKEN
    response = await api.client.post(f"{API}/review/{unit['id']}/approve", headers=bearer(token))
    assert response.status_code == 401
    response = await api.client.post(
        f"{API}/knowledge",
        json={"domains": ["web"], "insight": {"summary": "", "detail": "", "action": ""}},
        headers=bearer(key),
    )
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid API key"}
    # their units stay, still attributed to them
    item = await api.review_item(admin_token, unit["id"])
    assert item["knowledge_unit"]["created_by"] == "erin"
    users = await api.client.get(f"{API}/users", headers=bearer(admin_token))
    assert [u["username"] for u in users.json()["data"]] == ["admin"]


async def test_recreated_user_does_not_inherit_old_sessions(api, admin_token):
    await api.user("erin", Role.ADMIN)
    old = await api.login("erin")
    await api.client.delete(f"{API}/users/erin", headers=bearer(admin_token))
    await api.user("erin", Role.MEMBER)
    response = await api.client.get(f"{API}/users/me", headers=bearer(old))
    assert response.status_code == 401
    assert response.json() == INVALID_TOKEN


ADMIN_CALLS = [
    ("GET", "/users", None),
    ("POST", "/users", {"username": "x1", "password": "long enough"}),
    ("PATCH", "/users/admin", {"role": "member"}),
    ("DELETE", "/users/admin", None),
]


async def test_non_admins_are_forbidden(api, admin_token, reviewer_token, member_token):
    for token in (reviewer_token, member_token):
        for method, path, body in ADMIN_CALLS:
            response = await api.client.request(
                method, f"{API}{path}", json=body, headers=bearer(token)
            )
            assert response.status_code == 403, (method, path)
            assert response.json() == FORBIDDEN
    me = await api.client.get(f"{API}/users/me", headers=bearer(admin_token))
    assert me.json()["role"] == "admin"


async def test_admin_routes_need_session(client, api_key):
    for method, path, body in ADMIN_CALLS:
        response = await client.request(method, f"{API}{path}", json=body)
        assert response.status_code == 401
        assert response.json() == {"detail": "Missing or invalid authorization header"}
        response = await client.request(method, f"{API}{path}", json=body, headers=bearer(api_key))
        assert response.status_code == 401
        assert response.json() == API_KEY_ON_SESSION_ROUTE
