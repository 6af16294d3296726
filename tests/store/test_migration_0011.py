"""Migration 0011 (setup tokens) upgrades and downgrades on both backends, on a database with
users, and leaves them alone: the new table starts empty."""

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from colloquy.store import migrate
from colloquy.store.factory import async_url, open_store
from tests.store.factories import T0
from tests.store.migration_support import revision_before, run_alembic, table_names

BEFORE = revision_before("0011")


async def test_upgrade_and_downgrade_keep_the_users(empty_url):
    await migrate.upgrade(empty_url)
    store = open_store(empty_url)
    try:
        await store.open_setup("a" * 64, T0, keep=16)
        await store.create_user("root", "h", None, T0)
    finally:
        await store.close()

    engine = create_async_engine(async_url(empty_url))
    try:
        async with engine.begin() as conn:
            await conn.run_sync(run_alembic, "downgrade", BEFORE)
            assert "setup_tokens" not in await conn.run_sync(table_names)
            await conn.run_sync(run_alembic, "upgrade", "0011")
            assert "setup_tokens" in await conn.run_sync(table_names)
            users = await conn.execute(text("SELECT username FROM users"))
            assert users.scalars().all() == ["root"]
            tokens = await conn.execute(text("SELECT count(*) FROM setup_tokens"))
            assert tokens.scalar_one() == 0
    finally:
        await engine.dispose()
