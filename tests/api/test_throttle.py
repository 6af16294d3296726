"""Sign-in throttling (API and dashboard form) and per-key write rate limits, in-process on
both backends, with small allowances set through the settings."""

import asyncio
import html
import re
import threading
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select

from colloquy.app import create_app
from colloquy.domain.models import Role
from colloquy.security import passwords
from colloquy.services import throttle
from colloquy.store import tables
from colloquy.store.factory import open_store
from colloquy.web.security import SESSION_COOKIE
from tests.api.conftest import API, PASSWORD, Api, bearer

FREE_PER_USER = 2
FREE_PER_ADDRESS = 3
WRITES_PER_MINUTE = 4
# Longer than any hash takes on a busy machine, so that a wait never runs out mid-test.
FIRST_WAIT = timedelta(seconds=30)


@pytest.fixture
def settings(settings, monkeypatch):
    monkeypatch.setattr(throttle, "FIRST_WAIT", FIRST_WAIT)
    return settings.model_copy(
        update={
            "login_free_attempts": FREE_PER_USER,
            "login_address_free_attempts": FREE_PER_ADDRESS,
            "rate_limit_propose": WRITES_PER_MINUTE,
            "rate_limit_confirm": WRITES_PER_MINUTE,
            "rate_limit_flag": WRITES_PER_MINUTE,
        }
    )


@pytest.fixture
def hashes(monkeypatch):
    """Counts the password verifications that really run, and the most at once."""
    seen = {"calls": 0, "now": 0, "most": 0}
    lock = threading.Lock()
    verify = passwords._verify

    def counted(password_hash: str, password: str) -> bool:
        with lock:
            seen["calls"] += 1
            seen["now"] += 1
            seen["most"] = max(seen["most"], seen["now"])
        try:
            return verify(password_hash, password)
        finally:
            with lock:
                seen["now"] -= 1

    monkeypatch.setattr(passwords, "_verify", counted)
    return seen


