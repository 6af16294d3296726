"""Migration 0007 (tag aliases) adds the table seeded with the default aliases, on both
backends and beside existing data, and takes it away again."""

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from colloquy.domain.tags import DEFAULT_ALIASES
from colloquy.store.factory import async_url, open_store
from tests.store.migration_support import revision_before, run_alembic, table_names

BEFORE = revision_before("0007")


async def test_upgrade_seeds_the_defaults_and_downgrade_drops_the_table(empty_url):
    engine = create_async_engine(async_url(empty_url))
    try:
        async with engine.begin() as conn:
            await conn.run_sync(run_alembic, "upgrade", BEFORE)
            await conn.execute(
                text(
                    "INSERT INTO users (username, password_hash, role, created_at) "
                    "VALUES ('ada', 'h', 'admin', CURRENT_TIMESTAMP)"
                )
            )
            await conn.run_sync(run_alembic, "upgrade", "0007")
            assert "tag_aliases" in await conn.run_sync(table_names)
            rows = await conn.execute(text("SELECT alias, canonical, added_by FROM tag_aliases"))
            assert {(r.alias, r.canonical, r.added_by) for r in rows} == {
                (a, c, "colloquy") for a, c in DEFAULT_ALIASES.items()
            }
            await conn.run_sync(run_alembic, "downgrade", BEFORE)
            assert "tag_aliases" not in await conn.run_sync(table_names)
            users = await conn.execute(text("SELECT count(*) FROM users"))
            assert users.scalar_one() == 1
            await conn.run_sync(run_alembic, "upgrade", "0007")
    finally:
        await engine.dispose()
    # The seeded timestamps read back as the store's aware UTC datetimes.
    store = open_store(empty_url)
    try:
        listed = await store.list_aliases()
        assert len(listed) == len(DEFAULT_ALIASES)
        assert all(a.added_at.utcoffset() is not None for a in listed)
    finally:
        await store.close()
