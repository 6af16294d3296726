"""Migration 0010 (unit embeddings) upgrades and downgrades on both backends, on a database
with units, and leaves them alone: the new table starts empty (vectors are computed later)."""

from colloquy.store import migrate
from colloquy.store.factory import open_store
from tests.store.factories import new_unit
from tests.store.migration_support import round_trip_new_table


async def test_upgrade_and_downgrade_keep_the_units(empty_url):
    await migrate.upgrade(empty_url)
    store = open_store(empty_url)
    try:
        unit = await store.insert_unit(new_unit())
        await store.store_vectors("m", [(unit.id, b"v" * 8)])
    finally:
        await store.close()

    kept, vectors = await round_trip_new_table(
        empty_url, "0010", "unit_embeddings", "SELECT id FROM units"
    )
    assert kept == [unit.id]
    assert vectors == 0
