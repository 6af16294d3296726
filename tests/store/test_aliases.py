"""The tag alias table in the store: seeded with the defaults, edited with checks made in the
edit's own transaction (no chains, even from concurrent edits; a cap), every edit audited, and
the short-lived copy that ranked queries read."""

import asyncio

import pytest
from sqlalchemy import insert
from sqlalchemy.util import await_only

from colloquy.domain.tags import DEFAULT_ALIASES, MAX_ALIASES
from colloquy.store import tables as t
from colloquy.store.protocol import AliasChain, AliasExists, AliasLimitReached, AliasRecord
from colloquy.store.sql.aliases import AliasRepository
from tests.store.factories import at

ROUNDS = 9


async def table(store) -> dict[str, str]:
    return {a.alias: a.canonical for a in await store.list_aliases()}


async def audited(store) -> list[tuple[str, str, str, dict[str, str]]]:
    page = await store.audit_page(None, 50)
    return [(e.action, e.actor, e.target, e.detail) for e in page.items]


async def current(store, repository=None):
    read = repository.current if repository is not None else store.current_aliases
    return await store.database.read(read)


async def test_a_fresh_database_holds_the_default_aliases(store):
    listed = await store.list_aliases()
    assert {a.alias: a.canonical for a in listed} == dict(DEFAULT_ALIASES)
    assert [a.alias for a in listed] == sorted(DEFAULT_ALIASES)
    assert {a.added_by for a in listed} == {"colloquy"}
    assert all(a.added_at.tzinfo is not None for a in listed)
    assert (await current(store)).resolve("k8s") == "kubernetes"


async def test_an_added_alias_is_listed_audited_and_ranked_with_at_once(store):
    assert (await current(store)).resolve("kbn") == "kbn"  # the copy is now warm
    added = await store.add_alias("kbn", "kubernetes", "ada", at(1))
    assert added == AliasRecord("kbn", "kubernetes", "ada", at(1))
    assert (await table(store))["kbn"] == "kubernetes"
    assert [a for a in await store.list_aliases() if a.alias == "kbn"] == [added]
    assert await audited(store) == [("alias_added", "ada", "kbn", {"canonical": "kubernetes"})]
    # An edit through this store drops its copy: the next query sees it.
    aliases = await current(store)
    assert aliases.resolve("kbn") == "kubernetes"
    assert "kbn" in aliases.variants("k8s")


async def test_a_removed_alias_is_gone_and_audited(store):
    assert (await current(store)).resolve("gh") == "github"
    removed = await store.remove_alias("gh", "ada", at(2))
    assert removed is not None
    assert (removed.alias, removed.canonical, removed.added_by) == ("gh", "github", "colloquy")
    assert "gh" not in await table(store)
    assert (await current(store)).resolve("gh") == "gh"
    assert await audited(store) == [("alias_removed", "ada", "gh", {"canonical": "github"})]
    assert await store.remove_alias("gh", "ada", at(3)) is None
    assert await store.remove_alias("never-there", "ada", at(3)) is None
    assert len(await audited(store)) == 1


async def test_an_alias_that_exists_is_refused(store):
    with pytest.raises(AliasExists) as refused:
        await store.add_alias("k8s", "kube", "ada", at(1))
    assert refused.value.canonical == "kubernetes"
    with pytest.raises(AliasExists):
        await store.add_alias("k8s", "kubernetes", "ada", at(1))
    assert await table(store) == dict(DEFAULT_ALIASES)
    assert await audited(store) == []


@pytest.mark.parametrize(
    ("alias", "canonical"),
    [
        ("kub", "k8s"),  # the canonical word is an alias itself
        ("kubernetes", "orchestrator"),  # the alias has aliases of its own
    ],
)
async def test_a_chain_with_the_stored_aliases_is_refused(store, alias, canonical):
    with pytest.raises(AliasChain):
        await store.add_alias(alias, canonical, "ada", at(1))
    assert await table(store) == dict(DEFAULT_ALIASES)
    assert await audited(store) == []


async def test_concurrent_additions_never_make_a_chain(store):
    for n in range(ROUNDS):
        a, b, c = f"a{n}x", f"b{n}x", f"c{n}x"
        results = await asyncio.gather(
            store.add_alias(a, b, "ada", at(n)),
            store.add_alias(b, c, "bob", at(n)),
            return_exceptions=True,
        )
        assert sum(isinstance(r, AliasRecord) for r in results) == 1, results
        assert sum(isinstance(r, AliasChain) for r in results) == 1, results
        stored = await table(store)
        assert not (a in stored and b in stored)


async def test_concurrent_additions_of_one_alias_store_one(store):
    results = await asyncio.gather(
        *(store.add_alias("kub", f"word{n}", "ada", at(n)) for n in range(6)),
        return_exceptions=True,
    )
    assert sum(isinstance(r, AliasRecord) for r in results) == 1, results
    assert sum(isinstance(r, AliasExists) for r in results) == 5, results
    assert len(await audited(store)) == 1


async def test_the_table_is_capped(store):
    room = MAX_ALIASES - len(DEFAULT_ALIASES)
    rows = [
        {"alias": f"x{n}", "canonical": "filler", "added_by": "test", "added_at": at(0)}
        for n in range(room - 1)
    ]
    await store.database.write(lambda conn: conn.execute(insert(t.tag_aliases), rows))
    await store.add_alias("last", "filler", "ada", at(1))  # the thousandth
    with pytest.raises(AliasLimitReached):
        await store.add_alias("onemore", "filler", "ada", at(2))
    listed = await store.list_aliases()
    assert len(listed) == MAX_ALIASES
    assert "onemore" not in {a.alias for a in listed}
    assert len((await current(store)).canonical) == MAX_ALIASES
    await store.remove_alias("last", "ada", at(3))
    await store.add_alias("onemore", "filler", "ada", at(4))  # room again


async def test_another_process_s_edit_is_seen_within_the_ttl(store):
    """Two stores on one database stand for two processes."""
    ticks = [0.0]
    repository = AliasRepository(store.database, ttl=5.0, clock=lambda: ticks[0])
    assert (await current(store, repository)).resolve("kbn") == "kbn"

    await store.add_alias("kbn", "kubernetes", "ada", at(1))  # another repository's edit
    ticks[0] = 4.9
    assert (await current(store, repository)).resolve("kbn") == "kbn"  # its copy, still
    ticks[0] = 5.0
    assert (await current(store, repository)).resolve("kbn") == "kubernetes"


async def test_a_read_that_overlaps_an_edit_keeps_no_copy(store):
    """A copy read before an edit committed must not outlive the edit (no TTL of staleness)."""
    repository = AliasRepository(store.database, ttl=60.0)
    loop = asyncio.get_running_loop()

    def edit():
        """The removal, through this repository, run to its end from inside a read."""
        removal = repository.remove_alias("gh", "ada", at(1))
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # a reader thread (SQLite): the event loop is free to run it
            asyncio.run_coroutine_threadsafe(removal, loop).result()
        else:  # run_sync's greenlet on the event loop (PostgreSQL)
            await_only(removal)

    class EditDuringRead:
        """A connection whose read lets an edit through this repository land first."""

        def __init__(self, conn):
            self._conn = conn

        def execute(self, statement):
            rows = self._conn.execute(statement)
            edit()
            return rows

    def read(conn):
        stale = repository.current(EditDuringRead(conn))
        assert stale.resolve("gh") == "github"  # read before the removal
        assert repository.current(conn).resolve("gh") == "gh"

    await store.database.read(read)
