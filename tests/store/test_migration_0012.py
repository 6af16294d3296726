"""Migration 0012 keeps PostgreSQL's ``units.search`` vectors in their rows (``STORAGE MAIN``)
and gives the default back on downgrade; SQLite has no such storage and is left as it was."""

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from colloquy.store import migrate
from colloquy.store.factory import async_url, open_store
from tests.store.factories import new_unit
from tests.store.migration_support import revision_before, run_alembic

_STORAGE = (
    "SELECT CAST(attstorage AS text) FROM pg_attribute "
    "WHERE attrelid = CAST('units' AS regclass) AND attname = 'search'"
)


async def test_upgrade_and_downgrade_set_the_vectors_storage(empty_url, backend):
    await migrate.upgrade(empty_url)
    store = open_store(empty_url)
    try:
        unit = await store.insert_unit(new_unit())
    finally:
        await store.close()

    engine = create_async_engine(async_url(empty_url))
    try:
        async with engine.begin() as conn:
            storage = []
            for action, revision in (("downgrade", revision_before("0012")), ("upgrade", "0012")):
                await conn.run_sync(run_alembic, action, revision)
                if backend == "postgres":
                    storage.append((await conn.execute(text(_STORAGE))).scalar_one())
            kept = (await conn.execute(text("SELECT id FROM units"))).scalars().all()
    finally:
        await engine.dispose()
    assert kept == [unit.id]
    # 'x': extended (compressed, then out of line), PostgreSQL's default; 'm': main.
    assert storage == ([] if backend == "sqlite" else ["x", "m"])
