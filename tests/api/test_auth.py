"""Login, logout, session tokens (JWT) and the two authentication schemes' failure modes."""

from datetime import datetime, timedelta

import jwt
import pytest

from colloquy.domain.models import Role
from tests.api.conftest import API, API_KEY_ON_SESSION_ROUTE, PASSWORD, bearer, now

INVALID_TOKEN = {"detail": "Invalid or expired token"}
MISSING_HEADER = {"detail": "Missing or invalid authorization header"}
INVALID_KEY = {"detail": "Invalid API key"}
BAD_LOGIN = {"detail": "Invalid username or password"}


def sign(settings, claims):
    return jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm="HS256")


def assert_401(response, body):
    assert response.status_code == 401, response.text
    assert response.json() == body
    assert "www-authenticate" not in response.headers


# ------------------------------------------------------------------ login


async def test_login_returns_hs256_jwt(api, settings):
    await api.user("alice", Role.REVIEWER)
    response = await api.client.post(
        f"{API}/auth/login", json={"username": "alice", "password": PASSWORD}
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"token", "username"}
    assert body["username"] == "alice"
    assert jwt.get_unverified_header(body["token"])["alg"] == "HS256"
    claims = jwt.decode(body["token"], settings.jwt_secret.get_secret_value(), algorithms=["HS256"])
    assert claims["sub"] == "alice"
    assert claims["exp"] - claims["iat"] == 86400
    assert abs(claims["iat"] - now().timestamp()) < 60


@pytest.mark.parametrize(
    "username, password",
    [
        ("alice", "wrong password"),
        ("Alice", PASSWORD),
        ("nobody", PASSWORD),
        ("alice", ""),
        ("alice", "p" * 1025),
        ("nobody", "p" * 5000),
    ],
    ids=["wrong-password", "case-sensitive", "unknown", "empty", "long", "long-unknown"],
)
async def test_login_failures_are_401(api, username, password):
    await api.user("alice")
    response = await api.client.post(
        f"{API}/auth/login", json={"username": username, "password": password}
    )
    assert_401(response, BAD_LOGIN)


@pytest.mark.parametrize(
    "body",
    [{"username": "alice"}, {"password": PASSWORD}, {"username": 1, "password": PASSWORD}, []],
)
async def test_login_bad_body_is_422(client, body):
    response = await client.post(f"{API}/auth/login", json=body)
    assert response.status_code == 422
    assert isinstance(response.json()["detail"], list)


async def test_login_needs_json_content_type(api):
    await api.user("alice")
    response = await api.client.post(
        f"{API}/auth/login",
        content=f'{{"username":"alice","password":"{PASSWORD}"}}',
        headers={"Content-Type": "text/plain"},
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body"]


async def test_login_malformed_json_is_422(client):
    response = await client.post(
        f"{API}/auth/login", content=b'{"username":', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "json_invalid"


# ------------------------------------------------------------------ /users/me


async def test_users_me(api):
    before = now()
    token = await api.token("alice", Role.REVIEWER)
    response = await api.client.get(f"{API}/users/me", headers=bearer(token))
    assert response.status_code == 200
    body = response.json()
    assert body["username"] == "alice"
    assert body["role"] == "reviewer"
    assert body["created_at"].endswith("+00:00")
    created = datetime.fromisoformat(body["created_at"])
    assert before - timedelta(seconds=5) <= created <= now() + timedelta(seconds=5)


# ------------------------------------------------------------------ JWT failures


@pytest.mark.parametrize(
    "header",
    [None, "bearer {token}", "Bearer", "Basic {token}", "Token {token}", " Bearer {token}"],
    ids=["missing", "lower-case", "no-space", "basic", "token", "leading-space"],
)
async def test_jwt_route_bad_header(client, admin_token, header):
    headers = {} if header is None else {"Authorization": header.format(token=admin_token)}
    response = await client.get(f"{API}/users/me", headers=headers)
    assert_401(response, MISSING_HEADER)


async def test_api_key_used_as_jwt(client, api_key):
    for path in ("/users/me", "/users/me/api-keys", "/review/queue"):
        response = await client.get(f"{API}{path}", headers=bearer(api_key))
        assert_401(response, API_KEY_ON_SESSION_ROUTE)


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": "admin"},
        {"exp": 4_000_000_000},
        {"sub": "admin", "exp": 1_000_000_000},
        {"sub": "", "exp": 4_000_000_000},
        {"sub": 7, "exp": 4_000_000_000},
        {"sub": "ghost", "exp": 4_000_000_000},
    ],
    ids=["no-exp", "no-sub", "expired", "empty-sub", "int-sub", "unknown-user"],
)
async def test_jwt_bad_claims_are_401(client, settings, admin_token, claims):
    token = sign(settings, claims)
    response = await client.get(f"{API}/users/me", headers=bearer(token))
    assert_401(response, INVALID_TOKEN)


