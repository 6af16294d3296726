"""Admin safety over HTTP: the last admin stays (API and dashboard), account changes end the
user's sessions at once (session tokens and dashboard cookies alike), and admin actions are
listed by ``GET /api/v1/audit`` and the dashboard's ``/admin/audit``, for admins only."""

import re
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest

from colloquy.domain.models import Role
from colloquy.security import sessions
from tests.api.conftest import API, PASSWORD, Api, bearer

LAST_ADMIN = {
    "detail": "The last admin cannot be demoted or deleted; make another user an admin first"
}
HOUR = timedelta(hours=1)
CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')


def cookie(token: str) -> dict[str, str]:
    return {"Cookie": f"cq_session={token}"}


async def page(api: Api, path: str, token: str) -> httpx.Response:
    return await api.client.get(path, headers=cookie(token))


async def post_form(api: Api, path: str, token: str, **form: str) -> httpx.Response:
    """A dashboard form post, with the CSRF token its page carries."""
    csrf = CSRF.search((await page(api, "/admin/users", token)).text)
    assert csrf is not None
    data = {"csrf_token": csrf.group(1), **form}
    return await api.client.post(path, data=data, headers=cookie(token))


async def role_of(api: Api, username: str) -> Role:
    user = await api.store.get_user(username)
    assert user is not None
    return user.role


async def test_the_last_admin_cannot_be_demoted_or_deleted_over_the_api(api, admin_token):
    for method, body in (("PATCH", {"role": "member"}), ("PATCH", {"role": "reviewer"})):
        response = await api.client.request(
            method, f"{API}/users/admin", json=body, headers=bearer(admin_token)
        )
        assert response.status_code == 409
        assert response.json() == LAST_ADMIN
    response = await api.client.delete(f"{API}/users/admin", headers=bearer(admin_token))
    assert response.status_code == 409
    assert response.json() == LAST_ADMIN
    assert await role_of(api, "admin") is Role.ADMIN
    me = await api.client.get(f"{API}/users/me", headers=bearer(admin_token))
    assert me.status_code == 200  # a refused change leaves the session alone

    # With a second admin, either may step down; then the other is the last.
    ada = await api.token("ada", Role.ADMIN)
    response = await api.client.patch(
        f"{API}/users/admin", json={"role": "member"}, headers=bearer(admin_token)
    )
    assert response.status_code == 200
    assert response.json()["role"] == "member"
    response = await api.client.delete(f"{API}/users/ada", headers=bearer(ada))
    assert response.status_code == 409
    assert response.json() == LAST_ADMIN


async def test_the_last_admin_cannot_be_demoted_or_deleted_on_the_dashboard(api, admin_token):
    response = await post_form(api, "/admin/users/admin/role", admin_token, role="member")
    assert response.status_code == 409
    assert LAST_ADMIN["detail"] in response.text
    response = await post_form(api, "/admin/users/admin/delete", admin_token)
    assert response.status_code == 409
    assert LAST_ADMIN["detail"] in response.text
    assert await role_of(api, "admin") is Role.ADMIN
    # Other users' changes still go through.
    await api.user("erin", Role.REVIEWER)
    response = await post_form(api, "/admin/users/erin/role", admin_token, role="member")
    assert response.status_code == 303
    assert await role_of(api, "erin") is Role.MEMBER


@pytest.mark.parametrize(
    "change",
    [{"password": "a brand new one"}, {"role": "member"}, None],
    ids=["password", "role", "delete"],
)
async def test_account_changes_end_sessions_at_once(api, admin_token, change):
    await api.user("erin", Role.REVIEWER)
    token = await api.login("erin")
    assert (await page(api, "/review", token)).status_code == 200
    if change is None:
        response = await api.client.delete(f"{API}/users/erin", headers=bearer(admin_token))
    else:
        response = await api.client.patch(
            f"{API}/users/erin", json=change, headers=bearer(admin_token)
        )
    assert response.status_code == 200
    response = await api.client.get(f"{API}/users/me", headers=bearer(token))
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid or expired token"}
    ended = await page(api, "/review", token)
    assert ended.status_code == 303
    assert "notice=ended" in ended.headers["location"]
    # The admin who acted keeps their session.
    assert (await api.client.get(f"{API}/users", headers=bearer(admin_token))).status_code == 200
    if change is None:
        return
    # A new sign-in works at once.
    fresh = await api.login("erin", change.get("password", PASSWORD))
    assert (await api.client.get(f"{API}/users/me", headers=bearer(fresh))).status_code == 200
    # Time plays no part: tokens issued in the very second of the old one differ only by
    # generation, and only the new generation's is accepted.
    credential = await api.store.get_credential("erin")
    issued = datetime.fromtimestamp(
        jwt.decode(token, options={"verify_signature": False})["iat"], UTC
    )
    secret = api.settings.jwt_secret.get_secret_value()
    for generation, status in ((credential.session_generation, 200), (0, 401)):
        minted = sessions.issue(secret, "erin", credential.user.id, generation, HOUR, issued)
        response = await api.client.get(f"{API}/users/me", headers=bearer(minted))
        assert response.status_code == status


