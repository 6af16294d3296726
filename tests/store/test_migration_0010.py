"""Migration 0010 (unit embeddings) upgrades and downgrades on both backends, on a database
with units, and leaves them alone: the new table starts empty (vectors are computed later)."""

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from colloquy.store import migrate
from colloquy.store.factory import async_url, open_store
from tests.store.factories import new_unit
from tests.store.migration_support import revision_before, run_alembic, table_names

BEFORE = revision_before("0010")


async def test_upgrade_and_downgrade_keep_the_units(empty_url):
    await migrate.upgrade(empty_url)
    store = open_store(empty_url)
    try:
        unit = await store.insert_unit(new_unit())
        await store.store_vectors("m", [(unit.id, b"v" * 8)])
    finally:
        await store.close()

    engine = create_async_engine(async_url(empty_url))
    try:
        async with engine.begin() as conn:
            await conn.run_sync(run_alembic, "downgrade", BEFORE)
            assert "unit_embeddings" not in await conn.run_sync(table_names)
            await conn.run_sync(run_alembic, "upgrade", "0010")
            assert "unit_embeddings" in await conn.run_sync(table_names)
            units = await conn.execute(text("SELECT id FROM units"))
            assert units.scalars().all() == [unit.id]
            vectors = await conn.execute(text("SELECT count(*) FROM unit_embeddings"))
            assert vectors.scalar_one() == 0
    finally:
        await engine.dispose()
