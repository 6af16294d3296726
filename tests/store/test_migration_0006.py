"""Migration 0006 (session generations, audit trail) upgrades and downgrades on both backends
without touching the users and keys already there."""

from sqlalchemy import Connection, inspect, text
from sqlalchemy.ext.asyncio import create_async_engine

from colloquy.store.factory import async_url
from tests.store.migration_support import revision_before, run_alembic

BEFORE = revision_before("0006")


def _schema(connection: Connection) -> tuple[set[str], set[str]]:
    found = inspect(connection)
    return set(found.get_table_names()), {c["name"] for c in found.get_columns("users")}


async def test_upgrade_and_downgrade_keep_users_and_keys(empty_url):
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
            await conn.execute(
                text(
                    "INSERT INTO api_keys (id, user_id, name, labels, key_prefix, key_hash, ttl,"
                    " expires_at, created_at) SELECT 'k1', id, 'laptop', '[]', 'p', 'hash', '1d',"
                    " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP FROM users"
                )
            )
            await conn.run_sync(run_alembic, "upgrade", "0006")
            tables, columns = await conn.run_sync(_schema)
            assert "audit_log" in tables
            assert "session_generation" in columns
            generation = await conn.execute(text("SELECT session_generation FROM users"))
            assert generation.scalar_one() == 0

            await conn.run_sync(run_alembic, "downgrade", BEFORE)
            tables, columns = await conn.run_sync(_schema)
            assert "audit_log" not in tables
            assert "session_generation" not in columns
            keys = await conn.execute(text("SELECT count(*) FROM api_keys"))
            assert keys.scalar_one() == 1
            await conn.run_sync(run_alembic, "upgrade", "0006")
    finally:
        await engine.dispose()
