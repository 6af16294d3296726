"""insert_unit() as a write job: on PostgreSQL one statement of CTEs (``sql.proposals``) that
must write exactly the rows the step-by-step job writes, and on both backends a spent
allowance or a taken id that writes nothing."""

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from colloquy.domain.models import ReviewStatus
from colloquy.store.factory import async_url
from colloquy.store.postgres import create_engine
from colloquy.store.protocol import (
    Allowance,
    AllowanceSpent,
    DailyCount,
    NewUnit,
    RateLimit,
    ThrottleKey,
)
from colloquy.store.sql import SqlStore
from colloquy.store.sql.database import AsyncDatabase
from colloquy.store.sql.dialects import POSTGRESQL
from tests.store.factories import T0, new_unit, unit_id

LIMIT = RateLimit(3, timedelta(minutes=1))
ONE_A_MINUTE = RateLimit(1, timedelta(minutes=1))
KEY = ThrottleKey("propose", "key-1")
# Tables a proposal writes, each dumped whole (generated columns too) as its rows' text.
WRITTEN = ("units", "unit_domains", "events", "unit_counts", "daily_counts", "throttles")
# Just before midnight UTC and after it elsewhere: the day counted is the UTC one.
LATE = datetime(2026, 3, 1, 23, 59, 59, 999999, tzinfo=UTC).astimezone(timezone(timedelta(hours=5)))


def proposals() -> list[NewUnit]:
    """Units with no tags, many, repeated, a pattern, extensions or none, at several times;
    the last too soon after the others for an allowance of one a minute."""
    return [
        new_unit(id=unit_id(1), domains=["web"]),
        new_unit(
            id=unit_id(2),
            domains=["web", "api", "caching"],
            languages=["python", "go", "python"],
            frameworks=["django"],
            pattern="Retry-Loop",
            created_at=LATE,
            extensions={"source": "agent", "nested": {"n": [1, 2.5, None, "é"]}},
        ),
        new_unit(
            id=unit_id(3),
            domains=["db"],
            frameworks=["rails", "sinatra"],
            created_by="bob",
            created_at=LATE + timedelta(days=3),
            summary="Ünïcode 'quotes' & <tags>",
        ),
        new_unit(id=unit_id(4), domains=["web"], created_at=LATE + timedelta(days=3, seconds=1)),
    ]


async def dump(store: SqlStore) -> dict[str, list[str]]:
    def read(conn: Connection) -> dict[str, list[str]]:
        return {
            name: list(conn.execute(text(f"SELECT {name}::text FROM {name} ORDER BY 1")).scalars())
            for name in WRITTEN
        }

    return await store.database.read(read)


async def propose_all(store: SqlStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every proposal, each spending the allowance (the last is refused), into shard 5."""
    monkeypatch.setattr(store.database.counters, "shard", lambda: 5)
    *allowed, refused = proposals()
    for unit in allowed:
        stored = await store.insert_unit(unit, Allowance(KEY, ONE_A_MINUTE))
        assert stored.id == unit.id
    with pytest.raises(AllowanceSpent) as spent:
        await store.insert_unit(refused, Allowance(KEY, ONE_A_MINUTE))
    assert spent.value.wait == timedelta(seconds=59)


@pytest.fixture
async def stepwise(database_url: str) -> AsyncIterator[SqlStore]:
    """A PostgreSQL store that writes step by step, as SQLite does."""
    engine = create_engine(async_url(database_url))
    reader = engine.execution_options(isolation_level="AUTOCOMMIT")
    dialect = dataclasses.replace(POSTGRESQL, one_statement_writes=False)
    store = SqlStore(AsyncDatabase(engine, reader, dialect))
    yield store
    await store.close()


@pytest.mark.parametrize("backend", ["postgres"])
async def test_one_statement_writes_the_rows_of_the_steps(store, stepwise, pg_server, monkeypatch):
    await propose_all(stepwise, monkeypatch)
    expected = await dump(stepwise)
    assert [len(expected[name]) for name in WRITTEN] == [3, 19, 3, 1, 2, 1]
    names = ", ".join(WRITTEN)
    pg_server.execute_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE", database="colloquy_tests")

    statements: list[str] = []
    engine = store.database.write_engine.sync_engine
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    await propose_all(store, monkeypatch)
    # One statement each, and the refused one's read of its wait.
    assert len(statements) == 5, statements
    assert await dump(store) == expected


async def test_a_spent_allowance_writes_nothing(store):
    first, second = new_unit(), new_unit()
    await store.insert_unit(first, Allowance(KEY, ONE_A_MINUTE))
    with pytest.raises(AllowanceSpent) as refused:
        await store.insert_unit(second, Allowance(KEY, ONE_A_MINUTE))
    assert refused.value.wait == timedelta(minutes=1)
    assert await store.get_unit(second.id) is None
    assert await store.history(second.id, 10) == []
    stats = await store.stats([0])
    assert stats.status_counts[ReviewStatus.PENDING] == 1
    # Another key's allowance is its own.
    await store.insert_unit(second, Allowance(ThrottleKey("propose", "key-2"), ONE_A_MINUTE))
    assert (await store.stats([0])).status_counts[ReviewStatus.PENDING] == 2


async def test_a_taken_id_fails_and_writes_nothing(store):
    unit = new_unit()
    await store.insert_unit(unit, Allowance(KEY, LIMIT))
    before = await store.database.read(lambda conn: _counts(conn))
    with pytest.raises(IntegrityError):
        await store.insert_unit(new_unit(id=unit.id, domains=["db"]), Allowance(KEY, LIMIT))
    assert await store.database.read(lambda conn: _counts(conn)) == before
    item = await store.get_unit(unit.id)
    assert item is not None
    assert item.unit.domains == ["web"]
    # The allowance it spent was given back with the rest: two more are left, not one.
    for _ in range(2):
        await store.insert_unit(new_unit(), Allowance(KEY, LIMIT))
    with pytest.raises(AllowanceSpent):
        await store.insert_unit(new_unit(), Allowance(KEY, LIMIT))


def _counts(conn: Connection) -> list[tuple[str, int]]:
    """The rows of each table a proposal writes but ``throttles``, and the counters' sums."""
    counts = [
        (name, conn.execute(text(f"SELECT count(*) FROM {name}")).scalar_one())
        for name in WRITTEN[:-1]
    ]
    total = conn.execute(text("SELECT sum(n) FROM unit_counts")).scalar_one()
    return [*counts, ("status counts", total)]


async def test_concurrent_proposals_count_once_each_within_the_allowance(store):
    """Proposals racing on one key's allowance and on the counters' rows (one shard of
    ``unit_counts`` and ``daily_counts`` each, on PostgreSQL picked at random)."""
    limit = RateLimit(20, timedelta(minutes=1))
    units = [new_unit(domains=["web", "api"], languages=["python"]) for _ in range(30)]

    async def propose(unit: NewUnit) -> bool:
        try:
            await store.insert_unit(unit, Allowance(KEY, limit))
        except AllowanceSpent:
            return False
        return True

    stored = await asyncio.gather(*(propose(unit) for unit in units))
    assert stored.count(True) == 20
    overview = await store.review_overview([0], 0, date.min)
    assert overview.stats.status_counts[ReviewStatus.PENDING] == 20
    assert overview.daily == [DailyCount(day=T0.date(), proposed=20, approved=0, rejected=0)]
    for unit, kept in zip(units, stored, strict=True):
        assert (await store.get_unit(unit.id) is not None) is kept
        assert len(await store.history(unit.id, 10)) == kept
