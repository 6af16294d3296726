"""Admin safety in the store: the last admin stays whatever the interleaving, account changes
start a new session generation, and every admin action is audited in its own transaction."""

import asyncio

import pytest

from colloquy.domain.models import Role
from colloquy.store.protocol import AuditEntry, InvalidCursor, LastAdmin, Store, UserChanges
from tests.store.factories import T0, add_key, add_user, at

# Rounds of two admins removing each other at once; each round is a fresh race.
ROUNDS = 9
DEMOTE = UserChanges(role=Role.MEMBER)


async def admins(store: Store) -> list[str]:
    users = (await store.list_users(None, 200)).items
    return [u.username for u in users if u.role is Role.ADMIN]


async def generation(store: Store, username: str) -> int:
    credential = await store.get_credential(username)
    assert credential is not None
    return credential.session_generation


async def test_the_last_admin_is_never_demoted_or_deleted(store):
    await add_user(store, "ada", Role.ADMIN)
    await add_user(store, "bob", Role.ADMIN)
    await add_user(store, "mo", Role.MEMBER)
    assert (await store.update_user("bob", DEMOTE, "ada", at(1))).role is Role.MEMBER

    with pytest.raises(LastAdmin):
        await store.update_user("ada", DEMOTE, "ada", at(2))
    with pytest.raises(LastAdmin):
        await store.update_user("ada", UserChanges(Role.REVIEWER, "new-hash"), "ada", at(2))
    with pytest.raises(LastAdmin):
        await store.delete_user("ada", "cli", at(3))
    assert await admins(store) == ["ada"]
    # Refused changes wrote nothing: no new generation, same hash, nothing audited.
    assert await generation(store, "ada") == 0
    assert (await store.get_credential("ada")).password_hash == "hash-of-ada"
    assert [e.action for e in (await store.audit_page(None, 10)).items] == ["role_changed"]

    # What does not remove an admin is allowed: a reset, "admin" again, other users.
    await store.update_user("ada", UserChanges(password_hash="new-hash"), "cli", at(4))
    await store.update_user("ada", UserChanges(role=Role.ADMIN), "cli", at(5))  # no change
    assert await generation(store, "ada") == 1
    assert (await store.delete_user("mo", "ada", at(6))).username == "mo"
    assert (await store.delete_user("bob", "ada", at(7))).username == "bob"
    assert await admins(store) == ["ada"]


async def test_two_admins_removing_each_other_at_once_leave_one(store):
    """Each round: the surviving admin and a new one demote or delete each other at once."""

    async def remove(kind: str, username: str, actor: str, when: int) -> object:
        if kind == "demote":
            return await store.update_user(username, DEMOTE, actor, at(when))
        return await store.delete_user(username, actor, at(when))

    survivor = (await add_user(store, "admin-0", Role.ADMIN)).username
    for n in range(1, ROUNDS + 1):
        other = (await add_user(store, f"admin-{n}", Role.ADMIN)).username
        kinds = [("demote", "demote"), ("delete", "delete"), ("demote", "delete")][n % 3]
        results = await asyncio.gather(
            remove(kinds[0], survivor, other, n),
            remove(kinds[1], other, survivor, n),
            return_exceptions=True,
        )
        refused = [r for r in results if isinstance(r, LastAdmin)]
        assert len(refused) == 1, (kinds, results)
        assert all(isinstance(r, LastAdmin) or r for r in results), results
        left = await admins(store)
        assert len(left) == 1, (kinds, left)
        assert left[0] in {survivor, other}
        survivor = left[0]


async def test_a_change_starts_a_new_session_generation(store):
    await add_user(store, "ada", Role.ADMIN)
    rita = await add_user(store, "rita", Role.REVIEWER)
    assert await store.session_user("rita", "t", 0) == rita

    await store.update_user("rita", UserChanges(password_hash="h2"), "ada", at(1))
    assert await store.session_user("rita", "t", 0) is None
    assert await store.session_user("rita", "t", 1) == rita
    await store.update_user("rita", UserChanges(role=Role.MEMBER), "ada", at(2))
    assert await store.session_user("rita", "t", 1) is None
    assert (await store.session_user("rita", "t", 2)).role is Role.MEMBER
    # A rehash on sign-in is the same password: sessions live on.
    await store.rehash_password("rita", "h3")
    assert await store.session_user("rita", "t", 2) is not None
    # A role change to the role the user has changes nothing.
    await store.update_user("rita", UserChanges(role=Role.MEMBER), "ada", at(3))
    assert await generation(store, "rita") == 2


async def test_admin_actions_are_audited_newest_first(store):
    await add_user(store, "ada", Role.ADMIN)
    await store.create_user("erin", "h", Role.MEMBER, at(1), "ada")
    erin = await store.get_user("erin")
    await store.update_user("erin", UserChanges(Role.REVIEWER, "h2"), "ada", at(2))
    own = await add_key(store, erin.id, name="own")
    theirs = await add_key(store, erin.id, name="laptop")
    revoked = await store.revoke_api_key(erin.id, own.id, at(3))  # by erin: not audited
    assert revoked.id == own.id
    assert (await store.revoke_api_key(erin.id, theirs.id, at(4), "cli:root")).id == theirs.id
    no_op = await store.revoke_api_key(erin.id, theirs.id, at(5), "cli:root")
    assert no_op.revoked_at == at(4)
    assert (await store.delete_user("erin", "ada", at(6))).username == "erin"

    expected = [
        AuditEntry("user_deleted", "ada", "erin", at(6), {"role": "reviewer"}),
        AuditEntry(
            "key_revoked", "cli:root", "erin", at(4), {"key_id": theirs.id, "name": "laptop"}
        ),
        AuditEntry("password_reset", "ada", "erin", at(2), {}),
        AuditEntry("role_changed", "ada", "erin", at(2), {"from": "member", "to": "reviewer"}),
        AuditEntry("user_created", "ada", "erin", at(1), {"role": "member"}),
    ]
    assert (await store.audit_page(None, 50)).items == expected
    assert (await store.audit_page(None, 50)).next_cursor is None

    seen: list[AuditEntry] = []
    cursor = None
    while True:
        page = await store.audit_page(cursor, 2)
        assert len(page.items) <= 2
        seen += page.items
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == expected
    for bad in ("nope", "WyJ4Il0", "WyIxMjM0NTY3ODkwMTIzNDU2Nzg5MCJd"):  # junk, ["x"], 20 digits
        with pytest.raises(InvalidCursor):
            await store.audit_page(bad, 2)


async def test_users_created_without_an_actor_are_not_audited(store):
    await store.create_user("first", "h", None, T0)
    assert (await store.audit_page(None, 10)).items == []
