"""Migration 0009 (a rejection's original on its event) upgrades and downgrades on both
backends with units and events already there, keeping them."""

from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import create_async_engine

from colloquy.store.factory import async_url
from tests.store.migration_support import column_names, revision_before, run_alembic

BEFORE = revision_before("0009")
UNIT = "ku_" + "1" * 32


def _event_columns(connection: Connection) -> set[str]:
    return column_names(connection, "events")


async def test_upgrade_and_downgrade_keep_events(empty_url):
    engine = create_async_engine(async_url(empty_url))
    try:
        async with engine.begin() as conn:
            await conn.run_sync(run_alembic, "upgrade", BEFORE)
            await conn.execute(
                text(
                    "INSERT INTO units (id, status, tier, version, confidence, confirmations,"
                    " flag_count, created_at, last_confirmed, created_by, summary, detail,"
                    " action, domains, domain_count, languages, frameworks, pattern,"
                    " pattern_key) VALUES (:id, 'rejected', 'private', 1, 5000, 1, 0,"
                    " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 'a', 's', 'd', 'x', '[\"web\"]', 1,"
                    " '[]', '[]', '', '')"
                ),
                {"id": UNIT},
            )
            await conn.execute(
                text(
                    "INSERT INTO events (unit_id, kind, actor, at, note) VALUES"
                    " (:id, 'proposed', 'a', CURRENT_TIMESTAMP, NULL),"
                    " (:id, 'rejected', 'rita', CURRENT_TIMESTAMP, 'spam')"
                ),
                {"id": UNIT},
            )
            await conn.run_sync(run_alembic, "upgrade", "0009")
            assert "duplicate_of" in await conn.run_sync(_event_columns)
            rows = await conn.execute(
                text("SELECT kind, note, duplicate_of FROM events ORDER BY id")
            )
            assert [tuple(r) for r in rows] == [
                ("proposed", None, None),
                ("rejected", "spam", None),
            ]
            await conn.execute(text("UPDATE events SET duplicate_of = :id"), {"id": UNIT})

            await conn.run_sync(run_alembic, "downgrade", BEFORE)
            assert "duplicate_of" not in await conn.run_sync(_event_columns)
            count = await conn.execute(text("SELECT count(*) FROM events"))
            assert count.scalar_one() == 2
            await conn.run_sync(run_alembic, "upgrade", "0009")
    finally:
        await engine.dispose()