async def test_audit_lists_admin_actions_newest_first(api, admin_token, reviewer_token):
    headers = bearer(admin_token)
    created = await api.client.post(
        f"{API}/users",
        json={"username": "erin", "password": "long enough", "role": "member"},
        headers=headers,
    )
    assert created.status_code == 201
    patched = await api.client.patch(
        f"{API}/users/erin", json={"role": "reviewer", "password": "another one"}, headers=headers
    )
    assert patched.status_code == 200
    assert (await api.client.delete(f"{API}/users/erin", headers=headers)).status_code == 200

    response = await api.client.get(f"{API}/audit", headers=headers)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"data", "next_cursor"}
    assert body["next_cursor"] is None
    entries = body["data"]
    assert [(e["action"], e["actor"], e["target"], e["detail"]) for e in entries] == [
        ("user_deleted", "admin", "erin", {"role": "reviewer"}),
        ("password_reset", "admin", "erin", {}),
        ("role_changed", "admin", "erin", {"from": "member", "to": "reviewer"}),
        ("user_created", "admin", "erin", {"role": "member"}),
    ]
    assert all(e["at"].endswith("+00:00") for e in entries)

    listed, cursor = [], None
    while True:
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        response = await api.client.get(f"{API}/audit", params=params, headers=headers)
        assert response.status_code == 200
        listed += response.json()["data"]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            break
    assert listed == entries
    for params in ({"cursor": "not-a-cursor"}, {"limit": 0}, {"limit": 201}):
        response = await api.client.get(f"{API}/audit", params=params, headers=headers)
        assert response.status_code == 422
        assert "detail" in response.json()

    html = (await page(api, "/admin/audit", admin_token)).text
    assert re.findall(r'data-action="(\w+)"', html) == [e["action"] for e in entries]
    assert 'href="/admin/audit"' in (await page(api, "/admin/users", admin_token)).text

    # Reviewers (and members) may not read it.
    response = await api.client.get(f"{API}/audit", headers=bearer(reviewer_token))
    assert response.status_code == 403
    assert (await page(api, "/admin/audit", reviewer_token)).status_code == 403
    reviewer_nav = (await page(api, "/review", reviewer_token)).text
    assert 'href="/admin/audit"' not in reviewer_nav


async def test_members_cannot_read_the_audit(api, member_token):
    response = await api.client.get(f"{API}/audit", headers=bearer(member_token))
    assert response.status_code == 403
    assert response.json() == {"detail": "Your role does not allow this"}
    assert (await page(api, "/admin/audit", member_token)).status_code == 403


async def test_tokens_without_a_generation_count_as_generation_zero(api, admin_token):
    """A reference server's tokens carry only ``sub`` and ``exp``: valid until the first reset."""
    await api.user("erin")
    secret = api.settings.jwt_secret.get_secret_value()

    def signed(**extra: object) -> str:
        expires = int((datetime.now(UTC) + HOUR).timestamp())
        return jwt.encode({"sub": "erin", "exp": expires, **extra}, secret, algorithm="HS256")

    async def status(token: str) -> int:
        return (await api.client.get(f"{API}/users/me", headers=bearer(token))).status_code

    assert await status(signed()) == 200
    assert await status(signed(gen=0)) == 200
    for bad in (-1, 1, "0", True, 2**31):
        assert await status(signed(gen=bad)) == 401, bad
    response = await api.client.patch(
        f"{API}/users/erin", json={"password": "a brand new one"}, headers=bearer(admin_token)
    )
    assert response.status_code == 200
    assert await status(signed()) == 401
    assert await status(signed(gen=1)) == 200
