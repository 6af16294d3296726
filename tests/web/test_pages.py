"""What every dashboard page shares, over HTTP: the nav's pending count (on pages and error
pages, for reviewers only), role guards, the way to sign in and back, and the CSRF check."""

import re

import httpx

from colloquy.web.security import SESSION_COOKIE
from tests.api.conftest import Api

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')
COUNT = re.compile(r'id="pending-count" title="(\d+) pending"')


def session(token: str) -> dict[str, str]:
    return {"Cookie": f"{SESSION_COOKIE}={token}"}


async def get(api: Api, path: str, token: str) -> httpx.Response:
    return await api.client.get(path, headers=session(token))


def count(page: httpx.Response) -> int | None:
    found = COUNT.search(page.text)
    return int(found.group(1)) if found else None


async def test_a_reviewer_sees_the_pending_count_on_pages_and_error_pages(
    api, api_key, reviewer_token
):
    for summary in ("one", "two"):
        await api.propose(api_key, summary=summary)
    review = await get(api, "/review", reviewer_token)
    assert review.status_code == 200
    assert count(review) == 2
    missing = await get(api, "/units/no-such-unit", reviewer_token)
    assert missing.status_code == 404
    assert "Unit not found" in missing.text
    assert count(missing) == 2
    admin_only = await get(api, "/admin/users", reviewer_token)
    assert admin_only.status_code == 403
    assert "This page is for an admin; you are a reviewer." in admin_only.text
    assert count(admin_only) == 2
    assert CSRF.search(admin_only.text) is not None  # the nav's sign-out form


async def test_a_member_has_a_nav_without_the_count(api, api_key, member_token):
    await api.propose(api_key)
    keys = await get(api, "/keys", member_token)
    assert keys.status_code == 200
    assert count(keys) is None
    refused = await get(api, "/review", member_token)
    assert refused.status_code == 403
    assert "This page is for a reviewer or admin; you are a member." in refused.text
    assert count(refused) is None
    assert CSRF.search(refused.text) is not None


async def test_without_a_session_a_page_leads_to_sign_in_and_back(api):
    await api.user("someone")  # with nobody to sign in, pages lead to setup (test_setup)
    response = await api.client.get("/units", params={"q": "a b"})
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?next=%2Funits%3Fq%3Da%2Bb"
    assert "set-cookie" not in response.headers


async def test_an_ended_session_is_cleared_with_a_notice(api):
    await api.user("someone")
    response = await get(api, "/units", "not-a-session")
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?next=%2Funits&notice=ended"
    assert response.headers["set-cookie"].startswith(f'{SESSION_COOKIE}=""; ')
    notice = await api.client.get(response.headers["location"])
    assert "Your session has ended; please sign in again" in notice.text


async def test_a_form_needs_the_session_csrf_token(api, member_token):
    refused = await api.client.post("/keys", data={"name": "x"}, headers=session(member_token))
    assert refused.status_code == 403
    assert "Form check failed" in refused.text
    # Text that is not ASCII is a wrong token like any other, not a fault.
    wrong = {"name": "x", "csrf_token": "é" * 64}
    refused = await api.client.post("/keys", data=wrong, headers=session(member_token))
    assert refused.status_code == 403
    assert "Form check failed" in refused.text
    token = CSRF.search((await get(api, "/keys", member_token)).text)
    assert token is not None
    form = {"name": "agent", "ttl": "30d", "labels": "", "csrf_token": token.group(1)}
    created = await api.client.post("/keys", data=form, headers=session(member_token))
    assert created.status_code == 200
    assert "agent" in created.text and "Form check failed" not in created.text
