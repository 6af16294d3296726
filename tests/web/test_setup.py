"""The one-time setup page over HTTP, on both backends: while no user exists every dashboard
page leads to it (the API is unaffected); a valid token shows the form, a wrong one is refused
and throttled; the form is CSRF-checked, creates the first admin, signs them in and shows the
next step; then the page is gone, as it is after the command line creates a user."""

import html
import re
from datetime import timedelta

import httpx
import pytest

from colloquy.domain.models import Role
from colloquy.services import throttle
from colloquy.web.security import SESSION_COOKIE
from colloquy.wiring import build_services
from tests.api.conftest import API, Api

PASSWORD = "first-admin-password"
FORM_TOKEN = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')
SETUP_TOKEN = re.compile(r'name="token" value="([^"]+)"')


async def open_setup(api: Api) -> str:
    """What ``colloquy serve`` does at start: a setup token, as its log shows it."""
    token = await build_services(api.settings, api.store).setup.open()
    assert token is not None
    return token


async def setup_form(client: httpx.AsyncClient, token: str) -> str:
    """The form's CSRF token (its nonce cookie kept by the client)."""
    page = await client.get("/setup", params={"token": token})
    assert page.status_code == 200, page.text
    assert SETUP_TOKEN.search(page.text).group(1) == token  # type: ignore[union-attr]
    found = FORM_TOKEN.search(page.text)
    assert found is not None
    return found.group(1)


def text_of(response: httpx.Response) -> str:
    return html.unescape(response.text)


async def test_with_no_user_every_page_leads_to_setup_and_the_api_is_unaffected(api):
    for path in ("/review", "/keys", "/admin/users", "/units?q=x", "/sign-in"):
        response = await api.client.get(path)
        assert (response.status_code, response.headers["location"]) == (303, "/setup"), path
    assert (await api.client.get("/")).headers["location"] == "/sign-in"
    assert (await api.client.get(f"{API}/health")).status_code == 200
    stats = await api.client.get(f"{API}/knowledge/stats")
    assert stats.status_code == 401
    assert stats.headers["content-type"].startswith("application/json")

    page = await api.client.get("/setup")
    assert page.status_code == 200
    assert "open the setup link that the server printed in its log" in text_of(page)
    assert "colloquy user create NAME --role admin" in text_of(page)
    assert 'name="password"' not in page.text


async def test_a_wrong_token_gets_no_form_and_is_throttled(api):
    await open_setup(api)
    wrong = await api.client.get("/setup", params={"token": "not-the-token"})
    assert wrong.status_code == 403
    assert "This setup link is not valid" in text_of(wrong)
    assert 'name="password"' not in wrong.text
    for _ in range(api.settings.login_address_free_attempts):
        await api.client.get("/setup", params={"token": "still-wrong"})
    throttled = await api.client.get("/setup", params={"token": "still-wrong"})
    assert throttled.status_code == 429
    assert int(throttled.headers["retry-after"]) >= 1
    assert "Too many wrong setup links." in text_of(throttled)


async def test_setup_creates_the_admin_signs_them_in_and_shows_the_next_step(api):
    token = await open_setup(api)
    csrf = await setup_form(api.client, token)
    form = {"token": token, "username": "root", "password": PASSWORD}

    refused = await api.client.post("/setup", data=form | {"csrf_token": "0" * 64})
    assert refused.status_code == 403
    assert "The setup form expired" in text_of(refused)
    # Each page shown binds its form anew (as the sign-in page does): the newest one is sent.
    csrf = FORM_TOKEN.search(refused.text).group(1)  # type: ignore[union-attr]
    short = await api.client.post("/setup", data=form | {"csrf_token": csrf, "password": "short"})
    assert short.status_code == 422
    assert "password must be 8-" in text_of(short)
    assert await api.store.get_user("root") is None

    csrf = FORM_TOKEN.search(short.text).group(1)  # type: ignore[union-attr]
    done = await api.client.post("/setup", data=form | {"csrf_token": csrf})

    assert done.status_code == 303
    assert done.headers["location"] == "/keys?notice=welcome"
    assert f"{SESSION_COOKIE}=" in done.headers["set-cookie"]
    landing = await api.client.get(done.headers["location"])
    assert landing.status_code == 200
    assert "Next step: create an API key below for your agents" in text_of(landing)
    assert 'href="/admin/users"' in landing.text  # signed in, as an admin
    root = await api.store.get_user("root")
    assert root is not None and root.role is Role.ADMIN

    for gone in (
        await api.client.get("/setup"),
        await api.client.get("/setup", params={"token": token}),
        await api.client.post("/setup", data=form | {"csrf_token": csrf, "username": "two"}),
    ):
        assert gone.status_code == 404
        assert "Setup is done" in gone.text
    assert await api.store.get_user("two") is None


async def test_a_user_made_on_the_command_line_ends_setup(api):
    token = await open_setup(api)
    csrf = await setup_form(api.client, token)
    await api.user("cli-admin", Role.ADMIN)  # as ``colloquy user create`` stores it

    assert (await api.client.get("/setup", params={"token": token})).status_code == 404
    late = await api.client.post(
        "/setup",
        data={"token": token, "username": "root", "password": PASSWORD, "csrf_token": csrf},
    )
    assert late.status_code == 404
    review = await api.client.get("/review")
    assert review.headers["location"] == "/sign-in?next=%2Freview"


class TestANameGuessedAhead:
    @pytest.fixture
    def settings(self, settings, monkeypatch):
        """A first sign-in wait longer than a busy machine takes to reach the setup form (1 s by
        default): read when the services are built, so patched before the app is."""
        monkeypatch.setattr(throttle, "FIRST_WAIT", timedelta(seconds=60))
        return settings

    async def test_an_admin_whose_sign_in_must_wait_is_sent_to_sign_in(self, api):
        """Failed sign-ins as the name the admin then picks (someone guessing ahead) throttle the
        sign-in that setup ends with: the admin exists, and signs in once the wait is over."""
        for _ in range(api.settings.login_free_attempts + 1):
            guess = await api.client.post(
                f"{API}/auth/login", json={"username": "root", "password": "guess-guess"}
            )
            assert guess.status_code in (401, 429)
        token = await open_setup(api)
        csrf = await setup_form(api.client, token)
        done = await api.client.post(
            "/setup",
            data={"token": token, "username": "root", "password": PASSWORD, "csrf_token": csrf},
        )
        assert done.status_code == 303
        assert done.headers["location"] == "/sign-in?next=%2Fkeys"
        assert SESSION_COOKIE not in done.headers.get("set-cookie", "")
        root = await api.store.get_user("root")
        assert root is not None and root.role is Role.ADMIN