async def test_jwt_wrong_signature_or_algorithm(client, admin_token):
    forged = jwt.encode({"sub": "admin", "exp": 4_000_000_000}, "x" * 40, algorithm="HS256")
    response = await client.get(f"{API}/users/me", headers=bearer(forged))
    assert_401(response, INVALID_TOKEN)
    unsigned = jwt.encode({"sub": "admin", "exp": 4_000_000_000}, None, algorithm="none")
    response = await client.get(f"{API}/users/me", headers=bearer(unsigned))
    assert_401(response, INVALID_TOKEN)
    response = await client.get(f"{API}/users/me", headers=bearer("garbage"))
    assert_401(response, INVALID_TOKEN)


async def test_hand_signed_jwt_with_exp_and_sub_is_accepted(client, settings, admin_token):
    """A reference-style token (no jti) signed with the secret still works."""
    token = sign(settings, {"sub": "admin", "iat": int(now().timestamp()), "exp": 4_000_000_000})
    response = await client.get(f"{API}/users/me", headers=bearer(token))
    assert response.status_code == 200
    assert response.json()["username"] == "admin"


async def test_jwt_trailing_space_fails(client, admin_token):
    response = await client.get(f"{API}/users/me", headers=bearer(admin_token + " "))
    assert_401(response, INVALID_TOKEN)


# ------------------------------------------------------------------ API-key failures


@pytest.mark.parametrize(
    "header",
    [
        None,
        "bearer {key}",
        "Bearer",
        "Bearer {key} ",
        "Basic {key}",
        "Bearer {jwt}",
        "Bearer cqa.v1.00000000000000000000000000000000." + "a" * 52,
        "Bearer {key_upper}",
        "Bearer {key_dashed}",
        "Bearer {wrong_secret}",
    ],
    ids=[
        "missing",
        "lower-case",
        "no-space",
        "trailing-space",
        "basic",
        "jwt",
        "unknown-id",
        "upper-case",
        "dashed-id",
        "wrong-secret",
    ],
)
async def test_api_key_route_bad_credentials(client, admin_token, api_key, header):
    _, _, key_id, secret = api_key.split(".")
    dashed = f"{key_id[:8]}-{key_id[8:12]}-{key_id[12:16]}-{key_id[16:20]}-{key_id[20:]}"
    other_secret = ("b" if secret[0] == "a" else "a") + secret[1:]
    values = {
        "key": api_key,
        "jwt": admin_token,
        "key_upper": api_key.upper(),
        "key_dashed": f"cqa.v1.{dashed}.{secret}",
        "wrong_secret": f"cqa.v1.{key_id}.{other_secret}",
    }
    headers = {} if header is None else {"Authorization": header.format(**values)}
    for path, body in (
        (
            "/knowledge",
            {"domains": ["web"], "insight": {"summary": "", "detail": "", "action": ""}},
        ),
        ("/knowledge/ku_" + "0" * 32 + "/confirmations", None),
        ("/knowledge/ku_" + "0" * 32 + "/flags", {"reason": "stale"}),
    ):
        response = await client.post(f"{API}{path}", json=body, headers=headers)
        assert_401(response, INVALID_KEY)


async def test_credentials_checked_before_body_schema(client, api_key):
    invalid = {"domains": [], "insight": {}}
    response = await client.post(f"{API}/knowledge", json=invalid)
    assert_401(response, INVALID_KEY)
    response = await client.post(f"{API}/knowledge", json=invalid, headers=bearer(api_key))
    assert response.status_code == 422


async def test_malformed_json_is_422_even_without_credentials(client):
    response = await client.post(
        f"{API}/knowledge", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "json_invalid"


# ------------------------------------------------------------------ logout


async def test_logout_revokes_only_that_token(api):
    await api.user("alice")
    first = await api.login("alice")
    second = await api.login("alice")
    response = await api.client.post(f"{API}/auth/logout", headers=bearer(first))
    assert response.status_code == 200
    assert response.json() == {"message": "Signed out."}
    response = await api.client.get(f"{API}/users/me", headers=bearer(first))
    assert_401(response, INVALID_TOKEN)
    response = await api.client.get(f"{API}/review/queue", headers=bearer(first))
    assert_401(response, INVALID_TOKEN)
    response = await api.client.post(f"{API}/auth/logout", headers=bearer(first))
    assert_401(response, INVALID_TOKEN)
    response = await api.client.get(f"{API}/users/me", headers=bearer(second))
    assert response.status_code == 200


async def test_logout_needs_a_session(client, api_key):
    assert_401(await client.post(f"{API}/auth/logout"), MISSING_HEADER)
    assert_401(
        await client.post(f"{API}/auth/logout", headers=bearer(api_key)), API_KEY_ON_SESSION_ROUTE
    )


async def test_api_key_survives_logout(api, admin_token, api_key):
    await api.client.post(f"{API}/auth/logout", headers=bearer(admin_token))
    await api.propose(api_key)
