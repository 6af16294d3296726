"""First-start setup in the store: setup tokens' hashes, bounded, and the first admin created
in one transaction that concurrent callers take turns at."""

import asyncio

from colloquy.domain.models import Role
from colloquy.store.factory import open_store
from tests.store.factories import T0, at


async def test_a_token_is_stored_only_while_no_user_exists(store):
    assert not await store.has_users()
    assert await store.open_setup("a" * 64, T0, keep=16)
    assert await store.setup_token_hashes(16) == ["a" * 64]
    await store.create_user("root", "h", None, at(1))
    assert await store.has_users()
    # Any user's creation deleted the tokens, and no new one is stored.
    assert await store.setup_token_hashes(16) == []
    assert not await store.open_setup("b" * 64, at(2), keep=16)
    assert await store.setup_token_hashes(16) == []


async def test_only_the_newest_tokens_are_kept(store):
    for n in range(5):
        assert await store.open_setup(f"{n}" * 64, at(n), keep=3)
    assert await store.setup_token_hashes(16) == ["4" * 64, "3" * 64, "2" * 64]
    assert await store.setup_token_hashes(2) == ["4" * 64, "3" * 64]


async def test_the_first_admin_needs_a_stored_token_and_no_user(store):
    await store.open_setup("a" * 64, T0, keep=16)
    assert await store.create_first_admin("root", "h", "b" * 64, at(1)) is None
    assert not await store.has_users()

    admin = await store.create_first_admin("root", "h", "a" * 64, at(1))

    assert admin is not None
    assert (admin.username, admin.role, admin.created_at) == ("root", Role.ADMIN, at(1))
    assert await store.setup_token_hashes(16) == []
    await store.open_setup("c" * 64, at(2), keep=16)  # refused: a user exists
    assert await store.create_first_admin("other", "h", "c" * 64, at(3)) is None
    assert [u.username for u in (await store.list_users(None, 10)).items] == ["root"]


async def test_concurrent_first_admins_make_exactly_one(database_url):
    """Many callers on two stores (two connection pools, as two replicas would have), each with
    a valid token, at once: exactly one admin."""
    stores = [open_store(database_url), open_store(database_url)]
    try:
        for n in range(2):
            await stores[n].open_setup(f"{n}" * 64, at(n), keep=16)
        results = await asyncio.gather(
            *(
                stores[i % 2].create_first_admin(f"admin{i}", "h", f"{i % 2}" * 64, at(5))
                for i in range(16)
            )
        )
        created = [user for user in results if user is not None]
        assert len(created) == 1
        users = (await stores[0].list_users(None, 20)).items
        assert [(u.username, u.role) for u in users] == [(created[0].username, Role.ADMIN)]
    finally:
        for s in stores:
            await s.close()
