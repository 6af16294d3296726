"""A PostgreSQL corpus copied from the cached SQLite one (``pg_copy``, through
``run.postgres_corpus``) is the database ``load.load`` makes on PostgreSQL itself: the same rows
in every table, the same derived data, schema and sequences, and the same answers."""

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from benchmarks import load, pg_copy, run

from colloquy.domain.models import FlagReason, ReviewStatus
from colloquy.domain.ranking import Ranking
from colloquy.store import tables as t
from colloquy.store.factory import open_store
from colloquy.store.protocol import FlagInput, QuerySpec, UnitFilter
from tests.support.pgserver import PostgresServer

SIZE = 300
SEED = 23
# Several import transactions, so that the loaded counters are spread over several shards.
BATCH = 40
# Summed over their shards: each import transaction adds to a shard picked at random.
SHARDED = {
    "unit_counts": "SELECT key, sum(n) FROM unit_counts GROUP BY key ORDER BY key",
    "daily_counts": (
        "SELECT day, sum(proposed), sum(approved), sum(rejected) FROM daily_counts "
        "GROUP BY day ORDER BY day"
    ),
}
# Seeded by the migration, so added when each database was migrated.
MIGRATION_TIMES = {"tag_aliases": {"added_at"}}
SCHEMA = (
    "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' "
    "ORDER BY indexname",
    "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
    "WHERE connamespace = 'public'::regnamespace ORDER BY conname",
    "SELECT table_name, column_name, data_type, column_default, generation_expression "
    "FROM information_schema.columns WHERE table_schema = 'public' "
    "ORDER BY table_name, ordinal_position",
    "SELECT sequencename, last_value FROM pg_sequences ORDER BY sequencename",
    "SELECT relname, reloptions FROM pg_class WHERE relnamespace = 'public'::regnamespace "
    "ORDER BY relname",
)


def _table_query(table: t.Table, columns: list[str]) -> str:
    listed = ", ".join(f'"{c}"' for c in columns if c not in MIGRATION_TIMES.get(table.name, ()))
    order = ", ".join(f'"{c.name}"' for c in table.primary_key.columns)
    return f'SELECT {listed} FROM "{table.name}" ORDER BY {order}'


async def _contents(dsn: str) -> dict[str, Any]:
    """Every row of every table (generated columns included), ordered, and the schema."""
    conn = await asyncpg.connect(dsn)
    try:
        found: dict[str, Any] = {}
        for table in t.metadata.sorted_tables:
            columns = [
                r["column_name"]
                for r in await conn.fetch(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_name = $1 ORDER BY ordinal_position",
                    table.name,
                )
            ]
            query = SHARDED.get(table.name) or _table_query(table, columns)
            found[table.name] = [tuple(r) for r in await conn.fetch(query)]
        for query in SCHEMA:
            found[query] = [tuple(r) for r in await conn.fetch(query)]
        return found
    finally:
        await conn.close()


async def _answers(url: str, approved: str, at: datetime) -> list[Any]:
    """What a few queries, the statistics, a browse, the consistency check, a confirm and a
    flag answer."""
    store = open_store(url)
    try:
        item = await store.get_unit(approved)
        assert item is not None and item.status is ReviewStatus.APPROVED
        unit = item.unit
        words = " ".join(unit.insight.summary.split()[:3])
        specs = [
            QuerySpec(domains=unit.domains[:1], limit=10),
            QuerySpec(domains=unit.domains, languages=unit.context.languages, limit=10),
            QuerySpec(domains=unit.domains[:2], q=words, ranking=Ranking.HYBRID, limit=10),
            QuerySpec(domains=[], q=words, ranking=Ranking.HYBRID, limit=10),
        ]
        answers: list[Any] = [await store.query(spec) for spec in specs]
        answers.append(await store.stats([0, 3000, 5000, 8000]))
        answers.append(await store.page_units(UnitFilter(text=words), None, 20))
        check = await store.check_units(None, SIZE)
        assert check.checked == SIZE and not check.findings
        answers.append(await store.confirm(approved, "tester", at))
        answers.append(await store.flag(approved, FlagInput(FlagReason.STALE), "tester", at))
        answers.append(await store.history(approved, 10))
        answers.append(await store.stats([0, 5000]))
        return answers
    finally:
        await store.close()


def test_a_copied_corpus_is_the_loaded_one(
    pg_server: PostgresServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(run, "WORK", tmp_path)
    # Many pieces per table, over the copiers at once.
    monkeypatch.setattr(pg_copy, "PIECE", 64)
    loaded_url = pg_server.create_database("loaded_corpus")
    loaded = asyncio.run(load.load(loaded_url, SIZE, SEED, batch=BATCH, progress=False))
    copied = run.postgres_corpus(pg_server, SIZE, SEED, BATCH)
    assert copied.load["copied_from"].startswith(f"sqlite-{SIZE}-s{SEED}-")
    assert copied.approved_ids == loaded.approved_ids

    loaded_dsn = pg_server.dsn_for("loaded_corpus")
    copied_dsn = pg_server.dsn_for(copied.url.rsplit("/", 1)[1])
    before = asyncio.run(_contents(loaded_dsn))
    assert len(before["units"]) == SIZE and len(before["unit_domains"]) > SIZE
    assert all(row[-2] and row[-1] for row in before["units"])  # search, tag_search
    assert len({row[1] for row in asyncio.run(_shards(loaded_dsn))}) > 1
    assert asyncio.run(_contents(copied_dsn)) == before

    at = datetime(2030, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    approved = loaded.approved_ids[len(loaded.approved_ids) // 2]
    answers = asyncio.run(_answers(loaded_url, approved, at))
    assert all(answers[:4]) and answers[-3]  # units found, the confirm answered
    assert asyncio.run(_answers(copied.url, approved, at)) == answers
    after = asyncio.run(_contents(loaded_dsn))
    assert after != before
    assert asyncio.run(_contents(copied_dsn)) == after


async def _shards(dsn: str) -> list[tuple[Any, ...]]:
    conn = await asyncpg.connect(dsn)
    try:
        return [tuple(r) for r in await conn.fetch("SELECT key, shard FROM unit_counts")]
    finally:
        await conn.close()
