"""Users, sessions and API keys."""

from datetime import timedelta

import pytest

from colloquy.domain.models import Role
from colloquy.store.protocol import (
    ApiKeyRecord,
    KeyLimitReached,
    UserChanges,
    UserCredential,
    UsernameTaken,
    UserRecord,
)
from tests.store.factories import T0, add_key, add_user, at, is_utc, new_key

# ------------------------------------------------------------------ users


async def test_first_user_without_role_is_admin_and_the_next_a_reviewer(store):
    first = await store.create_user("root", "h1", None, T0)
    second = await store.create_user("rita", "h2", None, at(1))
    member = await store.create_user("mo", "h3", Role.MEMBER, at(2))
    admin = await store.create_user("ada", "h4", Role.ADMIN, at(3))

    assert (first.role, second.role, member.role, admin.role) == (
        Role.ADMIN,
        Role.REVIEWER,
        Role.MEMBER,
        Role.ADMIN,
    )
    assert first.username == "root"
    assert first.created_at == T0
    assert is_utc(first.created_at)
    assert len({first.id, second.id, member.id, admin.id}) == 4


async def test_explicit_role_on_an_empty_store_is_kept(store):
    user = await store.create_user("mo", "h", Role.MEMBER, T0)
    assert user.role is Role.MEMBER
    assert (await store.create_user("next", "h", None, T0)).role is Role.REVIEWER


async def test_duplicate_username_raises_and_changes_nothing(store):
    alice = await add_user(store, "alice", Role.ADMIN)
    with pytest.raises(UsernameTaken):
        await store.create_user("alice", "other-hash", Role.MEMBER, at(5))
    assert await store.get_user("alice") == alice
    credential = await store.get_credential("alice")
    assert credential == UserCredential(
        user=alice, password_hash="hash-of-alice", session_generation=0
    )
    # The store still works after the failed transaction.
    assert (await add_user(store, "bob")).username == "bob"


async def test_get_user_and_credential(store):
    alice = await add_user(store, "alice", Role.REVIEWER)
    assert await store.get_user("alice") == alice
    assert await store.get_user("Alice") is None
    assert await store.get_user("nobody") is None
    assert await store.get_credential("nobody") is None
    credential = await store.get_credential("alice")
    assert credential is not None
    assert credential.user == alice
    assert credential.password_hash == "hash-of-alice"


async def test_list_users_pages_by_username(store):
    names = ["mallory", "alice", "zed", "bob", "carol"]
    for i, name in enumerate(names):
        await add_user(store, name, when=at(i))
    walked: list[str] = []
    pages = []
    after = None
    while True:
        page = await store.list_users(after, 2)
        assert len(page.items) <= 2
        assert all(isinstance(u, UserRecord) for u in page.items)
        pages.append([u.username for u in page.items])
        walked.extend(pages[-1])
        after = page.next_cursor
        if after is None:
            break
    assert pages == [["alice", "bob"], ["carol", "mallory"], ["zed"]]
    assert walked == sorted(names)

    assert (await store.list_users(None, 5)).next_cursor is None
    four = await store.list_users(None, 4)
    assert four.next_cursor == "mallory"
    assert [u.username for u in (await store.list_users("mallory", 10)).items] == ["zed"]
    assert (await store.list_users("zed", 10)).items == []


async def test_update_user_and_rehash_password(store):
    alice = await add_user(store, "alice", Role.MEMBER)
    bob = await add_user(store, "bob", Role.MEMBER)
    assert await store.rehash_password("alice", "rehashed") == alice
    assert (await store.get_credential("alice")).session_generation == 0  # sessions live on
    changes = UserChanges(role=Role.REVIEWER, password_hash="new-hash")
    updated = await store.update_user("alice", changes, "ada", at(1))
    assert updated == UserRecord(alice.id, "alice", Role.REVIEWER, alice.created_at)

    credential = await store.get_credential("alice")
    assert credential is not None
    assert credential.password_hash == "new-hash"
    assert credential.user.role is Role.REVIEWER
    assert credential.user.id == alice.id
    assert credential.session_generation == 1  # one change, one new generation
    # Nobody else changed.
    assert await store.get_user("bob") == bob
    assert (await store.get_credential("bob")).password_hash == "hash-of-bob"

    # Unknown users: nothing to update.
    assert await store.rehash_password("nobody", "h") is None
    assert await store.update_user("nobody", UserChanges(role=Role.ADMIN), "ada", T0) is None
    assert await store.delete_user("nobody", "ada", T0) is None


