"""Migration 0010 (unit embeddings) upgrades and downgrades on both backends, on a database
with units, and leaves them alone: the new table starts empty (vectors are computed later)."""

import uuid
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text
from sqlalchemy.ext.asyncio import create_async_engine

from colloquy.store import migrate
from colloquy.store.factory import async_url, open_store
from tests.store.factories import new_unit

# Whatever 0010 follows once the migrations are chained.
BEFORE = ScriptDirectory.from_config(migrate.alembic_config()).get_revision("0010").down_revision


def _alembic(connection: Connection, action: str, revision: str) -> None:
    config = migrate.alembic_config()
    config.attributes["connection"] = connection
    getattr(command, action)(config, revision)


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


@pytest.fixture
def empty_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'colloquy.db'}"
    return request.getfixturevalue("pg_server").create_database(f"m10_{uuid.uuid4().hex[:8]}")


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
            await conn.run_sync(_alembic, "downgrade", BEFORE)
            assert "unit_embeddings" not in await conn.run_sync(_tables)
            await conn.run_sync(_alembic, "upgrade", "0010")
            assert "unit_embeddings" in await conn.run_sync(_tables)
            units = await conn.execute(text("SELECT id FROM units"))
            assert units.scalars().all() == [unit.id]
            vectors = await conn.execute(text("SELECT count(*) FROM unit_embeddings"))
            assert vectors.scalar_one() == 0
    finally:
        await engine.dispose()
