"""Migration 0004 on both backends: the counts kept before it become shard 0 and read the
same; going down, every counter's shards are summed into one row again."""

import uuid
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import create_async_engine

from colloquy.domain.models import ReviewStatus
from colloquy.store import migrate
from colloquy.store.factory import async_url, open_store
from colloquy.store.protocol import DailyCount

BEFORE = "0003"
MARCH_1, MARCH_2 = date(2026, 3, 1), date(2026, 3, 2)


@pytest.fixture
async def empty_url(backend, request, tmp_path: Path) -> AsyncIterator[str]:
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'colloquy.db'}"
        return
    pg = request.getfixturevalue("pg_server")
    name = f"shards_{uuid.uuid4().hex[:10]}"
    yield async_url(pg.create_database(name))
    pg.drop_database(name)


async def migrate_to(url: str, revision: str, down: bool = False) -> None:
    def run(connection: Connection) -> None:
        config = migrate.alembic_config()
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)

    await sql(url, run)


async def sql(url: str, *statements) -> list[tuple]:
    """Run ``statements`` (SQL text, or a function of the connection) in one transaction; the
    rows of the last."""
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            rows: list[tuple] = []
            for statement in statements:
                if callable(statement):
                    await conn.run_sync(statement)
                else:
                    result = await conn.execute(text(statement))
                    rows = [tuple(r) for r in result] if result.returns_rows else []
            return rows
    finally:
        await engine.dispose()


async def counts(url: str) -> tuple[dict[ReviewStatus, int], dict[str, int], list[DailyCount]]:
    store = open_store(url)
    try:
        overview = await store.review_overview([0], 0, date.min)
    finally:
        await store.close()
    stats = overview.stats
    return stats.status_counts, stats.tier_counts, overview.daily


async def test_upgrade_keeps_the_counts_and_downgrade_sums_the_shards(empty_url):
    await migrate_to(empty_url, BEFORE)
    await sql(
        empty_url,
        "INSERT INTO unit_counts (key, n) VALUES ('status:pending', 2), "
        "('status:approved', 3), ('tier:private', 3), ('confidence:5000', 3)",
        "INSERT INTO daily_counts (day, proposed, approved, rejected) "
        "VALUES ('2026-03-01', 5, 3, 0)",
    )

    await migrate_to(empty_url, "head")
    statuses, tiers, daily = await counts(empty_url)
    assert statuses == {
        ReviewStatus.PENDING: 2,
        ReviewStatus.APPROVED: 3,
        ReviewStatus.REJECTED: 0,
    }
    assert tiers == {"private": 3}
    assert daily == [DailyCount(day=MARCH_1, proposed=5, approved=3, rejected=0)]

    # Writes in other shards; some counters (rejected, March 2) have no shard 0 at all.
    await sql(
        empty_url,
        "INSERT INTO unit_counts (key, shard, n) VALUES ('status:pending', 7, -1), "
        "('status:approved', 7, 1), ('status:pending', 9, -1), ('status:rejected', 9, 1)",
        "INSERT INTO daily_counts (day, shard, proposed, approved, rejected) "
        "VALUES ('2026-03-01', 7, 0, 1, 0), ('2026-03-01', 9, 0, 0, 1), "
        "('2026-03-02', 9, 1, 0, 0)",
    )
    expected = (
        {ReviewStatus.PENDING: 0, ReviewStatus.APPROVED: 4, ReviewStatus.REJECTED: 1},
        {"private": 3},
        [
            DailyCount(day=MARCH_1, proposed=5, approved=4, rejected=1),
            DailyCount(day=MARCH_2, proposed=1, approved=0, rejected=0),
        ],
    )
    assert await counts(empty_url) == expected

    await migrate_to(empty_url, BEFORE, down=True)
    assert await sql(empty_url, "SELECT key, n FROM unit_counts ORDER BY key") == [
        ("confidence:5000", 3),
        ("status:approved", 4),
        ("status:pending", 0),
        ("status:rejected", 1),
        ("tier:private", 3),
    ]
    daily_rows = await sql(
        empty_url, "SELECT day, proposed, approved, rejected FROM daily_counts ORDER BY day"
    )
    assert [(str(day), *rest) for day, *rest in daily_rows] == [
        ("2026-03-01", 5, 4, 1),
        ("2026-03-02", 1, 0, 0),
    ]

    await migrate_to(empty_url, "head")
    assert await counts(empty_url) == expected