async def test_delete_user_cascades_their_api_keys(store):
    alice = await add_user(store, "alice")
    bob = await add_user(store, "bob")
    alice_key = await add_key(store, alice.id)
    bob_key = await add_key(store, bob.id)

    assert await store.delete_user("alice", "ada", at(1)) == alice
    assert await store.get_user("alice") is None
    assert await store.delete_user("alice", "ada", at(2)) is None
    assert await store.list_api_keys(alice.id) == []
    assert await store.key_credential(alice_key.id, at(1)) is None
    # A new user of the same name inherits nothing.
    again = await add_user(store, "alice")
    assert await store.list_api_keys(again.id) == []
    # Other owners keep their keys.
    assert [k.id for k in await store.list_api_keys(bob.id)] == [bob_key.id]
    assert await store.key_credential(bob_key.id, at(1)) is not None


# ------------------------------------------------------------------ sessions


async def test_revoked_session_no_longer_resolves(store):
    alice = await add_user(store, "alice")
    assert await store.session_user("alice", "token-1") == alice
    assert await store.session_user("nobody", "token-1") is None

    await store.revoke_session("token-1", at(60 * 24), at(0))
    await store.revoke_session("token-1", at(60 * 24), at(1))  # twice is harmless
    assert await store.session_user("alice", "token-1") is None
    assert await store.session_user("alice", "token-2") == alice

    await add_user(store, "ada", Role.ADMIN)  # so that alice is not the last admin
    await store.update_user("alice", UserChanges(role=Role.ADMIN), "ada", at(2))
    assert await store.session_user("alice", "token-2") is None  # an older generation
    refreshed = await store.session_user("alice", "token-2", 1)
    assert refreshed is not None
    assert refreshed.role is Role.ADMIN

    await store.delete_user("alice", "ada", at(3))
    assert await store.session_user("alice", "token-2", 1) is None


# ------------------------------------------------------------------ API keys


async def test_create_and_list_api_keys(store):
    alice = await add_user(store, "alice")
    bob = await add_user(store, "bob")
    spec = new_key(alice.id, name="laptop", labels=["ci", "Prod", "a b"], created_at=at(1))
    created = await store.create_api_key(spec, 20)
    assert created == ApiKeyRecord(
        id=spec.id,
        name="laptop",
        labels=["ci", "Prod", "a b"],
        prefix=spec.prefix,
        ttl=spec.ttl,
        expires_at=spec.expires_at,
        created_at=at(1),
        last_used_at=None,
        revoked_at=None,
    )
    assert is_utc(created.expires_at)
    assert is_utc(created.created_at)

    newer = await add_key(store, alice.id, name="desktop", created_at=at(5))
    older = await add_key(store, alice.id, name="old", created_at=at(-5))
    await add_key(store, bob.id)

    listed = await store.list_api_keys(alice.id)
    assert [k.id for k in listed] == [newer.id, created.id, older.id]
    assert listed[1] == created
    assert listed[0].labels == []
    assert await store.list_api_keys(999_999) == []