async def login(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    return await client.post(f"{API}/auth/login", json={"username": username, "password": password})


def assert_throttled(response: httpx.Response, noun: str) -> int:
    """A 429 with a JSON detail and ``Retry-After``; its seconds."""
    assert response.status_code == 429, response.text
    retry = int(response.headers["retry-after"])
    assert retry >= 1
    detail = response.json()["detail"]
    assert noun in detail and f"Try again in {retry} second" in detail
    return retry


async def test_failed_logins_must_wait(api: Api, client, hashes):
    """(How the waits grow, and end, is in tests/store/test_throttle.py, on a clock of its
    own.)"""
    await api.user("alice")
    for _ in range(FREE_PER_USER):
        assert (await login(client, "alice", "wrong password")).status_code == 401
    calls = hashes["calls"]
    # Even the right password must wait now, and the refused attempts hash nothing.
    for _ in range(3):
        retry = assert_throttled(await login(client, "alice", PASSWORD), "sign-ins")
        assert FIRST_WAIT.total_seconds() - 10 < retry <= FIRST_WAIT.total_seconds()
    assert hashes["calls"] == calls


async def test_a_success_clears_the_username(api: Api, client):
    await api.user("alice")
    for _ in range(FREE_PER_USER - 1):
        assert (await login(client, "alice", "wrong password")).status_code == 401
    await api.login("alice")
    for _ in range(FREE_PER_USER):
        assert (await login(client, "alice", "wrong password")).status_code == 401
    assert_throttled(await login(client, "alice", "wrong password"), "sign-ins")


async def test_one_address_spraying_usernames_is_stopped(api: Api, client, store, settings):
    await api.user("victim")
    for i in range(FREE_PER_ADDRESS):
        assert (await login(client, f"user{i}", "guess")).status_code == 401
    assert_throttled(await login(client, "victim", "guess"), "sign-ins")
    # Another address still gets through, with the wrong password and then the right one:
    # the refused attempt from the first address did not count against the username.
    app = create_app(settings, store)
    transport = httpx.ASGITransport(app=app, client=("2001:db8::7", 4242))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
        for _ in range(FREE_PER_USER - 1):
            assert (await login(other, "victim", "guess")).status_code == 401
        assert (await login(other, "victim", PASSWORD)).status_code == 200


async def test_logins_that_succeed_do_not_use_up_the_address(api: Api, client):
    for i in range(FREE_PER_ADDRESS + 2):
        await api.user(f"user{i}")
        await api.login(f"user{i}")
    for i in range(FREE_PER_ADDRESS):
        assert (await login(client, f"user{i}", "wrong password")).status_code == 401


async def test_dashboard_sign_in_shares_the_throttle(api: Api, client):
    await api.user("alice")
    for _ in range(FREE_PER_USER):
        assert (await login(client, "alice", "wrong password")).status_code == 401
    form = await client.get("/sign-in")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None
    response = await client.post(
        "/sign-in",
        data={"username": "alice", "password": PASSWORD, "csrf_token": token.group(1)},
    )
    assert response.status_code == 429
    page = html.unescape(response.text)
    assert f"Too many failed sign-ins. Try again in {response.headers['retry-after']}" in page
    assert SESSION_COOKIE not in response.headers.get("set-cookie", "")


# The hashing pool is the process's, whatever the backend: one is enough to show it.
@pytest.mark.parametrize("backend", ["sqlite"])
async def test_hashing_runs_at_most_two_at_a_time(api: Api, store, settings, hashes):
    names = [f"user{i}" for i in range(20)]
    for name in names:
        await api.user(name)
    # Allowances that let every login of the burst through to hashing.
    roomy = settings.model_copy(
        update={"login_free_attempts": 100, "login_address_free_attempts": 100}
    )
    transport = httpx.ASGITransport(app=create_app(roomy, store))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        responses = await asyncio.gather(
            *(login(client, name, PASSWORD if i % 2 else "wrong") for i, name in enumerate(names))
        )
    assert sorted(r.status_code for r in responses) == [200] * 10 + [401] * 10
    assert hashes["calls"] == 20
    assert hashes["most"] == passwords.HASHING_SLOTS


async def count_rows(api: Api, table: tables.Table) -> int:
    count = select(func.count()).select_from(table)
    return await api.store.database.read(  # type: ignore[attr-defined]
        lambda conn: conn.execute(count).scalar_one()
    )


async def test_proposals_beyond_the_rate_limit_are_429_and_not_stored(api: Api, api_key):
    for _ in range(WRITES_PER_MINUTE):
        await api.propose(api_key)
    body = {"domains": ["web"], "insight": {"summary": "s", "detail": "d", "action": "a"}}
    response = await api.client.post(f"{API}/knowledge", json=body, headers=bearer(api_key))
    retry = assert_throttled(response, "proposals")
    assert 1 <= retry <= 60 // WRITES_PER_MINUTE
    assert f"at most {WRITES_PER_MINUTE} a minute" in response.json()["detail"]
    assert await count_rows(api, tables.units) == WRITES_PER_MINUTE
    # Each key has its own allowance.
    other = await api.key(await api.token("bob", Role.MEMBER))
    await api.propose(other)


@pytest.mark.parametrize(("path", "noun"), [("confirmations", "confirmations"), ("flags", "flags")])
async def test_confirms_and_flags_are_limited_per_key(api: Api, api_key, admin_token, path, noun):
    unit = await api.approved(api_key, admin_token)
    body = {"reason": "stale"} if path == "flags" else None
    url = f"{API}/knowledge/{unit['id']}/{path}"
    for _ in range(WRITES_PER_MINUTE):
        response = await api.client.post(url, json=body, headers=bearer(api_key))
        assert response.status_code == 201, response.text
    assert_throttled(await api.client.post(url, json=body, headers=bearer(api_key)), noun)
    item = await api.review_item(admin_token, unit["id"])
    evidence = item["knowledge_unit"]["evidence"]
    if path == "flags":
        assert len(item["knowledge_unit"]["flags"]) == WRITES_PER_MINUTE
    else:
        assert evidence["confirmations"] == 1 + WRITES_PER_MINUTE


async def test_an_invalid_proposal_is_422_and_spends_nothing(api: Api, api_key):
    invalid = {"domains": ["web"], "insight": {"summary": "s", "detail": "d"}}
    url = f"{API}/knowledge"
    for _ in range(WRITES_PER_MINUTE + 1):
        response = await api.client.post(url, json=invalid, headers=bearer(api_key))
        assert response.status_code == 422, response.text
    # None of them spent the allowance: it is all there.
    for _ in range(WRITES_PER_MINUTE):
        await api.propose(api_key)
    # A throttled key is told its body is invalid, not to wait.
    response = await api.client.post(url, json=invalid, headers=bearer(api_key))
    assert response.status_code == 422, response.text
    valid = {"domains": ["web"], "insight": {"summary": "s", "detail": "d", "action": "a"}}
    assert_throttled(await api.client.post(url, json=valid, headers=bearer(api_key)), "proposals")
    assert await count_rows(api, tables.units) == WRITES_PER_MINUTE


async def test_a_refused_confirm_leaves_the_unit_to_the_writes_beside_it(
    api: Api, api_key, admin_token
):
    unit = await api.approved(api_key, admin_token)
    url = f"{API}/knowledge/{unit['id']}/confirmations"
    for _ in range(WRITES_PER_MINUTE):
        response = await api.client.post(url, headers=bearer(api_key))
        assert response.status_code == 201, response.text
    other = await api.key(await api.token("bob", Role.MEMBER))
    # Sent together, so that (on SQLite) they share group commits: the spent key's
    # confirmation is refused, the other key's all count.
    responses = await asyncio.gather(
        api.client.post(url, headers=bearer(api_key)),
        *(api.client.post(url, headers=bearer(other)) for _ in range(WRITES_PER_MINUTE - 1)),
        api.client.post(url, headers=bearer(api_key)),
    )
    assert_throttled(responses[0], "confirmations")
    assert_throttled(responses[-1], "confirmations")
    assert [r.status_code for r in responses[1:-1]] == [201] * (WRITES_PER_MINUTE - 1)
    item = await api.review_item(admin_token, unit["id"])
    confirmations = item["knowledge_unit"]["evidence"]["confirmations"]
    assert confirmations == 1 + WRITES_PER_MINUTE + WRITES_PER_MINUTE - 1


async def test_two_servers_on_one_database_share_the_counts(api: Api, api_key, settings):
    """Two apps, each with its own store (its own connections, as two processes have), take
    turns: the counts are the database's, not either process's."""
    await api.user("alice")
    second = open_store(settings.resolved_database_url())
    try:
        transport = httpx.ASGITransport(app=create_app(settings, second))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
            clients = [api.client, other]
            for i in range(FREE_PER_USER):
                response = await login(clients[i % 2], "alice", "wrong password")
                assert response.status_code == 401
            for client in clients:
                assert_throttled(await login(client, "alice", PASSWORD), "sign-ins")

            body = {"domains": ["web"], "insight": {"summary": "s", "detail": "d", "action": "a"}}
            responses = await asyncio.gather(
                *(
                    clients[i % 2].post(f"{API}/knowledge", json=body, headers=bearer(api_key))
                    for i in range(WRITES_PER_MINUTE + 3)
                )
            )
    finally:
        await second.close()
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] * WRITES_PER_MINUTE + [429] * 3
    assert await count_rows(api, tables.units) == WRITES_PER_MINUTE
