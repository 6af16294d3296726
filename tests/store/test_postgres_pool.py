"""PostgreSQL's pool: connections cut while idle are replaced before use, and reads need no
transaction."""

import contextlib
from collections.abc import AsyncIterator

import asyncpg
import pytest

from colloquy.store import postgres
from colloquy.store.postgres import PostgresStore
from colloquy.store.protocol import Ranking
from tests.store.factories import T0
from tests.support.pgserver import PostgresServer

KILL_OTHERS = """
SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
WHERE datname = 'colloquy_tests' AND pid <> pg_backend_pid()
"""


@pytest.fixture
async def pg_store(pg_database: str) -> AsyncIterator[PostgresStore]:
    store = PostgresStore(pg_database, pool_size=2)
    yield store
    await store.close()


async def test_a_connection_cut_while_idle_is_replaced(
    pg_store: PostgresStore, pg_server: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = await pg_store.stats([0])  # leaves one connection in the pool
    assert int(pg_server.execute_sql(KILL_OTHERS)) >= 1
    monkeypatch.setattr(postgres, "IDLE_PING_SECONDS", 0.0)

    assert await pg_store.stats([0]) == expected


async def test_a_connection_in_steady_use_is_not_pinged(
    pg_store: PostgresStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    await pg_store.stats([0])
    pings: list[object] = []
    monkeypatch.setattr(
        "sqlalchemy.dialects.postgresql.asyncpg.AsyncAdapt_asyncpg_connection.ping",
        lambda self: pings.append(self),
    )
    await pg_store.stats([0])
    assert pings == []
    monkeypatch.setattr(postgres, "IDLE_PING_SECONDS", 0.0)
    await pg_store.stats([0])
    assert len(pings) == 1


async def test_reads_open_no_transaction(
    pg_store: PostgresStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    await pg_store.stats([0])  # connects: the dialect's first-connect checks run in one
    opened: list[object] = []
    transaction = asyncpg.Connection.transaction

    def counted(self: asyncpg.Connection, *args: object, **kwargs: object) -> object:
        opened.append(self)
        return transaction(self, *args, **kwargs)

    monkeypatch.setattr(asyncpg.Connection, "transaction", counted)
    await pg_store.stats([0])
    await pg_store.session_user("nobody", "token")
    assert opened == []
    await pg_store.create_user("carol", "hash", None, T0)  # a write does open one
    assert len(opened) == 1


async def test_every_pooled_connection_has_the_query_shapes_prepared(pg_database: str) -> None:
    store = PostgresStore(pg_database, pool_size=3)
    try:
        await store.prepare_queries(Ranking.CQ)
        async with contextlib.AsyncExitStack() as stack:
            connections = [
                await stack.enter_async_context(store.database.read_engine.connect())
                for _ in range(3)
            ]
            caches = [
                len((await conn.get_raw_connection()).dbapi_connection._prepared_statement_cache)
                for conn in connections
            ]
    finally:
        await store.close()
    # 24 shapes of two statements each, but one domain without context (one statement), on
    # each connection of the pool.
    assert all(size >= 47 for size in caches), caches


async def test_connections_plan_without_parallel_workers(pg_database: str) -> None:
    """Every statement reads a bounded number of rows: workers would cost more than they
    save (``SERVER_SETTINGS``)."""
    engine = postgres.create_engine(pg_database)
    try:
        async with engine.connect() as conn:
            workers = await conn.exec_driver_sql("SHOW max_parallel_workers_per_gather")
            assert workers.scalar_one() == "0"
            assert (await conn.exec_driver_sql("SHOW timezone")).scalar_one() == "UTC"
    finally:
        await engine.dispose()


async def test_plans_for_values_leave_out_contradicting_ranges(pg_database: str) -> None:
    """A ranked round's empty ranges (``confidence >= c AND confidence < c``) are left out of
    a plan made for its values (``constraint_exclusion``, ``SERVER_SETTINGS``)."""
    engine = postgres.create_engine(pg_database)
    empty = "SELECT 1 FROM pg_class WHERE relpages >= 7 AND relpages < 7"
    try:
        async with engine.connect() as conn:
            plan = await conn.exec_driver_sql(f"EXPLAIN {empty} UNION ALL {empty}")
            lines = plan.scalars().all()
            assert not any("pg_class" in line for line in lines), lines
    finally:
        await engine.dispose()
