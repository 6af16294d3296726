"""First-start setup over the store, on both backends: a token opens it, a wrong one is refused
and throttled, the first admin is created once (also when replicas race), and any first user
(the command line's too) ends it."""

import asyncio

import pytest

from colloquy.domain.models import Role
from colloquy.services.errors import InvalidInput, InvalidSetupToken, SetupDone, Throttled
from colloquy.services.setup import SetupService
from colloquy.services.throttle import LoginThrottle
from colloquy.store.factory import open_store
from colloquy.store.protocol import Store
from tests.store.factories import T0

PASSWORD = "first-admin-password"
FREE_PER_ADDRESS = 3


def setup_service(store: Store) -> SetupService:
    throttle = LoginThrottle(store, "p" * 40, free_per_user=5, free_per_address=FREE_PER_ADDRESS)
    return SetupService(store, throttle)


async def test_the_token_creates_the_first_admin_once(store):
    setup = setup_service(store)
    assert await setup.needed()
    token = await setup.open()
    assert token is not None and len(token) >= 43

    admin = await setup.create_admin(token, " root ", PASSWORD, "10.0.0.1")

    assert (admin.username, admin.role) == ("root", Role.ADMIN)
    assert not await setup.needed()
    assert await store.setup_token_hashes(16) == []
    with pytest.raises(SetupDone):
        await setup.create_admin(token, "again", PASSWORD, "10.0.0.1")
    assert await setup.open() is None
    audit = await store.audit_page(None, 10)
    assert [(e.action, e.actor, e.target) for e in audit.items] == [
        ("user_created", "setup", "root")
    ]


async def test_a_wrong_token_is_refused_then_throttled(store):
    setup = setup_service(store)
    token = await setup.open()
    assert token is not None
    for wrong in ("", "x", token[:-1], token + "x", "é" * 43, "t" * 10_000):
        with pytest.raises((InvalidSetupToken, Throttled)):
            await setup.create_admin(wrong, "root", PASSWORD, "10.0.0.9")
    # Every wrong token counts: the address has spent its free attempts and must wait, even
    # with the right token; another address is not held up.
    with pytest.raises(Throttled):
        await setup.check(token, "10.0.0.9")
    assert await setup.check(token, "10.0.0.10") in await store.setup_token_hashes(16)
    assert await setup.needed()


async def test_right_tokens_do_not_add_up_to_a_wait(store):
    setup = setup_service(store)
    token = await setup.open()
    assert token is not None
    for _ in range(FREE_PER_ADDRESS * 3):
        await setup.check(token, "10.0.0.2")


async def test_a_password_outside_the_rules_creates_nobody(store):
    setup = setup_service(store)
    token = await setup.open()
    assert token is not None
    with pytest.raises(InvalidInput, match="password must be 8-"):
        await setup.create_admin(token, "root", "short", None)
    with pytest.raises(InvalidInput, match="username"):
        await setup.create_admin(token, "two words", PASSWORD, None)
    assert await setup.needed()
    assert (await setup.create_admin(token, "root", PASSWORD, None)).role is Role.ADMIN


async def test_every_start_adds_a_token_and_all_of_them_work(store):
    setup = setup_service(store)
    tokens = [await setup.open() for _ in range(3)]
    for token in tokens:
        assert token is not None
        await setup.check(token, None)
    assert len(set(tokens)) == 3


async def test_a_user_from_the_command_line_ends_setup(store):
    setup = setup_service(store)
    token = await setup.open()
    assert token is not None
    await store.create_user("cli-admin", "h", Role.ADMIN, T0, "cli:root")
    assert not await setup.needed()
    assert await store.setup_token_hashes(16) == []
    with pytest.raises(SetupDone):
        await setup.create_admin(token, "root", PASSWORD, None)


async def test_racing_replicas_make_exactly_one_admin(database_url):
    """Two replicas (each its own store and connection pool on the one database), each with
    the token it printed, submit setup at the same moment, four times each."""
    stores = [open_store(database_url), open_store(database_url)]
    try:
        replicas = [setup_service(s) for s in stores]
        tokens = [await r.open() for r in replicas]
        attempts = [
            replicas[i % 2].create_admin(tokens[i % 2] or "", f"admin{i}", PASSWORD, f"10.1.0.{i}")
            for i in range(8)
        ]
        results = await asyncio.gather(*attempts, return_exceptions=True)
        created = [r for r in results if not isinstance(r, BaseException)]
        assert len(created) == 1, results
        assert all(isinstance(r, SetupDone) for r in results if r not in created)
        users = await stores[0].list_users(None, 10)
        assert [(u.username, u.role) for u in users.items] == [(created[0].username, Role.ADMIN)]
    finally:
        for s in stores:
            await s.close()