async def test_revoke_api_key(store):
    alice = await add_user(store, "alice")
    bob = await add_user(store, "bob")
    key = await add_key(store, alice.id)
    other = await add_key(store, alice.id)

    # Looked up before the revocation too: no lookup keeps what it saw.
    assert await store.key_credential(key.id, at(1)) is not None
    assert await store.revoke_api_key(bob.id, key.id, at(1)) is None  # not bob's
    assert await store.revoke_api_key(alice.id, "0" * 32, at(1)) is None  # unknown
    assert (await store.list_api_keys(alice.id))[0].revoked_at is None

    assert (await store.revoke_api_key(alice.id, key.id, at(2))).revoked_at == at(2)
    # Idempotent: the first revocation is kept.
    assert (await store.revoke_api_key(alice.id, key.id, at(3))).revoked_at == at(2)
    by_id = {k.id: k for k in await store.list_api_keys(alice.id)}
    assert by_id[key.id].revoked_at == at(2)  # the first revocation is kept
    assert is_utc(by_id[key.id].revoked_at)
    assert by_id[other.id].revoked_at is None
    assert await store.key_credential(key.id, at(4)) is None
    assert await store.key_credential(other.id, at(4)) is not None


async def test_key_credential(store):
    alice = await add_user(store, "alice", Role.REVIEWER)
    key = new_key(alice.id, created_at=T0, ttl=timedelta(hours=1))
    await store.create_api_key(key, 20)

    credential = await store.key_credential(key.id, T0 + timedelta(minutes=59))
    assert credential is not None
    assert credential.key_id == key.id
    assert credential.key_hash == key.key_hash
    assert credential.last_used_at is None
    assert credential.user == alice

    assert await store.key_credential(key.id, key.expires_at) is None  # expired at expires_at
    assert await store.key_credential(key.id, T0 + timedelta(hours=2)) is None
    assert await store.key_credential("f" * 32, T0) is None


async def test_touch_api_key_sets_last_used(store):
    alice = await add_user(store, "alice")
    key = await add_key(store, alice.id)
    other = await add_key(store, alice.id)

    await store.touch_api_key(key.id, at(10))
    credential = await store.key_credential(key.id, at(11))
    assert credential is not None
    assert credential.last_used_at == at(10)
    assert is_utc(credential.last_used_at)
    await store.touch_api_key(key.id, at(20))
    assert (await store.key_credential(key.id, at(21))).last_used_at == at(20)

    by_id = {k.id: k for k in await store.list_api_keys(alice.id)}
    assert by_id[key.id].last_used_at == at(20)
    assert by_id[other.id].last_used_at is None
    await store.touch_api_key("0" * 32, at(30))  # unknown: no error


async def test_active_key_cap(store):
    alice = await add_user(store, "alice")
    bob = await add_user(store, "bob")
    keys = [await add_key(store, alice.id, max_active=3, created_at=at(i)) for i in range(3)]
    with pytest.raises(KeyLimitReached):
        await add_key(store, alice.id, max_active=3, created_at=at(4))
    assert len(await store.list_api_keys(alice.id)) == 3
    # The cap is per owner.
    await add_key(store, bob.id, max_active=3, created_at=at(4))

    # A revoked key frees a slot.
    await store.revoke_api_key(alice.id, keys[0].id, at(5))
    await add_key(store, alice.id, max_active=3, created_at=at(6))
    with pytest.raises(KeyLimitReached):
        await add_key(store, alice.id, max_active=3, created_at=at(7))
    assert len(await store.list_api_keys(alice.id)) == 4

    # A cap of zero refuses every key.
    carol = await add_user(store, "carol")
    with pytest.raises(KeyLimitReached):
        await add_key(store, carol.id, max_active=0)
    assert await store.list_api_keys(carol.id) == []


async def test_expired_keys_do_not_count_towards_the_cap(store):
    alice = await add_user(store, "alice")
    for i in range(2):
        await add_key(store, alice.id, max_active=2, created_at=at(i), ttl=timedelta(minutes=10))
    with pytest.raises(KeyLimitReached):
        await add_key(store, alice.id, max_active=2, created_at=at(9))
    # At expires_at a key is expired, so it no longer counts.
    await add_key(store, alice.id, max_active=2, created_at=at(10))
    assert len(await store.list_api_keys(alice.id)) == 3
